"""The lane (the purge's hot path) decides exactly as decide() does for the records it takes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention import BillingRule, Outcome, Period, RecordDate, Rule, Trigger, decide
from retention.lane import Lane, supports
from tests.factories.rules import CREDENTIALS, TICKETS, any_rules, dates, records

D = dt.date
LOGS = Rule(
    id="logs",
    category="tickets",
    trigger=Trigger.TIME,
    date_field=RecordDate.CREATED_AT,
    period=Period(days=365),
    source_periods=(("siem", Period(days=90)),),
)


def lane_decision(lane, record):
    """What the purge passes to the lane for a record (as Evaluator.in_lane does)."""
    if lane.billing:
        return lane.decide(
            record.id,
            document_date=record.document_date,
            last_transaction_on=record.last_transaction_on,
        )
    return lane.decide(record.id, start=getattr(record, lane.date_field), source=record.source)


@settings(max_examples=600, deadline=None)
@given(
    record=records,
    rule=any_rules,
    source=st.none() | st.sampled_from(["siem", "edr"]),
    as_of=dates,
    again=st.booleans(),
)
def test_lane_decides_as_decide_does_without_holds_or_record_rule(
    record, rule, source, as_of, again
):
    if not supports(rule):  # event rules always go through decide()
        with pytest.raises(ValueError, match="needs decide"):
            Lane(rule, as_of)
        return
    if isinstance(rule, Rule) and rule.date_field and source:
        rule = rule.revise(source_periods=(("siem", Period(days=120)),))
    record = type(record)(**{**record.__dict__, "source": source})
    lane = Lane(rule, as_of)
    first = lane_decision(lane, record)
    # memoised due dates give the same answer the second time
    assert (lane_decision(lane, record) if again else first) == first
    assert first == decide(record, rule, as_of=as_of)


@pytest.mark.parametrize(
    ("rule", "source", "start", "as_of", "outcome", "due_on"),
    [
        (TICKETS, None, D(2018, 3, 1), D(2025, 3, 1), Outcome.DUE, D(2025, 3, 1)),
        (TICKETS, None, D(2018, 3, 2), D(2025, 3, 1), Outcome.NOT_YET_DUE, D(2025, 3, 2)),
        (LOGS, "siem", D(2025, 1, 1), D(2025, 4, 1), Outcome.DUE, D(2025, 4, 1)),
        (LOGS, "edr", D(2025, 1, 1), D(2025, 4, 1), Outcome.NOT_YET_DUE, D(2026, 1, 1)),
        (TICKETS, None, None, D(2025, 3, 1), Outcome.NOT_COMPUTABLE, None),
    ],
)
def test_lane_due_dates(rule, source, start, as_of, outcome, due_on):
    decision = Lane(rule, as_of).decide("r1", start=start, source=source)
    assert (decision.outcome, decision.due_on, decision.rule) == (outcome, due_on, rule)
    if outcome is Outcome.NOT_COMPUTABLE:
        assert decision.reason == "rule tickets v1: closed_at missing"


def test_lane_billing_needs_both_dates():
    cra = BillingRule(id="cra", category="billing", fiscal_year_end=(12, 31))
    lane = Lane(cra, D(2027, 4, 30))
    assert lane.decide("r1", document_date=D(2020, 5, 1)).reason == (
        "rule cra v1: last_transaction_on missing"
    )
    due = lane.decide("r1", document_date=D(2020, 5, 1), last_transaction_on=D(2020, 5, 1))
    assert due.due_on == D(2027, 5, 1) and due.outcome is Outcome.NOT_YET_DUE


def test_event_rules_are_not_taken():
    assert not supports(CREDENTIALS)
    with pytest.raises(ValueError, match="credentials v1 needs decide"):
        Lane(CREDENTIALS, D(2025, 1, 1))
