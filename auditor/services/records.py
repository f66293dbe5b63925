"""Reading records: one by id, filtered pages, and the codes that name their references."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import DataCategory, Organization, Record, System
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import NotFound
from auditor.services.inventory import resolve


def get(session: Session, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound(f"Record {record_id} does not exist.")
    return record


def read(session: Session, record_id: int, *, actor: Actor) -> Record:
    record = get(session, record_id)
    audit.record(
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
    audit.record(
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
