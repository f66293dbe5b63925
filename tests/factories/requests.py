"""Keyword-only builders of privacy requests: the intake form, a request opened (and verified)
at the fixed clock, its tasks closed; and the audit events a request wrote."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import AuditEvent, DataSubject, PrivacyRequest, Record
from auditor.schemas.requests import RequestIn, TaskUpdate, VerificationIn
from auditor.services.requests import intake as requests
from auditor.services.requests import tasks as request_tasks
from auditor.services.requests import workflow
from tests.factories.actors import OFFICER, TECH
from tests.factories.clock import NOW
from tests.factories.people import NAME
from tests.factories.records import stored_record

REQUESTER = {"requester_name": "Amélie Tremblay", "requester_contact": "amelie@home.example"}


def intake(*, now: dt.datetime = NOW, **overrides: Any) -> RequestIn:
    """Amélie Tremblay's access request by email, received three days before ``now``."""
    data: dict[str, Any] = {
        "type": "access",
        "channel": "email",
        "received_at": now - dt.timedelta(days=3),
        **REQUESTER,
        "identifiers": [{"kind": "email", "value": "amelie.tremblay@acme.example"}],
        "request_text": "Please send me everything you hold about me. Amélie Tremblay",
    }
    data.update(overrides)
    return RequestIn.model_validate({k: v for k, v in data.items() if v is not None})


def open_request(session: Session, *, now: dt.datetime = NOW, **overrides: Any) -> PrivacyRequest:
    """The request of ``intake(**overrides)``, opened by the officer at ``now``."""
    return requests.open_request(session, intake(now=now, **overrides), actor=OFFICER, now=now)


def verify(session: Session, request: PrivacyRequest, *, now: dt.datetime = NOW) -> None:
    """The requester's identity verified by the officer (a known contact matched) at ``now``."""
    data = VerificationIn(method="matched_known_contact", verified_at=now)
    workflow.verify(session, request.reference, data, actor=OFFICER, now=now)


def close_tasks(session: Session, request: PrivacyRequest, *, now: dt.datetime = NOW) -> None:
    """Every open search task closed by a technician: searched, nothing found."""
    for task in request.tasks:
        if task.closed_at is None:
            update = TaskUpdate(searched=True, found=False, closed=True)
            request_tasks.update_task(
                session, request.reference, task.id, update, actor=TECH, now=now
            )


def request_for(
    session: Session,
    *,
    subject: DataSubject,
    type: str,
    verified: bool = True,
    searched: bool | None = None,
    now: dt.datetime = NOW,
    **overrides: Any,
) -> PrivacyRequest:
    """A request of ``type`` about ``subject``, received three days before ``now`` and verified
    at ``now`` unless ``verified`` is false, its searches closed when ``searched`` (default:
    when verified, as before any answer)."""
    request = open_request(session, now=now, type=type, subject=subject.ref, **overrides)
    if verified:
        verify(session, request, now=now)
    if verified if searched is None else searched:
        close_tasks(session, request, now=now)
    return request


def subject_record(
    session: Session,
    *,
    subject: DataSubject,
    created_at: dt.datetime = dt.datetime(2015, 1, 10, tzinfo=dt.UTC),
    content: dict[str, Any] | None = None,
    **fields: Any,
) -> Record:
    """A record of ``subject`` (a psa ticket unless ``fields`` say otherwise) naming her."""
    data = content if content is not None else {"summary": "Printer offline", "from": NAME}
    return stored_record(session, subjects=[subject], created_at=created_at, content=data, **fields)


def events(session: Session, prefix: str = "request.") -> list[AuditEvent]:
    """The audit events whose action starts with ``prefix``, in order."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.seq)
        )
    )


def assert_no_personal_data(rows: list[AuditEvent], *needles: str) -> None:
    """No requester name, contact, identifier or free text (nor ``needles``) in any event."""
    for event in rows:
        text = f"{event.object_id} {event.details}".lower()
        for needle in ("amélie", "tremblay", "amelie", "@", *needles):
            assert needle.lower() not in text, (event.action, event.details)
