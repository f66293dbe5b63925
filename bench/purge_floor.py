"""The floor of bench/purge.py: the raw batched DELETE plus one disposition row per record.

The rows are written with the engine's own bulk insert (COPY on PostgreSQL, one executemany on
SQLite), in the same transaction as the DELETE, with nothing read, evaluated or digested.

No engine that writes an R20 disposition row per record can beat this, so ``<db>_floor_ratio``
(its rows/s over the raw delete's) is the highest ``<db>_throughput_ratio`` the purge could
reach on that database; run as a child of bench/purge.py on its own copy of the data.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from purge_children import RAW_BATCH as BATCH  # the raw baseline's transactions


def disposition_row(record_id: int, now: dt.datetime) -> dict[str, Any]:
    """A disposition row of the engine's shape (sizes as the engine writes them)."""
    return {
        "created_at": now,
        "subject_type": "record",
        "subject_ref": str(record_id),
        "organization_id": 1,
        "category": "security_logs",
        "digest": f"{record_id:064x}",
        "rule": "security_logs",
        "rule_version": 1,
        "trigger_evidence": {"due_on": "2025-11-23", "as_of": "2026-11-23", "created_at": "2024"},
        "holds_checked": [{"holds_in_force": 20, "listed_in_audit_seq": 1}],
        "approver": None,
        "executor": "cli:bench",
        "method": "delete",
        "counts": {"records": 1, "subject_links": 1},
        "post_check": "record absent after delete",
        "audit_seq": 1,
        "run_id": 1,
        "review_id": None,
    }


def floor_delete(url: str, ids_file: Path) -> None:
    """Child: DELETE ... WHERE id IN (...) as the raw baseline does, plus the rows; prints JSON."""
    from purge_data import read_ids
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from auditor.db import make_engine
    from auditor.models import Disposition, Record
    from auditor.services.retention import bulk

    ids = read_ids(ids_file)
    engine = make_engine(url)
    table = Record.__table__
    now = dt.datetime.now(dt.UTC)
    deleted = 0
    with Session(engine) as session:
        started = time.perf_counter()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH].tolist()
            deleted += session.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
            rows = [disposition_row(record_id, now) for record_id in chunk]
            bulk.insert_rows(session, Disposition.__table__, rows)
            session.commit()
        seconds = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({"seconds": seconds, "deleted": deleted}))
