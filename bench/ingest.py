"""Benchmark of ``auditor records import``: 1,000,000 generated records into a fresh SQLite file.

Run with no arguments (``--records N`` for a quick run). Progress goes to stderr; the figures are
one JSON object on the last line of stdout. The import and the re-import run the real CLI command
in a child process, so that their peak RSS (from ``wait4``) is the importer's alone; the raw
baseline (Core executemany of pre-built rows into a scratch copy of the record table, nothing
validated) runs in another child in the same run, and ``throughput_ratio`` compares the two.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

DEFAULT_RECORDS = 1_000_000
CLIENTS = 50
SUBJECTS = 20_000
SEED = 20260522
TARGET_RECORDS_PER_S = 10_000
TARGET_PEAK_RSS_MB = 300
RAW_CHUNK = 2000
SYSTEMS = (("psa", "psa"), ("billing", "billing"), ("siem", "log_store"))
RAW_TABLE = "bench_raw_record"
_SUMMARY = re.compile(
    r"received (\d+): inserted (\d+), updated (\d+), unchanged (\d+), rejected (\d+); "
    r"card numbers redacted (\d+)"
)

FIRST = ("alex", "sam", "jordan", "marie", "luc", "priya", "chen", "fatima", "noah", "olivia",
         "jean", "sofia", "omar", "emma", "liam", "ava", "ethan", "mia", "lucas",
         "zoe")  # fmt: skip
LAST = ("tremblay", "gagnon", "roy", "cote", "bouchard", "smith", "brown", "wilson", "martin",
        "lee", "patel", "nguyen", "singh", "campbell", "morin", "lavoie", "fortin",
        "khan")  # fmt: skip
TICKET_SUMMARIES = (
    "Printer offline on floor 2", "Outlook keeps asking for password", "VPN drops every hour",
    "New hire laptop setup", "Shared drive permissions", "Phish report: suspicious invoice",
    "MFA reset requested", "Slow Wi-Fi in boardroom", "Backup job failed overnight",
    "Teams calls choppy", "Replace failing SSD", "License renewal for accounting suite",
)  # fmt: skip
TICKET_NOTES = (
    "Called the user, reproduced the issue and applied the vendor fix.",
    "Remote session: cleared cached credentials and re-enrolled the device.",
    "Escalated to tier 2; waiting on the ISP for a line test.",
    "Replaced the part on site; user confirmed everything works.",
    "Reset the account, verified identity by callback to the number on file.",
)  # fmt: skip
LOG_EVENTS = (
    ("login_success", "info"), ("login_failed", "warning"), ("mfa_challenge", "info"),
    ("password_change", "info"), ("account_locked", "warning"), ("malware_blocked", "high"),
    ("usb_mounted", "info"), ("admin_group_change", "high"), ("rdp_session", "info"),
)  # fmt: skip
SKUS = (("MSP-SEAT", 8900), ("M365-BP", 2640), ("BKP-1TB", 4500), ("FW-SUB", 12000),
        ("HOUR-T1", 11000), ("HOUR-T2", 15500))  # fmt: skip


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the data ------------------------------------------------------------------------------------
def client_code(index: int) -> str:
    return f"client-{index + 1:02d}"


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it pass the Luhn test."""
    total = 0
    for index, char in enumerate(reversed(prefix)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return prefix + str((10 - total % 10) % 10)


class People:
    """20,000 people spread over the clients; about one in six also has a phone number."""

    def __init__(self, rng: random.Random, clients: int, count: int) -> None:
        self.emails: list[str] = []
        self.phones: list[str | None] = []
        self.by_client: list[list[int]] = [[] for _ in range(clients)]
        for index in range(count):
            client = index % clients
            name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{index}"
            self.emails.append(f"{name}@{client_code(client)}.example.ca")
            phone = None
            if rng.random() < 0.16:
                area = rng.choice((514, 438, 613, 416, 604))
                number = f"{area}555{rng.randrange(10_000):04d}"
                phone = rng.choice((f"({area}) 555-{number[-4:]}", f"+1 {area} 555 {number[-4:]}",
                                    number))  # fmt: skip
            self.phones.append(phone)
            self.by_client[client].append(index)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_records(count: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """The records, in file order: 25 % tickets, 10 % invoices, 65 % security log lines."""
    rng = random.Random(seed)
    people = People(rng, CLIENTS, SUBJECTS)
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    span = int((dt.datetime(2026, 5, 1, tzinfo=dt.UTC) - start).total_seconds())
    for number in range(count):
        client = rng.randrange(CLIENTS)
        person = rng.choice(people.by_client[client])
        email = people.emails[person]
        if rng.random() < 0.2:  # source systems are sloppy about case and spaces
            email = f" {email.title()} "
        subjects = [{"kind": "email", "value": email}]
        created = start + dt.timedelta(seconds=rng.randrange(span))
        kind = rng.random()
        if kind < 0.25:
            phone = people.phones[person]
            if phone and rng.random() < 0.5:
                subjects.append({"kind": "phone", "value": phone})
            if rng.random() < 0.1:  # a colleague in copy
                other = people.emails[rng.choice(people.by_client[client])]
                if other.lower() != email.strip().lower():
                    subjects.append({"kind": "email", "value": other})
            record: dict[str, Any] = {
                "system": "psa",
                "external_id": f"T-{number:07d}",
                "category": "ticket_history",
                "client": client_code(client),
                "subjects": subjects,
                "created_at": _iso(created),
                "content": {
                    "summary": rng.choice(TICKET_SUMMARIES),
                    "priority": rng.choice(("P1", "P2", "P3", "P3", "P4")),
                    "status": "open",
                    "technician": f"tech-{rng.randrange(40):02d}",
                    "notes": rng.choice(TICKET_NOTES),
                    "minutes": rng.randrange(5, 240),
                },
            }
            if rng.random() < 0.85:
                closed = created + dt.timedelta(minutes=rng.randrange(10, 20_000))
                record["closed_at"] = _iso(closed)
                record["content"]["status"] = "closed"
        elif kind < 0.35:
            lines = []
            for _ in range(rng.randrange(1, 4)):
                sku, price = rng.choice(SKUS)
                lines.append({"sku": sku, "qty": rng.randrange(1, 30), "unit_cents": price})
            amount = sum(item["qty"] * item["unit_cents"] for item in lines)
            memo = rng.choice(("Net 30", "Thank you for your business", "Paid by PAD", ""))
            if rng.random() < 0.01:  # the accountant pasted the card used to pay
                pan = luhn_complete(rng.choice(("4", "51", "37")) + str(rng.randrange(10**13)))
                memo = f"Paid by card {' '.join(pan[i : i + 4] for i in range(0, len(pan), 4))}"
            record = {
                "system": "billing",
                "external_id": f"INV-{number:07d}",
                "category": "billing_records",
                "client": client_code(client),
                "subjects": subjects,
                "created_at": _iso(created),
                "document_date": created.date().isoformat(),
                "content": {
                    "invoice_no": f"{created.year}-{number:07d}",
                    "currency": "CAD",
                    "amount_cents": amount,
                    "tax_cents": amount * 14975 // 100_000,
                    "lines": lines,
                    "memo": memo,
                },
            }
        else:
            event, severity = rng.choice(LOG_EVENTS)
            at = created + dt.timedelta(milliseconds=rng.randrange(1000))
            address = f"10.{client}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            record = {
                "system": "siem",
                "external_id": f"EV-{number:08d}",
                "category": "security_logs",
                "client": client_code(client),
                "subjects": subjects,
                "created_at": _iso(created),
                "event_at": at.isoformat().replace("+00:00", "Z"),
                "content": {
                    "host": f"ws-{rng.randrange(500):03d}.{client_code(client)}.local",
                    "event": event,
                    "severity": severity,
                    "src_ip": address,
                    "ts_ms": int(at.timestamp() * 1000),  # 13 digits: looks like a card number
                    "message": f"{event} for {email.strip()} from {address}",
                },
            }
        yield record


def write_file(path: Path, count: int) -> None:
    with path.open("wb") as fh:
        for number, record in enumerate(generate_records(count), start=1):
            fh.write(orjson.dumps(record) + b"\n")
            if number % 200_000 == 0:
                log(f"generated {number:,} records")


# -- the instance --------------------------------------------------------------------------------
def make_instance(folder: Path) -> dict[str, str]:
    """An instance made by the real ``auditor instance init``; the environment children run in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env.update(AUDITOR_INSTANCE_PATH=str(folder), AUDITOR_LOG_JSON="false")
    subprocess.run(
        [sys.executable, "-c", "from auditor.cli import main; main()", "instance", "init"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return env


def settings(folder: Path) -> dict[str, str]:
    """The instance's own SQLite file, whatever AUDITOR_DATABASE_URL this shell may have."""
    return {"INSTANCE_PATH": str(folder), "DATABASE_URL": f"sqlite:///{folder / 'auditor.db'}"}


def set_up_database(folder: Path) -> None:
    """Migrations, the policy defaults, 50 clients and 3 systems, through the services."""
    from auditor import create_app, migrate
    from auditor.db import get_database
    from auditor.schemas.inventory import OrganizationIn, SystemIn
    from auditor.services import datamap, inventory
    from auditor.services.context import Actor

    app = create_app(settings(folder))
    database = get_database(app)
    migrate.upgrade(database.engine)
    actor = Actor.system("bench")
    with database.session() as session:
        datamap.load_defaults(session, actor=actor)
        for index in range(CLIENTS):
            code = client_code(index)
            data = OrganizationIn(code=code, name=f"Client {index + 1}", kind="client")
            inventory.create(session, inventory.KINDS["organizations"], data, actor=actor)
        for code, kind in SYSTEMS:
            data = SystemIn(code=code, name=code.upper(), kind=kind)  # type: ignore[arg-type]
            inventory.create(session, inventory.KINDS["systems"], data, actor=actor)
        session.commit()
    database.engine.dispose()


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, Any, str]:
    """Run a child; its wall seconds, its own rusage, and its stdout (echoed to stderr)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output = []
    for line in proc.stdout:
        text = line.decode(errors="replace")
        output.append(text)
        sys.stderr.write(text)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed with status {proc.returncode}: {' '.join(args[:4])}")
    return seconds, usage, "".join(output)


def cli_import(file: Path, env: dict[str, str]) -> dict[str, Any]:
    """``auditor records import FILE``, the real command, in a child process."""
    args = [sys.executable, "-c", "from auditor.cli import main; main()", "records", "import"]
    seconds, usage, output = run_child([*args, str(file)], env)
    found = _SUMMARY.search(output)
    if found is None:
        raise SystemExit("the import printed no summary")
    names = ("received", "inserted", "updated", "unchanged", "rejected", "pan_redactions")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        **dict(zip(names, map(int, found.groups()), strict=True)),
    }


# -- the baseline --------------------------------------------------------------------------------
def raw_baseline(folder: Path, count: int) -> None:
    """Child: executemany INSERT of pre-built rows into a copy of ``record``; prints JSON."""
    from sqlalchemy import Column, MetaData, Table, insert, select, text

    from auditor import create_app
    from auditor.db import get_database
    from auditor.models import DataCategory, Organization, Record, System

    app = create_app(settings(folder))
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
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    parser.add_argument("--raw-baseline", type=Path, help=argparse.SUPPRESS)  # child mode
    options = parser.parse_args()
    if options.raw_baseline:
        raw_baseline(options.raw_baseline, options.records)
        return
    count = options.records
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

        log(f"importing {count:,} records (auditor records import)")
        first = cli_import(file, env)
        log(f"import: {first['seconds']:.1f} s, peak RSS {first['peak_rss_mb']:.0f} MB")
        log("re-importing the same file")
        again = cli_import(file, env)
        log(f"re-import: {again['seconds']:.1f} s, peak RSS {again['peak_rss_mb']:.0f} MB")
        rows = count_rows(folder / "auditor.db")

        log("raw baseline: executemany of pre-built rows")
        me = [sys.executable, str(Path(__file__).resolve()), "--records", str(count)]
        _, _, output = run_child([*me, "--raw-baseline", str(folder)], env)
        raw_seconds = json.loads(output.strip().splitlines()[-1])["seconds"]
        database_mb = (folder / "auditor.db").stat().st_size / 1e6

    rate = count / first["seconds"]
    raw_rate = count / raw_seconds
    peak = max(first["peak_rss_mb"], again["peak_rss_mb"])
    figures = {
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
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
