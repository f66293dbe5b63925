"""The privacy-request desk: the filtered list sorted by due date, its CSV, and a request's
timeline from the audit trail; each as the actor may see it (``scope``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased, contains_eager

from auditor.models import AuditEvent, DataSubject, Organization, PrivacyRequest
from auditor.services import calendar
from auditor.services.context import Actor
from auditor.services.requests.common import OBJECT_TYPE, is_quebec
from auditor.services.requests.deadlines import clock, overdue_before
from auditor.services.requests.scope import visible_clients, visible_condition
from auditor.services.requests.states import OPEN

__all__ = [
    "CSV_COLUMNS",
    "DeskFilter",
    "client_of",
    "csv_lines",
    "csv_row",
    "iter_requests",
    "list_requests",
    "timeline",
]

CSV_COLUMNS = (
    "reference",
    "type",
    "status",
    "channel",
    "client",
    "quebec",
    "received",
    "due",
    "days_left",
    "deadline",
    "verified",
    "extended",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class DeskFilter:
    """What the list shows; every field is optional and they combine (AND)."""

    status: str | None = None
    type: str | None = None
    client: str | None = None  # an organization's code: the subject's or the forwarder's
    quebec: bool | None = None
    due_within: int | None = None  # open and due within this many days (today counts)
    overdue: bool | None = None
    open_only: bool = False


def _query(
    filters: DeskFilter, visible: set[int] | None, now: dt.datetime
) -> Select[PrivacyRequest]:
    subject_client = aliased(Organization)
    forwarder = aliased(Organization)
    query = (
        select(PrivacyRequest)
        .outerjoin(PrivacyRequest.subject)
        .outerjoin(subject_client, DataSubject.organization)
        .outerjoin(forwarder, PrivacyRequest.forwarded_by)
        .options(
            contains_eager(PrivacyRequest.subject).contains_eager(
                DataSubject.organization.of_type(subject_client)
            ),
            contains_eager(PrivacyRequest.forwarded_by.of_type(forwarder)),
        )
        .order_by(PrivacyRequest.due_at, PrivacyRequest.id)
    )
    is_open = PrivacyRequest.status.in_(OPEN)
    if visible is not None:
        query = query.where(visible_condition(visible))
    if filters.open_only:
        query = query.where(is_open)
    if filters.status:
        query = query.where(PrivacyRequest.status == filters.status)
    if filters.type:
        query = query.where(PrivacyRequest.type == filters.type)
    if filters.client:
        query = query.where(
            or_(subject_client.code == filters.client, forwarder.code == filters.client)
        )
    if filters.quebec is not None:
        flagged = or_(
            func.coalesce(DataSubject.is_quebec, False),
            func.coalesce(subject_client.is_quebec, False),
            func.coalesce(forwarder.is_quebec, False),
        )
        query = query.where(flagged if filters.quebec else ~flagged)
    if filters.due_within is not None:
        last_day = calendar.local_day(now) + dt.timedelta(days=filters.due_within + 1)
        query = query.where(is_open, PrivacyRequest.due_at < calendar.day_start(last_day))
    if filters.overdue is not None:
        late = and_(is_open, PrivacyRequest.due_at < overdue_before(now))
        query = query.where(late if filters.overdue else ~late)
    return query


def list_requests(
    session: Session,
    filters: DeskFilter,
    *,
    actor: Actor,
    now: dt.datetime,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PrivacyRequest], int]:
    """A page of the filtered list, soonest due first, and how many match in all."""
    query = _query(filters, visible_clients(session, actor), now)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(offset).limit(limit)).unique().all()
    return list(rows), int(total or 0)


def iter_requests(
    session: Session, filters: DeskFilter, *, actor: Actor, now: dt.datetime
) -> Iterator[PrivacyRequest]:
    """Every request of the filter, soonest due first, read in batches (the CSV)."""
    query = _query(filters, visible_clients(session, actor), now)
    yield from session.scalars(query.execution_options(yield_per=500))


def client_of(request: PrivacyRequest) -> Organization | None:
    if request.subject is not None and request.subject.organization is not None:
        return request.subject.organization
    return request.forwarded_by


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(request: PrivacyRequest, now: dt.datetime) -> list[str]:
    state = clock(request, now)
    client = client_of(request)
    row = [
        request.reference,
        request.type,
        request.status,
        request.channel,
        client.code if client is not None else "",
        "yes" if is_quebec(request) else "no",
        calendar.local_day(request.received_at).isoformat(),
        state.due_day.isoformat(),
        str(state.days_left) if request.status in OPEN else "",
        state.label,
        "yes" if request.verified_at is not None else "no",
        "yes" if request.extended_at is not None else "no",
    ]
    return [_cell(value) for value in row]


def csv_lines(rows: Iterator[PrivacyRequest], now: dt.datetime) -> Iterator[str]:
    """The CSV, a line at a time (streamed: the whole list is never held)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for request in rows:
        writer.writerow(csv_row(request, now))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def timeline(session: Session, request: PrivacyRequest) -> Sequence[AuditEvent]:
    """What happened to the request, oldest first, as the audit trail recorded it."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == OBJECT_TYPE, AuditEvent.object_id == request.reference)
        .order_by(AuditEvent.seq)
    ).all()
