"""Builders shared by the privacy-request tests: a request at intake, a record of a subject."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select

from auditor.models import AuditEvent, DataCategory, PrivacyRequest, Record, record_subject
from auditor.schemas.requests import RequestIn, TaskUpdate, VerificationIn
from auditor.services.context import Actor
from auditor.services.requests import intake as requests
from auditor.services.requests import tasks as request_tasks
from auditor.services.requests import workflow

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
OFFICER = Actor(name="user:7", user_id=7, role="privacy_officer")
TECH = Actor(name="user:9", user_id=9, role="technician")
REQUESTER = {"requester_name": "Amélie Tremblay", "requester_contact": "amelie@home.example"}


def intake(**overrides: Any) -> RequestIn:
    data: dict[str, Any] = {
        "type": "access",
        "channel": "email",
        "received_at": NOW - dt.timedelta(days=3),
        **REQUESTER,
        "identifiers": [{"kind": "email", "value": "amelie.tremblay@acme.example"}],
        "request_text": "Please send me everything you hold about me. Amélie Tremblay",
    }
    data.update(overrides)
    return RequestIn.model_validate({k: v for k, v in data.items() if v is not None})


def open_request(session: Any, *, now: dt.datetime = NOW, **overrides: Any) -> PrivacyRequest:
    return requests.open_request(session, intake(**overrides), actor=OFFICER, now=now)


def verify(session: Any, request: PrivacyRequest, *, now: dt.datetime = NOW) -> None:
    data = VerificationIn(method="matched_known_contact", verified_at=now)
    workflow.verify(session, request.reference, data, actor=OFFICER, now=now)


def close_tasks(session: Any, request: PrivacyRequest, *, now: dt.datetime = NOW) -> None:
    for task in request.tasks:
        if task.closed_at is None:
            update = TaskUpdate(searched=True, found=False, closed=True)
            request_tasks.update_task(
                session, request.reference, task.id, update, actor=TECH, now=now
            )


def record_of(session: Any, inventory: Any, subject: Any, *, system: Any = None) -> Record:
    """A ticket in the PSA (or ``system``) concerning ``subject``."""
    category = session.scalar(select(DataCategory).where(DataCategory.code == "ticket_history"))
    record = Record(
        system_id=(system or inventory.psa).id,
        external_id=f"T-{subject.id}-{(system or inventory.psa).code}",
        category_id=category.id,
        organization_id=inventory.client.id,
        created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        content={"summary": "Printer"},
        content_digest="0" * 64,
    )
    session.add(record)
    session.flush()
    session.execute(insert(record_subject).values(record_id=record.id, subject_id=subject.id))
    return record


def events(session: Any, prefix: str = "request.") -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.seq)
        )
    )


def assert_no_personal_data(rows: list[AuditEvent], *needles: str) -> None:
    """No requester name, contact, identifier or free text in any audit event."""
    for event in rows:
        text = f"{event.object_id} {event.details}".lower()
        for needle in ("amélie", "tremblay", "amelie", "@", *needles):
            assert needle.lower() not in text, (event.action, event.details)
