"""The floor of bench/purge.py: the raw batched DELETE plus the proof rows the engine writes.

Per transaction one disposition batch and one line per record, written with the engine's own
bulk insert (ids reserved; COPY on PostgreSQL, one executemany on SQLite), in the same
transaction as the DELETE, with nothing read, evaluated or digested.

No engine that writes an R20 disposition line per record can beat this: ``<db>_floor_ratio`` (its
rows/s over the raw delete's) is the cost of the storage, ``<db>_engine_to_floor_ratio`` (the
engine's records/s over the floor's) the engine's own overhead; run as a child of bench/purge.py
on its own copy of the data.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from purge_children import RAW_BATCH as BATCH  # the raw baseline's transactions


def batch_row(batch_id: int, first_id: int, lines: int, now: dt.datetime) -> dict[str, Any]:
    """A disposition batch of the engine's shape (sizes as the engine writes them)."""
    return {
        "id": batch_id,
        "created_at": now,
        "run_id": 1,
        "subject_type": "record",
        "rule": "security_logs",
        "rule_version": 1,
        "review_id": None,
        "approver": None,
        "executor": "cli:bench",
        "method": "delete",
        "post_check": "record absent after delete",
        "holds_in_force": 20,
        "evidence": {"as_of": "2026-11-23"},
        "start_field": "created_at",
        "audit_seq": 1,
        "first_id": first_id,
        "lines": lines,
        "digest": "0" * 64,
        "line_format": 2,
        "legacy": None,
    }


def disposition_row(line_id: int, batch_id: int, record_id: int, day: dt.date) -> dict[str, Any]:
    """A disposition line of the engine's shape (sizes as the engine writes them)."""
    return {
        "id": line_id,
        "batch_id": batch_id,
        "subject_ref": str(record_id),
        "organization_id": 1,
        "category": "security_logs",
        "digest": record_id.to_bytes(32, "big"),
        "due_on": day,
        "started_on": day,
        "evidence": None,
        "legacy": None,
    }


def floor_delete(url: str, ids_file: Path) -> None:
    """Child: DELETE ... WHERE id IN (...) as the raw baseline does, plus the batch and its lines
    (ids reserved, COPY on PostgreSQL); prints JSON."""
    from purge_data import read_ids
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from auditor.db import make_engine
    from auditor.models import Disposition, DispositionBatch, Record
    from auditor.services.retention import bulk

    ids = read_ids(ids_file)
    engine = make_engine(url)
    table = Record.__table__
    now = dt.datetime.now(dt.UTC)
    day = now.date()
    deleted = 0
    with Session(engine) as session:
        started = time.perf_counter()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH].tolist()
            deleted += session.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
            (batch_id,) = bulk.reserve_ids(session, DispositionBatch.__table__, 1)
            line_ids = bulk.reserve_ids(session, Disposition.__table__, len(chunk))
            rows = [
                disposition_row(line_id, batch_id, record_id, day)
                for line_id, record_id in zip(line_ids, chunk, strict=True)
            ]
            batch = batch_row(batch_id, line_ids[0], len(chunk), now)
            bulk.copy_rows(session, DispositionBatch.__table__, [batch])
            bulk.copy_rows(session, Disposition.__table__, rows)
            session.commit()
        seconds = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({"seconds": seconds, "deleted": deleted}))
