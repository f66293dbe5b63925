"""Figures for the metrics endpoint: aggregate counts only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import DataCategory, Record


def records_by_category(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(
        select(DataCategory.code, func.count(Record.id))
        .join(Record, Record.category_id == DataCategory.id, isouter=True)
        .group_by(DataCategory.code)
        .order_by(DataCategory.code)
    ).all()
    return [(code, count) for code, count in rows]
