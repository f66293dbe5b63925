"""Builders shared by the tests of what requests do (corrections, deletion, consents, letters)."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from typing import Any

from sqlalchemy import insert, select

from auditor.models import (
    DataCategory,
    PrivacyRequest,
    Purpose,
    Record,
    System,
    record_subject,
)
from auditor.schemas.subjects import ConsentIn
from auditor.services import subjects
from auditor.services.ingest import content_digest
from auditor.services.retention import rules
from tests import factories
from tests.conftest import DISPOSITION_KEY
from tests.services.request_helpers import NOW, OFFICER, open_request, verify

KEY = base64.b64decode(DISPOSITION_KEY)
EMAIL = "amelie.tremblay@acme.example"
NAME = "Amélie Tremblay"
_ids = itertools.count(1)


def load_rules(session: Any) -> None:
    rules.load_default_rules(session, actor=OFFICER, now=NOW)
    session.flush()


def person(session: Any, *, email: str = EMAIL, name: str = NAME, marketing: bool = False) -> Any:
    subject = factories.subject(session, email=email, name=name, organization="acme")
    if marketing:
        consent = ConsentIn(
            purpose="marketing",
            given_at=NOW - dt.timedelta(days=400),
            method="web_form",
            text_version="newsletter-v2",
            evidence="form submission 2025-10-18",
        )
        subjects.add_consent(session, subject.ref, consent, actor=OFFICER)
    return subject


def record(
    session: Any,
    subject: Any,
    *,
    category: str = "ticket_history",
    system: str = "psa",
    created: dt.datetime = dt.datetime(2015, 1, 10, tzinfo=dt.UTC),
    content: dict[str, Any] | None = None,
    **dates: Any,
) -> Record:
    """A record of ``subject`` (and of ``dates``: closed_at, document_date, event_at)."""
    data = content if content is not None else {"summary": "Printer offline", "from": NAME}
    row = Record(
        system_id=session.scalar(select(System.id).where(System.code == system)),
        external_id=f"{category}-{next(_ids)}",
        category_id=session.scalar(select(DataCategory.id).where(DataCategory.code == category)),
        organization_id=subject.organization_id,
        created_at=created,
        content=data,
        content_digest=content_digest(data),
        **dates,
    )
    session.add(row)
    session.flush()
    session.execute(insert(record_subject).values(record_id=row.id, subject_id=subject.id))
    return row


def request_for(
    session: Any, subject: Any, type_: str, *, verified: bool = True, **overrides: Any
) -> PrivacyRequest:
    request = open_request(session, type=type_, subject=subject.ref, **overrides)
    if verified:
        verify(session, request)
    return request


def purpose_id(session: Any, code: str) -> int:
    return int(session.scalar(select(Purpose.id).where(Purpose.code == code)))
