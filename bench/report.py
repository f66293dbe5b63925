"""Benchmark of the access report (issue 5): a subject with 100,000 records, and the render speed
of the report against a naive table of every record, on a fresh SQLite file.

Run with no arguments (``--records N`` for a quick run). Progress goes to stderr; the figures are
one JSON object on the last line of stdout.

- The data: one subject with 500 tickets, 40 invoices and the rest (99,460) security log entries
  over two log systems and the last eleven months; one ticket in ten names a colleague (a linked
  subject with a name and an email, to be severed). A second subject has 1,000 records in the
  same proportions (5 tickets, at least 1 invoice, the rest log entries). The schema comes from
  ``auditor.migrate.upgrade``, the inventory defaults and retention rules from their services,
  the records and links from Core bulk inserts; both access requests are opened and verified
  through the services (so each has its recourse hold).
- The report: ``export_access_package`` then ``access_report_pdf`` (what ``auditor requests
  access-report`` runs) in a child process, whose wall time and peak RSS (``wait4``) are its
  own; the PDF is then opened apart and its attached JSON checked to hold every record.
  Targets: under 30 s and under 1 GB.
- Render speed, same run, another child: for the 1,000-record subject, the report's rendering
  (``access_report_pdf`` of the built package: template, WeasyPrint, PDF/A-3b, JSON attached)
  against a naive rendering of the same 1,000 records (one bordered HTML table row each, with
  its content, through WeasyPrint). Best of two each, after a warm-up render.
  ``render_speed_ratio`` = naive seconds / report seconds; target at least 5.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

DEFAULT_RECORDS = 100_000
TICKETS = 500
INVOICES = 40
SMALL_RECORDS = 1_000
SEED = 20261124
CHUNK = 10_000
COLLEAGUES = 20
TARGET_SECONDS = 30
TARGET_PEAK_RSS_MB = 1024
TARGET_RENDER_RATIO = 5
SYSTEMS = (("psa", "psa", "PSA"), ("billing", "billing", "Billing"),
           ("siem", "log_store", "SIEM"), ("edr", "log_store", "Endpoint protection"))  # fmt: skip
BIG = ("Amélie Tremblay", "amelie.tremblay@acme.example")
SMALL = ("Jordan Ellis", "jordan.ellis@acme.example")
SUMMARIES = ("Printer offline on floor 2", "Outlook keeps asking for password",
             "VPN drops every hour", "New hire laptop setup", "MFA reset requested",
             "Backup job failed overnight", "Replace failing SSD")  # fmt: skip
NOTES = ("Called the user, reproduced the issue and applied the vendor fix.",
         "Remote session: cleared cached credentials and re-enrolled the device.",
         "Replaced the part on site; user confirmed everything works.")  # fmt: skip
EVENTS = ("login_success", "login_failed", "mfa_challenge", "password_change", "rdp_session",
          "usb_mounted", "malware_blocked")  # fmt: skip
CLI = [sys.executable, "-c", "from auditor.cli import main; main()"]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def split(records: int) -> tuple[int, int, int]:
    """Tickets, invoices and log entries of a subject with ``records`` records (the issue's
    proportions: 500 and 40 in 100,000)."""
    tickets = max(1, round(records * TICKETS / DEFAULT_RECORDS))
    invoices = max(1, round(records * INVOICES / DEFAULT_RECORDS))
    return tickets, invoices, records - tickets - invoices


# -- the instance and its data ------------------------------------------------------------------
def settings(folder: Path) -> dict[str, str]:
    return {"INSTANCE_PATH": str(folder), "DATABASE_URL": f"sqlite:///{folder / 'auditor.db'}"}


def make_instance(folder: Path) -> dict[str, str]:
    """An instance made by the real ``auditor instance init`` (its audit signing key is used)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env.update(AUDITOR_INSTANCE_PATH=str(folder), AUDITOR_LOG_JSON="false")
    subprocess.run([*CLI, "instance", "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


class Generator:
    """The records of one subject, as rows for Core inserts, and who else each one names."""

    def __init__(self, rng: random.Random, ids: dict[str, dict[str, int]], now: dt.datetime):
        self.rng, self.ids, self.now = rng, ids, now

    def ticket(self, number: int, email: str, colleague: tuple[str, str] | None) -> dict[str, Any]:
        rng = self.rng
        created = self.now - dt.timedelta(days=rng.randrange(3, 7 * 365))
        notes = rng.choice(NOTES)
        if colleague is not None:
            notes += f" {colleague[0]} ({colleague[1]}) in copy; reply to {email}."
        return self.row(
            "psa",
            "ticket_history",
            f"T-{number:07d}",
            created,
            closed_at=created + dt.timedelta(hours=rng.randrange(1, 300)),
            content={
                "summary": rng.choice(SUMMARIES),
                "priority": rng.choice(("P1", "P2", "P3", "P4")),
                "status": "closed",
                "technician": f"tech-{rng.randrange(40):02d}",
                "notes": notes,
                "minutes": rng.randrange(5, 240),
            },
        )

    def invoice(self, number: int) -> dict[str, Any]:
        rng = self.rng
        created = self.now - dt.timedelta(days=rng.randrange(3, 7 * 365))
        lines = [
            {"sku": rng.choice(("MSP-SEAT", "M365-BP", "BKP-1TB")), "qty": rng.randrange(1, 30)}
            for _ in range(rng.randrange(1, 4))
        ]
        return self.row(
            "billing",
            "billing_records",
            f"INV-{number:07d}",
            created,
            document_date=created.date(),
            content={
                "invoice_no": f"{created.year}-{number:07d}",
                "currency": "CAD",
                "amount_cents": rng.randrange(1000, 500_000),
                "lines": lines,
            },
        )

    def log_entry(self, number: int, email: str) -> dict[str, Any]:
        rng = self.rng
        created = self.now - dt.timedelta(seconds=rng.randrange(3 * 86400, 330 * 86400))
        event = rng.choice(EVENTS)
        address = f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return self.row(
            rng.choice(("siem", "siem", "edr")),
            "security_logs",
            f"EV-{number:08d}",
            created,
            event_at=created,
            content={
                "host": f"ws-{rng.randrange(500):03d}.acme.local",
                "event": event,
                "severity": "info",
                "src_ip": address,
                "ts_ms": int(created.timestamp() * 1000),
                "message": f"{event} for {email} from {address}",
            },
        )

    def row(
        self, system: str, category: str, external_id: str, created: dt.datetime, **extra: Any
    ) -> dict[str, Any]:
        content = extra.pop("content")
        return {
            "system_id": self.ids["system"][system],
            "category_id": self.ids["category"][category],
            "organization_id": self.ids["organization"]["acme"],
            "external_id": external_id,
            "created_at": created,
            "closed_at": extra.get("closed_at"),
            "document_date": extra.get("document_date"),
            "event_at": extra.get("event_at"),
            "content": content,
            "content_digest": "0" * 64,
            "pan_redactions": 0,
            "ingested_at": self.now,
            "updated_at": self.now,
        }

    def records(
        self, prefix: int, count: int, email: str, colleagues: list[tuple[int, str, str]]
    ) -> Iterator[tuple[dict[str, Any], int | None]]:
        """(row, colleague subject id or None), tickets and invoices first, then the logs."""
        tickets, invoices, logs = split(count)
        for n in range(tickets):
            colleague = self.rng.choice(colleagues) if self.rng.random() < 0.1 else None
            named = (colleague[1], colleague[2]) if colleague else None
            yield self.ticket(prefix + n, email, named), colleague[0] if colleague else None
        for n in range(invoices):
            yield self.invoice(prefix + n), None
        for n in range(logs):
            yield self.log_entry(prefix + n, email), None


def set_up(folder: Path, records: int) -> dict[str, Any]:
    """Schema, defaults, two subjects with their records, and two verified access requests."""
    from sqlalchemy import insert, select

    from auditor import create_app, migrate
    from auditor.db import get_database
    from auditor.models import DataCategory, Organization, Record, System, record_subject
    from auditor.schemas.inventory import OrganizationIn, SystemIn
    from auditor.schemas.requests import RequestIn, VerificationIn
    from auditor.schemas.subjects import SubjectIn
    from auditor.services import datamap, inventory, requests, retention, subjects
    from auditor.services.context import Actor

    app = create_app(settings(folder))
    database = get_database(app)
    migrate.upgrade(database.engine)
    actor = Actor.system("bench")
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(SEED)
    with database.session() as session:
        datamap.load_defaults(session, actor=actor)
        retention.load_default_rules(session, actor=actor)
        for code, kind, name in (("serveitpro", "msp", "ServeITPro"), ("acme", "client", "Acme")):
            data = OrganizationIn(code=code, name=name, kind=kind)  # type: ignore[arg-type]
            inventory.create(session, inventory.KINDS["organizations"], data, actor=actor)
        for code, kind, name in SYSTEMS:
            system = SystemIn(code=code, name=name, kind=kind)  # type: ignore[arg-type]
            inventory.create(session, inventory.KINDS["systems"], system, actor=actor)

        def person(name: str, email: str) -> int:
            data = SubjectIn(
                display_name=name,
                kind="client_staff",
                organization="acme",
                identifiers=[{"kind": "email", "value": email}],  # type: ignore[list-item]
            )
            return subjects.create(session, data, actor=actor).id

        big, small = person(*BIG), person(*SMALL)
        colleagues = []
        for n in range(COLLEAGUES):
            name = f"Colleague{n} Person{n}"
            colleagues.append(
                (person(name, f"colleague{n}@acme.example"), name, f"colleague{n}@acme.example")
            )
        ids = {
            "system": dict(session.execute(select(System.code, System.id)).all()),
            "category": dict(session.execute(select(DataCategory.code, DataCategory.id)).all()),
            "organization": dict(session.execute(select(Organization.code, Organization.id)).all()),
        }
        session.commit()
        generator = Generator(rng, ids, now)
        for subject_id, count, email, prefix in (
            (big, records, BIG[1], 0),
            (small, SMALL_RECORDS, SMALL[1], 10_000_000),
        ):
            rows: list[tuple[dict[str, Any], int | None]] = []
            for item in generator.records(prefix, count, email, colleagues):
                rows.append(item)
                if len(rows) == CHUNK:
                    _insert(session, rows, subject_id, insert, Record, record_subject, select)
                    rows = []
            if rows:
                _insert(session, rows, subject_id, insert, Record, record_subject, select)
            session.commit()
            log(f"{count:,} records of subject {subject_id} inserted")
        references = {}
        for key, (name, email) in (("big", BIG), ("small", SMALL)):
            intake = RequestIn.model_validate(
                {
                    "type": "access",
                    "channel": "email",
                    "received_at": now - dt.timedelta(days=3),
                    "requester_name": name,
                    "requester_contact": email,
                    "identifiers": [{"kind": "email", "value": email}],
                    "request_text": "Please send me everything you hold about me.",
                }
            )
            request = requests.open_request(session, intake, actor=actor, now=now)
            verification = VerificationIn(method="matched_known_contact", verified_at=now)
            requests.verify(session, request.reference, verification, actor=actor, now=now)
            references[key] = request.reference
        session.commit()
    database.engine.dispose()
    return references


def _insert(
    session: Any,
    rows: list[Any],
    subject_id: int,
    insert: Any,
    record: Any,
    record_subject: Any,
    select: Any,
) -> None:
    session.execute(insert(record), [row for row, _ in rows])
    external = [row["external_id"] for row, _ in rows]
    found = dict(
        session.execute(
            select(record.external_id, record.id).where(record.external_id.in_(external))
        ).all()
    )
    links = [{"record_id": found[row["external_id"]], "subject_id": subject_id} for row, _ in rows]
    links += [
        {"record_id": found[row["external_id"]], "subject_id": other}
        for row, other in rows
        if other is not None
    ]
    session.execute(insert(record_subject), links)


# -- the children ------------------------------------------------------------------------------
def child_report(folder: Path, reference: str, output: Path) -> None:
    """Build, audit and render the access report of ``reference``; print the phases' times."""
    from auditor import create_app, keys
    from auditor.db import get_session
    from auditor.services.context import Actor
    from auditor.services.requests.access import package as request_access
    from auditor.services.requests.access import report as request_pdf

    app = create_app(settings(folder))
    with app.app_context():
        session = get_session()
        started, cpu = time.perf_counter(), time.process_time()
        package = request_access.export_access_package(
            session,
            reference,
            actor=Actor.system("bench"),
            signing_key=keys.audit_signing_key(),
            origin=keys.audit_origin(),
            settings=app.config,
            form="pdf",
        )
        built, built_cpu = time.perf_counter(), time.process_time()
        pdf = request_pdf.access_report_pdf(package)
        rendered, rendered_cpu = time.perf_counter(), time.process_time()
        session.commit()
        output.write_bytes(pdf)
        summary = package.head["records_summary"]
        print(
            json.dumps(
                {
                    "build_seconds": built - started,
                    "render_seconds": rendered - built,
                    "build_cpu_seconds": built_cpu - cpu,
                    "render_cpu_seconds": rendered_cpu - built_cpu,
                    "records": summary["records"],
                    "shown_in_full": summary["shown_in_full"],
                    "redactions": summary["redactions"],
                    "log_groups": len(package.head["log_summary"]),
                }
            )
        )


def naive_html(session: Any, reference: str) -> str:
    """Every record of the request's subject as one bordered table row, content included."""
    from sqlalchemy import select

    from auditor.models import DataCategory, PrivacyRequest, Record, System, record_subject

    subject_id = session.scalar(
        select(PrivacyRequest.subject_id).where(PrivacyRequest.reference == reference)
    )
    rows = session.execute(
        select(
            Record.id,
            Record.external_id,
            DataCategory.name,
            System.name,
            Record.created_at,
            Record.content,
        )
        .join(record_subject, record_subject.c.record_id == Record.id)
        .join(DataCategory, DataCategory.id == Record.category_id)
        .join(System, System.id == Record.system_id)
        .where(record_subject.c.subject_id == subject_id)
        .order_by(Record.id)
    ).all()
    cells = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(value))}</td>"
            for value in (
                rid,
                ext,
                category,
                system,
                created.isoformat(),
                json.dumps(content, ensure_ascii=False),
            )
        )
        + "</tr>"
        for rid, ext, category, system, created, content in rows
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
        "table { border-collapse: collapse; width: 100%; font-size: 8pt; }"
        "td, th { border: 1pt solid #333; padding: 2pt; vertical-align: top; }"
        "</style></head><body><h1>Records</h1><table><tr><th>Id</th><th>External id</th>"
        "<th>Category</th><th>System</th><th>Created</th><th>Content</th></tr>"
        f"{cells}</table></body></html>"
    )


def child_compare(folder: Path, reference: str) -> None:
    """The report's rendering and the naive table's, for the same records, best of two each."""
    import weasyprint  # type: ignore[import-untyped]

    from auditor import create_app
    from auditor.db import get_session
    from auditor.services.requests.access import package as request_access
    from auditor.services.requests.access import report as request_pdf
    from auditor.services.requests.common import get

    app = create_app(settings(folder))
    with app.app_context():
        session = get_session()
        request = get(session, reference)
        started = time.perf_counter()
        package = request_access.collect(session, request, now=dt.datetime.now(dt.UTC))
        build = time.perf_counter() - started
        weasyprint.HTML(string="<p>warm-up</p>").write_pdf()
        request_pdf.access_report_pdf(package)  # warm-up: templates, fonts
        report, naive, pages = [], [], {}
        for _ in range(2):
            started = time.perf_counter()
            document = naive_html(session, reference)
            naive_pdf = weasyprint.HTML(string=document).write_pdf()
            naive.append(time.perf_counter() - started)
            started = time.perf_counter()
            report_pdf = request_pdf.access_report_pdf(package)
            report.append(time.perf_counter() - started)
        pages = {"naive": count_pages(naive_pdf), "report": count_pages(report_pdf)}
        print(
            json.dumps(
                {
                    "records": package.records.count,
                    "build_seconds": build,
                    "report_seconds": min(report),
                    "naive_seconds": min(naive),
                    "report_pages": pages["report"],
                    "naive_pages": pages["naive"],
                }
            )
        )


def count_pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def check_pdf(path: Path, reference: str) -> dict[str, Any]:
    """Child: the PDF's pages and the records in its attached JSON."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    (data,) = reader.attachments[f"access-package-{reference}.json"]
    package = orjson.loads(data)
    first = reader.pages[0].extract_text()
    return {
        "pages": len(reader.pages),
        "json_mb": len(data) / 1e6,
        "json_records": len(package["records"]),
        "json_log_entries": sum(1 for r in package["records"] if r["category"] == "security_logs"),
        "page_numbers": "Page 1 of" in first,
    }


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
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"child failed: {' '.join(args[2:5])}")
    return seconds, usage, "".join(output)


def last_json(output: str) -> Any:
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    parser.add_argument("--child", choices=("report", "compare", "check"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "report":
        child_report(options.folder, options.reference, options.output)
        return
    if options.child == "compare":
        child_compare(options.folder, options.reference)
        return
    if options.child == "check":
        print(json.dumps(check_pdf(options.output, options.reference)))
        return
    count = options.records
    load = round(os.getloadavg()[0], 2)  # other work on the machine slows every figure
    me = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory(prefix="auditor-bench-report-") as tmp:
        folder = Path(tmp) / "instance"
        env = make_instance(folder)
        started = time.perf_counter()
        references = set_up(folder, count)
        generate_seconds = time.perf_counter() - started
        log(f"data ready in {generate_seconds:.1f} s: requests {references}")
        database_mb = (folder / "auditor.db").stat().st_size / 1e6

        pdf_path = Path(tmp) / "report.pdf"
        log(f"access report of {count:,} records ({references['big']})")
        where = ["--folder", str(folder), "--reference", references["big"]]
        seconds, usage, output = run_child(
            [*me, "--child", "report", *where, "--output", str(pdf_path)], env
        )
        phases = last_json(output)
        peak_mb = usage.ru_maxrss / 1024
        log(f"report: {seconds:.1f} s, peak RSS {peak_mb:.0f} MB")
        pdf_mb = pdf_path.stat().st_size / 1e6
        _, _, output = run_child([*me, "--child", "check", *where, "--output", str(pdf_path)], env)
        checked = last_json(output)

        log(f"render speed on {SMALL_RECORDS:,} records ({references['small']})")
        small = ["--folder", str(folder), "--reference", references["small"]]
        _, _, output = run_child([*me, "--child", "compare", *small], env)
        compare = last_json(output)

    ratio = compare["naive_seconds"] / compare["report_seconds"]
    tickets, invoices, logs = split(count)
    figures = {
        "records": count,
        "tickets": tickets,
        "invoices": invoices,
        "log_entries": logs,
        "report_seconds": round(seconds, 2),
        "report_build_seconds": round(phases["build_seconds"], 2),
        "report_render_seconds": round(phases["render_seconds"], 2),
        "report_build_cpu_seconds": round(phases["build_cpu_seconds"], 2),
        "report_render_cpu_seconds": round(phases["render_cpu_seconds"], 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "pdf_mb": round(pdf_mb, 2),
        "pdf_pages": checked["pages"],
        "records_shown_in_full": phases["shown_in_full"],
        "log_groups_in_pdf": phases["log_groups"],
        "redactions": phases["redactions"],
        "json_attachment_mb": round(checked["json_mb"], 1),
        "json_records": checked["json_records"],
        "json_log_entries": checked["json_log_entries"],
        "small_records": compare["records"],
        "small_build_seconds": round(compare["build_seconds"], 3),
        "small_report_render_seconds": round(compare["report_seconds"], 3),
        "small_report_pages": compare["report_pages"],
        "naive_render_seconds": round(compare["naive_seconds"], 3),
        "naive_pages": compare["naive_pages"],
        "render_speed_ratio": round(ratio, 2),
        "target_seconds": TARGET_SECONDS,
        "target_peak_rss_mb": TARGET_PEAK_RSS_MB,
        "target_render_speed_ratio": TARGET_RENDER_RATIO,
        "meets_target": seconds < TARGET_SECONDS
        and peak_mb < TARGET_PEAK_RSS_MB
        and ratio >= TARGET_RENDER_RATIO
        and checked["json_records"] == count
        and checked["page_numbers"],
        "database_mb": round(database_mb, 1),
        "generate_seconds": round(generate_seconds, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
