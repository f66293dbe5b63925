"""Benchmark of the retention purge (``auditor retention run --yes``) on SQLite and PostgreSQL.

``python bench/purge.py [SIZE]``: SIZE expired records (default 1,000,000) plus as many that must
be kept, interleaved in id order, on a fresh SQLite file and on a scratch PostgreSQL database
(``--databases sqlite`` for one of them, ``--postgres-url`` an admin connection). Progress goes
to stderr; the figures are one JSON object on the last line of stdout. bench/purge_data.py
makes the data, bench/purge_targets.py the databases, bench/purge_children.py and
bench/purge_floor.py are the children; this module runs them and compares.

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
  writing R20 rows could reach: the storage's cost; ``<db>_engine_to_floor_ratio`` (the engine's
  records/s over the floor's) is the engine's own overhead.
- Checks: the engine disposed of exactly the expired records that no hold covers (the set of
  disposition rows equals that set), every held record is still there, the links left are those
  of the records left, one disposition row per disposed record, and the people left with no
  record were removed, and ``auditor retention verify`` passes on what the engine wrote.
  ``meets_target``: on every database the floor ratio at least 0.5, the engine-to-floor ratio at
  least 0.7 and peak RSS under 300 MB, with every check passing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    CLI,
    OPERATOR,
    exit_on_sigterm,
    last_json,
    load_average,
    log,
    machine,
    make_instance,
    parse_size,
    print_figures,
    run_child,
    run_cli,
    script,
)
from purge_children import RAW_BATCH, check, prepare, raw_delete
from purge_data import SUBJECTS
from purge_targets import Target, make_target

DEFAULT_RECORDS = 1_000_000  # expired; as many again are kept
DATABASES = ("sqlite", "postgresql")
POSTGRES_URL = "postgresql://postgres@127.0.0.1/test"
TARGET_FLOOR_RATIO = 0.5  # the storage's cost: the floor over the raw delete
TARGET_ENGINE_TO_FLOOR_RATIO = 0.7  # the engine's overhead: the engine over the floor
TARGET_PEAK_RSS_MB = 300
_RUN = re.compile(r"Purge run (\d+) (\w+): (\d+) record\(s\) disposed")
_SUBJECTS = re.compile(r"subjects removed [^:]*: (\d+)")
_HOLD = re.compile(r"blocked \(hold\): (\d+)")


# -- the parent: one database --------------------------------------------------------------------
def bench_database(
    options: argparse.Namespace, expired: int, name: str, folder: Path, now: dt.datetime
) -> dict[str, Any]:
    """The figures of one database (keys prefixed with its name), and the plan under "_plan"."""
    folder.mkdir(parents=True)
    target = make_target(name, folder, options.postgres_url, options.pg_database)
    target.create()
    try:
        return _bench(options, expired, target, now)
    finally:
        target.drop()


def _bench(
    options: argparse.Namespace, expired: int, target: Target, now: dt.datetime
) -> dict[str, Any]:
    name, folder = target.name, target.folder
    env = make_instance(folder / "instance", AUDITOR_DATABASE_URL=target.url())
    me = [*script(__file__), str(expired)]
    me += ["--postgres-url", options.postgres_url, "--pg-database", options.pg_database]
    where = ["--database", name, "--folder", str(folder)]
    plan = last_json(run_child([*me, *where, "--prepare", now.isoformat()], env).output)
    expected = plan["disposed"]
    log(
        f"{name}: generated in {plan['seconds']:.0f} s ({plan['load_seconds']:.0f} s loading), "
        f"{plan['database_mb']:.0f} MB; {expected:,} to dispose of, {plan['held']:,} held"
    )

    env["AUDITOR_OPERATOR"] = OPERATOR  # the admin the preparing child created
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

    engine = run_child(command, env, progress)
    seconds, output = engine.seconds, engine.output
    summary = _RUN.search(output)
    if summary is None:
        raise SystemExit("the purge printed no summary")
    status, disposed = summary.group(2), int(summary.group(3))
    subjects = _SUBJECTS.search(output)
    blocked = _HOLD.search(output)
    rss = engine.peak_rss_mb
    log(f"{name}: engine {seconds:.1f} s, {disposed / seconds:,.0f} records/s, RSS {rss:.0f} MB")

    log(f"{name}: checking the result")
    found = last_json(run_child([*me, *where, "--check"], env).output)
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
        "dispositions_verify": found["verified"],
        "subjects_removed_as_expected": subjects is not None
        and int(subjects.group(1)) == plan["subjects_removed"] == found["subject_rows"]
        and found["people_left"] == SUBJECTS - plan["subjects_removed"],
    }
    log(f"{name}: checks {checks}")

    log(f"{name}: raw baseline, DELETE ... WHERE id IN (...) of the same {expected:,} ids")
    raw_args = [*me, "--raw-delete", target.url(copy=True), "--ids", str(folder / "disposed.ids")]
    raw_child = run_child(raw_args, env)
    raw = last_json(raw_child.output)
    checks["raw_deleted_as_expected"] = raw["deleted"] == expected
    log(f"{name}: floor, the same DELETEs plus one disposition row per record (bulk insert)")
    floor_args = [*me, "--floor", target.url(copy="floor"), "--ids", str(folder / "disposed.ids")]
    floor = last_json(run_child(floor_args, env).output)
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
        "engine_cpu_seconds": round(engine.cpu_seconds, 2),
        "engine_peak_rss_mb": round(rss, 1),
        "cli_startup_seconds": round(startup_seconds, 2),
        "raw_delete_seconds": round(raw["seconds"], 2),
        "raw_delete_rows_per_s": round(raw_rate),
        "raw_delete_peak_rss_mb": round(raw_child.peak_rss_mb, 1),
        "throughput_ratio": round(ratio, 3),
        "floor_rows_per_s": round(floor_rate),
        "floor_ratio": round(floor_rate / raw_rate, 3),
        "engine_to_floor_ratio": round(rate / floor_rate, 3),
        "disposed": disposed,
        "held_records": plan["held"],
        "subjects_removed": found["subject_rows"],
        "disposition_rows": found["record_rows"],
        "held_kept": checks["held_kept"],
        "checks_pass": all(checks.values()),
        "database_mb": round(plan["database_mb"], 1),
        "generate_seconds": round(plan["seconds"], 1),
        "meets_target": floor_rate / raw_rate >= TARGET_FLOOR_RATIO
        and rate / floor_rate >= TARGET_ENGINE_TO_FLOOR_RATIO
        and rss < TARGET_PEAK_RSS_MB
        and all(checks.values()),
    }
    result: dict[str, Any] = {f"{name}_{key}": value for key, value in figures.items()}
    result[f"{name}_checks"] = checks
    result["_plan"] = plan
    return result


def child(options: argparse.Namespace, expired: int) -> None:
    """The child modes (bench/purge_children.py, bench/purge_floor.py): the app lives there."""
    if options.raw_delete:
        raw_delete(options.raw_delete, options.ids)
    elif options.floor:
        from purge_floor import floor_delete  # bench/ is this script's folder

        floor_delete(options.floor, options.ids)
    else:
        target = make_target(
            options.database, options.folder, options.postgres_url, options.pg_database
        )
        if options.prepare:
            prepare(target, expired, dt.datetime.fromisoformat(options.prepare))
        else:
            check(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    options, expired = parse_size(parser, DEFAULT_RECORDS, "expired records; as many are kept")
    if options.raw_delete or options.floor or options.prepare or options.check:
        child(options, expired)
        return
    names = [n.strip() for n in options.databases.split(",") if n.strip()]
    if not names or set(names) - set(DATABASES):
        parser.error(f"--databases: a comma-separated list of {', '.join(DATABASES)}")
    exit_on_sigterm()
    load = load_average()
    # This process stays small (stdlib and psycopg only; the data, the checks and the app live in
    # children): a child's ru_maxrss starts from its parent's high-water mark (fork/vfork, exec).
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    figures: dict[str, Any] = {"size": expired, "expired_records": expired, "kept_records": expired}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="auditor-purge-bench-") as tmp:
        for name in names:
            result = bench_database(options, expired, name, Path(tmp) / name, now)
            plan = result.pop("_plan")
            figures.update(subjects=SUBJECTS, holds=plan["holds"], batch=plan["batch"])
            figures["raw_batch"] = RAW_BATCH
            versions[name] = plan["version"]
            figures.update(result)
            shutil.rmtree(Path(tmp) / name, ignore_errors=True)  # a few GB per database
    figures.update(
        {
            "target_floor_ratio": TARGET_FLOOR_RATIO,
            "target_engine_to_floor_ratio": TARGET_ENGINE_TO_FLOOR_RATIO,
            "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
            "meets_target": all(figures[f"{name}_meets_target"] for name in names),
            "total_seconds": round(time.perf_counter() - started, 1),
            "parent_peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            ),
            **machine(
                load,
                sqlite=versions.get("sqlite", sqlite3.sqlite_version),
                postgresql=versions.get("postgresql"),
            ),
        }
    )
    print_figures(figures)


if __name__ == "__main__":
    main()
