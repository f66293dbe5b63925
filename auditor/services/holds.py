"""Retention holds (R19): place, release, list, and hand them to the retention engine (R18).

A hold's scope value is stored as people read it (subject ref, organization, system or category
code, record id). The retention engine's ``RecordFacts`` carry database ids instead, except the
category, which rules match by code; ``to_policy_hold`` is the one place that translates:

    subject -> str(DataSubject.id)   client -> str(Organization.id)   system -> str(System.id)
    category -> DataCategory.code    record -> str(Record.id)

Every hold action is audited in the caller's transaction with kind, scope, scope value and
reference; never the free-text reasons (they may name people) nor any identifier but a subject ref.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import (
    DataCategory,
    DataSubject,
    Hold,
    Organization,
    PrivacyRequest,
    Record,
    System,
)
from auditor.models.requests import OPEN_STATUSES
from auditor.schemas.holds import HoldIn, HoldOut
from auditor.schemas.json_input import ROW_ID_MAX
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from retention import schedule

KINDS = tuple(kind.value for kind in schedule.HoldKind)
SCOPES = tuple(scope.value for scope in schedule.Scope)
OFFICER_ROLES = frozenset({"admin", "privacy_officer"})  # R9: who may release a recourse hold
RECOURSE_REASON_MIN = 20  # a real reason: why the individual's recourse is over
CODED_SCOPES: dict[str, Any] = {"client": Organization, "system": System, "category": DataCategory}
_MISSING = {
    "subject": "no data subject with that ref",
    "client": "no organization with that code",
    "system": "no system with that code",
    "category": "no data category with that code",
    "record": "no record with that id",
}


@dataclass(frozen=True)
class Target:
    """What a hold's scope value names: its stored form and its organization (for the audit)."""

    value: str
    organization_id: int | None = None


def _lookup(session: Session, scope: str, value: str) -> Target | None:
    if scope == "subject":
        subject = session.scalar(select(DataSubject).where(DataSubject.ref == value))
        return Target(subject.ref, subject.organization_id) if subject else None
    if scope == "record":
        # a record id is a 64-bit integer: a longer number names no record (not an overflow)
        fits = value.isdigit() and int(value) <= ROW_ID_MAX
        record = session.get(Record, int(value)) if fits else None
        return Target(str(record.id), record.organization_id) if record else None
    model = CODED_SCOPES[scope]
    obj = session.scalar(select(model).where(model.code == value))
    return Target(obj.code, obj.id if scope == "client" else None) if obj else None


def _resolve(session: Session, scope: str, value: str) -> Target:
    if scope not in SCOPES:
        raise ValidationFailed("Unknown hold scope.", [FieldError("scope", f"not one of {SCOPES}")])
    target = _lookup(session, scope, value.strip())
    if target is None:
        raise ValidationFailed(
            f"The {scope} of the hold does not exist.", [FieldError("value", _MISSING[scope])]
        )
    return target


def _required_reason(reason: str | None, field: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("A reason is required.", [FieldError(field, "must not be empty")])
    return text


def _audit_details(hold: Hold, **extra: Any) -> dict[str, Any]:
    return {
        "kind": hold.kind,
        "scope": hold.scope,
        "value": hold.scope_value,
        "reference": hold.reference,
        "until": hold.until.isoformat() if hold.until else None,
        "open_ended": hold.open_ended,
        **extra,
    }


def status_of(hold: Hold, as_of: dt.date) -> str:
    """released, lapsed (a recourse hold past its ``until``), or active."""
    if hold.released_at is not None:
        return "released"
    if hold.until is not None and not hold.open_ended and hold.until < as_of:
        return "lapsed"
    return "active"


def to_out(hold: Hold, *, now: dt.datetime | None = None) -> HoldOut:
    today = (now or utcnow()).astimezone(dt.UTC).date()
    return HoldOut(
        id=hold.id,
        kind=hold.kind,
        scope=hold.scope,
        value=hold.scope_value,
        reason=hold.reason,
        reference=hold.reference,
        created_by=hold.created_by,
        placed_at=hold.placed_at,
        until=hold.until,
        open_ended=hold.open_ended,
        status=status_of(hold, today),  # type: ignore[arg-type]
        released_at=hold.released_at,
        released_by=hold.released_by,
        release_reason=hold.release_reason,
    )


def get(session: Session, hold_id: int) -> Hold:
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound("No hold with that id.")
    return hold


def status_clause(status: str, today: dt.date) -> ColumnElement[bool]:
    """Holds released, lapsed (a recourse hold past its minimum) or active on ``today``."""
    if status == "released":
        return Hold.released_at.is_not(None)
    lapsed = and_(Hold.until.is_not(None), Hold.open_ended.is_(False), Hold.until < today)
    if status == "lapsed":
        return and_(Hold.released_at.is_(None), lapsed)
    return and_(Hold.released_at.is_(None), ~lapsed)


def list_holds(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    scope: str | None = None,
    value: str | None = None,
    reference: str | None = None,
    after: int | None = None,
    limit: int = 100,
    now: dt.datetime | None = None,
) -> list[Hold]:
    """A page of holds in id order, filtered by status (on ``now``'s date), kind and scope."""
    query = select(Hold).order_by(Hold.id).limit(limit)
    if status is not None:
        query = query.where(status_clause(status, (now or utcnow()).astimezone(dt.UTC).date()))
    filters = {"kind": kind, "scope": scope, "scope_value": value, "reference": reference}
    for column, wanted in filters.items():
        if wanted is not None:
            query = query.where(getattr(Hold, column) == wanted)
    if after is not None:
        query = query.where(Hold.id > after)
    return list(session.scalars(query).all())


def _place(
    session: Session,
    *,
    kind: str,
    scope: str,
    value: str,
    reason: str | None,
    reference: str | None,
    actor: Actor,
    now: dt.datetime | None,
    until: dt.date | None = None,
    open_ended: bool = False,
) -> Hold:
    if kind not in KINDS:
        raise ValidationFailed("Unknown hold kind.", [FieldError("kind", f"not one of {KINDS}")])
    target = _resolve(session, scope, value)
    hold = Hold(
        kind=kind,
        scope=scope,
        scope_value=target.value,
        reason=_required_reason(reason),
        reference=(reference or "").strip() or None,
        created_by=actor.name,
        placed_at=now or utcnow(),
        until=until,
        open_ended=open_ended,
    )
    session.add(hold)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="hold.place",
        object_type="retention_hold",
        object_id=hold.id,
        organization_id=target.organization_id,
        details=_audit_details(hold),
        now=now,
    )
    return hold


def place(session: Session, data: HoldIn, *, actor: Actor, now: dt.datetime | None = None) -> Hold:
    """Place a legal, breach or CRA-objection hold (R19): no expiry, released only by hand."""
    return _place(session, **data.model_dump(), actor=actor, now=now)


def place_recourse_hold(
    session: Session,
    *,
    subject_ref: str,
    request_reference: str,
    due_at: dt.date | dt.datetime,
    actor: Actor,
    responded_at: dt.date | dt.datetime | None = None,
    complaint: bool = False,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Hold:
    """The R9 hold put on a requester's records when their privacy request is opened.

    It lasts until max(responded, due) + 6 months (no end while unanswered), open-ended once a
    complaint is recorded; ``update_recourse_hold`` recomputes it when the request changes.
    """
    reference = _required_reason(request_reference, "request_reference")
    moment = now or utcnow()
    if list_holds(
        session, status="active", kind="recourse", reference=reference, value=subject_ref, now=now
    ):
        raise Conflict("The request already has an active recourse hold on that subject.")
    policy = schedule.recourse_hold(
        id="new",
        subject_id=subject_ref,
        placed_at=moment,
        due_at=due_at,
        responded_at=responded_at,
        complaint=complaint,
    )
    return _place(
        session,
        kind="recourse",
        scope="subject",
        value=subject_ref,
        reason=reason or f"Recourse period of privacy request {reference} (R9).",
        reference=reference,
        actor=actor,
        now=moment,
        until=policy.until,
        open_ended=policy.open_ended,
    )


def update_recourse_hold(
    session: Session,
    *,
    request_reference: str,
    due_at: dt.date | dt.datetime,
    actor: Actor,
    responded_at: dt.date | dt.datetime | None = None,
    complaint: bool = False,
    now: dt.datetime | None = None,
) -> list[Hold]:
    """Recompute the unreleased recourse holds of a request (response recorded, due date
    extended, complaint recorded); each change is audited as ``hold.update``."""
    rows = session.scalars(
        select(Hold)
        .where(Hold.kind == "recourse", Hold.reference == request_reference)
        .where(Hold.released_at.is_(None))
        .order_by(Hold.id)
    ).all()
    for hold in rows:
        policy = schedule.recourse_hold(
            id=str(hold.id),
            subject_id=hold.scope_value,
            placed_at=hold.placed_at,
            due_at=due_at,
            responded_at=responded_at,
            complaint=complaint,
        )
        if (hold.until, hold.open_ended) == (policy.until, policy.open_ended):
            continue
        hold.until, hold.open_ended = policy.until, policy.open_ended
        target = _lookup(session, hold.scope, hold.scope_value)
        audit.record(
            session,
            actor=actor,
            action="hold.update",
            object_type="retention_hold",
            object_id=hold.id,
            organization_id=target.organization_id if target else None,
            details=_audit_details(hold),
            now=now,
        )
    return list(rows)


def place_breach_hold(
    session: Session,
    *,
    scope: str,
    value: str,
    breach_reference: str,
    actor: Actor,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Hold:
    """R28: keep the security logs (or other records) related to a breach beyond their rule."""
    reference = _required_reason(breach_reference, "breach_reference")
    return _place(
        session,
        kind="breach",
        scope=scope,
        value=value,
        reason=reason or f"Records related to breach {reference} (R28).",
        reference=reference,
        actor=actor,
        now=now,
    )


def _refuse_while_request_open(session: Session, hold: Hold) -> None:
    """A recourse hold outlives its request's answer (R9): never released while it is open."""
    open_request = (
        PrivacyRequest.reference == hold.reference,
        PrivacyRequest.status.in_(OPEN_STATUSES),
    )
    if session.scalar(select(PrivacyRequest.id).where(*open_request)) is not None:
        raise Conflict(f"The request {hold.reference} is still open: its recourse hold stays (R9).")


def release(
    session: Session,
    hold_id: int,
    *,
    reason: str,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Hold:
    """Release a hold, recording who, when and why; a hold is released once.

    A recourse hold is released only by an officer (R9); releasing it before its ``until`` (or
    while open-ended) is allowed to them, and the audit event says so.
    """
    hold = get(session, hold_id)
    text = _required_reason(reason)
    if hold.released_at is not None:
        raise Conflict("The hold is already released.")
    moment = now or utcnow()
    if moment < hold.placed_at:
        raise ValidationFailed("A hold cannot be released before it was placed.")
    extra: dict[str, Any] = {}
    if hold.kind == "recourse":
        if actor.role not in OFFICER_ROLES:
            raise PermissionDenied("Only a privacy officer may release a recourse hold.")
        _refuse_while_request_open(session, hold)
        if len(text) < RECOURSE_REASON_MIN:
            short = FieldError("reason", f"at least {RECOURSE_REASON_MIN} characters")
            raise ValidationFailed("Say why the individual's recourse is over (R9).", [short])
        today = moment.astimezone(dt.UTC).date()
        extra["early"] = hold.open_ended or hold.until is None or today <= hold.until
    hold.released_at = moment
    hold.released_by = actor.name
    hold.release_reason = text
    target = _lookup(session, hold.scope, hold.scope_value)
    audit.record(
        session,
        actor=actor,
        action="hold.release",
        object_type="retention_hold",
        object_id=hold.id,
        organization_id=target.organization_id if target else None,
        details=_audit_details(hold, **extra),
        now=moment,
    )
    return hold
