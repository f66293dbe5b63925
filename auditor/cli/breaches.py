"""``auditor breaches``: the breach register (R24-R27) from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import ROW_ID, choice, command, fail
from auditor.permissions import Permission
from auditor.schemas.breaches import (
    AssessmentIn,
    BreachFields,
    BreachIn,
    BreachOut,
    BreachQuery,
    LetterIn,
    Level,
    Method,
    NotificationIn,
    Recipient,
    Regulator,
    ReportSent,
)
from auditor.schemas.common import parse, partial
from auditor.services import breaches
from auditor.services.breaches import export
from auditor.services.breaches import letter as breach_letter
from auditor.services.context import Actor
from auditor.services.requests.common import responder

MANAGE, READ = Permission.BREACHES_MANAGE, Permission.BREACHES_READ


def _line(out: BreachOut) -> str:
    rrosh = {None: "unassessed", True: "real risk", False: "no real risk"}[out.rrosh]
    where = f" [{out.client}]" if out.client else ""
    quebec = " (Québec)" if out.quebec else ""
    return f"{out.reference}  {out.occurred_from}  {rrosh:12} {out.title}{where}{quebec}"


@command(groups.breaches, "record", needs=MANAGE)
@click.option("--title", required=True, help="a short name; no one's name in it")
@click.option("--occurred-from", required=True, help="the day it happened (or the period's start)")
@click.option("--occurred-to", help="the end of the period")
@click.option("--approximate", is_flag=True, help="the dates are an estimate")
@click.option("--discovered-at", required=True, help="when the MSP became aware (ISO 8601, zone)")
@click.option("--determined-at", help="when it was determined a breach occurred")
@click.option("--circumstances", required=True, help="what happened")
@click.option("--cause", help="the cause, if known")
@click.option("--information", required=True, help="the personal information involved")
@click.option("--category", "categories", multiple=True, help="a data category code (repeat)")
@click.option("--affected", type=int, help="the number of individuals affected")
@click.option("--affected-approximate", is_flag=True, help="the number is an estimate")
@click.option("--mitigation", help="steps taken to reduce the harm")
@click.option("--notification-steps", help="steps taken or intended to notify individuals")
@click.option("--contact-name", help="who answers the OPC's questions")
@click.option("--contact-title")
@click.option("--contact-email")
@click.option("--contact-phone")
@click.option("--client", help="the client whose people are affected")
@click.option("--quebec/--not-quebec", default=None, help="Québec rules (default: the client's)")
def record(session: Session, actor: Actor, **options: Any) -> str:
    """Record a breach of security safeguards, whether or not it poses a real risk (R24)."""
    data = {k: v for k, v in options.items() if v not in (None, ())}
    data["occurred_approximate"] = data.pop("approximate", False)
    data["affected_approximate"] = data.get("affected_approximate", False)
    if "affected" in data:
        data["affected_count"] = data.pop("affected")
    if "categories" in data:
        data["categories"] = list(data["categories"])
    breach = breaches.record(session, parse(BreachIn, data, what="breach"), actor=actor)
    return f"breach {breach.reference} recorded; kept until {breach.retain_until or 'determined'}"


@command(groups.breaches, "update", needs=MANAGE)
@click.argument("reference")
@click.option("--set", "pairs", multiple=True, required=True, help="FIELD=VALUE (repeat)")
def update(session: Session, actor: Actor, reference: str, pairs: tuple[str, ...]) -> str:
    """Change fields of breach REFERENCE, e.g. --set mitigation='Passwords reset'."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep:
            fail(f"--set {field!r}: expected FIELD=VALUE")
        changes[field.strip()] = None if value == "" else value
    if "categories" in changes and changes["categories"] is not None:
        changes["categories"] = [c.strip() for c in changes["categories"].split(",") if c.strip()]
    data = parse(partial(BreachFields), changes, what="change").model_dump(exclude_unset=True)
    breach = breaches.update(session, reference, data, actor=actor)
    return f"breach {breach.reference} updated"


@command(groups.breaches, "assess", needs=MANAGE)
@click.argument("reference")
@click.option("--sensitivity", required=True, type=choice(Level))
@click.option("--misuse", "misuse_probability", required=True, type=choice(Level))
@click.option("--rrosh/--no-rrosh", required=True, help="a real risk of significant harm?")
@click.option("--rationale", required=True, help="why (at least 20 characters)")
@click.option("--consequences", help="the consequences anticipated")
def assess(session: Session, actor: Actor, reference: str, **options: Any) -> str:
    """Record the real-risk-of-significant-harm assessment (kept even when nothing is reported)."""
    given = {k: v for k, v in options.items() if v is not None}
    data = parse(AssessmentIn, given, what="assessment")
    breach = breaches.assess(session, reference, data, actor=actor)
    verdict = "a real risk of significant harm" if breach.rrosh else "no real risk"
    return f"breach {breach.reference} assessed: {verdict}"


@command(groups.breaches, "notify", needs=MANAGE)
@click.argument("reference")
@click.option("--recipient", required=True, type=choice(Recipient))
@click.option("--name", "recipient_name", help="the organization told")
@click.option("--method", required=True, type=choice(Method))
@click.option("--sent-at", required=True, help="when the notice was given (ISO 8601, zone)")
@click.option("--count", "notified_count", type=int, help="individuals told")
@click.option("--notes")
def notify(session: Session, actor: Actor, reference: str, **options: Any) -> str:
    """Record a notice given about breach REFERENCE."""
    data = parse(NotificationIn, {k: v for k, v in options.items() if v is not None}, what="notice")
    notice = breaches.notify(session, reference, data, actor=actor)
    return f"notice {notice.id} to {notice.recipient} recorded"


@command(groups.breaches, "report", needs=MANAGE)
@click.argument("reference")
@click.option("--regulator", default="opc", show_default=True, type=choice(Regulator))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="write it here")
def report(
    session: Session, actor: Actor, reference: str, regulator: str, output: Path | None
) -> str:
    """Generate the next version of the report to the regulator (refused until R26 is met)."""
    organization = responder(session, current_app.config)
    found = breaches.generate_report(
        session, reference, regulator=regulator, organization=organization, actor=actor
    )
    text = json.dumps(found.content, indent=2, sort_keys=True, ensure_ascii=False)
    session.commit()  # recorded before it is shown
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
    return f"report version {found.version} to {regulator}: SHA-256 {found.content_sha256}"


@command(groups.breaches, "letter", needs=MANAGE)
@click.argument("reference")
@click.option("--to", "addressee", help="the person's name (default: to the people affected)")
@click.option(
    "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="the PDF"
)
def letter(
    session: Session, actor: Actor, reference: str, addressee: str | None, output: Path
) -> str:
    """Write the notification letter to the people affected by breach REFERENCE (PDF)."""
    if output.exists():
        fail(f"{output} exists: not overwritten")
    data = parse(LetterIn, {"to": addressee}, what="letter")
    found = breach_letter.write_letter(
        session,
        reference,
        organization=responder(session, current_app.config),
        addressee=data.to,
        actor=actor,
    )
    session.commit()  # recorded before it is written
    output.write_bytes(found.pdf)
    return f"letter written to {output} ({len(found.pdf)} bytes)"


@command(groups.breaches, "report-sent", needs=MANAGE)
@click.argument("reference")
@click.argument("version", type=ROW_ID)
@click.option("--sent-at", required=True, help="when it was sent (ISO 8601, zone)")
@click.option("--regulator", default="opc", show_default=True, type=choice(Regulator))
def report_sent(
    session: Session, actor: Actor, reference: str, version: int, sent_at: str, regulator: str
) -> str:
    """Record when report VERSION of breach REFERENCE was sent."""
    data = parse(ReportSent, {"sent_at": sent_at}, what="sent time")
    breaches.mark_sent(
        session, reference, regulator=regulator, version=version, sent_at=data.sent_at, actor=actor
    )
    return f"report version {version} to {regulator} recorded as sent"


@command(groups.breaches, "list", reads=READ)
@click.option("--client")
@click.option("--rrosh", type=click.Choice(["yes", "no", "unassessed"]))
@click.option("--quebec", is_flag=True, default=None, help="only Québec-flagged breaches")
def list_(session: Session, client: str | None, rrosh: str | None, quebec: bool | None) -> None:
    """List the breaches on record, oldest first."""
    query = parse(BreachQuery, {"client": client, "rrosh": rrosh, "quebec": quebec}, what="filter")
    found = breaches.list_breaches(
        session, client=query.client, rrosh=query.rrosh, quebec=query.quebec, limit=100_000
    )
    for breach in found:
        click.echo(_line(breaches.to_out(session, breach)))
    if not found:
        click.echo("no breaches recorded")


@command(groups.breaches, "show", reads=READ)
@click.argument("reference")
def show(session: Session, reference: str) -> None:
    """Show breach REFERENCE with what it still lacks."""
    out = breaches.to_out(session, breaches.get(session, reference))
    click.echo(_line(out))
    click.echo(f"discovered {out.discovered_at:%Y-%m-%d %H:%M} UTC; kept until {out.retain_until}")
    for label, value in (
        ("circumstances", out.circumstances),
        ("information", out.information),
        ("affected", out.affected_count),
        ("mitigation", out.mitigation),
        ("assessment", out.rrosh_rationale),
    ):
        click.echo(f"{label}: {value if value is not None else '(not recorded)'}")
    for notice in out.notifications:
        click.echo(f"told {notice.recipient} by {notice.method} at {notice.sent_at:%Y-%m-%d %H:%M}")
    for found in out.reports:
        sent = f"sent {found.sent_at:%Y-%m-%d}" if found.sent_at else "not sent"
        click.echo(f"report to {found.regulator} v{found.version} ({found.kind}): {sent}")
    click.echo("missing for the OPC report: " + (", ".join(out.report_missing) or "nothing"))
    if out.quebec:
        lacking = ", ".join(out.register_missing) or "nothing"
        click.echo(f"missing for Québec's register: {lacking}")
    for item in out.outstanding:
        click.echo(f"to do: {item}")


@command(groups.breaches, "register", reads=READ)
@click.option("--client")
@click.option("--quebec", is_flag=True, help="Québec's confidentiality-incident register (R27)")
def register(session: Session, client: str | None, quebec: bool) -> None:
    """Print the breach register as JSON (Québec's incident register with --quebec)."""
    out = export.register(session, client=client, quebec=quebec or None)
    click.echo(json.dumps(out.model_dump(), indent=2, sort_keys=True, ensure_ascii=False))
