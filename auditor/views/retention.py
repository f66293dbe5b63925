"""Retention endpoints: the rules, the dry-run plan, disposition review batches, purge runs with
their certificates, and the disposition report (R20, R22). Purges themselves run from the CLI and
the scheduler, never from the API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from auditor import keys
from auditor.db import get_session, utcnow
from auditor.permissions import Permission
from auditor.schemas.common import Page, decode_cursor, encode_cursor
from auditor.schemas.retention import (
    CertificateOut,
    DispositionReportOut,
    DispositionsQuery,
    PlanQuery,
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
from auditor.views.api import API_PREFIX, page_limit, route
from crypto.digest import key_id

bp = Blueprint("retention", __name__, url_prefix=API_PREFIX)
REVIEW_IDS_SHOWN = 100


@route(
    bp,
    "/retention/rules",
    "GET",
    summary="List the current retention rules",
    permission=Permission.RETENTION_READ,
    response=list[RuleOut],
)
def retention_rules_list(actor: Any) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in retention.current_rules(get_session())]


@route(
    bp,
    "/retention/plan",
    "GET",
    summary="List what would be disposed of, what is blocked and why (dry run)",
    permission=Permission.RETENTION_READ,
    query=PlanQuery,
    response=dict[str, Any],
    errors=(422,),
)
def retention_plan_view(query: PlanQuery, actor: Any) -> dict[str, Any]:
    as_of = query.as_of or utcnow().date()
    return retention.plan_disposition(get_session(), as_of=as_of).to_dict()


# -- disposition review -----------------------------------------------------------------------


@route(
    bp,
    "/retention/reviews",
    "GET",
    summary="List disposition review batches",
    permission=Permission.RETENTION_READ,
    query=ReviewQuery,
    response=Page[ReviewOut],
    errors=(422,),
)
def retention_reviews_list(query: ReviewQuery, actor: Any) -> Page[ReviewOut]:
    limit = page_limit(query.limit)
    rows = retention.list_reviews(
        get_session(), status=query.status, after=decode_cursor(query.cursor), limit=limit
    )
    cursor = encode_cursor(rows[-1].id) if len(rows) == limit else None
    return Page[ReviewOut](items=[ReviewOut.model_validate(r) for r in rows], next_cursor=cursor)


@route(
    bp,
    "/retention/reviews",
    "POST",
    summary="Open review batches now for the records waiting for a review",
    permission=Permission.RETENTION_REVIEW,
    response=ReviewsOpened,
)
def retention_reviews_open(actor: Any) -> ReviewsOpened:
    today = utcnow().date()
    opened = retention.open_review_batches(get_session(), as_of=today, actor=actor)
    return ReviewsOpened(as_of=today, opened=[ReviewOut.model_validate(r) for r in opened])


@route(
    bp,
    "/retention/reviews/<int:review_id>",
    "GET",
    summary="Read a disposition review batch with its counts and first record ids",
    permission=Permission.RETENTION_READ,
    response=ReviewDetail,
    errors=(404,),
)
def retention_reviews_read(review_id: int, actor: Any) -> ReviewDetail:
    return retention.review_detail(get_session(), review_id, first=REVIEW_IDS_SHOWN)


@route(
    bp,
    "/retention/reviews/<int:review_id>/decision",
    "POST",
    summary="Approve, extend or reject a disposition review batch, with a justification",
    permission=Permission.RETENTION_REVIEW,
    body=ReviewDecision,
    response=ReviewOut,
    errors=(400, 404, 409, 415, 422),
)
def retention_reviews_decide(review_id: int, body: ReviewDecision, actor: Any) -> ReviewOut:
    review = retention.decide_review(get_session(), review_id, **body.model_dump(), actor=actor)
    return ReviewOut.model_validate(review)


# -- purge runs and disposition records -------------------------------------------------------


@route(
    bp,
    "/retention/runs",
    "GET",
    summary="List the latest purge runs, newest first",
    permission=Permission.RETENTION_READ,
    query=RunQuery,
    response=list[RunOut],
    errors=(422,),
)
def retention_runs_list(query: RunQuery, actor: Any) -> list[RunOut]:
    return [RunOut.model_validate(r) for r in retention.list_runs(get_session(), limit=query.limit)]


@route(
    bp,
    "/retention/runs/<int:run_id>",
    "GET",
    summary="Read a purge run and its counts",
    permission=Permission.RETENTION_READ,
    response=RunOut,
    errors=(404,),
)
def retention_runs_read(run_id: int, actor: Any) -> RunOut:
    return RunOut.model_validate(retention.get_run(get_session(), run_id))


@route(
    bp,
    "/retention/runs/<int:run_id>/certificate",
    "GET",
    summary="Read a purge run's disposition certificate",
    permission=Permission.RETENTION_READ,
    response=CertificateOut,
    errors=(404,),
)
def retention_runs_certificate(run_id: int, actor: Any) -> dict[str, Any]:
    session = get_session()
    run = retention.get_run(session, run_id)
    # recomputed from the disposition records, as the CLI does (the stored copy is not trusted)
    return retention.run_certificate(session, run, digest_key_id=key_id(keys.disposition_key()))


@route(
    bp,
    "/retention/dispositions",
    "GET",
    summary="Report every disposition of a period with the query that selected them",
    permission=Permission.RETENTION_READ,
    query=DispositionsQuery,
    response=DispositionReportOut,
    errors=(422,),
)
def retention_dispositions_report(query: DispositionsQuery, actor: Any) -> dict[str, Any]:
    return retention.disposition_report(get_session(), start=query.start, end=query.end)
