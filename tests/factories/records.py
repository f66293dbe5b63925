"""Keyword-only builders of records: as the importers take them (dicts), ingested, or written
straight to the database with exact dates and subjects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from auditor.models import DataCategory, DataSubject, Organization, Record, System, record_subject
from auditor.services.ingest import Ingestor, content_digest
from tests.factories.actors import OPERATOR
from tests.factories.clock import at
from tests.factories.sequence import next_number


def record(
    *,
    external_id: str | None = None,
    system: str = "psa",
    category: str = "ticket_history",
    client: str = "acme",
    email: str | None = "pat@example.com",
    content: dict[str, Any] | None = None,
    **dates: Any,
) -> dict[str, Any]:
    """A record as the API and the importers take it (a dict, not yet validated)."""
    data: dict[str, Any] = {
        "system": system,
        "external_id": external_id or f"T-{next_number()}",
        "category": category,
        "client": client,
        "subjects": [{"kind": "email", "value": email}] if email else [],
        "created_at": "2025-01-15T10:00:00Z",
        "content": content if content is not None else {"summary": "Printer offline"},
    }
    data.update(dates)
    return data


def old_ticket(*, external_id: str, email: str = "pat@example.com", **extra: Any) -> dict[str, Any]:
    """A ticket closed on 1 February 2015: long due under the default rules."""
    return record(
        external_id=external_id,
        email=email,
        created_at="2015-01-10T10:00:00Z",
        closed_at="2015-02-01T10:00:00Z",
        **extra,
    )


def new_ticket(*, external_id: str, email: str = "pat@example.com") -> dict[str, Any]:
    """A ticket closed on 1 February 2025: not due for years."""
    return record(
        external_id=external_id,
        email=email,
        created_at="2025-01-10T10:00:00Z",
        closed_at="2025-02-01T10:00:00Z",
    )


def records_around_cutoffs(
    *, offsets: Iterable[int], log_systems: Sequence[str] = ("siem",), open_tickets: bool = False
) -> list[dict[str, Any]]:
    """Tickets closed, logs and invoices dated ``offset`` days around each default rule's cutoff
    on 22 November 2026 (and still-open tickets when asked)."""
    rows = []
    for offset in offsets:
        closed = dt.datetime(2019, 11, 22, 12, tzinfo=dt.UTC) + dt.timedelta(days=offset)
        rows.append(
            record(
                external_id=f"T{offset}",
                created_at=(closed - dt.timedelta(days=3)).isoformat(),
                closed_at=closed.isoformat(),
            )
        )
        if open_tickets:
            rows.append(record(external_id=f"O{offset}", created_at=closed.isoformat()))
        logged = dt.datetime(2025, 11, 22, 23, 59, tzinfo=dt.UTC) + dt.timedelta(days=offset)
        for system in log_systems:
            rows.append(
                record(
                    external_id=f"L{system}{offset}",
                    system=system,
                    category="security_logs",
                    created_at=logged.isoformat(),
                )
            )
        document = dt.date(2019, 11, 22) + dt.timedelta(days=offset)
        rows.append(
            record(
                external_id=f"B{offset}",
                system="billing",
                category="billing_records",
                created_at=f"{document}T09:00:00Z",
                document_date=document.isoformat(),
            )
        )
    return rows


def ingest(session: Session, *rows: dict[str, Any]) -> dict[str, int]:
    """``rows`` through the ingest service (as an operator's import); their ids by external id."""
    ingestor = Ingestor(session, actor=OPERATOR, source="test")
    for line, row in enumerate(rows, 1):
        ingestor.add(line, row)
    ingestor.finish()
    session.flush()
    return {
        row["external_id"]: session.scalar(
            select(Record.id).where(Record.external_id == row["external_id"])
        )
        for row in rows
    }


def stored_record(
    session: Session,
    *,
    subjects: Sequence[DataSubject] = (),
    system: str = "psa",
    category: str = "ticket_history",
    client: str | None = None,
    external_id: str | None = None,
    created_at: dt.datetime = dt.datetime(2010, 1, 1, 12, tzinfo=dt.UTC),
    content: dict[str, Any] | None = None,
    **dates: Any,
) -> Record:
    """A record written straight to the database (not through ingest), linked to ``subjects``;
    ``dates`` are closed_at, document_date, event_at. The client is the first subject's, else
    acme."""
    data = content if content is not None else {"summary": "Printer"}
    if client is not None:
        organization_id = session.scalar(select(Organization.id).where(Organization.code == client))
    elif subjects and subjects[0].organization_id is not None:
        organization_id = subjects[0].organization_id
    else:
        organization_id = session.scalar(select(Organization.id).where(Organization.code == "acme"))
    row = Record(
        system_id=session.scalar(select(System.id).where(System.code == system)),
        external_id=external_id or f"{category}-{next_number()}",
        category_id=session.scalar(select(DataCategory.id).where(DataCategory.code == category)),
        organization_id=organization_id,
        created_at=created_at,
        content=data,
        content_digest=content_digest(data),
        **dates,
    )
    session.add(row)
    session.flush()
    for person in subjects:
        session.execute(insert(record_subject).values(record_id=row.id, subject_id=person.id))
    return row


def old_record(session: Session, **fields: Any) -> Record:
    """A record created on 1 January 2010 and closed the next day (``fields`` change it): past
    every default retention period."""
    return stored_record(session, **({"closed_at": at(2010, 1, 2)} | fields))


def closed_ticket(session: Session, *, closed: dt.date, **fields: Any) -> Record:
    """A ticket closed at noon on ``closed``, opened three days before: due seven years later
    (ticket_history v1)."""
    moment = dt.datetime.combine(closed, dt.time(12), dt.UTC)
    return old_record(session, created_at=moment - dt.timedelta(days=3), closed_at=moment, **fields)
