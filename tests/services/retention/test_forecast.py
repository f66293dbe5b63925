"""The disposition schedule: month buckets with a "due now" bucket, holds, review, not computable
records, credentials (R16), every month present, and bounded batches."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from auditor.schemas.holds import HoldIn
from auditor.services import holds
from auditor.services.errors import ValidationFailed
from auditor.services.retention import forecast as retention_forecast
from auditor.services.retention import rules as retention_rules
from tests.factories import AS_OF as START
from tests.factories import (
    OFFICER,
    at,
    closed_ticket,
    handover,
    old_record,
    review,
    sealed_secret,
    terminated_client,
)


def months(data):
    return {bucket["key"]: bucket for bucket in data["by_month"]}


def test_forecast_buckets_records_by_month_of_their_due_date(session, inventory, rules, beta):
    closed_ticket(session, closed=dt.date(2010, 1, 2))  # long overdue
    closed_ticket(session, closed=START.replace(year=2019))  # due on the start day itself
    old_record(session, category="security_logs", system="siem", client="beta")
    closed_ticket(session, closed=dt.date(2019, 11, 23))  # the day after the start
    closed_ticket(session, closed=dt.date(2019, 12, 10), client="beta")
    closed_ticket(session, closed=dt.date(2019, 12, 31))
    closed_ticket(session, closed=dt.date(2020, 10, 31))  # the last day covered
    closed_ticket(session, closed=dt.date(2020, 11, 1))  # the first day after
    data = retention_forecast.forecast_schedule(session, start=START).to_dict()
    assert (data["start"], data["months"], data["horizon_end"]) == ("2026-11-22", 12, "2027-10-31")
    assert data["records_checked"] == 8
    now = data["due_now"]
    assert (now["key"], now["first_day"], now["last_day"], now["due"]) == (
        "due_now",
        None,
        "2026-11-22",
        3,
    )
    assert now["by_rule"] == [
        {"rule": "security_logs", "version": 1, "action": "delete", "count": 1},
        {"rule": "ticket_history", "version": 1, "action": "delete", "count": 2},
    ]
    assert now["by_category"] == [
        {"category": "security_logs", "count": 1},
        {"category": "ticket_history", "count": 2},
    ]
    assert now["by_client"] == [{"client": "acme", "count": 2}, {"client": "beta", "count": 1}]
    by_key = months(data)
    assert list(by_key) == [
        "2026-11",
        "2026-12",
        *(f"2027-{m:02d}" for m in range(1, 11)),
    ]
    november = by_key["2026-11"]
    assert (november["label"], november["first_day"], november["last_day"]) == (
        "November 2026",
        "2026-11-23",
        "2026-11-30",
    )
    assert november["due"] == 1
    december = by_key["2026-12"]
    assert (december["first_day"], december["due"]) == ("2026-12-01", 2)
    assert december["by_client"] == [{"client": "acme", "count": 1}, {"client": "beta", "count": 1}]
    assert by_key["2027-10"]["due"] == 1
    assert sum(b["due"] for b in data["by_month"]) == 4
    later = data["later"]
    assert (later["label"], later["first_day"], later["last_day"], later["due"]) == (
        "After October 2027",
        "2027-11-01",
        None,
        1,
    )
    assert data["totals"] == {
        "due_now": 3,
        "due_in_months": 4,
        "due_later": 1,
        "held": 0,
        "pending_review": 0,
        "blocked_other": 0,
        "not_computable": 0,
        "credentials": 0,
    }


@pytest.mark.parametrize(
    ("start", "count", "keys"),
    [
        (dt.date(2026, 11, 30), 2, ["2026-12", "2027-01"]),  # the start's month has no day left
        (dt.date(2026, 12, 15), 3, ["2026-12", "2027-01", "2027-02"]),
        (dt.date(2027, 1, 1), 1, ["2027-01"]),
    ],
)
def test_every_month_is_present_even_when_nothing_falls_due(session, start, count, keys):
    data = retention_forecast.forecast_schedule(session, start=start, months=count).to_dict()
    assert [bucket["key"] for bucket in data["by_month"]] == keys
    for bucket in data["by_month"]:
        assert bucket["due"] == 0 and bucket["by_rule"] == [] and bucket["by_client"] == []
        assert bucket["held"] == {"count": 0, "hold_ids": []} and bucket["pending_review"] == 0
    assert data["by_month"][-1]["last_day"] == data["horizon_end"]
    assert data["not_computable"] == [] and data["credentials"] == []


def test_thirty_six_months_is_the_limit(session):
    assert len(retention_forecast.forecast_schedule(session, start=START, months=36).by_month) == 36
    for bad in (0, 37):
        with pytest.raises(ValidationFailed) as exc:
            retention_forecast.forecast_schedule(session, start=START, months=bad)
        assert exc.value.errors[0].field == "months"


def test_held_records_are_counted_apart_in_the_month_they_would_fall_due(
    session, inventory, rules, beta
):
    closed_ticket(session, closed=dt.date(2010, 1, 2))
    closed_ticket(session, closed=dt.date(2020, 1, 15))
    closed_ticket(session, closed=dt.date(2020, 1, 20), client="beta")
    open_ticket = old_record(session, closed_at=None)
    client_hold = holds.place(
        session,
        HoldIn(scope="client", value="acme", reason="Litigation"),  # type: ignore[call-arg]
        actor=OFFICER,
        now=at(2026, 11, 1),
    )
    record_hold = holds.place(
        session,
        HoldIn(scope="record", value=str(open_ticket.id), reason="Audit"),  # type: ignore[call-arg]
        actor=OFFICER,
        now=at(2026, 11, 1),
    )
    data = retention_forecast.forecast_schedule(session, start=START).to_dict()
    assert data["due_now"]["due"] == 0
    assert data["due_now"]["held"] == {"count": 1, "hold_ids": [str(client_hold.id)]}
    january = months(data)["2027-01"]
    assert january["due"] == 1 and january["by_client"] == [{"client": "beta", "count": 1}]
    assert january["held"] == {"count": 1, "hold_ids": [str(client_hold.id)]}
    assert data["totals"]["held"] == 2
    # held and without a due date: the missing date is what needs fixing
    (group,) = data["not_computable"]
    assert group["reason"] == "rule ticket_history v1: closed_at missing"
    assert group["count"] == 1
    assert group["hold_ids"] == sorted([str(client_hold.id), str(record_hold.id)], key=int)


def test_records_needing_review_are_counted_apart(session, inventory, rules):
    closed_ticket(session, closed=dt.date(2010, 1, 2))  # no batch yet: pending review
    approved = closed_ticket(session, closed=dt.date(2010, 1, 3))
    rejected = closed_ticket(session, closed=dt.date(2010, 1, 4))
    extended = closed_ticket(session, closed=dt.date(2010, 1, 5))
    closed_ticket(session, closed=dt.date(2020, 2, 10))  # falls due in February, will need review
    retention_rules.revise_rule(session, "ticket_history", {"requires_review": True}, actor=OFFICER)
    review(session, record_ids=[approved.id], status="approved", decided_by="user:7")
    review(session, record_ids=[rejected.id], status="rejected", decided_by="user:7")
    review(session, record_ids=[extended.id], status="extended", extend_until=dt.date(2027, 3, 1))
    data = retention_forecast.forecast_schedule(session, start=START).to_dict()
    now = data["due_now"]
    assert now["due"] == 1
    assert now["by_rule"] == [
        {"rule": "ticket_history", "version": 2, "action": "delete", "count": 1}
    ]
    assert now["pending_review"] == 1
    assert now["blocked_other"] == [{"reason": "review rejected", "count": 1}]
    by_key = months(data)
    assert (by_key["2027-02"]["due"], by_key["2027-02"]["pending_review"]) == (0, 1)
    assert (by_key["2027-03"]["due"], by_key["2027-03"]["pending_review"]) == (0, 1)
    assert data["totals"]["pending_review"] == 3
    assert data["totals"]["blocked_other"] == 1


def test_transfer_rule_without_a_recorded_transfer_is_not_counted_as_due(session, inventory, rules):
    record = closed_ticket(session, closed=dt.date(2010, 1, 2))
    retention_rules.revise_rule(
        session,
        "ticket_history",
        {"action": "transfer_then_delete", "requires_review": True},
        actor=OFFICER,
    )
    review(session, record_ids=[record.id], status="approved", decided_by="user:7")
    data = retention_forecast.forecast_schedule(session, start=START).to_dict()
    assert data["due_now"]["due"] == 0
    assert data["due_now"]["blocked_other"] == [{"reason": "transfer not recorded", "count": 1}]


def test_not_computable_records_are_listed_with_their_reasons(session, inventory, rules):
    old_record(session, category="business_technical")
    old_record(session, category="business_technical")
    old_record(session, closed_at=None)
    data = retention_forecast.forecast_schedule(session, start=START).to_dict()
    assert data["not_computable"] == [
        {
            "reason": "rule business_technical v1: event agreement_terminated not recorded",
            "rule": "business_technical",
            "version": 1,
            "count": 2,
            "hold_ids": [],
        },
        {
            "reason": "rule ticket_history v1: closed_at missing",
            "rule": "ticket_history",
            "version": 1,
            "count": 1,
            "hold_ids": [],
        },
    ]
    assert data["totals"]["not_computable"] == 3
    assert all(bucket["due"] == 0 for bucket in data["by_month"])


def test_credentials_of_terminated_clients_are_listed_with_their_due_dates(
    session, inventory, rules
):
    org = terminated_client(session)  # agreement ended 2026-09-30, due 30 days later
    sealed_secret(session, organization=org)
    early = retention_forecast.forecast_schedule(
        session, start=dt.date(2026, 10, 1), months=3
    ).to_dict()
    (entry,) = early["credentials"]
    assert entry["client"] == "harbour" and entry["secrets"] == 1
    assert (entry["due_on"], entry["period"], entry["status"]) == (
        "2026-10-30",
        "2026-10",
        "not_yet_due",
    )
    (entry,) = retention_forecast.forecast_schedule(session, start=START).to_dict()["credentials"]
    assert (entry["period"], entry["status"], entry["reason"]) == (
        "due_now",
        "blocked",
        "hand-over missing",
    )
    handover(session, organization=org, acknowledged_at=at(2026, 10, 2))
    (entry,) = retention_forecast.forecast_schedule(session, start=START).to_dict()["credentials"]
    assert entry["status"] == "ready"


def test_forecast_reads_records_in_bounded_batches(session, inventory, rules, batch_sizes):
    for _ in range(10):
        closed_ticket(session, closed=dt.date(2020, 3, 5))
    data = retention_forecast.forecast_schedule(session, start=START, batch=3).to_dict()
    assert batch_sizes == [3, 3, 3, 1]
    assert months(data)["2027-03"]["due"] == 10
    with pytest.raises(ValueError):
        retention_forecast.forecast_schedule(session, start=START, batch=0)


def test_forecast_dict_is_json_ready_and_deterministic(session, inventory, rules, beta):
    closed_ticket(session, closed=dt.date(2019, 12, 1), client="beta")
    closed_ticket(session, closed=dt.date(2019, 12, 2))
    first = retention_forecast.forecast_schedule(session, start=START).to_dict()
    second = retention_forecast.forecast_schedule(session, start=START, batch=1).to_dict()
    assert json.dumps(first) == json.dumps(second)
    assert first["format"] == "auditor-disposition-schedule/1"
    assert [c["client"] for c in months(first)["2026-12"]["by_client"]] == ["acme", "beta"]


def test_a_plan_and_a_forecast_on_the_same_day_agree_on_what_is_due(session, inventory, rules):
    from auditor.services.retention import plan as retention_plan

    for year in (2010, 2012, 2019):
        closed_ticket(session, closed=dt.date(year, 6, 1))
    plan = retention_plan.plan_disposition(session, as_of=START)
    data = retention_forecast.forecast_schedule(session, start=START).to_dict()
    assert data["due_now"]["due"] == plan.due_count == 3
