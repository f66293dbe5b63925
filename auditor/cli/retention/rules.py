"""``auditor retention rules`` and ``auditor retention plan``: the versioned retention rules and
the disposition dry run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor.cli import common, groups
from auditor.cli.common import command
from auditor.permissions import Permission
from auditor.services import retention as retention_service
from auditor.services.context import Actor


@click.pass_context
def _list_when_alone(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_rules)


rules = common.group(
    "rules",
    "The retention rules: with no command, list the current version of each.",
    parent=groups.retention,
    invoke_without_command=True,
    callback=_list_when_alone,
)


@command(rules, "list", reads=Permission.RETENTION_READ)
def list_rules(session: Session) -> None:
    """List the current version of every retention rule."""
    rows = retention_service.current_rules(session)
    for row in rows:
        review = " (review)" if row.requires_review else ""
        summary = _summary(row.definition)
        click.echo(f"{row.code:20} v{row.version:<3} {row.action:13} {summary}{review}")
    if not rows:
        click.echo("no retention rules: run 'auditor retention rules load-defaults'")


def _period(value: dict[str, int] | None) -> str:
    if not value:
        return "-"
    parts = [f"{value[k]} {u}" for k, u in (("years", "y"), ("months", "m"), ("days", "d"))]
    return " ".join(p for p in parts if not p.startswith("0 ")) or "0 d"


def _summary(definition: dict[str, Any]) -> str:
    if definition.get("type") == "billing":
        return (
            f"max(document_date + {_period(definition.get('document_period'))}, "
            f"fiscal year-end {definition.get('fiscal_year_end')} of the last transaction "
            f"+ {_period(definition.get('transaction_period'))})"
        )
    start = definition.get("date_field") or f"event {definition.get('event')}"
    sources = definition.get("source_periods") or {}
    extra = "".join(f"; {s}: {_period(p)}" for s, p in sorted(sources.items()))
    return f"{start} + {_period(definition.get('period'))}{extra}"


@command(rules, "load-defaults", needs=Permission.RETENTION_MANAGE)
def load_defaults(session: Session, actor: Actor) -> None:
    """Create version 1 of the policy's default rules (existing rules are left alone)."""
    created = retention_service.load_default_rules(
        session,
        actor=actor,
        fiscal_year_end=current_app.config["RETENTION_FISCAL_YEAR_END"],
    )
    session.commit()
    click.echo(f"{len(created)} rule(s) created")
    for row in created:
        click.echo(f"  {row.code} v{row.version}")


@command(groups.retention, "plan", reads=Permission.RETENTION_READ)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="the day to plan for (today)")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
def plan(session: Session, as_of: dt.datetime | None, fmt: str) -> None:
    """Dry run: what would be disposed of, and what is blocked and why. Nothing is changed."""
    day = as_of.date() if as_of else dt.datetime.now(dt.UTC).date()
    report = retention_service.plan_disposition(session, as_of=day)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif fmt == "csv":
        click.echo(to_csv(report), nl=False)
    else:
        click.echo(to_table(report))


CSV_FIELDS = ["section", "rule", "version", "client", "reason", "hold_ids", "count", "record_ids"]


def to_csv(report: retention_service.PlanReport) -> str:
    """One row per group; record ids space-separated (at most the cap, see record_ids_cap)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    data = report.to_dict()
    for section in ("due_by_rule", "due_by_client", "blocked", "not_computable"):
        for group in data[section]:
            writer.writerow(
                {
                    **group,
                    "section": section,
                    "hold_ids": " ".join(group.get("hold_ids", [])),
                    "record_ids": " ".join(str(i) for i in group["record_ids"]),
                }
            )
    pending = data["not_yet_due"]
    writer.writerow(
        {"section": "not_yet_due", "count": pending["count"], "reason": pending["next_due_on"]}
    )
    for status in data["credentials"]:
        writer.writerow(
            {
                "section": "credentials",
                "client": status["client"],
                "count": status["secrets"],
                "reason": f"{status['status']}: {status['reason']}",
                "hold_ids": " ".join(status["hold_ids"]),
            }
        )
    for entry in data["breaches"]:
        writer.writerow(
            {
                "section": "breaches",
                "client": entry["client"] or "",
                "count": 1,
                "reason": f"{entry['reference']} {entry['status']} since {entry['retain_until']}",
                "hold_ids": " ".join(str(i) for i in entry["holds"]),
            }
        )
    return out.getvalue()


def _ids(group: dict[str, Any]) -> str:
    ids = ", ".join(str(i) for i in group["record_ids"])
    return ids + (" ... (list capped)" if group["record_ids_truncated"] else "")


def to_table(report: retention_service.PlanReport) -> str:
    data = report.to_dict()
    lines = [
        f"Disposition plan as of {data['as_of']} (dry run): {data['records_checked']} record(s) "
        f"checked, {data['due_count']} due; at most {data['record_ids_cap']} ids per group.",
        "",
        "Due, per rule:",
    ]
    for group in data["due_by_rule"]:
        lines.append(f"  {group['rule']} v{group['version']} ({group['action']}): {group['count']}")
        lines.append(f"    records: {_ids(group)}")
    lines += ["", "Due, per client:"]
    for group in data["due_by_client"]:
        lines.append(f"  {group['client']}: {group['count']}  records: {_ids(group)}")
    lines += ["", "Blocked:"]
    for group in data["blocked"]:
        holds = f" (holds {', '.join(group['hold_ids'])})" if group["hold_ids"] else ""
        lines.append(
            f"  {group['reason']}{holds}, rule {group['rule']} v{group['version']}: "
            f"{group['count']}  records: {_ids(group)}"
        )
    lines += ["", "Not computable:"]
    for group in data["not_computable"]:
        lines.append(f"  {group['reason']}: {group['count']}")
    pending = data["not_yet_due"]
    lines += ["", f"Not yet due: {pending['count']} (next due on {pending['next_due_on'] or '-'})"]
    lines += ["", "Credentials of terminated clients:"]
    for status in data["credentials"]:
        lines.append(
            f"  {status['client']}: {status['secrets']} secret(s), due {status['due_on'] or '-'}: "
            f"{status['status']} ({status['reason']})"
        )
    lines += ["", "Breach records past their retention (R25):"]
    for entry in data["breaches"]:
        holds = f" (holds {', '.join(str(i) for i in entry['holds'])})" if entry["holds"] else ""
        lines.append(
            f"  {entry['reference']}: {entry['status']}{holds}, since {entry['retain_until']}"
        )
    return "\n".join(_none_when_empty(lines))


def _none_when_empty(lines: list[str]) -> list[str]:
    """A section header followed by nothing reads as 'none', so an empty list is not mistaken
    for a cut-off report."""
    out: list[str] = []
    for index, line in enumerate(lines):
        out.append(line)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.endswith(":") and not line.startswith(" ") and not following.startswith("  "):
            out.append("  none")
    return out
