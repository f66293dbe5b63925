"""Reading records: one by id, filtered pages, and the codes that name their references."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import DataCategory, Organization, Record, System
from auditor.schemas.records import RecordOut
from auditor.services import audit_reads
from auditor.services.context import Actor
from auditor.services.errors import NotFound
from auditor.services.inventory import resolve
from auditor.services.subjects import subject_refs


def get(session: Session, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound(f"Record {record_id} does not exist.")
    return record


def read(session: Session, record_id: int, *, actor: Actor) -> Record:
    record = get(session, record_id)
    audit_reads.record_read(
        session,
        actor=actor,
        action="record.read",
        object_type="record",
        object_id=record.id,
        organization_id=record.organization_id,
    )
    return record


def list_records(
    session: Session,
    *,
    after: int | None,
    limit: int,
    actor: Actor,
    client: str | None = None,
    category: str | None = None,
    system: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
) -> list[Record]:
    query = select(Record).order_by(Record.id).limit(limit)
    if after is not None:
        query = query.where(Record.id > after)
    filters: dict[str, str] = {}
    for name, model, column, code in (
        ("client", Organization, Record.organization_id, client),
        ("category", DataCategory, Record.category_id, category),
        ("system", System, Record.system_id, system),
    ):
        if code:
            query = query.where(column == resolve(session, model, code, name).id)
            filters[name] = code
    if created_from:
        query = query.where(Record.created_at >= created_from)
    if created_to:
        query = query.where(Record.created_at < created_to)
    records = list(session.scalars(query).all())
    audit_reads.record_read(
        session,
        actor=actor,
        action="record.list",
        object_type="record",
        details={"filters": filters, "returned": len(records)},
    )
    return records


def codes(session: Session) -> dict[str, dict[int, str]]:
    """id -> code maps for showing records."""
    return {
        name: {i: c for c, i in session.execute(select(model.code, model.id)).all()}
        for name, model in (
            ("system", System),
            ("category", DataCategory),
            ("client", Organization),
        )
    }


def records_out(session: Session, items: Sequence[Record]) -> list[RecordOut]:
    """Records in their output form: codes for their system, category and client, and the
    refs of the people they concern (three queries for the whole list)."""
    names = codes(session)
    refs = subject_refs(session, [r.id for r in items])
    return [
        RecordOut(
            id=r.id,
            system=names["system"][r.system_id],
            external_id=r.external_id,
            category=names["category"][r.category_id],
            client=names["client"][r.organization_id],
            subjects=refs[r.id],
            created_at=r.created_at,
            closed_at=r.closed_at,
            document_date=r.document_date,
            event_at=r.event_at,
            content=r.content,
            content_digest=r.content_digest,
            pan_redactions=r.pan_redactions,
            ingested_at=r.ingested_at,
            updated_at=r.updated_at,
        )
        for r in items
    ]
