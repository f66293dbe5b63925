"""``auditor retention schedule``: what falls due month by month, as a table, JSON or PDF."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import command
from auditor.permissions import Permission
from auditor.services import retention as retention_service
from auditor.services.context import Actor

DAY = click.DateTime(["%Y-%m-%d"])


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


@command(groups.retention, "schedule", reads=Permission.RETENTION_READ)
@click.option("--start", type=DAY, help="first day of the schedule (today, UTC)")
@click.option(
    "--months",
    type=click.IntRange(1, retention_service.MAX_MONTHS),
    default=12,
    show_default=True,
    help="calendar months covered after the start day",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "pdf"]),
    default="table",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True))
def schedule(
    session: Session,
    actor: Actor,
    start: dt.datetime | None,
    months: int,
    fmt: str,
    output: str | None,
) -> None:
    """What the retention rules make due in each coming month, and what holds and review keep back.

    Nothing is changed. A PDF (the JSON attached) goes to -o FILE, or to a pipe; exporting it is
    audited."""
    day = start.date() if start else dt.datetime.now(dt.UTC).date()
    if fmt == "pdf" and not output and stdout_is_terminal():
        raise click.UsageError("A PDF is not for a terminal: write it with -o FILE (or pipe it).")
    if fmt == "pdf":
        data = retention_service.export_schedule_pdf(session, start=day, months=months, actor=actor)
        session.commit()
    else:
        forecast = retention_service.forecast_schedule(session, start=day, months=months).to_dict()
        text = json.dumps(forecast, indent=2) if fmt == "json" else to_table(forecast)
        data = (text + "\n").encode()
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
        click.echo(f"wrote {output} ({len(data)} bytes)")
    else:
        # sys.stdout.buffer: click.get_binary_stream is deprecated (Click 8.2+)
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _counts(items: list[dict[str, Any]], name: str) -> str:
    return ", ".join(f"{item[name]} {item['count']}" for item in items)


def _rules(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['rule']} v{r['version']} ({r['action']}) {r['count']}" for r in items)


def _label(bucket: dict[str, Any]) -> str:
    first, last = bucket["first_day"], bucket["last_day"]
    if first and last and not first.endswith("-01"):  # the start's month, after the start day
        return f"{bucket['label']} (from {first})"
    return str(bucket["label"])


def to_table(data: dict[str, Any]) -> str:
    """The schedule for a terminal: one line per period with its breakdown below it."""
    buckets = [data["due_now"], *data["by_month"], data["later"]]
    labels = [_label(bucket) for bucket in buckets]
    width = max(len(label) for label in labels)
    totals = data["totals"]
    lines = [
        f"Disposition schedule from {data['start']}, {data['months']} month(s) to "
        f"{data['horizon_end']}: {data['records_checked']} record(s) checked",
        "",
        f"{'Period':<{width}}  {'Due':>6}  {'Held':>6}  {'Review':>6}  {'Other':>6}",
    ]
    for label, bucket in zip(labels, buckets, strict=True):
        other = sum(b["count"] for b in bucket["blocked_other"])
        lines.append(
            f"{label:<{width}}  {bucket['due']:>6}  {bucket['held']['count']:>6}  "
            f"{bucket['pending_review']:>6}  {other:>6}"
        )
        if bucket["due"]:
            lines.append(f"    rules: {_rules(bucket['by_rule'])}")
            lines.append(f"    categories: {_counts(bucket['by_category'], 'category')}")
            lines.append(f"    clients: {_counts(bucket['by_client'], 'client')}")
        if bucket["held"]["hold_ids"]:
            lines.append(f"    held by hold(s): {', '.join(bucket['held']['hold_ids'])}")
        if bucket["blocked_other"]:
            lines.append(f"    other: {_counts(bucket['blocked_other'], 'reason')}")
    due = totals["due_now"] + totals["due_in_months"] + totals["due_later"]
    lines.append(
        f"{'Total':<{width}}  {due:>6}  {totals['held']:>6}  {totals['pending_review']:>6}  "
        f"{totals['blocked_other']:>6}"
    )
    lines += ["", "Due date not computable:"]
    for group in data["not_computable"]:
        holds = f" (held: {', '.join(group['hold_ids'])})" if group["hold_ids"] else ""
        lines.append(f"  {group['reason']}: {group['count']}{holds}")
    if not data["not_computable"]:
        lines.append("  none")
    lines += ["", "Credentials of terminated clients:"]
    for entry in data["credentials"]:
        lines.append(
            f"  {entry['client']}: {entry['secrets']} secret(s), due {entry['due_on'] or '-'}: "
            f"{entry['status']} ({entry['reason']})"
        )
    if not data["credentials"]:
        lines.append("  none")
    return "\n".join(lines)
