"""``auditor holds``: place, release, list and show retention holds (R19)."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import ROW_ID, choice, command
from auditor.permissions import Permission
from auditor.schemas.common import parse
from auditor.schemas.holds import (
    HoldIn,
    HoldKind,
    HoldOut,
    HoldQuery,
    HoldRelease,
    HoldScope,
    HoldStatus,
    PlaceableKind,
)
from auditor.services import holds as holds_service
from auditor.services.context import Actor


def _line(out: HoldOut) -> str:
    until = f" until {out.until}" if out.until else ""
    until += " (open-ended)" if out.open_ended else ""
    reference = f" [{out.reference}]" if out.reference else ""
    return f"{out.id:>6}  {out.status:8} {out.kind:13} {out.scope}:{out.value}{reference}{until}"


@command(groups.holds, "place", needs=Permission.HOLDS_MANAGE)
@click.option(
    "--scope",
    required=True,
    type=choice(HoldScope),
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
    type=choice(PlaceableKind),
)
@click.option("--reference", help="the matter, breach or CRA file")
def place(
    session: Session,
    actor: Actor,
    scope: str,
    value: str,
    reason: str,
    kind: str,
    reference: str | None,
) -> str:
    """Place a hold: nothing in its scope is disposed of until it is released."""
    data = parse(
        HoldIn,
        {"kind": kind, "scope": scope, "value": value, "reason": reason, "reference": reference},
        what="hold",
    )
    hold = holds_service.place(session, data, actor=actor)
    return f"hold {hold.id} placed: {hold.kind} on {hold.scope} {hold.scope_value}"


@command(groups.holds, "release", needs=Permission.HOLDS_MANAGE)
@click.argument("hold_id", type=ROW_ID)
@click.option("--reason", required=True, help="why the hold is no longer needed")
def release(session: Session, actor: Actor, hold_id: int, reason: str) -> str:
    """Release hold HOLD_ID, recording who, when and why."""
    data = parse(HoldRelease, {"reason": reason}, what="release")
    hold = holds_service.release(session, hold_id, reason=data.reason, actor=actor)
    return f"hold {hold.id} released by {hold.released_by}"


@command(groups.holds, "list", reads=Permission.HOLDS_READ)
@click.option("--status", type=choice(HoldStatus))
@click.option("--kind", type=choice(HoldKind))
@click.option("--scope", type=choice(HoldScope))
@click.option("--value", help="the scope value")
@click.option("--reference")
def list_(
    session: Session,
    status: str | None,
    kind: str | None,
    scope: str | None,
    value: str | None,
    reference: str | None,
) -> None:
    """List holds (every page), oldest first."""
    query = parse(
        HoldQuery,
        {"status": status, "kind": kind, "scope": scope, "value": value, "reference": reference},
        what="filter",
    )
    after: int | None = None
    shown = 0
    while True:
        page = holds_service.list_holds(
            session,
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


@command(groups.holds, "show", reads=Permission.HOLDS_READ)
@click.argument("hold_id", type=ROW_ID)
def show(session: Session, hold_id: int) -> None:
    """Show hold HOLD_ID with its reasons."""
    out = holds_service.to_out(holds_service.get(session, hold_id))
    click.echo(_line(out))
    click.echo(f"placed by {out.created_by} at {out.placed_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"reason: {out.reason}")
    if out.released_at is not None:
        click.echo(f"released by {out.released_by} at {out.released_at:%Y-%m-%d %H:%M} UTC")
        click.echo(f"release reason: {out.release_reason}")
