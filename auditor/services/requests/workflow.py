"""Moving a privacy request through its states (request_states.TRANSITIONS): identity
verification, responses and refusals (R7), withdrawal, complaints to the OPC and linking the
subject. Every change is audited by reference, with no personal data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import DataSubject, PrivacyRequest
from auditor.schemas.requests import ComplaintIn, SearchesOverrideIn, TransitionIn, VerificationIn
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, ValidationFailed
from auditor.services.requests import consents, tasks
from auditor.services.requests import recourse as request_holds
from auditor.services.requests.common import check_moment, get, iso, record_event, require_open
from auditor.services.requests.guards import is_verified, require_searches_done, require_verified
from auditor.services.requests.states import (
    BY_ACTION_ONLY,
    FINAL,
    NEEDS_VERIFICATION,
    REFUSALS,
    RESPONSES,
    is_allowed,
)

# answering needs every system searched; a refusal may come before any search
NEEDS_TASKS_CLOSED = ("completed", "partially_refused")


def _move(
    session: Session,
    request: PrivacyRequest,
    target: str,
    *,
    actor: Actor,
    now: dt.datetime,
    **details: object,
) -> None:
    previous = request.status
    request.status = target
    session.flush()
    record_event(
        session,
        request,
        "request.transition",
        actor=actor,
        now=now,
        **{"from": previous, "to": target},
        **details,
    )


def _refusal_errors(data: TransitionIn) -> list[FieldError]:
    if data.to in REFUSALS:
        errors = []
        if not data.grounds:
            errors.append(FieldError("grounds", "a refusal needs at least one ground (R7)"))
        if not data.reasons:
            errors.append(FieldError("reasons", "a refusal states its reasons (R7)"))
        return errors
    if data.grounds or data.reasons:
        return [FieldError("grounds", "grounds and reasons belong to a refusal only")]
    return []


def transition(
    session: Session,
    reference: str,
    data: TransitionIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> PrivacyRequest:
    """Move the request to ``data.to`` if the table allows it and the target's conditions hold:
    a refusal needs grounds and reasons; an answer needs the identity verified and every task
    closed. A final state records the response (or withdrawal) and recomputes the recourse hold.
    """
    request = get(session, reference)
    moment = now or utcnow()
    if data.to in BY_ACTION_ONLY:
        raise ValidationFailed(
            "An extension is recorded with its notice, not as a plain transition.",
            [FieldError("to", "record the extension (POST .../extension)")],
        )
    if data.to == request.status:
        raise Conflict(f"The request is already {request.status}.")
    if not is_allowed(request.status, data.to):
        raise Conflict(f"A request cannot go from {request.status} to {data.to}.")
    at = data.at or moment
    errors = _refusal_errors(data) + check_moment(request, at, "at", now=moment)
    if errors:
        raise ValidationFailed("The transition is not valid.", errors)
    if data.to in NEEDS_VERIFICATION and not consents.only_marketing_withdrawn(session, request):
        require_verified(request)
    if data.to in NEEDS_TASKS_CLOSED:
        require_searches_done(request, "answering the request")
    if data.to in REFUSALS:
        request.refusal_grounds = list(data.grounds)
        request.refusal_reasons = data.reasons
    if data.to in RESPONSES:
        request.responded_at = at
    if data.to in FINAL:
        request.closed_at, request.closed_by = at, actor.name
        request.closing_note = data.note
    extra: dict[str, object] = {"grounds": list(data.grounds)} if data.grounds else {}
    if data.to in FINAL:
        extra["at"] = iso(at)
    _move(session, request, data.to, actor=actor, now=moment, **extra)
    if data.to in FINAL:
        request_holds.sync(session, request, actor=actor, now=moment)
    return request


def verify(
    session: Session,
    reference: str,
    data: VerificationIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> PrivacyRequest:
    """Record how the requester's identity was verified, by whom and when. A request still
    received or verifying moves on to in_progress."""
    request = get(session, reference)
    require_open(request, "verifying the identity")
    if is_verified(request):
        raise Conflict("The requester's identity is already verified.")
    moment = now or utcnow()
    at = data.verified_at or moment
    errors = check_moment(request, at, "verified_at", now=moment)
    if data.method == "other" and not data.note:
        errors.append(FieldError("note", "say how the identity was verified"))
    if errors:
        raise ValidationFailed("The verification is not valid.", errors)
    request.verification_method = data.method
    request.verified_by, request.verified_at = actor.name, at
    request.verification_note = data.note
    session.flush()
    record_event(session, request, "request.verify", actor=actor, now=moment, method=data.method)
    if request.status in ("received", "verifying"):
        _move(session, request, "in_progress", actor=actor, now=moment)
    return request


def record_complaint(
    session: Session,
    reference: str,
    data: ComplaintIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> PrivacyRequest:
    """A complaint to the Privacy Commissioner about the request: its recourse hold becomes
    open-ended (R9) and its file is kept until the complaint is settled."""
    request = get(session, reference)
    if request.complaint_at is not None:
        raise Conflict("A complaint is already recorded for the request.")
    moment = now or utcnow()
    errors = check_moment(request, data.complaint_at, "complaint_at", now=moment)
    if errors:
        raise ValidationFailed("The complaint is not valid.", errors)
    request.complaint_at, request.complaint_note = data.complaint_at, data.note
    session.flush()
    record_event(
        session,
        request,
        "request.complaint",
        actor=actor,
        now=moment,
        complaint_at=iso(data.complaint_at),
    )
    request_holds.sync(session, request, actor=actor, now=moment)
    return request


def override_open_searches(
    session: Session,
    reference: str,
    data: SearchesOverrideIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> PrivacyRequest:
    """A privacy officer's recorded decision that the request may be answered (final
    documents, the deletion, completion) although search tasks are still open, with the reason.
    Recorded once; audited with the number of open tasks (the reason stays in the request)."""
    request = get(session, reference)
    require_open(request, "overriding its open searches")
    if request.searches_override_at is not None:
        raise Conflict("An override of the open searches is already recorded for the request.")
    still_open = tasks.open_count(request)
    if not still_open:
        raise Conflict("Every search task of the request is closed: there is nothing to override.")
    moment = now or utcnow()
    request.searches_override_reason = data.reason
    request.searches_override_by, request.searches_override_at = actor.name, moment
    record_event(
        session, request, "request.searches_override", actor=actor, now=moment, open=still_open
    )
    return request


def link_subject(
    session: Session,
    reference: str,
    subject_ref: str,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> PrivacyRequest:
    """Link the data subject the officer identified; places the recourse hold on them (R9)
    and marks the systems that hold their records."""
    request = get(session, reference)
    if request.subject_id is not None:
        raise Conflict("The request is already linked to a data subject.")
    subject = session.scalar(select(DataSubject).where(DataSubject.ref == subject_ref.strip()))
    if subject is None:
        raise ValidationFailed(
            "Unknown data subject.", [FieldError("subject", "no data subject with that ref")]
        )
    moment = now or utcnow()
    request.subject = subject
    session.flush()
    tasks.refresh_holding(session, request)
    record_event(
        session, request, "request.link_subject", actor=actor, now=moment, subject=subject.ref
    )
    request_holds.place(session, request, actor=actor, now=moment)
    return request
