"""The access-request scenario: a subject with a ticket that also names a colleague, an invoice,
a contact record, security log entries, a consent given and withdrawn, a dispute note, and a
verified access request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from auditor.models import DataSubject, DisputeNote, PrivacyRequest, Record
from auditor.schemas.subjects import ConsentIn
from auditor.services import subjects
from tests.factories.actors import OFFICER
from tests.factories.clock import at
from tests.factories.people import EMAIL, subject
from tests.factories.records import stored_record
from tests.factories.requests import close_tasks, open_request, verify
from tests.factories.retention import default_rules

PHONE = "416-555-0101"
OTHER_NAME = "Grace Chen"
OTHER_EMAIL = "grace.chen@acme.example"
OTHER_PHONE = "514-555-0199"
STRANGER_EMAIL = "bob@vendor.example"
DISPUTE = "My job title is Director, not Assistant."
TICKET_NOTES = (
    f"Amélie called from {PHONE}; {OTHER_NAME} ({OTHER_EMAIL}, {OTHER_PHONE}) in copy. "
    f"Reply to {EMAIL}. Vendor contact {STRANGER_EMAIL}."
)


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
    session: Session,
    *,
    verified: bool = True,
    searched: bool | None = None,
    organization: str = "acme",
    **request_overrides: Any,
) -> Scenario:
    """The subject (of ``organization``), a colleague and their acme records; an access request
    opened three days before NOW (``request_overrides`` change it), verified at NOW unless
    ``verified`` is false, its searches closed when ``searched`` (default: when verified, as
    before any answer). Needs the inventory."""
    default_rules(session, now=at(2026, 1, 1))
    person = subject(
        session, email=EMAIL, phone=PHONE, name="Amélie Tremblay", organization=organization
    )
    other = subject(session, email=OTHER_EMAIL, name=OTHER_NAME, organization="acme")
    ticket = stored_record(
        session,
        subjects=[person, other],
        client="acme",
        external_id="T-100",
        content={
            "summary": "Printer offline",
            "notes": TICKET_NOTES,
            "cc": [OTHER_EMAIL],
            "minutes": 30,
        },
        created_at=at(2025, 3, 3),
        closed_at=at(2025, 3, 4),
    )
    invoice = stored_record(
        session,
        subjects=[person],
        client="acme",
        system="billing",
        category="billing_records",
        external_id="INV-7",
        content={"invoice_no": "2025-0000007", "amount_cents": 8900, "lines": [{"sku": "SEAT"}]},
        created_at=at(2025, 4, 1),
        document_date=dt.date(2025, 4, 1),
    )
    contact = stored_record(
        session,
        subjects=[person],
        client="acme",
        category="personal_contact",
        external_id="C-1",
        content={"name": "Amélie Tremblay", "title": "Assistant", "email": EMAIL},
        created_at=at(2024, 6, 1),
    )
    logs = [
        stored_record(
            session,
            subjects=[person],
            client="acme",
            system="siem",
            category="security_logs",
            external_id=f"EV-{n}",
            content={"event": "login_success", "message": f"login_success for {EMAIL}"},
            created_at=moment,
            event_at=moment,
        )
        for n, moment in enumerate([at(2026, 9, 2), at(2026, 9, 20), at(2026, 10, 5)])
    ]
    subjects.add_consent(
        session,
        person.ref,
        ConsentIn(
            purpose="marketing",
            given_at=at(2024, 1, 10),
            method="web_form",
            text_version="v3",
            withdrawn_at=at(2026, 2, 1),
            withdrawal_method="email",
        ),  # type: ignore[call-arg]
        actor=OFFICER,
    )
    session.add(
        DisputeNote(
            subject_id=person.id,
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
    if verified if searched is None else searched:
        close_tasks(session, request)
    return Scenario(person, other, ticket, invoice, contact, logs, request)
