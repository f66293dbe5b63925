"""The data of bench/api.py: SIZE records in bulk, privacy requests, holds, an admin token."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from common import log, make_instance, run_cli
from purge_children import set_up  # bench/purge.py's data: db upgrade, defaults, bulk load, holds
from purge_data import SUBJECTS, Dataset
from purge_targets import Target

REQUESTS = 300
ADMIN = "bench.admin@msp.example.ca"
TYPES = ("access", "access", "correction", "deletion")
CHANNELS = ("email", "web_form", "mail", "phone")


def add_requests(env: dict[str, str], target: Target, data: Dataset, count: int) -> None:
    """``count`` privacy requests of known people, received over the last 25 days."""
    from auditor import create_app
    from auditor.db import get_database
    from auditor.schemas.requests import RequestIn
    from auditor.services import requests
    from auditor.services.context import Actor

    app = create_app({"INSTANCE_PATH": env["AUDITOR_INSTANCE_PATH"], "DATABASE_URL": target.url()})
    database = get_database(app)
    actor = Actor.system("bench")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with app.app_context(), database.session() as session:
        for number in range(count):
            subject = 1 + (number * 67) % SUBJECTS  # distinct people (67 and 20,000: coprime)
            email = data.email(subject)
            kind = TYPES[number % len(TYPES)]
            intake = {
                "type": kind,
                "channel": CHANNELS[number % len(CHANNELS)],
                "received_at": now - dt.timedelta(days=number % 25, hours=number % 24),
                "requester_name": email.split("@")[0].split(".")[0].title() + " Bench",
                "requester_contact": email,
                "identifiers": [{"kind": "email", "value": email}],
                "subject": data.refs[subject - 1],
                "request_text": f"Under PIPEDA I ask for {kind} of my personal information.",
                "external_reference": f"BENCH-{number + 1}",
            }
            requests.open_request(session, RequestIn.model_validate(intake), actor=actor, now=now)
        session.commit()
    database.engine.dispose()


def build(target: Target, size: int) -> tuple[dict[str, str], str, dict[str, Any]]:
    """The instance, its data and an admin token on ``target`` (already created): the
    environment its processes run in, the token, and what was built (counts, seconds)."""
    started = time.perf_counter()
    folder: Path = target.folder
    env = make_instance(folder / "instance", AUDITOR_DATABASE_URL=target.url())
    data = Dataset(size // 2, dt.datetime.now(dt.UTC))  # half of them old enough to be purged
    log(f"{target.name}: generating and loading {data.total:,} records")
    setup = set_up(target, env, data)
    log(f"{target.name}: bulk load {setup['load_seconds']:.0f} s; {REQUESTS} privacy requests")
    add_requests(env, target, data, REQUESTS)
    # as the operator set_up named (env AUDITOR_OPERATOR)
    run_cli(["users", "create", ADMIN, "--name", "Bench Admin", "--role", "admin"], env)
    _, output = run_cli(["tokens", "create", ADMIN, "--name", "bench"], env)
    token = output.strip().splitlines()[-1].strip()
    tables = ("record", "data_subject", "privacy_request", "retention_hold", "audit_event")
    rows = {table: int(target.scalar(f"SELECT count(*) FROM {table}")) for table in tables}
    built = {
        "records": data.total,
        "rows": rows,
        "bulk_load_seconds": round(setup["load_seconds"], 1),
        "data_seconds": round(time.perf_counter() - started, 1),
        "database_mb": round(target.size_mb(), 1),
        "version": target.version(),
    }
    return env, token, built
