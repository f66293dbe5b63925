"""What the dashboard shows: what is due and what is overdue, on the MSP's calendar.

Requests come from the desk's one query (so a technician sees their clients' only) and carry the
one clock (``deadlines.clock``): the dashboard, the list, the page, the CSV and the PDFs agree.
Retention (dispositions coming due, review batches, holds) is shown to the roles that may read it;
what is coming due is what the last daily purge forecast (reading every record is a job's work,
not a page's), or, before any purge has run, computed for the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.models import DispositionReview, Hold, JobRun, PrivacyRequest
from auditor.permissions import Permission, is_allowed
from auditor.services import calendar, holds, jobs
from auditor.services.context import Actor
from auditor.services.requests.common import is_quebec
from auditor.services.requests.deadlines import Clock, clock
from auditor.services.requests.desk import DeskFilter, iter_requests
from auditor.services.requests.scope import visible_clients, visible_condition
from auditor.services.requests.states import RESPONSES
from auditor.services.retention.forecast import forecast_schedule

SOON_DAYS = 7  # "due soon" on the dashboard: within a week
CHART_MONTHS = 12
EXTENSION_WARNING_DAYS = 7  # extensions must be decided by day 30: warn a week before


@dataclass(frozen=True)
class DueRequest:
    request: PrivacyRequest
    clock: Clock


@dataclass(frozen=True)
class MonthTally:
    month: dt.date  # the first day of the month, on the MSP's calendar
    on_time: int
    late: int

    @property
    def total(self) -> int:
        return self.on_time + self.late


@dataclass
class Dashboard:
    today: dt.date
    overdue: list[DueRequest] = field(default_factory=list)
    due_soon: list[DueRequest] = field(default_factory=list)
    open_count: int = 0
    awaiting_verification: list[DueRequest] = field(default_factory=list)
    extension_deadlines: list[DueRequest] = field(default_factory=list)
    answered: list[MonthTally] = field(default_factory=list)
    reviews: list[DispositionReview] | None = None  # None: the role may not see retention
    holds: list[Hold] | None = None
    forecast: ComingDue | None = None


@dataclass(frozen=True)
class ComingDue:
    """What falls due now and in the coming weeks, by period (``jobs.forecast_summary``)."""

    start: dt.date
    buckets: list[dict[str, Any]]
    computed_at: dt.datetime | None  # the daily purge that computed it; None: computed now


def latest_coming_due(session: Session) -> ComingDue | None:
    """The forecast the last successful daily purge computed, if any."""
    run = session.scalar(
        select(JobRun)
        .where(JobRun.job == jobs.PURGE, JobRun.outcome == "success")
        .order_by(JobRun.finished_at.desc())
        .limit(1)
    )
    summary = run.counts.get("forecast") if run is not None else None
    if not summary:
        return None
    start = dt.date.fromisoformat(summary["start"])
    return ComingDue(start, list(summary["buckets"]), run.finished_at if run else None)


def coming_due_now(session: Session, *, now: dt.datetime) -> ComingDue:
    """The forecast computed for this page (before the first daily purge has run)."""
    forecast = forecast_schedule(session, start=calendar.local_day(now), months=2)
    summary = jobs.forecast_summary(forecast)
    return ComingDue(forecast.start, summary["buckets"], None)


def _month(day: dt.date, back: int) -> dt.date:
    number = day.year * 12 + day.month - 1 - back
    return dt.date(number // 12, number % 12 + 1, 1)


def _tally(rows: list[PrivacyRequest], today: dt.date) -> list[MonthTally]:
    months = [_month(today, back) for back in range(CHART_MONTHS - 1, -1, -1)]
    counts = {month: [0, 0] for month in months}
    for request in rows:
        assert request.closed_at is not None
        day = calendar.local_day(request.closed_at)
        key = dt.date(day.year, day.month, 1)
        if key in counts:
            met = clock(request).deadline_met
            counts[key][0 if met else 1] += 1
    return [MonthTally(month, *counts[month]) for month in months]


def answered_by_month(session: Session, *, actor: Actor, today: dt.date) -> list[MonthTally]:
    """Requests answered (completed, partially refused, refused) per month over the last year:
    on time or late."""
    since = calendar.day_start(_month(today, CHART_MONTHS - 1))
    query = select(PrivacyRequest).where(
        PrivacyRequest.status.in_(RESPONSES), PrivacyRequest.closed_at >= since
    )
    visible = visible_clients(session, actor)
    if visible is not None:
        query = query.where(visible_condition(visible))
    return _tally(list(session.scalars(query)), today)


def build(
    session: Session, *, actor: Actor, now: dt.datetime, forecast: ComingDue | None = None
) -> Dashboard:
    today = calendar.local_day(now)
    board = Dashboard(today=today)
    open_requests = list(iter_requests(session, DeskFilter(open_only=True), actor=actor, now=now))
    board.open_count = len(open_requests)
    for request in open_requests:
        state = clock(request, now)
        item = DueRequest(request, state)
        if state.overdue:
            board.overdue.append(item)
        elif state.days_left <= SOON_DAYS:
            board.due_soon.append(item)
        if request.verified_at is None:
            board.awaiting_verification.append(item)
        day_30 = (calendar.local_day(request.original_due_at) - today).days
        if (
            request.extended_at is None
            and not is_quebec(request)
            and 0 <= day_30 <= EXTENSION_WARNING_DAYS
        ):
            board.extension_deadlines.append(item)
    board.answered = answered_by_month(session, actor=actor, today=today)
    role = actor.role or ""
    if is_allowed(role, Permission.RETENTION_READ):
        board.reviews = list(
            session.scalars(
                select(DispositionReview)
                .where(DispositionReview.status == "open")
                .order_by(DispositionReview.id)
            )
        )
        board.forecast = forecast
    if is_allowed(role, Permission.HOLDS_READ):
        board.holds = holds.list_holds(session, status="active", limit=50, now=now)
    return board
