"""Rules and periods: calendar arithmetic, validation, versioning, billing and security logs."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention import (
    Action,
    BillingRule,
    Event,
    InvalidDefinition,
    Period,
    RecordDate,
    RetentionError,
    Rule,
    Trigger,
    add_months,
    security_log_rule,
)

D = dt.date


def ticket_rule(**changes):
    fields = {
        "id": "tickets",
        "category": "tickets",
        "trigger": Trigger.TIME,
        "date_field": RecordDate.CLOSED_AT,
        "period": Period(years=7),
    }
    return Rule(**{**fields, **changes})


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        (Period(years=7), D(2020, 3, 15), D(2027, 3, 15)),
        (Period(years=1), D(2024, 2, 29), D(2025, 2, 28)),
        (Period(years=4), D(2024, 2, 29), D(2028, 2, 29)),
        (Period(years=7), D(2024, 2, 29), D(2031, 2, 28)),
        (Period(months=6), D(2024, 8, 31), D(2025, 2, 28)),
        (Period(months=6), D(2023, 8, 31), D(2024, 2, 29)),
        (Period(months=1), D(2024, 1, 31), D(2024, 2, 29)),
        (Period(months=14), D(2024, 12, 15), D(2026, 2, 15)),
        (Period(days=90), D(2024, 1, 1), D(2024, 3, 31)),
        (Period(days=90), D(2023, 1, 1), D(2023, 4, 1)),
        (Period(days=365), D(2024, 1, 1), D(2024, 12, 31)),
        (Period(years=1, days=1), D(2024, 2, 28), D(2025, 3, 1)),
        (Period(), D(2024, 5, 5), D(2024, 5, 5)),
    ],
)
def test_period_after_is_calendar_correct(period, start, expected):
    assert period.after(start) == expected


def test_add_months_clamps_to_the_last_day_of_the_month():
    assert add_months(D(2024, 3, 31), -1) == D(2024, 2, 29)
    assert add_months(D(2024, 5, 31), 1) == D(2024, 6, 30)


@pytest.mark.parametrize("bad", [{"days": -1}, {"years": -7}, {"months": 1.5}, {"days": True}])
def test_period_refuses_negative_or_non_integer_parts(bad):
    with pytest.raises(InvalidDefinition, match="period"):
        Period(**bad)


@pytest.mark.parametrize(
    ("shorter", "longer", "expected"),
    [
        (Period(days=90), Period(days=365), True),
        (Period(days=366), Period(days=365), False),
        (Period(days=365), Period(years=1), True),  # a year has 365 or 366 days
        (Period(days=366), Period(years=1), False),  # not from a non-leap start
        (Period(years=1), Period(days=366), True),
        (Period(years=7), Period(years=6, months=12), True),
        (Period(months=12), Period(years=1), True),
        (Period(years=1), Period(days=364), False),
    ],
)
def test_period_is_at_most_holds_from_every_start_date(shorter, longer, expected):
    assert shorter.is_at_most(longer) is expected


def test_period_str_names_its_parts():
    assert str(Period(years=1, months=2, days=3)) == "1 y 2 m 3 d"
    assert str(Period()) == "0 d"


def test_rule_accepts_plain_strings_from_storage():
    rule = Rule(
        id="marketing",
        category="marketing",
        trigger="event",
        event="consent_withdrawn",
        period=Period(days=30),
        action="anonymise",
    )
    assert rule.trigger is Trigger.EVENT
    assert rule.event is Event.CONSENT_WITHDRAWN
    assert rule.action is Action.ANONYMISE
    assert ticket_rule(date_field="closed_at").date_field is RecordDate.CLOSED_AT


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "non-empty id"),
        ({"id": 7}, "non-empty id"),
        ({"category": " "}, "category"),
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
        ({"trigger": "sometimes"}, "trigger must be one of"),
        ({"action": "burn"}, "action must be one of"),
        ({"date_field": None}, "time rule needs a date_field"),
        ({"event": Event.CONSENT_WITHDRAWN}, "time rule needs a date_field and no event"),
        ({"date_field": "modified_at"}, "date_field must be one of"),
        ({"trigger": Trigger.EVENT}, "event rule needs an event and no date_field"),
        (
            {"trigger": Trigger.EVENT, "date_field": None, "event": "moon_landing"},
            "event must be one of",
        ),
        ({"period": 7}, "period must be a Period"),
        ({"minimum": 90}, "minimum must be a Period"),
        ({"minimum": Period(years=8), "maximum": Period(years=10)}, "shorter than the minimum"),
        ({"maximum": Period(years=6)}, "longer than the maximum"),
        ({"minimum": Period(years=2), "maximum": Period(years=1)}, "longer than maximum"),
        ({"source_periods": (("", Period(days=90)),)}, "distinct non-empty"),
        ({"source_periods": (("fw", Period(days=90)),) * 2}, "distinct non-empty"),
        ({"source_periods": (("fw", 90),)}, "period of source 'fw' must be a Period"),
    ],
)
def test_rule_validation_refuses_bad_definitions(changes, message):
    with pytest.raises(InvalidDefinition, match=message):
        ticket_rule(**changes)


def test_invalid_rule_is_a_retention_error():
    assert issubclass(InvalidDefinition, RetentionError)


def test_rule_within_its_bounds_is_accepted():
    rule = ticket_rule(minimum=Period(years=7), maximum=Period(years=10))
    assert rule.period == Period(years=7)


def test_revise_returns_the_next_version_and_leaves_the_original():
    v1 = ticket_rule(requires_review=False)
    v2 = v1.revise(period=Period(years=8), requires_review=True)
    v3 = v2.revise(action=Action.ANONYMISE)
    assert (v1.version, v1.period, v1.requires_review) == (1, Period(years=7), False)
    assert (v2.version, v2.period, v2.requires_review) == (2, Period(years=8), True)
    assert (v3.id, v3.version, v3.action) == ("tickets", 3, Action.ANONYMISE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        v1.period = Period(years=1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "other"}, "cannot change id"),
        ({"version": 9}, "cannot change version"),
        ({"colour": "red"}, "colour"),
        ({"date_field": None}, "time rule needs a date_field"),
        ({"maximum": Period(years=1)}, "longer than the maximum"),
    ],
)
def test_revise_validates_the_new_version(changes, message):
    with pytest.raises(InvalidDefinition, match=message):
        ticket_rule().revise(**changes)


# -- security logs: created + N days, N per source within [90, 365] ------------------------------


@pytest.mark.parametrize("days", [90, 91, 180, 364, 365])
def test_security_log_period_within_bounds_is_accepted(days):
    rule = security_log_rule(id="logs", default_days=days, source_days={"firewall": days})
    assert rule.period_for("firewall") == Period(days=days)
    assert rule.trigger is Trigger.TIME and rule.date_field is RecordDate.CREATED_AT


@pytest.mark.parametrize("days", [0, 89, 366, 730])
def test_security_log_default_period_outside_bounds_is_refused(days):
    with pytest.raises(
        InvalidDefinition, match=r"(shorter than the minimum|longer than the maximum)"
    ):
        security_log_rule(id="logs", default_days=days)


@pytest.mark.parametrize("days", [89, 366])
def test_security_log_source_period_outside_bounds_is_refused(days):
    with pytest.raises(InvalidDefinition, match="period of source 'edr'"):
        security_log_rule(id="logs", default_days=180, source_days={"firewall": 90, "edr": days})


def test_security_log_source_falls_back_to_the_default_period():
    rule = security_log_rule(id="logs", default_days=180, source_days={"firewall": 90, "ad": 365})
    assert rule.period_for("firewall") == Period(days=90)
    assert rule.period_for("ad") == Period(days=365)
    assert rule.period_for("unknown") == Period(days=180)
    assert rule.period_for(None) == Period(days=180)
    assert rule.source_periods == (("ad", Period(days=365)), ("firewall", Period(days=90)))


def test_security_log_revision_keeps_the_bounds():
    rule = security_log_rule(id="logs", default_days=180)
    with pytest.raises(InvalidDefinition, match="period of source 'vpn'"):
        rule.revise(source_periods=(("vpn", Period(days=366)),))
    assert rule.revise(source_periods=(("vpn", Period(days=365)),)).version == 2


# -- billing (R17) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fiscal_year_end", "document", "last_transaction", "expected"),
    [
        # the document branch wins: the last transaction is the document itself
        ((12, 31), D(2020, 3, 1), D(2020, 3, 1), D(2027, 3, 1)),
        # the fiscal-year branch wins: a transaction in a later fiscal year
        ((12, 31), D(2020, 3, 1), D(2021, 6, 15), D(2027, 12, 31)),
        # a transaction on the year-end day belongs to the year ending that day
        ((12, 31), D(2020, 3, 1), D(2021, 12, 31), D(2027, 12, 31)),
        ((3, 31), D(2020, 3, 1), D(2021, 6, 15), D(2028, 3, 31)),
        ((3, 31), D(2020, 3, 1), D(2021, 3, 31), D(2027, 3, 31)),
        # equal branches
        ((3, 1), D(2020, 3, 1), D(2020, 3, 2), D(2027, 3, 1)),
        # a February year-end in a leap year, then 6 years to a non-leap February
        ((2, 29), D(2018, 1, 1), D(2024, 2, 10), D(2030, 2, 28)),
        ((2, 29), D(2018, 1, 1), D(2023, 2, 10), D(2029, 2, 28)),
        # Feb 29 document date: 7 years later is Feb 28
        ((12, 31), D(2024, 2, 29), D(2024, 2, 29), D(2031, 2, 28)),
    ],
)
def test_billing_due_is_the_later_of_both_branches(
    fiscal_year_end, document, last_transaction, expected
):
    rule = BillingRule(id="billing", fiscal_year_end=fiscal_year_end)
    assert rule.due(document, last_transaction) == expected


def test_changing_the_fiscal_year_end_makes_a_new_version_and_recomputes():
    december = BillingRule(id="billing")
    march = december.revise(fiscal_year_end=(3, 31))
    document, transaction = D(2020, 3, 1), D(2021, 6, 15)
    assert december.due(document, transaction) == D(2027, 12, 31)
    assert (march.version, march.due(document, transaction)) == (2, D(2028, 3, 31))


@pytest.mark.parametrize("bad", [(13, 1), (2, 30), (0, 0), (12,), "12-31", None])
def test_billing_refuses_an_invalid_fiscal_year_end(bad):
    with pytest.raises(InvalidDefinition, match="fiscal_year_end"):
        BillingRule(id="billing", fiscal_year_end=bad)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "non-empty id"),
        ({"action": "shred"}, "action must be one of"),
        ({"document_period": 7}, "document_period must be a Period"),
        ({"transaction_period": None}, "transaction_period must be a Period"),
    ],
)
def test_billing_rule_validation(changes, message):
    with pytest.raises(InvalidDefinition, match=message):
        BillingRule(**{"id": "billing", **changes})


def test_billing_rule_is_a_time_rule_and_accepts_list_year_ends():
    rule = BillingRule(id="billing", fiscal_year_end=[6, 30], action="crypto_shred")
    assert rule.trigger is Trigger.TIME
    assert rule.fiscal_year_end == (6, 30)
    assert rule.action is Action.CRYPTO_SHRED
    assert hash(rule) == hash(
        BillingRule(id="billing", fiscal_year_end=(6, 30), action="crypto_shred")
    )


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31)),
    years=st.integers(0, 12),
    months=st.integers(0, 30),
    days=st.integers(0, 400),
)
def test_min_days_is_a_lower_bound_of_every_period(start, years, months, days):
    period = Period(years=years, months=months, days=days)
    assert (period.after(start) - start).days >= period.min_days()
