"""``auditor holds``: place, release, list and show retention holds (R19)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from auditor.cli.common import handle_errors, session
from auditor.schemas.common import parse
from auditor.schemas.holds import HoldIn, HoldOut, HoldQuery, HoldRelease
from auditor.services import holds as holds_service
from auditor.services.context import Actor


@click.group(cls=AppGroup)
def holds() -> None:
    """Retention holds: keep a subject's, client's, system's, category's or record's data."""


def _line(out: HoldOut) -> str:
    until = f" until {out.until}" if out.until else ""
    until += " (open-ended)" if out.open_ended else ""
    reference = f" [{out.reference}]" if out.reference else ""
    return f"{out.id:>6}  {out.status:8} {out.kind:13} {out.scope}:{out.value}{reference}{until}"


@holds.command("place")
@click.option(
    "--scope",
    required=True,
    type=click.Choice(["subject", "client", "system", "category", "record"]),
)
@click.option(
    "--value",
    required=True,
    help="subject ref, organization code, system code, category code or record id",
)
@click.option("--reason", required=True, help="why the data must be kept")
@click.option(
    "--kind",
    default="legal",
    show_default=True,
    type=click.Choice(["legal", "breach", "cra_objection"]),
)
@click.option("--reference", help="the matter, breach or CRA file")
@handle_errors
def place(scope: str, value: str, reason: str, kind: str, reference: str | None) -> None:
    """Place a hold: nothing in its scope is disposed of until it is released."""
    db = session()
    data = parse(
        HoldIn,
        {"kind": kind, "scope": scope, "value": value, "reason": reason, "reference": reference},
        what="hold",
    )
    hold = holds_service.place(db, data, actor=Actor.cli())
    db.commit()
    click.echo(f"hold {hold.id} placed: {hold.kind} on {hold.scope} {hold.scope_value}")


@holds.command("release")
@click.argument("hold_id", type=int)
@click.option("--reason", required=True, help="why the hold is no longer needed")
@handle_errors
def release(hold_id: int, reason: str) -> None:
    """Release hold HOLD_ID, recording who, when and why."""
    db = session()
    data = parse(HoldRelease, {"reason": reason}, what="release")
    hold = holds_service.release(db, hold_id, reason=data.reason, actor=Actor.cli())
    db.commit()
    click.echo(f"hold {hold.id} released by {hold.released_by}")


@holds.command("list")
@click.option("--status", type=click.Choice(["active", "released", "lapsed"]))
@click.option("--kind", type=click.Choice(["legal", "recourse", "breach", "cra_objection"]))
@click.option("--scope", type=click.Choice(["subject", "client", "system", "category", "record"]))
@click.option("--value", help="the scope value")
@click.option("--reference")
@handle_errors
def list_(
    status: str | None,
    kind: str | None,
    scope: str | None,
    value: str | None,
    reference: str | None,
) -> None:
    """List holds (every page), oldest first."""
    db = session()
    query = parse(
        HoldQuery,
        {"status": status, "kind": kind, "scope": scope, "value": value, "reference": reference},
        what="filter",
    )
    after: int | None = None
    shown = 0
    while True:
        page = holds_service.list_holds(
            db,
            status=query.status,
            kind=query.kind,
            scope=query.scope,
            value=query.value,
            reference=query.reference,
            after=after,
            limit=500,
        )
        for hold in page:
            click.echo(_line(holds_service.to_out(hold)))
        shown += len(page)
        if len(page) < 500:
            break
        after = page[-1].id
    if not shown:
        click.echo("no holds")


@holds.command("show")
@click.argument("hold_id", type=int)
@handle_errors
def show(hold_id: int) -> None:
    """Show hold HOLD_ID with its reasons."""
    out = holds_service.to_out(holds_service.get(session(), hold_id))
    click.echo(_line(out))
    click.echo(f"placed by {out.created_by} at {out.placed_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"reason: {out.reason}")
    if out.released_at is not None:
        click.echo(f"released by {out.released_by} at {out.released_at:%Y-%m-%d %H:%M} UTC")
        click.echo(f"release reason: {out.release_reason}")
