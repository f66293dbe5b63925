"""``auditor access``: access reviews and deprovisioning times (R35, R36)."""

from __future__ import annotations

import datetime as dt
import json

import click
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import ROW_ID, command
from auditor.permissions import Permission
from auditor.schemas.access import DecisionIn
from auditor.schemas.common import parse
from auditor.services import access_reviews, deprovisioning
from auditor.services import users as user_service
from auditor.services.context import Actor

READ, REVIEW = Permission.ACCESS_READ, Permission.ACCESS_REVIEW


@command(groups.access, "review-start", needs=REVIEW)
def review_start(session: Session, actor: Actor) -> str:
    """Start an access review: every account, role, grant and token, frozen and hashed."""
    review = access_reviews.start(session, actor=actor)
    return (
        f"access review {review.id} started: {review.accounts} account(s), "
        f"snapshot SHA-256 {review.snapshot_sha256}"
    )


@command(groups.access, "decide", needs=REVIEW)
@click.argument("review_id", type=ROW_ID)
@click.argument("email")
@click.option("--keep", "decision", flag_value="keep", help="the account keeps its access")
@click.option("--revoke", "decision", flag_value="revoke", help="deprovision it now")
@click.option("--reason", help="required to revoke, and to decide your own account")
def decide(
    session: Session,
    actor: Actor,
    review_id: int,
    email: str,
    decision: str | None,
    reason: str | None,
) -> str:
    """Record the decision on account EMAIL in review REVIEW_ID (--keep or --revoke)."""
    if decision is None:
        raise click.UsageError("say --keep or --revoke")
    user = user_service.find_user(session, email)
    data = parse(
        DecisionIn, {"user_id": user.id, "decision": decision, "reason": reason}, what="decision"
    )
    row = access_reviews.decide(
        session,
        review_id,
        user_id=data.user_id,
        decision=data.decision,
        reason=data.reason,
        actor=actor,
    )
    done = " (deprovisioned)" if row.deprovisioning_id else ""
    return f"review {review_id}: {email} {row.decision}{done}"


@command(groups.access, "review-complete", needs=REVIEW)
@click.argument("review_id", type=ROW_ID)
def review_complete(session: Session, actor: Actor, review_id: int) -> str:
    """Complete review REVIEW_ID (refused while an account has no decision)."""
    review = access_reviews.complete(session, review_id, actor=actor)
    return f"access review {review.id} completed by {review.completed_by}"


@command(groups.access, "reviews", reads=READ)
def reviews(session: Session) -> None:
    """List the access reviews."""
    found = access_reviews.list_reviews(session)
    for review in found:
        out = access_reviews.review_out(session, review, detail=False)
        click.echo(
            f"{out['id']:>4}  {out['status']:9} started {out['started_at'][:10]}  "
            f"{out['decided']}/{out['accounts']} decided, {out['revoked']} revoked"
        )
    if not found:
        click.echo("no access reviews")


@command(groups.access, "review-show", reads=READ)
@click.argument("review_id", type=ROW_ID)
def review_show(session: Session, review_id: int) -> None:
    """Show review REVIEW_ID: each account of its snapshot and its decision (JSON)."""
    out = access_reviews.review_out(session, access_reviews.get(session, review_id))
    click.echo(json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False))


@command(groups.access, "deprovisioning", reads=READ)
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="first day (UTC)")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="last day, included")
def deprovisioning_times(
    session: Session, start: dt.datetime | None, end: dt.datetime | None
) -> None:
    """Deprovisioned accounts: when each was deactivated and its access removed."""
    first = start.replace(tzinfo=dt.UTC) if start else None
    last = (end.replace(tzinfo=dt.UTC) + dt.timedelta(days=1)) if end else None
    rows = deprovisioning.list_rows(session, start=first, end=last)
    for row in rows:
        grants = ", ".join(row["grants_removed"]) or "none"
        click.echo(
            f"{row['deactivated_at'][:19]}Z  user {row['user_id']} ({row['role']}): "
            f"{row['tokens_revoked']} token(s), {row['sessions_ended']} session(s), "
            f"grants {grants}; done in {row['seconds_to_complete']:g} s"
        )
    if not rows:
        click.echo("no deprovisioned accounts")
