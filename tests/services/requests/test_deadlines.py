"""Deadlines: 30 days (R1), one extension with its notice (R2/R3), none in Québec (R29), deemed
refusal (R4) and the hourly job, fees only after an estimate and a confirmation (R5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from auditor.models import Hold
from auditor.schemas.requests import ExtensionIn, FeeIn, TransitionIn
from auditor.services import calendar, jobs
from auditor.services.errors import Conflict, ValidationFailed
from auditor.services.requests import deadlines as request_deadlines
from auditor.services.requests import intake, workflow
from tests import factories
from tests.factories import (
    NOW,
    OFFICER,
    assert_no_personal_data,
    close_tasks,
    events,
    open_request,
    verify,
)

RECEIVED = NOW - dt.timedelta(days=20)
DAY_30 = RECEIVED + dt.timedelta(days=30)


def notice(**overrides):
    data = {
        "reason": "consultations_needed",
        "new_due_at": DAY_30 + dt.timedelta(days=30),
        "notice_sent_at": NOW - dt.timedelta(days=1),
        "notice_text": "We need 30 more days. You may complain to the Privacy Commissioner.",
        "opc_statement": True,
    }
    data.update(overrides)
    return ExtensionIn(**data)


def extend(session, request, *, now=NOW, **overrides):
    return request_deadlines.extend(
        session, request.reference, notice(**overrides), actor=OFFICER, now=now
    )


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)),
        (dt.datetime(2024, 2, 1, 0, tzinfo=dt.UTC), dt.datetime(2024, 3, 2, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 12, 15, 23, tzinfo=dt.UTC), dt.datetime(2027, 1, 14, 23, tzinfo=dt.UTC)),
    ],
)
def test_due_date_is_30_calendar_days_after_receipt(received, due):
    assert request_deadlines.due_from(received) == due


TORONTO = ZoneInfo("America/Toronto")


def test_days_left_and_overdue_count_the_msps_days(session, inventory):
    # due 2 December 2026 at 07:00 in Toronto: due all that day there, overdue from the next
    request = open_request(session, received_at=RECEIVED)
    at = lambda moment: request_deadlines.clock(request, moment)  # noqa: E731
    assert (at(NOW).days_left, at(NOW).overdue, at(NOW).label) == (10, False, "10 days left")
    assert (at(DAY_30).days_left, at(DAY_30).overdue) == (0, False)
    late_evening = dt.datetime(2026, 12, 2, 23, 30, tzinfo=TORONTO)  # 04:30 UTC on 3 December
    evening = at(late_evening)
    assert (evening.days_left, evening.overdue, evening.deemed_refused) == (0, False, False)
    assert evening.label == "due today"
    assert evening.due_day == dt.date(2026, 12, 2)
    next_day = at(dt.datetime(2026, 12, 3, 0, 0, tzinfo=TORONTO))
    assert (next_day.days_left, next_day.overdue, next_day.deemed_refused) == (-1, True, True)
    assert next_day.label == "deemed refused: 1 day overdue"


def test_the_time_zone_is_a_setting(session, inventory):
    request = open_request(session, received_at=RECEIVED)
    late_evening = dt.datetime(2026, 12, 2, 23, 30, tzinfo=TORONTO)
    try:
        calendar.configure("UTC")  # in UTC the same instant is already 3 December
        assert request_deadlines.clock(request, late_evening).overdue
    finally:
        calendar.configure(calendar.DEFAULT_ZONE)
    assert not request_deadlines.clock(request, late_evening).overdue


def test_a_valid_extension_moves_the_due_date_and_records_the_notice(session, inventory):
    subject = factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    request = open_request(session, received_at=RECEIVED)
    extend(session, request, now=DAY_30, notice_sent_at=DAY_30)  # sent on day 30: in time
    assert request.status == "extended"
    assert (request.original_due_at, request.due_at) == (DAY_30, DAY_30 + dt.timedelta(days=30))
    assert request.extension_reason == "consultations_needed"
    assert request.extension_notice_sent_at == DAY_30 and request.extension_opc_statement
    assert request.extension_notice_text.startswith("We need 30 more days")
    assert (request.extended_by, request.extended_at) == ("user:7", DAY_30)
    extend_event = events(session, "request.extend")[-1]
    assert extend_event.details == {
        "reason": "consultations_needed",
        "notice_sent_at": DAY_30.isoformat(),
        "original_due_at": DAY_30.isoformat(),
        "due_at": (DAY_30 + dt.timedelta(days=30)).isoformat(),
    }
    transition = events(session, "request.transition")[-1]
    assert (transition.details["from"], transition.details["to"]) == ("received", "extended")
    out = intake.request_out(request, now=NOW)
    assert out.extension.new_due_at == request.due_at and out.days_left == 40
    # answering later recomputes the recourse hold from the extended due date
    verify(session, request)
    close_tasks(session, request)
    workflow.transition(
        session, request.reference, TransitionIn(to="completed"), actor=OFFICER, now=NOW
    )
    hold = session.scalars(select(Hold).where(Hold.scope_value == subject.ref)).one()
    assert hold.until == dt.date(2027, 7, 1)  # the extended due date (2027-01-01) + 6 months
    assert_no_personal_data(events(session, ""), "more days")


def test_extension_notice_after_day_30_is_refused(session, inventory):
    request = open_request(session, received_at=NOW - dt.timedelta(days=35))
    late = request.original_due_at + dt.timedelta(hours=1)
    with pytest.raises(ValidationFailed) as info:
        extend(session, request, notice_sent_at=late, new_due_at=late + dt.timedelta(days=20))
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("notice_sent_at", "sent after day 30 (the original due date): too late")
    ]
    assert request.status == "received" and request.due_at == request.original_due_at
    assert events(session, "request.extend") == []


def test_extension_notice_recorded_late_but_sent_in_time_is_valid(session, inventory):
    request = open_request(session, received_at=NOW - dt.timedelta(days=35))
    sent = request.original_due_at - dt.timedelta(days=2)
    extend(
        session, request, notice_sent_at=sent, new_due_at=request.original_due_at + dt.timedelta(20)
    )
    assert request.status == "extended" and not intake.request_out(request, now=NOW).overdue


def test_extension_without_the_opc_statement_is_refused(session, inventory):
    request = open_request(session, received_at=RECEIVED)
    with pytest.raises(ValidationFailed) as info:
        extend(session, request, opc_statement=False)
    assert info.value.errors[0].field == "opc_statement"
    assert "Privacy Commissioner" in info.value.errors[0].message
    assert request.extended_at is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"new_due_at": DAY_30}, "new_due_at"),
        ({"new_due_at": DAY_30 + dt.timedelta(days=30, seconds=1)}, "new_due_at"),
        ({"notice_sent_at": NOW + dt.timedelta(hours=1)}, "notice_sent_at"),
        ({"notice_sent_at": RECEIVED - dt.timedelta(hours=1)}, "notice_sent_at"),
    ],
)
def test_extension_limits(session, inventory, overrides, field):
    request = open_request(session, received_at=RECEIVED)
    with pytest.raises(ValidationFailed) as info:
        extend(session, request, **overrides)
    assert [e.field for e in info.value.errors] == [field]


def test_alternative_format_may_go_past_day_60(session, inventory):
    request = open_request(session, received_at=RECEIVED)
    far = DAY_30 + dt.timedelta(days=75)
    extend(session, request, reason="alternative_format", new_due_at=far)
    assert request.due_at == far


def test_only_one_extension(session, inventory):
    request = open_request(session, received_at=RECEIVED)
    extend(session, request)
    with pytest.raises(Conflict, match="only one extension"):
        extend(session, request, new_due_at=DAY_30 + dt.timedelta(days=10))
    assert len(events(session, "request.extend")) == 1


@pytest.mark.parametrize("flag", ["subject", "client", "forwarder"])
def test_no_extension_in_quebec(session, inventory, flag):
    if flag == "subject":
        person = factories.subject(session, email="luc@acme.example", organization="acme")
        person.is_quebec = True
        request = open_request(session, received_at=RECEIVED, subject=person.ref)
    elif flag == "client":
        person = factories.subject(session, email="luc@qc.example", organization="qc-client")
        request = open_request(session, received_at=RECEIVED, subject=person.ref)
    else:
        request = open_request(
            session, received_at=RECEIVED, channel="client_forwarded", forwarded_by="qc-client"
        )
    with pytest.raises(Conflict, match=r"no extension \(R29\)"):
        extend(session, request)
    assert request.due_at == DAY_30 and request.status == "received"
    assert intake.request_out(request, now=NOW).is_quebec


def test_closed_request_cannot_be_extended(session, inventory):
    request = open_request(session, received_at=RECEIVED)
    request.status = "withdrawn"
    with pytest.raises(Conflict, match="withdrawn"):
        extend(session, request)


def test_deemed_refusal_is_flagged_and_audited_once_by_the_job(session, inventory):
    overdue = open_request(session, received_at=NOW - dt.timedelta(days=40))
    soon = open_request(session, received_at=NOW - dt.timedelta(days=25))
    fresh = open_request(session, received_at=NOW - dt.timedelta(days=1))
    answered_late = open_request(session, received_at=NOW - dt.timedelta(days=45))
    answered_late.status, answered_late.closed_at = "refused", NOW
    assert intake.request_out(overdue, now=NOW).deemed_refused
    assert not intake.request_out(answered_late, now=NOW).deemed_refused
    assert intake.request_out(answered_late, now=NOW).deadline_met is False
    counts = jobs.check_deadlines(session, now=NOW)
    assert counts == {"open": 3, "due_soon": 1, "overdue": 1, "deemed_refused": 1}
    [event] = events(session, "request.deemed_refused")
    assert (event.object_id, event.actor) == (overdue.reference, "system:requests.deadlines")
    assert event.details == {"due_at": overdue.due_at.isoformat(), "days_overdue": 10}
    assert overdue.deemed_refused_at == NOW
    later = jobs.check_deadlines(session, now=NOW + dt.timedelta(hours=1))
    assert later["deemed_refused"] == 0 and later["overdue"] == 1
    assert len(events(session, "request.deemed_refused")) == 1
    assert {soon.deemed_refused_at, fresh.deemed_refused_at} == {None}


def test_deadline_job_with_no_requests_counts_zero(session):
    assert jobs.check_deadlines(session, now=NOW) == {
        "open": 0,
        "due_soon": 0,
        "overdue": 0,
        "deemed_refused": 0,
    }
    assert events(session) == []


def fee(session, request, **data):
    values = {"amount": Decimal("25.00"), **data}
    return request_deadlines.record_fee(
        session, request.reference, FeeIn(**values), actor=OFFICER, now=NOW
    )


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, ["estimate_sent_at", "confirmed_at"]),
        ({"estimate_sent_at": NOW - dt.timedelta(days=2)}, ["confirmed_at"]),
        ({"confirmed_at": NOW - dt.timedelta(days=1)}, ["estimate_sent_at"]),
        (
            {"estimate_sent_at": NOW - dt.timedelta(days=1), "confirmed_at": NOW - dt.timedelta(2)},
            ["confirmed_at"],
        ),
    ],
)
def test_fee_without_estimate_and_confirmation_is_refused(session, inventory, data, fields):
    request = open_request(session)
    with pytest.raises(ValidationFailed) as info:
        fee(session, request, **data)
    assert "(R5)" in info.value.detail
    assert [e.field for e in info.value.errors] == fields
    assert request.fee_amount_cents is None and events(session, "request.fee") == []


def test_fee_after_estimate_and_confirmation(session, inventory):
    request = open_request(session)
    sent, confirmed = NOW - dt.timedelta(days=2), NOW - dt.timedelta(days=1)
    fee(session, request, amount=Decimal("12.5"), estimate_sent_at=sent, confirmed_at=confirmed)
    assert request.fee_amount_cents == 1250
    out = intake.request_out(request, now=NOW)
    assert (out.fee.amount, out.fee.estimate_sent_at, out.fee.confirmed_at) == (
        "12.50",
        sent,
        confirmed,
    )
    assert events(session, "request.fee")[-1].details == {
        "amount": "12.50",
        "estimate_sent_at": sent.isoformat(),
        "confirmed_at": confirmed.isoformat(),
    }
    with pytest.raises(Conflict, match="already recorded"):
        fee(session, request, estimate_sent_at=sent, confirmed_at=confirmed)
