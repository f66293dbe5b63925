"""Retention endpoints: the rules, the dry-run plan, disposition review batches, purge runs with
their certificates, and the disposition report (R20, R22). Purges themselves run from the CLI and
the scheduler, never from the API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy.orm import Session

from auditor import keys
from auditor.db import utcnow
from auditor.permissions import Permission
from auditor.schemas.common import Page
from auditor.schemas.retention import (
    CertificateOut,
    DispositionReportOut,
    DispositionsQuery,
    PlanQuery,
    RecordDispositionsOut,
    ReviewDecision,
    ReviewDetail,
    ReviewOut,
    ReviewQuery,
    ReviewsOpened,
    RuleOut,
    RunOut,
    RunQuery,
)
from auditor.services import retention
from auditor.services.context import Actor
from auditor.services.errors import ValidationFailed
from auditor.views.api import API_PREFIX, paginate, route
from crypto.digest import key_id

bp = Blueprint("retention", __name__, url_prefix=API_PREFIX)
REVIEW_IDS_SHOWN = 100


@route(
    bp,
    "/retention/rules",
    "GET",
    summary="List the current retention rules",
    permission=Permission.RETENTION_READ,
)
def retention_rules_list(session: Session) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in retention.current_rules(session)]


@route(
    bp,
    "/retention/plan",
    "GET",
    summary="List what would be disposed of, what is blocked and why (dry run)",
    permission=Permission.RETENTION_READ,
)
def retention_plan_view(session: Session, query: PlanQuery) -> dict[str, Any]:
    as_of = query.as_of or utcnow().date()
    return retention.plan_disposition(session, as_of=as_of).to_dict()


# -- disposition review -----------------------------------------------------------------------


@route(
    bp,
    "/retention/reviews",
    "GET",
    summary="List disposition review batches",
    permission=Permission.RETENTION_READ,
)
def retention_reviews_list(session: Session, query: ReviewQuery) -> Page[ReviewOut]:
    return paginate(
        query,
        lambda after, limit: retention.list_reviews(
            session, status=query.status, after=after, limit=limit
        ),
        ReviewOut.model_validate,
    )


@route(
    bp,
    "/retention/reviews",
    "POST",
    summary="Open review batches now for the records waiting for a review",
    permission=Permission.RETENTION_REVIEW,
)
def retention_reviews_open(session: Session, actor: Actor) -> ReviewsOpened:
    today = utcnow().date()
    opened = retention.open_review_batches(session, as_of=today, actor=actor)
    return ReviewsOpened(as_of=today, opened=[ReviewOut.model_validate(r) for r in opened])


@route(
    bp,
    "/retention/reviews/<int:review_id>",
    "GET",
    summary="Read a disposition review batch with its counts and first record ids",
    permission=Permission.RETENTION_READ,
)
def retention_reviews_read(session: Session, review_id: int) -> ReviewDetail:
    return retention.review_detail(session, review_id, first=REVIEW_IDS_SHOWN)


@route(
    bp,
    "/retention/reviews/<int:review_id>/decision",
    "POST",
    summary="Approve, extend or reject a disposition review batch, with a justification",
    permission=Permission.RETENTION_REVIEW,
    errors=(409,),
)
def retention_reviews_decide(
    session: Session, review_id: int, body: ReviewDecision, actor: Actor
) -> ReviewOut:
    review = retention.decide_review(session, review_id, **body.model_dump(), actor=actor)
    return ReviewOut.model_validate(review)


# -- purge runs and disposition records -------------------------------------------------------


@route(
    bp,
    "/retention/runs",
    "GET",
    summary="List the latest purge runs, newest first",
    permission=Permission.RETENTION_READ,
)
def retention_runs_list(session: Session, query: RunQuery) -> list[RunOut]:
    return [RunOut.model_validate(r) for r in retention.list_runs(session, limit=query.limit)]


@route(
    bp,
    "/retention/runs/<int:run_id>",
    "GET",
    summary="Read a purge run and its counts",
    permission=Permission.RETENTION_READ,
)
def retention_runs_read(session: Session, run_id: int) -> RunOut:
    return RunOut.model_validate(retention.get_run(session, run_id))


@route(
    bp,
    "/retention/runs/<int:run_id>/certificate",
    "GET",
    summary="Read a purge run's disposition certificate",
    permission=Permission.RETENTION_READ,
    response=CertificateOut,
)
def retention_runs_certificate(session: Session, run_id: int) -> dict[str, Any]:
    run = retention.get_run(session, run_id)
    # recomputed from the disposition records, as the CLI does (the stored copy is not trusted)
    return retention.run_certificate(session, run, digest_key_id=key_id(keys.disposition_key()))


@route(
    bp,
    "/retention/dispositions",
    "GET",
    summary="Report every disposition of a period with the query that selected them",
    permission=Permission.RETENTION_READ,
    response=DispositionReportOut | RecordDispositionsOut,
)
def retention_dispositions_report(session: Session, query: DispositionsQuery) -> dict[str, Any]:
    if problems := query.problems():
        raise ValidationFailed("Give a period (from and to) or a record.", problems)
    if query.record is not None:
        return {
            "record": query.record,
            "dispositions": retention.dispositions_of(session, query.record),
        }
    assert query.start is not None
    assert query.end is not None
    return retention.disposition_report(session, start=query.start, end=query.end)
