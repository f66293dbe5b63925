"""Benchmark of the access report (issue 5): a big subject's report, and its render speed.

``python bench/report.py [SIZE]``: the report of a subject with SIZE records (default 100,000),
and the render speed of the report against a naive table of every record for another subject
with 1,000 records (fixed), on a fresh SQLite file. Progress goes to stderr; the figures are one
JSON object on the last line of stdout.

- The data (bench/report_data.py): the big subject has 500 tickets, 40 invoices and the rest
  (99,460) security log entries, in the same proportions for another SIZE; one ticket in ten
  names a colleague. The 1,000-record subject has 5 tickets, 1 invoice and 994 log entries.
  Both access requests are opened and verified through the services.
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
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from common import (
    exit_on_sigterm,
    last_json,
    load_average,
    log,
    machine,
    make_instance,
    parse_size,
    print_figures,
    run_child,
    script,
    sqlite_settings,
)
from report_data import DEFAULT_RECORDS, SMALL_RECORDS, set_up, split

TARGET_SECONDS = 30
TARGET_PEAK_RSS_MB = 1024
TARGET_RENDER_RATIO = 5


# -- the children ------------------------------------------------------------------------------
def child_report(folder: Path, reference: str, output: Path) -> None:
    """Build, audit and render the access report of ``reference``; print the phases' times."""
    from auditor import create_app, keys
    from auditor.db import get_session
    from auditor.services.context import Actor
    from auditor.services.requests.access import package as request_access
    from auditor.services.requests.access import report as request_pdf

    app = create_app(sqlite_settings(folder))
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

    app = create_app(sqlite_settings(folder))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("report", "compare", "check"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    options, count = parse_size(parser, DEFAULT_RECORDS, "records of the big subject")
    if options.child == "report":
        child_report(options.folder, options.reference, options.output)
        return
    if options.child == "compare":
        child_compare(options.folder, options.reference)
        return
    if options.child == "check":
        print(json.dumps(check_pdf(options.output, options.reference)))
        return
    exit_on_sigterm()
    load = load_average()
    me = script(__file__)
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
        report = run_child([*me, "--child", "report", *where, "--output", str(pdf_path)], env)
        seconds, phases, peak_mb = report.seconds, last_json(report.output), report.peak_rss_mb
        log(f"report: {seconds:.1f} s, peak RSS {peak_mb:.0f} MB")
        pdf_mb = pdf_path.stat().st_size / 1e6
        checking = [*me, "--child", "check", *where, "--output", str(pdf_path)]
        checked = last_json(run_child(checking, env).output)

        log(f"render speed on {SMALL_RECORDS:,} records ({references['small']})")
        small = ["--folder", str(folder), "--reference", references["small"]]
        compare = last_json(run_child([*me, "--child", "compare", *small], env).output)

    ratio = compare["naive_seconds"] / compare["report_seconds"]
    tickets, invoices, logs = split(count)
    figures = {
        "size": count,
        "records": count,
        "tickets": tickets,
        "invoices": invoices,
        "log_entries": logs,
        "report_seconds": round(seconds, 2),
        "report_build_seconds": round(phases["build_seconds"], 2),
        "report_render_seconds": round(phases["render_seconds"], 2),
        "report_build_cpu_seconds": round(phases["build_cpu_seconds"], 2),
        "report_render_cpu_seconds": round(phases["render_cpu_seconds"], 2),
        "cpu_seconds": round(report.cpu_seconds, 2),
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
        **machine(load),
    }
    print_figures(figures)


if __name__ == "__main__":
    main()
