"""``auditor retention reviews`` and ``auditor retention review open|show|decide``: disposition
review batches, opened for due records whose rule requires review and decided by an officer."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import ROW_ID, choice, command, group
from auditor.permissions import Permission
from auditor.schemas.common import parse
from auditor.schemas.retention import ReviewDecision, ReviewOut, ReviewQuery, ReviewStatus
from auditor.services import retention as retention_service
from auditor.services.context import Actor
from auditor.services.errors import FieldError, ValidationFailed

DAY = click.DateTime(["%Y-%m-%d"])
STATUSES = choice(ReviewStatus)
PAGE = 500
SHOWN_IDS = 100

review = group(
    "review", "Open, show and decide disposition review batches.", parent=groups.retention
)


def _line(out: ReviewOut) -> str:
    decided = f"  by {out.decided_by} {out.decided_at:%Y-%m-%d}" if out.decided_at else ""
    until = f" until {out.extend_until}" if out.extend_until else ""
    return (
        f"{out.id:>6}  {out.status:9} {out.rule} v{out.rule_version}  "
        f"{out.item_count} record(s){until}{decided}"
    )


@command(groups.retention, "reviews", reads=Permission.RETENTION_READ)
@click.option("--status", type=STATUSES, help="only batches of this status")
def reviews(session: Session, status: str | None) -> None:
    """List disposition review batches (every page), oldest first."""
    query = parse(ReviewQuery, {"status": status}, what="filter")
    after: int | None = None
    shown = 0
    while True:
        page = retention_service.list_reviews(session, status=query.status, after=after, limit=PAGE)
        for row in page:
            click.echo(_line(ReviewOut.model_validate(row)))
        shown += len(page)
        if len(page) < PAGE:
            break
        after = page[-1].id
    if not shown:
        click.echo("no review batches")


@command(review, "open", needs=Permission.RETENTION_REVIEW)
@click.option("--as-of", type=DAY, help="the day the records are due on (today); past days only")
def open_(session: Session, actor: Actor, as_of: dt.datetime | None) -> None:
    """Put the due records waiting for a review in batches, one per rule version (idempotent)."""
    day = as_of.date() if as_of else dt.datetime.now(dt.UTC).date()
    opened = retention_service.open_review_batches(session, as_of=day, actor=actor)
    session.commit()
    click.echo(f"{len(opened)} review batch(es) opened for {day}")
    for row in opened:
        click.echo(_line(ReviewOut.model_validate(row)))


@command(review, "show", reads=Permission.RETENTION_READ)
@click.argument("review_id", type=ROW_ID)
def show(session: Session, review_id: int) -> None:
    """Show batch REVIEW_ID: its decision, counts and first record ids."""
    out = retention_service.review_detail(session, review_id, first=SHOWN_IDS)
    click.echo(_line(out))
    click.echo(f"opened by {out.created_by} at {out.created_at:%Y-%m-%d %H:%M} UTC")
    if out.justification:
        click.echo(f"justification: {out.justification}")
    if out.transfer_reference:
        click.echo(f"transfer: {out.transfer_reference}")
    counts = out.counts
    click.echo(
        f"records: {counts.items} in the batch, {counts.remaining} still held, "
        f"{counts.disposed} disposed citing it"
    )
    more = " ..." if out.record_ids_truncated else ""
    click.echo("record ids: " + (" ".join(map(str, out.record_ids)) or "none") + more)


@command(review, "decide", needs=Permission.RETENTION_REVIEW)
@click.argument("review_id", type=ROW_ID)
@click.option("--approve", is_flag=True, help="the purge may dispose of the batch's records")
@click.option("--extend-until", type=DAY, help="keep the records until this day, then review")
@click.option("--reject", is_flag=True, help="keep the records (under this rule version)")
@click.option("--justification", required=True, help="why (recorded with who and when)")
@click.option("--transfer-reference", help="with --approve: the transfer made, when required")
def decide(
    session: Session,
    actor: Actor,
    review_id: int,
    approve: bool,
    extend_until: dt.datetime | None,
    reject: bool,
    justification: str,
    transfer_reference: str | None,
) -> str:
    """Decide batch REVIEW_ID: exactly one of --approve, --extend-until DATE, --reject."""
    chosen = [
        name
        for name, given in (
            ("approve", approve),
            ("extend", extend_until is not None),
            ("reject", reject),
        )
        if given
    ]
    if len(chosen) != 1:
        raise ValidationFailed(
            "Give exactly one decision.",
            [FieldError("decision", "one of --approve, --extend-until DATE, --reject")],
        )
    data = parse(
        ReviewDecision,
        {
            "decision": chosen[0],
            "justification": justification,
            "extend_until": extend_until.date() if extend_until else None,
            "transfer_reference": transfer_reference,
        },
        what="decision",
    )
    row = retention_service.decide_review(session, review_id, **data.model_dump(), actor=actor)
    return f"review {row.id} {row.status} by {row.decided_by}: {row.item_count} record(s)"
