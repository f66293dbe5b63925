"""The clock of a privacy request: due dates (R1), the one extension (R2/R3, none in Québec,
R29), deemed refusal (R4), fees (R5), and the hourly deadline check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import PrivacyRequest
from auditor.schemas.requests import ExtensionIn, FeeIn
from auditor.services import calendar
from auditor.services.context import Actor
from auditor.services.errors import Conflict, FieldError, ValidationFailed
from auditor.services.requests.common import (
    check_moment,
    get,
    is_quebec,
    iso,
    record_event,
    require_open,
)
from auditor.services.requests.recourse import sync
from auditor.services.requests.states import OPEN, is_allowed

RESPONSE_PERIOD = dt.timedelta(days=30)  # R1: due_at = received_at + 30 calendar days
EXTENSION_LIMIT = dt.timedelta(days=30)  # R2: one extension of at most 30 more days
UNLIMITED_EXTENSION_REASONS = frozenset({"alternative_format"})  # R3 may go past day 60
DUE_SOON = dt.timedelta(days=7)  # the deadline job counts requests due within a week


def due_from(received_at: dt.datetime) -> dt.datetime:
    return received_at + RESPONSE_PERIOD


@dataclass(frozen=True)
class Clock:
    """A request's deadline as of a moment: what every listing, page, CSV and PDF shows.

    Days are the MSP's calendar days (``services.calendar``): a request is due on the day of its
    due date and overdue from the next day."""

    due_day: dt.date  # the due date on the MSP's calendar
    days_left: int  # calendar days from today to the due date, negative once past it
    overdue: bool  # open and past its due day
    deadline_met: bool | None  # answered (or withdrawn) by the due day; None while open

    @property
    def deemed_refused(self) -> bool:
        return self.overdue  # R4: an open request past its due date is deemed refused

    @property
    def label(self) -> str:
        """The plain words for the deadline: what the dashboard, list and page print."""
        if self.deadline_met is not None:
            return "answered on time" if self.deadline_met else "answered late"
        if self.overdue:
            late = -self.days_left
            return f"deemed refused: {late} day{'s' if late != 1 else ''} overdue"
        if self.days_left == 0:
            return "due today"
        return f"{self.days_left} day{'s' if self.days_left != 1 else ''} left"


def overdue_before(moment: dt.datetime) -> dt.datetime:
    """An open request due before this instant is overdue at ``moment``: the start of the MSP's
    day (a request due today is due until midnight)."""
    return calendar.day_start(calendar.local_day(moment))


def clock(request: PrivacyRequest, now: dt.datetime | None = None) -> Clock:
    moment = now or utcnow()
    is_open = request.status in OPEN
    due_day = calendar.local_day(request.due_at)
    met = None
    if not is_open and request.closed_at is not None:
        met = calendar.local_day(request.closed_at) <= due_day
    days_left = (due_day - calendar.local_day(moment)).days
    return Clock(
        due_day=due_day, days_left=days_left, overdue=is_open and days_left < 0, deadline_met=met
    )


def _extension_errors(
    request: PrivacyRequest, data: ExtensionIn, moment: dt.datetime
) -> list[FieldError]:
    errors = []
    if not data.opc_statement:
        errors.append(
            FieldError(
                "opc_statement",
                "the notice must state the right to complain to the Privacy Commissioner",
            )
        )
    errors += check_moment(request, data.notice_sent_at, "notice_sent_at", now=moment)
    if data.notice_sent_at > request.original_due_at:
        errors.append(
            FieldError("notice_sent_at", "sent after day 30 (the original due date): too late")
        )
    if data.new_due_at <= request.original_due_at:
        errors.append(FieldError("new_due_at", "must be after the original due date"))
    elif (
        data.reason not in UNLIMITED_EXTENSION_REASONS
        and data.new_due_at > request.original_due_at + EXTENSION_LIMIT
    ):
        errors.append(
            FieldError(
                "new_due_at",
                "at most 30 days after the original due date; only alternative_format may go "
                "further",
            )
        )
    return errors


def extend(
    session: Session,
    reference: str,
    data: ExtensionIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> PrivacyRequest:
    """Record the one extension with its notice (R2/R3): refused in Québec (R29), refused if
    the notice went out after day 30 or lacks the statement of the right to complain."""
    request = get(session, reference)
    require_open(request, "an extension")
    if request.extended_at is not None:
        raise Conflict("The request was already extended: only one extension is allowed (R2).")
    if is_quebec(request):
        raise Conflict(
            "The request concerns a Québec-flagged subject or client: 30 days, no extension (R29)."
        )
    moment = now or utcnow()
    errors = _extension_errors(request, data, moment)
    if errors:
        raise ValidationFailed("The extension is not valid (R2/R3).", errors)
    previous = request.status
    request.extension_reason = data.reason
    request.extension_notice_sent_at = data.notice_sent_at
    request.extension_notice_text = data.notice_text
    request.extension_opc_statement = True
    request.extended_by, request.extended_at = actor.name, moment
    request.due_at = data.new_due_at
    if is_allowed(previous, "extended"):
        request.status = "extended"
    session.flush()
    record_event(
        session,
        request,
        "request.extend",
        actor=actor,
        now=moment,
        reason=data.reason,
        notice_sent_at=iso(data.notice_sent_at),
        original_due_at=iso(request.original_due_at),
        due_at=iso(request.due_at),
    )
    if request.status != previous:
        record_event(
            session,
            request,
            "request.transition",
            actor=actor,
            now=moment,
            **{"from": previous, "to": request.status},
        )
    sync(session, request, actor=actor, now=moment)
    return request


def record_fee(
    session: Session,
    reference: str,
    data: FeeIn,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> PrivacyRequest:
    """R5: a fee only after a cost-estimate notice and the individual's confirmation."""
    request = get(session, reference)
    require_open(request, "recording a fee")
    if request.fee_amount_cents is not None:
        raise Conflict("A fee is already recorded for the request.")
    moment = now or utcnow()
    errors = []
    if data.estimate_sent_at is None:
        errors.append(FieldError("estimate_sent_at", "send the cost estimate first"))
    else:
        errors += check_moment(request, data.estimate_sent_at, "estimate_sent_at", now=moment)
    if data.confirmed_at is None:
        errors.append(FieldError("confirmed_at", "the individual must confirm the request stands"))
    else:
        errors += check_moment(request, data.confirmed_at, "confirmed_at", now=moment)
        if data.estimate_sent_at is not None and data.confirmed_at < data.estimate_sent_at:
            errors.append(FieldError("confirmed_at", "is before the estimate was sent"))
    if errors:
        raise ValidationFailed(
            "A fee may be recorded only after a cost-estimate notice and the individual's "
            "confirmation that the request stands (R5).",
            errors,
        )
    request.fee_estimate_sent_at = data.estimate_sent_at
    request.fee_confirmed_at = data.confirmed_at
    request.fee_amount_cents = int(data.amount * 100)
    session.flush()
    record_event(
        session,
        request,
        "request.fee",
        actor=actor,
        now=moment,
        amount=format_amount(request.fee_amount_cents),
        estimate_sent_at=iso(data.estimate_sent_at),
        confirmed_at=iso(data.confirmed_at),
    )
    return request


def format_amount(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def check_deadlines(session: Session, *, now: dt.datetime, actor: Actor) -> dict[str, int]:
    """The hourly check: count open requests, those due within a week and the overdue ones, and
    record each newly overdue request as deemed refused (R4), once per request."""
    is_open = PrivacyRequest.status.in_(OPEN)
    cutoff = overdue_before(now)

    def count(*conditions: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(PrivacyRequest).where(is_open, *conditions)
        return int(session.scalar(query) or 0)

    newly = session.scalars(
        select(PrivacyRequest)
        .where(is_open, PrivacyRequest.due_at < cutoff, PrivacyRequest.deemed_refused_at.is_(None))
        .order_by(PrivacyRequest.id)
    ).all()
    for request in newly:
        request.deemed_refused_at = now
        record_event(
            session,
            request,
            "request.deemed_refused",
            actor=actor,
            now=now,
            due_at=iso(request.due_at),
            days_overdue=calendar.days_between(request.due_at, now),
        )
    session.flush()
    return {
        "open": count(),
        "due_soon": count(PrivacyRequest.due_at >= cutoff, PrivacyRequest.due_at <= now + DUE_SOON),
        "overdue": count(PrivacyRequest.due_at < cutoff),
        "deemed_refused": len(newly),
    }
