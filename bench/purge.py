"""Benchmark of the retention purge (``auditor retention run --yes``) on SQLite and PostgreSQL.

Run with no arguments: 1,000,000 expired records plus 1,000,000 that must be kept, interleaved in
id order, on a fresh SQLite file and on a scratch PostgreSQL database (``--records N`` for a quick
run, ``--databases sqlite`` for one of them). Progress goes to stderr; the figures are one JSON
object on the last line of stdout.

- The data: 50 clients, 20,000 people (one email each), 60 % security logs (created more than a
  year ago when expired, within the last 330 days when kept), 30 % tickets (closed more than
  seven years ago / within six years or still open), 10 % invoices (document date more than
  8.5 years ago / within five years); about one subject link per record and ~200 bytes of
  content. Holds (placed through ``holds.place``): two clients, the small ``legacy-siem`` system,
  twelve subjects and four records, about 5 % of the expired records; one more client hold was
  released a month ago and must not block anything. Rows are bulk-loaded with executemany
  (SQLite) or COPY (PostgreSQL) after ``auditor db upgrade``, ``auditor inventory load-defaults``
  and ``auditor retention rules load-defaults``; generation is timed apart from the figures.
- The engine: the real ``auditor retention run --yes --as-of TODAY`` in a child process (default
  batch, ``AUDITOR_PURGE_BATCH_SIZE``), so that its peak RSS (from ``wait4``) is its own; its
  wall time includes starting the CLI (``<db>_cli_startup_seconds`` measures that alone). A
  child's ``ru_maxrss`` starts from its parent's high-water mark, so this process stays small
  (``parent_peak_rss_mb``): the generation, the load and the checks run in children too.
- The raw baseline, in the same run on the same database as generated (a copy taken before the
  engine ran: the file for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL): the ids the
  engine must dispose of, deleted with ``DELETE FROM record WHERE id IN (...)``, 1,000 per
  transaction, through the app's engine and driver (SQLite foreign keys on: the subject links
  cascade as they do for the engine), in another child. ``<db>_throughput_ratio`` is the engine's
  records/s over the raw delete's rows/s.
- The floor (bench/purge_floor.py), on a third copy: the same DELETEs plus one disposition row
  per record written with the engine's bulk insert in the same transaction, nothing read or
  evaluated. ``<db>_floor_ratio`` (its rows/s over the raw delete's) is the most any engine
  writing R20 rows could reach, for reading ``<db>_throughput_ratio`` against.
- Checks: the engine disposed of exactly the expired records that no hold covers (the set of
  disposition rows equals that set), every held record is still there, the links left are those
  of the records left, one disposition row per disposed record, and the people left with no
  record were removed. ``meets_target``: ratio at least 0.5 and peak RSS under 300 MB on every
  database, with every check passing.
"""

from __future__ import annotations

import argparse
import array
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from purge_data import (
    CLIENTS,
    HELD_CLIENTS,
    HELD_SYSTEM,
    RELEASED_CLIENT,
    SUBJECTS,
    SYSTEMS,
    Dataset,
    client_code,
    log,
    read_ids,
)
from purge_targets import PostgresTarget, SQLiteTarget, Target

DEFAULT_RECORDS = 1_000_000  # expired; as many again are kept
DATABASES = ("sqlite", "postgresql")
POSTGRES_URL = "postgresql://postgres@127.0.0.1/test"
RAW_BATCH = 1000
TARGET_RATIO = 0.5
TARGET_PEAK_RSS_MB = 300
CLI = [sys.executable, "-c", "from auditor.cli import main; main()"]
_RUN = re.compile(r"Purge run (\d+) (\w+): (\d+) record\(s\) disposed")
_SUBJECTS = re.compile(r"subjects removed [^:]*: (\d+)")
_HOLD = re.compile(r"blocked \(hold\): (\d+)")


# -- children ------------------------------------------------------------------------------------
def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """One real ``auditor`` command in a child process: its wall seconds and its stdout."""
    started = time.perf_counter()
    proc = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"'auditor {' '.join(args)}' failed with status {proc.returncode}")
    return seconds, proc.stdout


def run_child(
    args: list[str],
    env: dict[str, str],
    poll: Callable[[], str | None] | None = None,
    every: float = 30.0,
) -> tuple[float, Any, str]:
    """Run a child; its wall seconds, its own rusage (wait4), and its stdout (echoed to stderr).
    ``poll`` (optional) says how far the child got, logged every ``every`` seconds."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output: list[str] = []

    def copy(stream: Any) -> None:
        for line in stream:
            text = line.decode(errors="replace")
            output.append(text)
            sys.stderr.write(text)

    reader = threading.Thread(target=copy, args=(proc.stdout,), daemon=True)
    reader.start()
    next_poll = started + every
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
            if poll is not None and time.perf_counter() >= next_poll:
                next_poll += every
                try:
                    said = poll()
                except Exception as exc:  # progress only: never fail the run
                    said = f"({type(exc).__name__})"
                if said:
                    log(f"  {time.perf_counter() - started:.0f} s: {said}")
    except BaseException:  # interrupted: the child goes too (its database is about to)
        proc.terminate()
        os.wait4(proc.pid, 0)
        raise
    seconds = time.perf_counter() - started
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed with status {proc.returncode}: {' '.join(args[:6])}")
    return seconds, usage, "".join(output)


def make_target(options: argparse.Namespace, name: str, folder: Path) -> Target:
    if name == "sqlite":
        return SQLiteTarget(folder)
    return PostgresTarget(folder, options.postgres_url, options.pg_database)


# -- child: the data -----------------------------------------------------------------------------
def set_up(target: Target, env: dict[str, str], data: Dataset) -> dict[str, Any]:
    """Schema and defaults through the CLI; clients, systems, people, records, then the holds."""
    from sqlalchemy import select

    from auditor import create_app
    from auditor.db import get_database
    from auditor.models import DataCategory, Organization, System
    from auditor.schemas.holds import HoldIn
    from auditor.schemas.inventory import OrganizationIn, SystemIn
    from auditor.services import holds, inventory
    from auditor.services.context import Actor

    for args in (["db", "upgrade"], ["inventory", "load-defaults"]):
        run_cli(args, env)
    run_cli(["retention", "rules", "load-defaults"], env)
    app = create_app({"INSTANCE_PATH": env["AUDITOR_INSTANCE_PATH"], "DATABASE_URL": target.url()})
    database = get_database(app)
    actor = Actor.system("bench")
    with database.session() as session:
        for index in range(CLIENTS):
            code = client_code(index)
            org = OrganizationIn(code=code, name=f"Client {index + 1}", kind="client")
            inventory.create(session, inventory.KINDS["organizations"], org, actor=actor)
        for code, kind in SYSTEMS:
            system = SystemIn(code=code, name=code.upper(), kind=kind)  # type: ignore[arg-type]
            inventory.create(session, inventory.KINDS["systems"], system, actor=actor)
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


def check(target: Target) -> None:
    """Child: what the engine left behind, as JSON (the parent compares it with the plan)."""
    disposed = read_ids(target.folder / "disposed.ids")
    refs = sorted(
        int(ref)
        for (ref,) in target.query(
            "SELECT subject_ref FROM disposition WHERE subject_type = 'record'"
        )
    )
    found = {
        "record_rows": len(refs),
        "ids_match": array.array("q", refs) == disposed,
        "subject_rows": target.scalar(
            "SELECT count(*) FROM disposition WHERE subject_type = 'data_subject'"
        ),
        "records_left": target.scalar("SELECT count(*) FROM record"),
        "links_left": target.scalar("SELECT count(*) FROM record_subject"),
        "people_left": target.scalar("SELECT count(*) FROM data_subject"),
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


# -- the parent: one database --------------------------------------------------------------------
def last_json(output: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def bench_database(
    options: argparse.Namespace, name: str, folder: Path, now: dt.datetime
) -> dict[str, Any]:
    folder.mkdir(parents=True)
    target = make_target(options, name, folder)
    target.create()
    try:
        return _bench(options, target, now)
    finally:
        target.drop()


def _bench(options: argparse.Namespace, target: Target, now: dt.datetime) -> dict[str, Any]:
    name, folder = target.name, target.folder
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env.update(
        AUDITOR_INSTANCE_PATH=str(folder / "instance"),
        AUDITOR_DATABASE_URL=target.url(),
        AUDITOR_LOG_JSON="false",
    )
    run_cli(["instance", "init"], env)
    me = [sys.executable, str(Path(__file__).resolve()), "--records", str(options.records)]
    me += ["--postgres-url", options.postgres_url, "--pg-database", options.pg_database]
    where = ["--database", name, "--folder", str(folder)]
    _, _, output = run_child([*me, *where, "--prepare", now.isoformat()], env)
    plan = last_json(output)
    expected = plan["disposed"]
    log(
        f"{name}: generated in {plan['seconds']:.0f} s ({plan['load_seconds']:.0f} s loading), "
        f"{plan['database_mb']:.0f} MB; {expected:,} to dispose of, {plan['held']:,} held"
    )

    startup_seconds, _ = run_cli(["retention", "runs"], env)
    args = ["retention", "run", "--yes", "--as-of", plan["as_of"]]
    log(f"{name}: auditor {' '.join(args)}")
    command = [*CLI, *args]
    if options.profile is not None:
        out = str(options.profile.with_suffix(f".{name}"))
        code = (
            "import cProfile, sys; from auditor.cli import main; "
            f"sys.argv = ['auditor', *{args!r}]; cProfile.run('main()', {out!r})"
        )
        command = [sys.executable, "-c", code]

    def progress() -> str:
        last = target.scalar("SELECT max(last_record_id) FROM purge_run")
        return f"{name} engine: up to record {last or 0:,} of {plan['total']:,}"

    seconds, usage, output = run_child(command, env, progress)
    summary = _RUN.search(output)
    if summary is None:
        raise SystemExit("the purge printed no summary")
    status, disposed = summary.group(2), int(summary.group(3))
    subjects = _SUBJECTS.search(output)
    blocked = _HOLD.search(output)
    rss = usage.ru_maxrss / 1024
    log(f"{name}: engine {seconds:.1f} s, {disposed / seconds:,.0f} records/s, RSS {rss:.0f} MB")

    log(f"{name}: checking the result")
    _, _, output = run_child([*me, *where, "--check"], env)
    found = last_json(output)
    checks = {
        "run_completed": status == "completed",
        "disposed_as_expected": disposed == expected,
        "disposition_rows_equal_disposed": found["record_rows"] == disposed,
        "disposition_ids_are_expected": found["ids_match"],
        "held_kept": found["held_left"] == plan["held"],
        "blocked_by_holds_as_expected": blocked is not None
        and int(blocked.group(1)) == plan["held"],  # due but held (the run counts no others)
        "records_left_as_expected": found["records_left"] == plan["total"] - expected,
        "links_left_as_expected": found["links_left"] == plan["links_left"],
        "subjects_removed_as_expected": subjects is not None
        and int(subjects.group(1)) == plan["subjects_removed"] == found["subject_rows"]
        and found["people_left"] == SUBJECTS - plan["subjects_removed"],
    }
    log(f"{name}: checks {checks}")

    log(f"{name}: raw baseline, DELETE ... WHERE id IN (...) of the same {expected:,} ids")
    raw_args = [*me, "--raw-delete", target.url(copy=True), "--ids", str(folder / "disposed.ids")]
    _, raw_usage, output = run_child(raw_args, env)
    raw = last_json(output)
    checks["raw_deleted_as_expected"] = raw["deleted"] == expected
    log(f"{name}: floor, the same DELETEs plus one disposition row per record (bulk insert)")
    floor_args = [*me, "--floor", target.url(copy="floor"), "--ids", str(folder / "disposed.ids")]
    _, _, output = run_child(floor_args, env)
    floor = last_json(output)
    checks["floor_deleted_as_expected"] = floor["deleted"] == expected
    checks["raw_links_cascaded"] = raw["links_left"] == plan["links_left"]
    raw_rate = raw["deleted"] / raw["seconds"]
    rate = disposed / seconds
    log(f"{name}: raw delete {raw['seconds']:.1f} s, {raw_rate:,.0f} rows/s")
    ratio = rate / raw_rate
    floor_rate = floor["deleted"] / floor["seconds"]
    log(f"{name}: floor {floor['seconds']:.1f} s, {floor_rate:,.0f} rows/s")
    figures = {
        "engine_seconds": round(seconds, 2),
        "engine_records_per_s": round(rate),
        "engine_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "engine_peak_rss_mb": round(rss, 1),
        "cli_startup_seconds": round(startup_seconds, 2),
        "raw_delete_seconds": round(raw["seconds"], 2),
        "raw_delete_rows_per_s": round(raw_rate),
        "raw_delete_peak_rss_mb": round(raw_usage.ru_maxrss / 1024, 1),
        "throughput_ratio": round(ratio, 3),
        "floor_rows_per_s": round(floor_rate),
        "floor_ratio": round(floor_rate / raw_rate, 3),
        "disposed": disposed,
        "held_records": plan["held"],
        "subjects_removed": found["subject_rows"],
        "disposition_rows": found["record_rows"],
        "held_kept": checks["held_kept"],
        "checks_pass": all(checks.values()),
        "database_mb": round(plan["database_mb"], 1),
        "generate_seconds": round(plan["seconds"], 1),
        "meets_target": ratio >= TARGET_RATIO and rss < TARGET_PEAK_RSS_MB and all(checks.values()),
    }
    result: dict[str, Any] = {f"{name}_{key}": value for key, value in figures.items()}
    result[f"{name}_checks"] = checks
    result["_plan"] = plan
    return result


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # so that the scratch databases and files are removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="expired records")
    parser.add_argument("--databases", default=",".join(DATABASES), help="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="an admin connection")
    parser.add_argument("--profile", type=Path, help="cProfile the engine into PATH.<database>")
    # child modes
    parser.add_argument("--pg-database", default=f"auditor_bench_purge_{os.getpid()}")
    parser.add_argument("--database", choices=DATABASES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)  # the time "now"
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--raw-delete", help=argparse.SUPPRESS)  # database URL
    parser.add_argument("--floor", help=argparse.SUPPRESS)  # database URL
    parser.add_argument("--ids", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.raw_delete:
        raw_delete(options.raw_delete, options.ids)
        return
    if options.floor:
        from purge_floor import floor_delete  # bench/ is this script's folder

        floor_delete(options.floor, options.ids)
        return
    if options.prepare or options.check:
        target = make_target(options, options.database, options.folder)
        if options.prepare:
            prepare(target, options.records, dt.datetime.fromisoformat(options.prepare))
        else:
            check(target)
        return
    names = [n.strip() for n in options.databases.split(",") if n.strip()]
    if not names or set(names) - set(DATABASES):
        parser.error(f"--databases: a comma-separated list of {', '.join(DATABASES)}")
    signal.signal(signal.SIGTERM, _terminated)
    # This process stays small (stdlib and psycopg only; the data, the checks and the app live in
    # children): a child's ru_maxrss starts from its parent's high-water mark (fork/vfork, exec).
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    figures: dict[str, Any] = {"expired_records": options.records, "kept_records": options.records}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="auditor-purge-bench-") as tmp:
        for name in names:
            result = bench_database(options, name, Path(tmp) / name, now)
            plan = result.pop("_plan")
            figures.update(subjects=SUBJECTS, holds=plan["holds"], batch=plan["batch"])
            figures["raw_batch"] = RAW_BATCH
            versions[name] = plan["version"]
            figures.update(result)
            shutil.rmtree(Path(tmp) / name, ignore_errors=True)  # a few GB per database
    figures.update(
        {
            "target_throughput_ratio": TARGET_RATIO,
            "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
            "meets_target": all(figures[f"{name}_meets_target"] for name in names),
            "total_seconds": round(time.perf_counter() - started, 1),
            "parent_peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            ),
            "python": platform.python_version(),
            "sqlite": versions.get("sqlite", sqlite3.sqlite_version),
            "postgresql": versions.get("postgresql"),
            "cpus": os.cpu_count(),
        }
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
