"""Access review and deprovisioning endpoints (R35, R36)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from sqlalchemy.orm import Session

from auditor.permissions import Permission
from auditor.schemas.access import (
    DecisionIn,
    DecisionOut,
    DeprovisioningOut,
    DeprovisioningQuery,
    ReviewOut,
    ReviewSummary,
)
from auditor.services import access_reviews, deprovisioning
from auditor.services.context import Actor
from auditor.views.api import API_PREFIX, route

bp = Blueprint("access", __name__, url_prefix=API_PREFIX)
READ, REVIEW = Permission.ACCESS_READ, Permission.ACCESS_REVIEW


@route(bp, "/access-reviews", "GET", summary="List access reviews", permission=READ)
def access_reviews_list(session: Session) -> list[ReviewSummary]:
    return [
        ReviewSummary.model_validate(access_reviews.review_out(session, r, detail=False))
        for r in access_reviews.list_reviews(session)
    ]


@route(
    bp,
    "/access-reviews",
    "POST",
    summary="Start an access review: every account, role, grant and token, frozen and hashed",
    permission=REVIEW,
    status=201,
    errors=(409,),
)
def access_reviews_start(session: Session, actor: Actor) -> ReviewOut:
    review = access_reviews.start(session, actor=actor)
    return ReviewOut.model_validate(access_reviews.review_out(session, review))


@route(
    bp,
    "/access-reviews/<int:review_id>",
    "GET",
    summary="Read an access review with its snapshot and decisions",
    permission=READ,
)
def access_reviews_read(session: Session, review_id: int) -> ReviewOut:
    review = access_reviews.get(session, review_id)
    return ReviewOut.model_validate(access_reviews.review_out(session, review))


@route(
    bp,
    "/access-reviews/<int:review_id>/decisions",
    "POST",
    summary="Keep or revoke one account (a revocation deprovisions it at once)",
    permission=REVIEW,
    status=201,
    errors=(409,),
)
def access_reviews_decide(
    session: Session, review_id: int, body: DecisionIn, actor: Actor
) -> DecisionOut:
    row = access_reviews.decide(
        session,
        review_id,
        user_id=body.user_id,
        decision=body.decision,
        reason=body.reason,
        actor=actor,
    )
    return DecisionOut.model_validate(access_reviews.decision_out(session, row))


@route(
    bp,
    "/access-reviews/<int:review_id>/complete",
    "POST",
    summary="Complete an access review (every account decided)",
    permission=REVIEW,
    errors=(409,),
)
def access_reviews_complete(session: Session, review_id: int, actor: Actor) -> ReviewSummary:
    review = access_reviews.complete(session, review_id, actor=actor)
    return ReviewSummary.model_validate(access_reviews.review_out(session, review, detail=False))


@route(
    bp,
    "/deprovisioning",
    "GET",
    summary="Deprovisioned accounts: deactivation, tokens, sessions and grants, with times",
    permission=READ,
)
def deprovisioning_list(session: Session, query: DeprovisioningQuery) -> list[DeprovisioningOut]:
    start = _day(query.start)
    end = _day(query.end + dt.timedelta(days=1)) if query.end else None
    rows = deprovisioning.list_rows(session, start=start, end=end)
    return [DeprovisioningOut.model_validate(row) for row in rows]


def _day(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
