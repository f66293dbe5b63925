"""Correction requests (R10, R11): apply a correction, or reject it with the individual's
dispute note.

A correction changes one value: a field of the subject (``display_name``, ``email`` or
``phone``; ``email[2]`` names the second address when there are several) or a field of one of
the subject's records (``record_id`` plus a path into its content: ``summary`` or
``contact.name``). The old value stays in ``RequestCorrection`` (R10); the audit event carries
the correction id and the field name, never a value. The third parties the value went to
(disclosures of the record's category, or of the categories of the subject's records) are
stored on the correction and returned, to be notified.

A rejected correction leaves a ``DisputeNote`` with the individual's statement (R11), which
every later access report about the subject shows.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import (
    DataCategory,
    DataSubject,
    Disclosure,
    DisputeNote,
    PrivacyRequest,
    Record,
    RequestCorrection,
    RequestItem,
    SubjectIdentifier,
    System,
    record_subject,
)
from auditor.services import pan
from auditor.services.context import Actor
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from auditor.services.identifiers import normalize
from auditor.services.ingest import content_digest
from auditor.services.requests.common import record_event
from auditor.services.requests.consents import acting_on, require_subject
from auditor.services.transactions import conflict_as

_IDENTIFIER = re.compile(r"^(email|phone)(?:\[(\d{1,3})\])?$")
_PATH = re.compile(r"^[^.\s][^.]{0,99}(?:\.[^.\s][^.]{0,99}){0,9}$")
MAX_VALUE = 10_000


@dataclasses.dataclass
class _Target:
    """The value a correction is about: its label, current value, and how to replace it."""

    label: str  # the field as the dispute note shows it
    old: str | None
    set: Callable[[str], str]  # stores the new value, returns it as stored
    record: Record | None = None


def _identifier_target(
    session: Session, subject: DataSubject, field: str, kind: str, position: str | None
) -> _Target:
    same = [i for i in subject.identifiers if i.kind == kind]
    if position is None and len(same) > 1:
        raise ValidationFailed(
            f"The subject has {len(same)} {kind} identifiers: say which one.",
            [FieldError("field", f"use {kind}[1] to {kind}[{len(same)}]")],
        )
    index = int(position or 1) - 1
    if same and not 0 <= index < len(same):
        raise ValidationFailed(
            "No such identifier.", [FieldError("field", f"the subject has {len(same)} {kind}")]
        )
    current = same[index] if same else None

    def replace(value: str) -> str:
        normal = normalize(kind, value, field="new_value")
        with conflict_as(session, "That identifier already belongs to another subject."):
            if current is None:
                subject.identifiers.append(SubjectIdentifier(kind=kind, value=normal))
            else:
                current.value = normal
        return normal

    return _Target(field, current.value if current else None, replace)


def _subject_target(session: Session, subject: DataSubject, field: str) -> _Target:
    if field == "display_name":

        def rename(value: str) -> str:
            if len(value) > 200:
                raise ValidationFailed(
                    "The name is too long.", [FieldError("new_value", "at most 200 characters")]
                )
            subject.display_name = value
            return value

        return _Target(field, subject.display_name, rename)
    match = _IDENTIFIER.match(field)
    if match is None:
        raise ValidationFailed(
            "Unknown field of a data subject.",
            [FieldError("field", "display_name, email or phone (or a record's content path)")],
        )
    return _identifier_target(session, subject, field, match.group(1), match.group(2))


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _record_target(session: Session, subject: DataSubject, record_id: int, path: str) -> _Target:
    linked = session.scalar(
        select(record_subject.c.record_id).where(
            record_subject.c.record_id == record_id, record_subject.c.subject_id == subject.id
        )
    )
    record = session.get(Record, record_id) if linked is not None else None
    if record is None:
        raise NotFound("The subject of the request has no record with that id.")
    if not _PATH.match(path):
        raise ValidationFailed(
            "Not a content path.", [FieldError("field", "a key, or keys joined by dots")]
        )
    keys = path.split(".")
    node: Any = record.content
    for key in keys[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise ValidationFailed(
            "The record's content has no such field.", [FieldError("field", "not found")]
        )
    old = _as_text(node.get(keys[-1]))

    def replace(value: str) -> str:
        if pan.redact_text(value)[1]:
            raise ValidationFailed(
                "Payment card numbers are never stored.",
                [FieldError("new_value", "contains a payment card number")],
            )
        content = copy.deepcopy(record.content)
        target = content
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        record.content = content
        record.content_digest = content_digest(content)
        record.updated_at = utcnow()
        return value

    return _Target(f"record {record.id}: {path}", old, replace, record)


def _target(session: Session, subject: DataSubject, field: str, record_id: int | None) -> _Target:
    field = field.strip()
    if not field:
        raise ValidationFailed("Which field?", [FieldError("field", "must not be empty")])
    if record_id is None:
        return _subject_target(session, subject, field)
    return _record_target(session, subject, record_id, field)


def third_parties(session: Session, category_ids: set[int]) -> list[dict[str, Any]]:
    """Who the categories are disclosed to (R10: to be told of the correction), per party."""
    if not category_ids:
        return []
    parties: dict[str, dict[str, Any]] = {}
    for disclosure in session.scalars(
        select(Disclosure).where(Disclosure.category_id.in_(category_ids)).order_by(Disclosure.id)
    ):
        party = disclosure.third_party
        entry = parties.setdefault(
            party.code,
            {
                "code": party.code,
                "name": party.name,
                "contact_email": party.contact_email,
                "categories": [],
                "purposes": [],
            },
        )
        for key, value in (
            ("categories", disclosure.category.code),
            ("purposes", disclosure.purpose.code),
        ):
            if value not in entry[key]:
                entry[key].append(value)
    return sorted(parties.values(), key=lambda p: p["code"])


def _categories(session: Session, subject: DataSubject, record: Record | None) -> set[int]:
    if record is not None:
        return {record.category_id}
    linked = select(record_subject.c.record_id).where(record_subject.c.subject_id == subject.id)
    return set(session.scalars(select(Record.category_id).where(Record.id.in_(linked)).distinct()))


def _required(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed("A value is missing.", [FieldError(field, "must not be empty")])
    if len(text) > MAX_VALUE:
        raise ValidationFailed("Too long.", [FieldError(field, f"at most {MAX_VALUE} characters")])
    return text


def apply_correction(
    session: Session,
    request: PrivacyRequest | str,
    *,
    field: str,
    new_value: str,
    record_id: int | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> RequestCorrection:
    """Correct one value (R10); ``third_parties`` of the returned row are to be notified."""
    request = acting_on(session, request, types=("correction",), what="a correction")
    subject = require_subject(request)
    moment = now or utcnow()
    value = _required(new_value, "new_value")
    target = _target(session, subject, field, record_id)
    stored = target.set(value)
    if stored == target.old:
        raise ValidationFailed(
            "Nothing to correct.", [FieldError("new_value", "is already the current value")]
        )
    record = target.record
    parties = third_parties(session, _categories(session, subject, record))
    correction = RequestCorrection(
        request_id=request.id,
        subject_id=subject.id,
        record_id=record_id,
        field=field.strip(),
        old_value=target.old,
        new_value=stored,
        status="applied",
        third_parties=parties,
        decided_by=actor.name,
        decided_at=moment,
    )
    session.add(correction)
    item = RequestItem(
        request_id=request.id, kind="corrected", note=target.label, hold_ids=[], created_at=moment
    )
    if record is not None:
        item.record_id = record.id
        item.category = session.get(DataCategory, record.category_id).code  # type: ignore[union-attr]
        item.system = session.get(System, record.system_id).code  # type: ignore[union-attr]
    session.add(item)
    session.flush()
    record_event(
        session,
        request,
        "request.correction",
        actor=actor,
        now=moment,
        status="applied",
        correction=correction.id,
        field=correction.field,
        record=record_id,
        subject=subject.ref,
        third_parties=[p["code"] for p in parties],
    )
    return correction


def reject_correction(
    session: Session,
    request: PrivacyRequest | str,
    *,
    field: str,
    reason: str,
    statement: str,
    record_id: int | None = None,
    requested_value: str | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> RequestCorrection:
    """Refuse a correction with its reason; the individual's statement becomes a dispute note
    on the subject (R11). The value is left as it is."""
    request = acting_on(session, request, types=("correction",), what="a correction")
    subject = require_subject(request)
    moment = now or utcnow()
    reason = _required(reason, "reason")
    statement = _required(statement, "statement")
    target = _target(session, subject, field, record_id)
    correction = RequestCorrection(
        request_id=request.id,
        subject_id=subject.id,
        record_id=record_id,
        field=field.strip(),
        old_value=target.old,
        new_value=(requested_value or "").strip() or None,
        status="rejected",
        reason=reason,
        third_parties=[],
        decided_by=actor.name,
        decided_at=moment,
    )
    note = DisputeNote(
        subject_id=subject.id,
        request_id=request.id,
        field=target.label,
        statement=statement,
        created_by=actor.name,
        created_at=moment,
    )
    session.add_all([correction, note])
    session.flush()
    record_event(
        session,
        request,
        "request.correction",
        actor=actor,
        now=moment,
        status="rejected",
        correction=correction.id,
        field=correction.field,
        record=record_id,
        subject=subject.ref,
        dispute_note=note.id,
    )
    return correction


def corrections_of(session: Session, request: PrivacyRequest) -> list[RequestCorrection]:
    return list(
        session.scalars(
            select(RequestCorrection)
            .where(RequestCorrection.request_id == request.id)
            .order_by(RequestCorrection.id)
        )
    )


def dispute_statement(session: Session, correction: RequestCorrection) -> str | None:
    """The statement a rejected correction left (gone if the subject was removed since)."""
    label = correction.field
    if correction.record_id is not None:
        label = f"record {correction.record_id}: {correction.field}"
    return session.scalar(
        select(DisputeNote.statement)
        .where(DisputeNote.request_id == correction.request_id, DisputeNote.field == label)
        .order_by(DisputeNote.id.desc())
        .limit(1)
    )


def correction_out(
    correction: RequestCorrection, *, statement: str | None = None
) -> dict[str, Any]:
    """The correction as the API returns it (to an officer: values included)."""
    return {
        "id": correction.id,
        "status": correction.status,
        "field": correction.field,
        "record_id": correction.record_id,
        "old_value": correction.old_value,
        "new_value": correction.new_value,
        "reason": correction.reason,
        "statement": statement,
        "third_parties_to_notify": correction.third_parties,
        "decided_by": correction.decided_by,
        "decided_at": correction.decided_at.isoformat(),
    }
