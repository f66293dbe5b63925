"""The access package of a privacy request (R6, R8, R11): everything held about the subject.

``build_access_package`` answers "what do you hold about me": every record of the subject in
every system (category, source, dates, purposes, third parties it is disclosed to, retention
rule, period and disposal date, content with other people's data severed), the subject's
identifiers, consents, statements of disagreement (R11), the holds on their data, where the data
came from, how it is used, to whom it is disclosed, and the search of each system. Nothing is
built before the requester's identity is verified (``require_verified``).

``collect`` is the same in bounded memory (``AccessPackage``: every record as JSON bytes, only
what the PDF shows as objects); ``export_access_package`` also records the severings as request
items, audits the export and adds the signed audit checkpoint that covers the request's events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import DataSubject, PrivacyRequest, RequestItem
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import Conflict
from auditor.services.requests.access import sections
from auditor.services.requests.access.records import (
    BATCH,
    SUMMARISED_CATEGORIES,
    JsonRecords,
    RecordsPass,
)
from auditor.services.requests.access.redaction import Redaction, Redactor
from auditor.services.requests.common import addressee, get, record_event, responder
from auditor.services.requests.guards import require_searches_done, require_verified

FORMAT = "auditor-access-package"
VERSION = 1
#: statuses in which nothing is disclosed any more
NOT_DISCLOSED = frozenset({"refused", "withdrawn"})
#: what an export is audited as
ACTIONS = {"json": "request.access_package", "pdf": "request.access_report"}

__all__ = [
    "AccessPackage",
    "build_access_package",
    "collect",
    "export_access_package",
    "record_redactions",
]


@dataclasses.dataclass
class AccessPackage:
    """A package in bounded memory: ``head`` (every section but the records), ``records`` (every
    record as JSON, in one buffer), ``shown`` (the records the PDF shows in full, as dicts) and
    the severings as (Redaction, category, system) for the request items."""

    head: dict[str, Any]
    records: JsonRecords
    shown: list[dict[str, Any]]
    redacted: list[tuple[Redaction, str, str]] = dataclasses.field(default_factory=list)

    @property
    def reference(self) -> str:
        return str(self.head["request"]["reference"])

    def to_json(self) -> bytes:
        """The whole package as JSON (UTF-8): the sections indented, one record per line."""
        return self.records.document(self.head)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.to_json())
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessPackage:
        """A package read back from its JSON (the PDF can be rendered from either form)."""
        head = {key: value for key, value in data.items() if key != "records"}
        summarised = set(head["records_summary"]["summarised_categories"])
        records = JsonRecords()
        for record in data["records"]:
            records.add(record)
        return cls(
            head=head,
            records=records,
            shown=[r for r in data["records"] if r["category"] not in summarised],
        )


def disclosable_subject(request: PrivacyRequest) -> DataSubject:
    """The subject whose data may be disclosed for this request: the requester's identity is
    verified (IdentityNotVerified), a subject is linked and the request is not refused or
    withdrawn (Conflict)."""
    require_verified(request)
    subject = request.subject
    if subject is None:
        raise Conflict(
            f"{request.reference} has no linked data subject: link the subject before "
            "disclosing anything."
        )
    if request.status in NOT_DISCLOSED:
        raise Conflict(f"{request.reference} is {request.status}: nothing is disclosed for it.")
    return subject


def subject_redactor(request: PrivacyRequest, subject: DataSubject) -> Redactor:
    """A Redactor that keeps the subject's identifiers and those given in the request."""
    own = [(i.kind, i.value) for i in subject.identifiers]
    own += [(i["kind"], i["value"]) for i in request.subject_identifiers or []]
    return Redactor(own)


def collect(
    session: Session,
    request: PrivacyRequest,
    *,
    now: dt.datetime,
    settings: Mapping[str, Any] | None = None,
    batch: int = BATCH,
) -> AccessPackage:
    """The package of a verified request with a linked subject (IdentityNotVerified, Conflict)."""
    subject = disclosable_subject(request)
    records = RecordsPass(
        session,
        subject.id,
        subject_redactor(request, subject),
        as_of=now.astimezone(dt.UTC).date(),
        batch=batch,
    ).run()
    consents = sections.consents(subject)
    total = records.records.count
    head: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": now,
        "request": sections.request_section(request),
        "addressed_to": addressee(request),
        "organization": responder(session, settings),
        "subject": sections.subject_section(subject),
        "identifiers": [
            {"kind": i.kind, "value": i.value, "recorded_at": i.created_at}
            for i in subject.identifiers
        ],
        "records_summary": {
            "records": total,
            "shown_in_full": len(records.shown),
            "summarised": total - len(records.shown),
            "summarised_categories": sorted(SUMMARISED_CATEGORIES),
            "redactions": len(records.redactions),
        },
        "categories": records.categories_section(),
        "log_summary": records.log_summary_section(),
        "sources": records.sources_section(),
        "uses": sections.uses(records, subject),
        "disclosures": records.disclosures_section(),
        "consents": consents,
        "dispute_notes": sections.dispute_notes(session, subject),
        "holds": sections.holds(session, subject, records.held),
        "searches": sections.searches(request),
        "redactions": [r.to_dict() for r in records.redactions],
        "audit": sections.audit_section(session, request),
    }
    return AccessPackage(head, records.records, records.shown, records.redacted)


def build_access_package(
    session: Session,
    request: PrivacyRequest,
    *,
    now: dt.datetime,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole package as a dict (JSON types: times and dates as ISO strings)."""
    return collect(session, request, now=now, settings=settings).to_dict()


def record_redactions(
    session: Session, request: PrivacyRequest, redacted: Iterable[tuple[Redaction, str, str]]
) -> int:
    """One ``redacted`` request item per severing (with the record's category and system codes)
    not recorded for this request yet (R8): the record id and the JSON path and kind, never the
    value. Returns how many were added."""
    recorded: set[tuple[int | None, str | None]] = set(
        session.execute(
            select(RequestItem.record_id, RequestItem.note).where(
                RequestItem.request_id == request.id, RequestItem.kind == "redacted"
            )
        ).all()
    )
    moment = utcnow()
    rows = []
    for redaction, category, system in redacted:
        key = (redaction.record_id, redaction.note)
        if key in recorded:
            continue
        recorded.add(key)
        rows.append(
            {
                "request_id": request.id,
                "kind": "redacted",
                "record_id": redaction.record_id,
                "category": category,
                "system": system,
                "note": redaction.note,
                "hold_ids": [],
                "created_at": moment,
            }
        )
    if rows:
        session.execute(insert(RequestItem), rows)
    return len(rows)


def export_access_package(
    session: Session,
    reference: str,
    *,
    actor: Actor,
    signing_key: Ed25519PrivateKey,
    origin: str,
    settings: Mapping[str, Any] | None = None,
    form: str = "json",
    now: dt.datetime | None = None,
) -> AccessPackage:
    """Build the package, record its severings, audit the export (``request.access_package`` or
    ``request.access_report``: counts only) and state the checkpoint that covers the request's
    events, the export included: the latest one that does, else one signed now (R34)."""
    moment = now or utcnow()
    request = get(session, reference)
    require_verified(request)  # first: an unverified requester learns nothing, not even this
    require_searches_done(request, "producing the access report or package")
    package = collect(session, request, now=moment, settings=settings)
    added = record_redactions(session, request, package.redacted)
    summary = package.head["records_summary"]
    record_event(
        session,
        request,
        ACTIONS[form],
        actor=actor,
        now=moment,
        subject=package.head["subject"]["ref"],
        addressed_to=package.head["addressed_to"]["to"],
        records=summary["records"],
        redactions=summary["redactions"],
        redactions_recorded=added,
    )
    trail = sections.audit_section(session, request)
    if trail["checkpoint"] is None:
        audit.create_checkpoint(
            session, signing_key=signing_key, origin=origin, actor=actor, now=moment
        )
        trail = sections.audit_section(session, request)
    package.head["audit"] = trail
    return package
