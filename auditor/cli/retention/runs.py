"""``auditor retention run|runs|certificate|report|verify``: purges, certificates, the R22 report,
the check of the disposition records against the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from typing import Any

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor import keys
from auditor.cli import groups
from auditor.cli.common import ROW_ID, command, fail
from auditor.permissions import Permission
from auditor.services import retention as retention_service
from auditor.services.context import Actor
from crypto.digest import key_id

DAY = click.DateTime(["%Y-%m-%d"])


@command(groups.retention, "run", needs=Permission.RETENTION_MANAGE)
@click.option("--as-of", type=DAY, help="the day to dispose for (today); past days only")
@click.option("--yes", is_flag=True, help="really dispose; without it this is a dry run")
@click.option("--batch", type=click.IntRange(1, 100_000), help="records per transaction")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def run(
    session: Session,
    actor: Actor,
    as_of: dt.datetime | None,
    yes: bool,
    batch: int | None,
    fmt: str,
) -> None:
    """Execute the retention plan: dispose of every due record, in batches, with proof.

    Without --yes nothing changes: the plan's totals are printed. Each batch is one transaction
    (records and their disposition records together); an interrupted run can simply be run again.
    """
    today = dt.datetime.now(dt.UTC).date()
    day = as_of.date() if as_of else today
    if day > today:
        raise click.BadParameter("cannot dispose for a day in the future", param_hint="--as-of")
    if not yes:
        report = retention_service.plan_disposition(session, as_of=day, ids_cap=0)
        click.echo(
            f"Dry run for {day}: {report.due_count} record(s) would be disposed; "
            f"{sum(g.count for g in report.blocked.values())} blocked. "
            "Nothing was changed; add --yes to dispose."
        )
        for status in report.credentials:
            click.echo(f"  credentials of {status.client}: {status.status} ({status.reason})")
        for entry in report.breaches:
            click.echo(f"  breach record {entry['reference']}: {_breach_status(entry)}")
        return
    progress = None
    if fmt == "text" and sys.stderr.isatty():

        def progress(checked: int, disposed: int) -> None:
            click.echo(f"\r{checked} checked, {disposed} disposed", nl=False, err=True)

    result = retention_service.execute_purge(
        session,
        as_of=day,
        actor=actor,
        digest_key=keys.disposition_key(),
        trigger="cli",
        batch=batch or int(current_app.config["PURGE_BATCH_SIZE"]),
        signing_key=keys.audit_signing_key(),
        origin=keys.audit_origin(),
        progress=progress,
    )
    if fmt == "json":
        click.echo(json.dumps(result.certificate, indent=2))
        return
    if progress is not None:
        click.echo(err=True)
    click.echo(f"Purge run {result.run_id} {result.status}: {result.disposed} record(s) disposed")
    click.echo(f"  subjects removed (no record, consent or hold left): {result.subjects_removed}")
    for reason, count in sorted(result.blocked.items()):
        click.echo(f"  blocked ({reason}): {count}")
    for entry in result.credentials:
        click.echo(f"  credentials of {entry['client']}: {entry['status']} ({entry['reason']})")
    for reference in result.breaches.get("disposed", []):
        click.echo(f"  breach record {reference}: disposed (R25)")
    for reference, held_by in result.breaches.get("held", {}).items():
        click.echo(f"  breach record {reference}: held (holds {', '.join(map(str, held_by))})")
    summary = result.certificate["dispositions"]
    click.echo(f"  disposition records {summary['first_id']}..{summary['last_id']}")
    click.echo(f"  digest of the run's disposition records: {summary['digest']}")
    click.echo(f"Certificate: auditor retention certificate {result.run_id}")


@command(groups.retention, "runs", reads=Permission.RETENTION_READ)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def runs(session: Session, limit: int) -> None:
    """The latest purge runs, newest first."""
    rows = retention_service.list_runs(session, limit=limit)
    for row in rows:
        finished = row.finished_at.isoformat(timespec="seconds") if row.finished_at else "-"
        disposed = row.counts.get("disposed", "-")
        click.echo(
            f"{row.id:>5}  {row.status:11}  as of {row.as_of}  {row.trigger:9}  "
            f"started {row.started_at.isoformat(timespec='seconds')}  finished {finished}  "
            f"disposed {disposed}"
        )
    if not rows:
        click.echo("no purge runs yet")


@command(groups.retention, "certificate", reads=Permission.RETENTION_READ)
@click.argument("run_id", type=ROW_ID)
@click.option("--format", "fmt", type=click.Choice(["json", "pdf"]), default="json")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True))
def certificate(session: Session, actor: Actor, run_id: int, fmt: str, output: str | None) -> None:
    """A run's disposition certificate (JSON, or PDF with the JSON attached)."""
    digest_key_id = key_id(keys.disposition_key())
    if fmt == "json":
        run_row = retention_service.get_run(session, run_id)
        cert = retention_service.run_certificate(session, run_row, digest_key_id=digest_key_id)
        data = json.dumps(cert, indent=2).encode()
    else:
        if output is None and sys.stdout.isatty():
            raise click.UsageError("a PDF goes to a file: add -o FILE.pdf")
        data = retention_service.export_certificate_pdf(
            session, run_id, digest_key_id=digest_key_id, actor=actor
        )
        session.commit()  # the export's audit event
    _write(data, output, binary=fmt == "pdf")


@command(groups.retention, "report", reads=Permission.RETENTION_READ)
@click.option("--from", "start", type=DAY, help="first day (UTC), inclusive")
@click.option("--to", "end", type=DAY, help="last day (UTC), exclusive")
@click.option("--record", "record_id", type=ROW_ID, help="instead: one record's dispositions")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True))
def report(
    session: Session,
    start: dt.datetime | None,
    end: dt.datetime | None,
    record_id: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """Every disposition of a period and the query that selected them (R22), or with --record
    the dispositions of one record."""
    if record_id is not None:
        if start or end:
            raise click.UsageError("give either --record or --from and --to")
        found = retention_service.dispositions_of(session, record_id)
        if fmt == "json":
            _write(json.dumps({"dispositions": found}, indent=2).encode(), output, binary=False)
        else:
            _write(_csv_rows(found).encode(), output, binary=False)
        return
    if start is None or end is None:
        raise click.UsageError("give --from and --to (or --record)")
    data = retention_service.disposition_report(session, start=start.date(), end=end.date())
    if fmt == "json":
        _write(json.dumps(data, indent=2).encode(), output, binary=False)
        return
    _write(to_csv(data).encode(), output, binary=False)


def to_csv(data: dict[str, Any]) -> str:
    """Comment lines state the period, the query and the digest; then one row per disposition."""
    out = io.StringIO()
    query = data["query"]
    out.write(
        f"# disposition report {data['period']['start']} to {data['period']['end_exclusive']}"
    )
    out.write(f" (exclusive)\n# query ({query['dialect']}): {query['sql']}\n")
    out.write(f"# parameters: {json.dumps(query['parameters'], sort_keys=True)}\n")
    summary = data["summary"]
    out.write(f"# count: {summary['count']}; sha256 of canonical lines: {summary['digest']}\n")
    out.write(_csv_rows(data["dispositions"]))
    return out.getvalue()


def _csv_rows(rows: list[dict[str, Any]]) -> str:
    """One row per disposition (the columns of both line formats; a line fills its own)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=retention_service.CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
        )
    return out.getvalue()


@command(groups.retention, "verify", reads=Permission.RETENTION_READ)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def verify(session: Session, fmt: str) -> None:
    """Check every disposition batch and run certificate against the audit log; exit 1 naming
    each problem."""
    check = retention_service.verify_dispositions(session)
    if fmt == "json":
        click.echo(json.dumps(check.to_dict(), indent=2))
        if not check.ok:
            raise SystemExit(1)
        return
    echo_check(check)


def echo_check(check: Any) -> None:
    """The disposition check as text; exit 1 when it found a problem."""
    if not check.ok:
        for problem in check.problems:
            click.echo(f"disposition records: {problem}", err=True)
        fail(f"disposition records verification FAILED: {len(check.problems)} problem(s)")
    legacy = (
        f" ({check.legacy_batches} converted from before 0011: checked against their runs' "
        "certificates)"
        if check.legacy_batches
        else ""
    )
    click.echo(
        f"disposition records intact: {check.lines} dispositions in {check.batches} batches"
        f"{legacy}, {check.runs} completed runs' certificates"
    )


def _write(data: bytes, output: str | None, *, binary: bool) -> None:
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
        click.echo(f"wrote {output} ({len(data)} bytes)")
    elif binary:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        click.echo(data.decode())


def _breach_status(entry: dict[str, Any]) -> str:
    if entry["status"] == "held":
        return f"held (holds {', '.join(map(str, entry['holds']))})"
    return f"due since {entry['retain_until']} (R25)"
