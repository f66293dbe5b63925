"""Benchmark of ``auditor records import`` into a fresh SQLite file, against a raw executemany.

``python bench/ingest.py [SIZE]``: SIZE generated records (default 1,000,000; bench/ingest_data.py
makes them). Progress goes to stderr; the figures are one JSON object on the last line of stdout.
The import and the re-import run the real CLI command in a child process, so that their peak RSS
(from ``wait4``) is the importer's alone; the raw baseline (Core executemany of pre-built rows
into a scratch copy of the record table, nothing validated) runs in another child in the same
run, and ``throughput_ratio`` compares the two.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from common import (
    CLI,
    add_inventory,
    clients,
    exit_on_sigterm,
    last_json,
    load_average,
    log,
    machine,
    make_instance,
    name_operator,
    parse_size,
    print_figures,
    run_child,
    script,
    sqlite_settings,
)
from ingest_data import CLIENTS, SYSTEMS, generate_records, write_file

DEFAULT_RECORDS = 1_000_000
TARGET_RECORDS_PER_S = 10_000
TARGET_PEAK_RSS_MB = 300
RAW_CHUNK = 2000
RAW_TABLE = "bench_raw_record"
_SUMMARY = re.compile(
    r"received (\d+): inserted (\d+), updated (\d+), unchanged (\d+), rejected (\d+); "
    r"card numbers redacted (\d+)"
)


# -- the instance --------------------------------------------------------------------------------
def set_up_database(folder: Path) -> None:
    """Migrations, the policy defaults, 50 clients and 3 systems, through the services."""
    from auditor import create_app, migrate
    from auditor.db import get_database
    from auditor.services import datamap
    from auditor.services.context import Actor

    app = create_app(sqlite_settings(folder))
    database = get_database(app)
    migrate.upgrade(database.engine)
    with database.session() as session:
        datamap.load_defaults(session, actor=Actor.system("bench"))
        add_inventory(session, clients(CLIENTS), [(c, c.upper(), kind) for c, kind in SYSTEMS])
        session.commit()
    database.engine.dispose()


def cli_import(file: Path, env: dict[str, str]) -> dict[str, Any]:
    """``auditor records import FILE``, the real command, in a child process."""
    child = run_child([*CLI, "records", "import", str(file)], env)
    found = _SUMMARY.search(child.output)
    if found is None:
        raise SystemExit("the import printed no summary")
    names = ("received", "inserted", "updated", "unchanged", "rejected", "pan_redactions")
    return {
        "seconds": child.seconds,
        "cpu_seconds": child.cpu_seconds,
        "peak_rss_mb": child.peak_rss_mb,
        **dict(zip(names, map(int, found.groups()), strict=True)),
    }


# -- the baseline --------------------------------------------------------------------------------
def raw_baseline(folder: Path, count: int) -> None:
    """Child: executemany INSERT of pre-built rows into a copy of ``record``; prints JSON."""
    from sqlalchemy import Column, MetaData, Table, insert, select, text

    from auditor import create_app
    from auditor.db import get_database
    from auditor.models import DataCategory, Organization, Record, System

    app = create_app(sqlite_settings(folder))
    engine = get_database(app).engine
    table = Table(
        RAW_TABLE,
        MetaData(),
        *(Column(c.name, c.type, primary_key=c.primary_key) for c in Record.__table__.c),
    )
    with engine.begin() as conn:
        ids = {
            name: dict(conn.execute(select(model.code, model.id)).all())
            for name, model in (("s", System), ("c", DataCategory), ("o", Organization))
        }
        # the same columns, constraints and indexes as record, under other names
        ddl = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE tbl_name = 'record' AND sql IS NOT NULL")
        ).scalars()
        for statement in ddl:
            conn.exec_driver_sql(
                statement.replace('"record"', RAW_TABLE)
                .replace("TABLE record ", f"TABLE {RAW_TABLE} ")
                .replace(" ON record ", f" ON {RAW_TABLE} ")
                .replace("ix_record_", "ix_bench_raw_")
            )
    now = dt.datetime.now(dt.UTC)

    def when(value: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(value) if value else None

    elapsed = 0.0
    chunk: list[dict[str, Any]] = []
    with engine.connect() as conn:
        conn.begin()
        for number, item in enumerate(generate_records(count), start=1):
            content = item["content"]
            encoded = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
            chunk.append(
                {
                    "system_id": ids["s"][item["system"]],
                    "external_id": item["external_id"],
                    "category_id": ids["c"][item["category"]],
                    "organization_id": ids["o"][item["client"]],
                    "created_at": when(item["created_at"]),
                    "closed_at": when(item.get("closed_at")),
                    "document_date": dt.date.fromisoformat(item["document_date"])
                    if "document_date" in item
                    else None,
                    "event_at": when(item.get("event_at")),
                    "content": content,
                    "content_digest": hashlib.sha256(encoded).hexdigest(),
                    "pan_redactions": 0,
                    "ingested_at": now,
                    "updated_at": now,
                }
            )
            if len(chunk) == RAW_CHUNK or number == count:
                started = time.perf_counter()
                conn.execute(insert(table), chunk)
                elapsed += time.perf_counter() - started
                chunk = []
            if number % 200_000 == 0:
                log(f"raw baseline: {number:,} rows")
        started = time.perf_counter()
        conn.commit()
        elapsed += time.perf_counter() - started
        conn.exec_driver_sql(f"DROP TABLE {RAW_TABLE}")
        conn.commit()
    engine.dispose()
    print(json.dumps({"seconds": elapsed}))


def count_rows(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("record", "record_subject", "data_subject", "subject_identifier")
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-baseline", type=Path, help=argparse.SUPPRESS)  # child mode
    options, count = parse_size(parser, DEFAULT_RECORDS, "records to import")
    if options.raw_baseline:
        raw_baseline(options.raw_baseline, count)
        return
    exit_on_sigterm()
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        folder = Path(tmp) / "instance"
        env = make_instance(folder)
        file = Path(tmp) / "records.jsonl"
        started = time.perf_counter()
        write_file(file, count)
        generate_seconds = time.perf_counter() - started
        file_mb = file.stat().st_size / 1e6
        log(f"wrote {file_mb:.0f} MB in {generate_seconds:.1f} s")
        set_up_database(folder)
        name_operator(env)  # records import changes data: it runs as a named user

        log(f"importing {count:,} records (auditor records import)")
        first = cli_import(file, env)
        log(f"import: {first['seconds']:.1f} s, peak RSS {first['peak_rss_mb']:.0f} MB")
        log("re-importing the same file")
        again = cli_import(file, env)
        log(f"re-import: {again['seconds']:.1f} s, peak RSS {again['peak_rss_mb']:.0f} MB")
        rows = count_rows(folder / "auditor.db")

        log("raw baseline: executemany of pre-built rows")
        child = run_child([*script(__file__), str(count), "--raw-baseline", str(folder)], env)
        raw_seconds = last_json(child.output)["seconds"]
        database_mb = (folder / "auditor.db").stat().st_size / 1e6

    rate = count / first["seconds"]
    raw_rate = count / raw_seconds
    peak = max(first["peak_rss_mb"], again["peak_rss_mb"])
    figures = {
        "size": count,
        "records": count,
        "file_mb": round(file_mb, 1),
        "seconds": round(first["seconds"], 2),
        "records_per_s": round(rate),
        "cpu_seconds": round(first["cpu_seconds"], 2),
        "peak_rss_mb": round(first["peak_rss_mb"], 1),
        "inserted": first["inserted"],
        "rejected": first["rejected"],
        "pan_redactions": first["pan_redactions"],
        "reimport_seconds": round(again["seconds"], 2),
        "reimport_records_per_s": round(count / again["seconds"]),
        "reimport_cpu_seconds": round(again["cpu_seconds"], 2),
        "reimport_peak_rss_mb": round(again["peak_rss_mb"], 1),
        "reimport_unchanged": again["unchanged"],
        "raw_insert_seconds": round(raw_seconds, 2),
        "raw_insert_records_per_s": round(raw_rate),
        "throughput_ratio": round(rate / raw_rate, 3),
        "rows": rows,
        "database_mb": round(database_mb, 1),
        "generate_seconds": round(generate_seconds, 1),
        "target_records_per_s": TARGET_RECORDS_PER_S,
        "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
        "meets_target": rate >= TARGET_RECORDS_PER_S
        and peak < TARGET_PEAK_RSS_MB
        and first["inserted"] == count
        and again["unchanged"] == count,
        **machine(load),
    }
    print_figures(figures)


if __name__ == "__main__":
    main()
