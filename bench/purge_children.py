"""The child modes of bench/purge.py: load the data, check the result, the raw delete.

Each runs in its own process (``python bench/purge.py SIZE --prepare/--check/--raw-delete ...``)
and prints one JSON object on its last line for the parent; the floor is bench/purge_floor.py.
The app is imported inside the functions: the parent imports this module and must stay small.
"""

from __future__ import annotations

import array
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from common import add_inventory, client_code, clients, log, name_operator, run_cli
from purge_data import (
    CLIENTS,
    HELD_CLIENTS,
    HELD_SYSTEM,
    RELEASED_CLIENT,
    SYSTEMS,
    Dataset,
    read_ids,
)
from purge_targets import Target

RAW_BATCH = 1000


# -- child: the data -----------------------------------------------------------------------------
def set_up(target: Target, env: dict[str, str], data: Dataset) -> dict[str, Any]:
    """Schema and defaults through the CLI; clients, systems, people, records, then the holds."""
    from sqlalchemy import select

    from auditor import create_app
    from auditor.db import get_database
    from auditor.models import DataCategory, Organization, System
    from auditor.schemas.holds import HoldIn
    from auditor.services import holds
    from auditor.services.context import Actor

    run_cli(["db", "upgrade"], env)
    name_operator(env)
    run_cli(["inventory", "load-defaults"], env)
    run_cli(["retention", "rules", "load-defaults"], env)
    app = create_app({"INSTANCE_PATH": env["AUDITOR_INSTANCE_PATH"], "DATABASE_URL": target.url()})
    database = get_database(app)
    actor = Actor.system("bench")
    with database.session() as session:
        add_inventory(session, clients(CLIENTS), [(c, c.upper(), kind) for c, kind in SYSTEMS])
        session.commit()
        ids = {
            name: dict(session.execute(select(model.code, model.id)).all())
            for name, model in (
                ("client", Organization),
                ("system", System),
                ("category", DataCategory),
            )
        }
    started = time.perf_counter()
    target.load(data, ids)
    load_seconds = time.perf_counter() - started
    placed = data.now.replace(tzinfo=dt.UTC) - dt.timedelta(days=60)
    wanted = [("client", client_code(c)) for c in HELD_CLIENTS] + [("system", HELD_SYSTEM)]
    wanted += [("subject", data.refs[s - 1]) for s in sorted(data.held_subjects)]
    wanted += [("record", str(r)) for r in sorted(data.held_records)]
    with database.session() as session:
        for scope, value in wanted:
            hold = HoldIn(kind="legal", scope=scope, value=value, reason="Benchmark litigation")
            holds.place(session, hold, actor=actor, now=placed)
        released = HoldIn(
            kind="legal", scope="client", value=client_code(RELEASED_CLIENT), reason="Settled"
        )
        hold_row = holds.place(session, released, actor=actor, now=placed)
        holds.release(
            session, hold_row.id, reason="Settled", actor=actor, now=placed + dt.timedelta(days=30)
        )
        session.commit()
    database.engine.dispose()
    return {"load_seconds": load_seconds, "holds": len(wanted) + 1}


def prepare(target: Target, expired: int, now: dt.datetime) -> None:
    """Child: generate and load the data, place the holds, copy the database for the baseline;
    writes the ids to dispose of and the held ones next to it, prints the plan as JSON."""
    from auditor.config import DEFAULTS

    started = time.perf_counter()
    data = Dataset(expired, now)
    log(f"{target.name}: generating {data.total:,} records ({expired:,} expired)")
    setup = set_up(target, dict(os.environ), data)
    log(f"{target.name}: snapshot for the raw baseline")
    target.snapshot()
    (target.folder / "disposed.ids").write_bytes(data.disposed.tobytes())
    (target.folder / "held.ids").write_bytes(data.held.tobytes())
    plan = {
        "total": data.total,
        "disposed": len(data.disposed),
        "held": len(data.held),
        "covered": data.covered,
        "links": data.links,
        "links_left": data.links_left,
        "subjects_removed": data.subjects_removed,
        "holds": setup["holds"],
        "load_seconds": setup["load_seconds"],
        "seconds": time.perf_counter() - started,
        "database_mb": target.size_mb(),
        "batch": DEFAULTS["PURGE_BATCH_SIZE"][0],
        "as_of": data.today.isoformat(),
        "version": target.version(),
    }
    print(json.dumps(plan))


def _verified(target: Target) -> bool:
    """``auditor retention verify`` on what the engine wrote: every batch against its event."""
    from sqlalchemy.orm import Session

    from auditor.db import make_engine
    from auditor.services import retention

    engine = make_engine(target.url())
    try:
        with Session(engine) as session:
            return retention.verify_dispositions(session).ok
    finally:
        engine.dispose()


def check(target: Target) -> None:
    """Child: what the engine left behind, as JSON (the parent compares it with the plan)."""
    disposed = read_ids(target.folder / "disposed.ids")
    refs = sorted(
        int(ref)
        for (ref,) in target.query(
            "SELECT d.subject_ref FROM disposition d JOIN disposition_batch b "
            "ON b.id = d.batch_id WHERE b.subject_type = 'record'"
        )
    )
    found = {
        "record_rows": len(refs),
        "ids_match": array.array("q", refs) == disposed,
        "subject_rows": target.scalar(
            "SELECT count(*) FROM disposition d JOIN disposition_batch b "
            "ON b.id = d.batch_id WHERE b.subject_type = 'data_subject'"
        ),
        "records_left": target.scalar("SELECT count(*) FROM record"),
        "links_left": target.scalar("SELECT count(*) FROM record_subject"),
        "people_left": target.scalar("SELECT count(*) FROM data_subject"),
        "verified": _verified(target),
        "held_left": target.count_ids(read_ids(target.folder / "held.ids")),
    }
    print(json.dumps(found))


# -- child: the raw baseline ---------------------------------------------------------------------
def raw_delete(url: str, ids_file: Path) -> None:
    """Child: DELETE FROM record WHERE id IN (...), RAW_BATCH ids per transaction; prints JSON."""
    from sqlalchemy import delete, func, select

    from auditor.db import make_engine
    from auditor.models import Record, record_subject

    ids = read_ids(ids_file)
    engine = make_engine(url)  # the app's engine: same driver, same pragmas (foreign keys on)
    table = Record.__table__
    deleted = 0
    with engine.connect() as conn:
        started = time.perf_counter()
        for start in range(0, len(ids), RAW_BATCH):
            chunk = ids[start : start + RAW_BATCH].tolist()
            with conn.begin():
                deleted += conn.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
            if (start // RAW_BATCH) % 200 == 199:
                log(f"  raw delete: {start + RAW_BATCH:,} ids")
        seconds = time.perf_counter() - started
        links_left = conn.scalar(select(func.count()).select_from(record_subject))
        conn.rollback()
    engine.dispose()
    print(json.dumps({"seconds": seconds, "deleted": deleted, "links_left": links_left}))
