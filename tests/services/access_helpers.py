"""Builders shared by the access-package, access-report and portability tests: a subject with a
ticket that also names a colleague, an invoice, a contact record, security log entries, a
consent given and withdrawn, a dispute note, and a verified access request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from auditor.models import (
    DataCategory,
    DataSubject,
    DisputeNote,
    PrivacyRequest,
    Record,
    System,
    record_subject,
)
from auditor.schemas.subjects import ConsentIn
from auditor.services import subjects
from auditor.services.retention import rules
from crypto.note import load_private_key
from tests import factories
from tests.conftest import SIGNING_KEY_PEM
from tests.services.request_helpers import NOW, OFFICER, open_request, verify

EMAIL = "amelie.tremblay@acme.example"
PHONE = "416-555-0101"
OTHER_NAME = "Grace Chen"
OTHER_EMAIL = "grace.chen@acme.example"
OTHER_PHONE = "514-555-0199"
STRANGER_EMAIL = "bob@vendor.example"
ORIGIN = "auditor.local/audit-log"
DISPUTE = "My job title is Director, not Assistant."
TICKET_NOTES = (
    f"Amélie called from {PHONE}; {OTHER_NAME} ({OTHER_EMAIL}, {OTHER_PHONE}) in copy. "
    f"Reply to {EMAIL}. Vendor contact {STRANGER_EMAIL}."
)


def at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def add_record(
    session: Any,
    people: list[DataSubject],
    *,
    system: System,
    category: str,
    external_id: str,
    content: dict[str, Any],
    created_at: dt.datetime,
    organization_id: int,
    **dates: Any,
) -> Record:
    category_id = session.scalar(select(DataCategory.id).where(DataCategory.code == category))
    record = Record(
        system_id=system.id,
        external_id=external_id,
        category_id=category_id,
        organization_id=organization_id,
        created_at=created_at,
        content=content,
        content_digest="0" * 64,
        **dates,
    )
    session.add(record)
    session.flush()
    for person in people:
        session.execute(insert(record_subject).values(record_id=record.id, subject_id=person.id))
    return record


@dataclass
class Scenario:
    subject: DataSubject
    other: DataSubject
    ticket: Record
    invoice: Record
    contact: Record
    logs: list[Record]
    request: PrivacyRequest


def scenario(
    session: Any,
    inventory: Any,
    *,
    verified: bool = True,
    organization: str = "acme",
    **request_overrides: Any,
) -> Scenario:
    """The subject, a colleague and their records; an access request opened three days before
    NOW (``request_overrides`` change it), verified at NOW unless ``verified`` is false."""
    rules.load_default_rules(session, actor=OFFICER, now=at(2026, 1, 1))
    subject = factories.subject(
        session, email=EMAIL, phone=PHONE, name="Amélie Tremblay", organization=organization
    )
    other = factories.subject(session, email=OTHER_EMAIL, name=OTHER_NAME, organization="acme")
    client = inventory.client.id
    ticket = add_record(
        session,
        [subject, other],
        system=inventory.psa,
        category="ticket_history",
        external_id="T-100",
        content={
            "summary": "Printer offline",
            "notes": TICKET_NOTES,
            "cc": [OTHER_EMAIL],
            "minutes": 30,
        },
        created_at=at(2025, 3, 3),
        closed_at=at(2025, 3, 4),
        organization_id=client,
    )
    invoice = add_record(
        session,
        [subject],
        system=inventory.billing,
        category="billing_records",
        external_id="INV-7",
        content={"invoice_no": "2025-0000007", "amount_cents": 8900, "lines": [{"sku": "SEAT"}]},
        created_at=at(2025, 4, 1),
        document_date=dt.date(2025, 4, 1),
        organization_id=client,
    )
    contact = add_record(
        session,
        [subject],
        system=inventory.psa,
        category="personal_contact",
        external_id="C-1",
        content={"name": "Amélie Tremblay", "title": "Assistant", "email": EMAIL},
        created_at=at(2024, 6, 1),
        organization_id=client,
    )
    logs = [
        add_record(
            session,
            [subject],
            system=inventory.siem,
            category="security_logs",
            external_id=f"EV-{n}",
            content={"event": "login_success", "message": f"login_success for {EMAIL}"},
            created_at=moment,
            event_at=moment,
            organization_id=client,
        )
        for n, moment in enumerate([at(2026, 9, 2), at(2026, 9, 20), at(2026, 10, 5)])
    ]
    subjects.add_consent(
        session,
        subject.ref,
        ConsentIn(
            purpose="marketing",
            given_at=at(2024, 1, 10),
            method="web_form",
            text_version="v3",
            withdrawn_at=at(2026, 2, 1),
            withdrawal_method="email",
        ),
        actor=OFFICER,
    )
    session.add(
        DisputeNote(
            subject_id=subject.id,
            field="job title",
            statement=DISPUTE,
            created_by="user:7",
            created_at=at(2026, 3, 1),
        )
    )
    session.flush()
    request = open_request(session, **request_overrides)
    if verified:
        verify(session, request)
    return Scenario(subject, other, ticket, invoice, contact, logs, request)


__all__ = ["NOW", "OFFICER", "Scenario", "add_record", "at", "scenario", "signing"]


def signing() -> dict[str, Any]:
    """The keyword arguments an export needs to sign a checkpoint (the test run's key)."""
    return {"signing_key": load_private_key(SIGNING_KEY_PEM), "origin": ORIGIN}
