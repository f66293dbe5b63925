"""Due dates, holds and R18 precedence in decide(), with a property test for holds."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention import (
    Event,
    Hold,
    HoldKind,
    InvalidDefinition,
    Outcome,
    Period,
    RecordFacts,
    RetentionError,
    Rule,
    Scope,
    active_holds,
    compute_due,
    decide,
    due_date,
    recourse_hold,
)
from tests.factories.rules import (
    BILLING,
    BILLING_POLICY,
    CONTACTS,
    CREDENTIALS,
    LOGS,
    MARKETING,
    TICKETS,
    any_rules,
    dates,
    facts,
    hold,
    holds_,
    records,
)

D = dt.date

# -- due dates per rule kind ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "record", "expected"),
    [
        (TICKETS, facts(closed_at=D(2018, 6, 30)), D(2025, 6, 30)),
        (TICKETS, facts(closed_at=D(2016, 2, 29)), D(2023, 2, 28)),
        (TICKETS, facts(closed_at=None, created_at=D(2018, 1, 1)), None),
        (LOGS, facts(category="logs", created_at=D(2024, 1, 1), source="firewall"), D(2024, 3, 31)),
        (LOGS, facts(category="logs", created_at=D(2024, 1, 1), source="ad"), D(2024, 12, 31)),
        (LOGS, facts(category="logs", created_at=D(2024, 1, 1), source="dns"), D(2024, 6, 29)),
        (LOGS, facts(category="logs", created_at=D(2024, 1, 1)), D(2024, 6, 29)),
        (LOGS, facts(category="logs"), None),
        (
            BILLING,
            facts(
                category="billing", document_date=D(2020, 3, 1), last_transaction_on=D(2020, 3, 1)
            ),
            D(2027, 3, 1),
        ),
        (
            BILLING,
            facts(
                category="billing", document_date=D(2020, 3, 1), last_transaction_on=D(2021, 6, 15)
            ),
            D(2028, 3, 31),
        ),
        (BILLING, facts(category="billing", last_transaction_on=D(2021, 6, 15)), None),
        (BILLING, facts(category="billing", document_date=D(2020, 3, 1)), None),
        (
            Rule(
                id="raw-events",
                category="raw",
                trigger="time",
                date_field="event_at",
                period=Period(days=1),
            ),
            facts(event_at=D(2024, 12, 31)),
            D(2025, 1, 1),
        ),
    ],
)
def test_due_date_per_rule_kind(rule, record, expected):
    assert due_date(rule, record) == expected


@pytest.mark.parametrize(
    ("rule", "event", "expected"),
    [
        (CREDENTIALS, Event.AGREEMENT_TERMINATED, D(2024, 9, 30)),
        (CONTACTS, Event.RELATIONSHIP_ENDED, D(2024, 10, 30)),
        (MARKETING, Event.CONSENT_WITHDRAWN, D(2024, 9, 30)),
    ],
)
def test_event_rules_compute_nothing_until_their_event_is_recorded(rule, event, expected):
    before = facts(category=rule.category, created_at=D(2010, 1, 1), closed_at=D(2011, 1, 1))
    other_events = {e: D(2020, 1, 1) for e in Event if e is not event}
    assert due_date(rule, before) is None
    assert due_date(rule, facts(category=rule.category, events=other_events)) is None
    reason = compute_due(rule, before)
    assert reason.reason == f"event {event} not recorded"
    after = facts(category=rule.category, events={event: D(2024, 9, 30)})
    assert due_date(rule, after) == expected


def test_back_dated_event_is_counted_from_its_effective_date():
    # recorded on 2025-03-01 (as_of) with an effective date in 2024: due at once, not from today
    back_dated = facts(category="contacts", events={"relationship_ended": D(2024, 6, 1)})
    decision = decide(back_dated, CONTACTS, as_of=D(2025, 3, 1))
    assert (decision.outcome, decision.due_on) == (Outcome.DUE, D(2024, 7, 1))


def test_not_computable_names_the_missing_date():
    assert compute_due(TICKETS, facts(closed_at=None)).reason == "closed_at missing"
    assert compute_due(BILLING, facts(category="billing")).reason == "document_date missing"


# -- record facts --------------------------------------------------------------------------------


def test_record_facts_normalise_plain_values():
    record = RecordFacts(
        id="r9",
        category="tickets",
        subject_ids=["p1", "p1"],
        closed_at=dt.datetime(2024, 1, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        events={"consent_withdrawn": dt.datetime(2024, 2, 1, 1, 0, tzinfo=dt.UTC)},
    )
    assert record.closed_at == D(2024, 1, 2)  # the UTC date
    assert record.subject_ids == frozenset({"p1"})
    assert dict(record.events) == {Event.CONSENT_WITHDRAWN: D(2024, 2, 1)}
    with pytest.raises(TypeError):
        record.events[Event.RELATIONSHIP_ENDED] = D(2024, 1, 1)
    assert hash(record) == hash(RecordFacts(**{**record.__dict__, "events": {}}))


def test_record_facts_keep_a_date_of_a_date_subclass_as_it_is():
    class Day(dt.date):
        """What a driver may hand back for a DATE column."""

    day = Day(2024, 3, 1)
    record = facts(closed_at=day)
    assert record.closed_at is day
    assert decide(record, TICKETS, as_of=D(2031, 3, 1)).outcome is Outcome.DUE


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"closed_at": dt.datetime(2024, 1, 1)}, RetentionError, "aware datetime"),
        ({"created_at": "2024-01-01"}, RetentionError, "must be a date, not str"),
        ({"events": {"moon_landing": D(2024, 1, 1)}}, InvalidDefinition, "event must be one of"),
    ],
)
def test_record_facts_refuse_ambiguous_values(changes, error, message):
    with pytest.raises(error, match=message):
        facts(**changes)


# -- holds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "value", "covered"),
    [
        (Scope.SUBJECT, "p2", True),
        (Scope.SUBJECT, "p9", False),
        (Scope.CLIENT, "c1", True),
        (Scope.CLIENT, "c2", False),
        (Scope.SYSTEM, "s1", True),
        (Scope.SYSTEM, "s2", False),
        (Scope.CATEGORY, "tickets", True),
        (Scope.CATEGORY, "billing", False),
        (Scope.RECORD, "r1", True),
        (Scope.RECORD, "r2", False),
    ],
)
def test_hold_scope_decides_which_records_it_blocks(scope, value, covered):
    the_hold = hold(scope=scope, scope_value=value)
    assert the_hold.covers(facts()) is covered
    decision = decide(facts(), TICKETS, holds=[the_hold], as_of=D(2025, 1, 1))
    assert decision.outcome is (Outcome.BLOCKED if covered else Outcome.DUE)
    assert decision.hold_ids == (("h1",) if covered else ())


@pytest.mark.parametrize(
    ("changes", "as_of", "active"),
    [
        ({}, D(2023, 12, 31), False),  # not placed yet
        ({}, D(2024, 1, 1), True),
        ({}, D(2099, 1, 1), True),  # no automatic expiry
        ({"released_at": D(2024, 6, 1)}, D(2024, 6, 1), True),  # the release day still blocks
        ({"released_at": D(2024, 6, 1)}, D(2024, 6, 2), False),
        ({"kind": "recourse", "until": D(2024, 7, 1)}, D(2024, 7, 1), True),
        ({"kind": "recourse", "until": D(2024, 7, 1)}, D(2024, 7, 2), False),
        ({"kind": "recourse", "until": D(2024, 7, 1), "open_ended": True}, D(2030, 1, 1), True),
        (
            {"kind": "recourse", "until": D(2024, 7, 1), "released_at": D(2024, 3, 1)},
            D(2024, 4, 1),
            False,
        ),
        ({"kind": "cra_objection"}, D(2030, 1, 1), True),
        ({"kind": "breach"}, D(2030, 1, 1), True),
    ],
)
def test_hold_is_active_by_whole_days(changes, as_of, active):
    assert hold(**changes).is_active(as_of) is active


def test_released_hold_does_not_block():
    released = hold(released_at=D(2024, 6, 1))
    assert decide(facts(), TICKETS, holds=[released], as_of=D(2024, 6, 2)).is_due
    assert not decide(facts(), TICKETS, holds=[released], as_of=D(2024, 6, 1)).is_due


def test_holds_are_judged_on_holds_on_when_given():
    """A purge executed today for an earlier day still respects a hold placed since."""
    placed_later = hold(placed_at=D(2024, 6, 1))
    assert decide(facts(), TICKETS, holds=[placed_later], as_of=D(2024, 5, 1)).is_due
    late = decide(
        facts(), TICKETS, holds=[placed_later], as_of=D(2024, 5, 1), holds_on=D(2024, 6, 1)
    )
    assert late.outcome is Outcome.BLOCKED and late.hold_ids == ("h1",)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "forever"}, "hold h1:"),
        ({"scope": "planet"}, "hold h1:"),
        ({"placed_at": None}, "placed_at is required"),
        ({"released_at": D(2023, 12, 31)}, "released before it was placed"),
        ({"until": D(2025, 1, 1)}, "only a recourse hold"),
        ({"kind": HoldKind.BREACH, "open_ended": True}, "only a recourse hold"),
    ],
)
def test_hold_validation(changes, message):
    with pytest.raises(InvalidDefinition, match=message):
        hold(**changes)


@pytest.mark.parametrize(
    ("responded", "due", "complaint", "until", "open_ended"),
    [
        (D(2024, 3, 10), D(2024, 4, 1), False, D(2024, 10, 1), False),  # due is later
        (D(2024, 5, 31), D(2024, 4, 1), False, D(2024, 11, 30), False),  # responded is later
        (D(2024, 8, 31), D(2024, 8, 1), False, D(2025, 2, 28), False),  # clamped month end
        (None, D(2024, 4, 1), False, None, False),  # not answered yet: no end
        (D(2024, 3, 10), D(2024, 4, 1), True, D(2024, 10, 1), True),  # complaint: open-ended
    ],
)
def test_recourse_hold_lasts_six_months_after_the_later_of_response_and_due(
    responded, due, complaint, until, open_ended
):
    the_hold = recourse_hold(
        id="rh",
        subject_id="p1",
        placed_at=D(2024, 3, 1),
        due_at=due,
        responded_at=responded,
        complaint=complaint,
    )
    assert (the_hold.kind, the_hold.scope, the_hold.scope_value) == (
        HoldKind.RECOURSE,
        Scope.SUBJECT,
        "p1",
    )
    assert (the_hold.until, the_hold.open_ended) == (until, open_ended)
    after = (until or D(2024, 10, 1)) + dt.timedelta(days=1)
    assert the_hold.is_active(after) is (until is None or open_ended)


def test_recourse_hold_needs_the_due_date():
    with pytest.raises(InvalidDefinition, match="due date"):
        recourse_hold(id="rh", subject_id="p1", placed_at=D(2024, 3, 1), due_at=None)


def test_active_holds_keeps_only_active_holds_in_scope_in_order():
    holds = [
        hold(id="a", scope=Scope.CLIENT, scope_value="c1"),
        hold(id="b", scope=Scope.CLIENT, scope_value="c2"),
        hold(id="c", released_at=D(2024, 1, 2)),
        hold(id="d", kind=HoldKind.BREACH, scope=Scope.SUBJECT, scope_value="p1"),
    ]
    assert [h.id for h in active_holds(holds, facts(), D(2024, 2, 1))] == ["a", "d"]


# -- decide: outcomes and R18 precedence ---------------------------------------------------------

SHORT = TICKETS.revise(period=Period(years=1))  # a per-record rule shorter than the default
LONG = TICKETS.revise(period=Period(years=10))
AS_OF = D(2025, 1, 1)


@pytest.mark.parametrize(
    ("record", "record_rule", "obligations", "holds", "outcome", "due_on", "governing", "retained"),
    [
        # plain outcomes under the category default (closed 2017-05-01 + 7 y = 2024-05-01)
        (facts(), None, (), (), Outcome.DUE, D(2024, 5, 1), TICKETS, TICKETS),
        (
            facts(closed_at=D(2020, 1, 1)),
            None,
            (),
            (),
            Outcome.NOT_YET_DUE,
            D(2027, 1, 1),
            TICKETS,
            TICKETS,
        ),
        (
            facts(closed_at=D(2018, 1, 1)),
            None,
            (),
            (),
            Outcome.DUE,
            D(2025, 1, 1),
            TICKETS,
            TICKETS,
        ),
        (facts(closed_at=None), None, (), (), Outcome.NOT_COMPUTABLE, None, TICKETS, None),
        # hold beats deletion
        (facts(), None, (), (hold(),), Outcome.BLOCKED, D(2024, 5, 1), TICKETS, TICKETS),
        # hold beats a shorter record rule, and a not-yet-computable date
        (
            facts(closed_at=D(2023, 1, 1)),
            SHORT,
            (),
            (hold(),),
            Outcome.BLOCKED,
            D(2024, 1, 1),
            SHORT,
            SHORT,
        ),
        (facts(closed_at=None), None, (), (hold(),), Outcome.BLOCKED, None, TICKETS, None),
        # record rule beats the category default, whether shorter or longer
        (facts(closed_at=D(2023, 1, 1)), SHORT, (), (), Outcome.DUE, D(2024, 1, 1), SHORT, SHORT),
        (facts(), LONG, (), (), Outcome.NOT_YET_DUE, D(2027, 5, 1), LONG, LONG),
        # longest wins among obligations: an obligation extends the governing rule ...
        (facts(), None, (LONG,), (), Outcome.NOT_YET_DUE, D(2027, 5, 1), TICKETS, LONG),
        # ... but a shorter obligation does not shorten it
        (facts(), LONG, (TICKETS,), (), Outcome.NOT_YET_DUE, D(2027, 5, 1), LONG, LONG),
        # a record rule cannot undercut an obligation
        (
            facts(closed_at=D(2023, 1, 1)),
            SHORT,
            (TICKETS,),
            (),
            Outcome.NOT_YET_DUE,
            D(2030, 1, 1),
            SHORT,
            TICKETS,
        ),
        # an equal obligation leaves the governing rule as the one that retained
        (facts(), None, (TICKETS.revise(),), (), Outcome.DUE, D(2024, 5, 1), TICKETS, TICKETS),
        # an obligation that cannot be computed makes the record not computable
        (facts(), None, (CONTACTS,), (), Outcome.NOT_COMPUTABLE, None, TICKETS, None),
    ],
)
def test_decide_precedence(
    record, record_rule, obligations, holds, outcome, due_on, governing, retained
):
    decision = decide(
        record, TICKETS, record_rule, holds=holds, as_of=AS_OF, obligations=obligations
    )
    assert decision.outcome is outcome
    assert decision.due_on == due_on
    assert decision.rule == governing
    assert decision.retained_by == retained
    assert decision.hold_ids == tuple(h.id for h in holds)
    assert (decision.record_id, decision.as_of) == ("r1", AS_OF)
    assert decision.is_due is (outcome is Outcome.DUE)


def test_billing_cra_and_policy_take_the_later_date():
    record = facts(
        category="billing", document_date=D(2015, 3, 1), last_transaction_on=D(2019, 5, 1)
    )
    # CRA: max(2022-03-01, 2020-03-31 + 6 y = 2026-03-31); policy: 2025-03-01
    policy_only = BILLING_POLICY.revise(period=Period(years=10))
    decision = decide(record, policy_only, obligations=[BILLING], as_of=D(2025, 6, 1))
    assert (decision.outcome, decision.due_on) == (Outcome.NOT_YET_DUE, D(2026, 3, 31))
    assert (decision.rule.id, decision.rule.version, decision.retained_by) == (
        "billing-policy",
        2,
        BILLING,
    )
    later = decide(record, policy_only, obligations=[BILLING], as_of=D(2026, 3, 31))
    assert later.is_due


def test_cra_objection_hold_extends_billing():
    record = facts(
        category="billing", document_date=D(2010, 1, 1), last_transaction_on=D(2010, 1, 1)
    )
    objection = hold(kind=HoldKind.CRA_OBJECTION, scope=Scope.CLIENT, scope_value="c1")
    decision = decide(record, BILLING, holds=[objection], as_of=D(2025, 1, 1))
    assert (decision.outcome, decision.due_on, decision.hold_ids) == (
        Outcome.BLOCKED,
        D(2017, 1, 1),
        ("h1",),
    )


def test_not_computable_decision_gives_the_reason():
    decision = decide(facts(category="contacts"), CONTACTS, as_of=AS_OF)
    assert decision.outcome is Outcome.NOT_COMPUTABLE
    assert decision.reason == "rule contacts v1: event relationship_ended not recorded"


def test_decide_refuses_a_category_rule_of_another_category():
    with pytest.raises(RetentionError, match="rule tickets is for category 'tickets'"):
        decide(facts(category="billing"), TICKETS, as_of=AS_OF)


# -- property: no record under an active hold is ever decided due ------------------------------


def oracle_active(h, record, as_of):
    """An independent reading of R19 and R9, written without Hold.is_active or Hold.covers."""
    in_scope = {
        Scope.SUBJECT: h.scope_value in record.subject_ids,
        Scope.CLIENT: h.scope_value == record.client_id,
        Scope.SYSTEM: h.scope_value == record.system_id,
        Scope.CATEGORY: h.scope_value == record.category,
        Scope.RECORD: h.scope_value == record.id,
    }[h.scope]
    placed = h.placed_at <= as_of
    not_released = h.released_at is None or as_of <= h.released_at
    not_lapsed = h.open_ended or h.until is None or as_of <= h.until
    return in_scope and placed and not_released and not_lapsed


@settings(max_examples=400, deadline=None)
@given(
    record=records,
    category_rule=any_rules,
    record_rule=st.none() | any_rules,
    obligations=st.lists(any_rules, max_size=2),
    holds=st.lists(holds_(), max_size=4),
    as_of=dates,
)
def test_no_record_under_an_active_hold_is_ever_due(
    record, category_rule, record_rule, obligations, holds, as_of
):
    decision = decide(
        record, category_rule, record_rule, holds=holds, as_of=as_of, obligations=obligations
    )
    blocking = [h.id for h in holds if oracle_active(h, record, as_of)]
    if blocking:
        assert decision.outcome is Outcome.BLOCKED
        assert not decision.is_due
        assert list(decision.hold_ids) == blocking
    else:
        assert decision.outcome is not Outcome.BLOCKED
    if decision.is_due:
        assert decision.due_on is not None and decision.due_on <= as_of


@settings(max_examples=200, deadline=None)
@given(
    record=records, rule=any_rules, holds=st.lists(holds_(), min_size=1, max_size=3), as_of=dates
)
def test_a_hold_placed_on_the_record_itself_always_blocks(record, rule, holds, as_of):
    on_record = Hold(
        id="pinned", kind=HoldKind.LEGAL, scope=Scope.RECORD, scope_value=record.id, placed_at=as_of
    )
    decision = decide(record, rule, holds=[*holds, on_record], as_of=as_of)
    assert decision.outcome is Outcome.BLOCKED and "pinned" in decision.hold_ids
