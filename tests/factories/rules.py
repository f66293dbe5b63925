"""Pure retention rules, record facts and holds (no database): the rule table the retention/
tests share, keyword builders of facts and holds, and hypothesis strategies of all three."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from retention import (
    Action,
    BillingRule,
    Event,
    Hold,
    HoldKind,
    Period,
    RecordDate,
    RecordFacts,
    Rule,
    Scope,
    Trigger,
    security_log_rule,
)

D = dt.date

TICKETS = Rule(
    id="tickets",
    category="tickets",
    trigger=Trigger.TIME,
    date_field=RecordDate.CLOSED_AT,
    period=Period(years=7),
)
CREDENTIALS = Rule(
    id="credentials",
    category="credentials",
    trigger=Trigger.EVENT,
    event=Event.AGREEMENT_TERMINATED,
    period=Period(),
    action=Action.TRANSFER_THEN_DELETE,
)
CONTACTS = Rule(
    id="contacts",
    category="contacts",
    trigger=Trigger.EVENT,
    event=Event.RELATIONSHIP_ENDED,
    period=Period(days=30),
)
MARKETING = Rule(
    id="marketing",
    category="marketing",
    trigger=Trigger.EVENT,
    event=Event.CONSENT_WITHDRAWN,
    period=Period(),
    action=Action.ANONYMISE,
)
LOGS = security_log_rule(id="logs", default_days=180, source_days={"firewall": 90, "ad": 365})
BILLING = BillingRule(id="billing", fiscal_year_end=(3, 31))
BILLING_POLICY = Rule(
    id="billing-policy",
    category="billing",
    trigger=Trigger.TIME,
    date_field=RecordDate.DOCUMENT_DATE,
    period=Period(years=10),
)


def facts(**changes: Any) -> RecordFacts:
    """A closed ticket r1 of client c1 in system s1 about p1 and p2 (``changes`` on top)."""
    fields = {
        "id": "r1",
        "category": "tickets",
        "client_id": "c1",
        "system_id": "s1",
        "subject_ids": frozenset({"p1", "p2"}),
        "closed_at": D(2017, 5, 1),
    }
    return RecordFacts(**{**fields, **changes})


def hold(**changes: Any) -> Hold:
    """A legal hold h1 on record r1 since 1 January 2024 (``changes`` on top)."""
    fields = {
        "id": "h1",
        "kind": HoldKind.LEGAL,
        "scope": Scope.RECORD,
        "scope_value": "r1",
        "placed_at": D(2024, 1, 1),
    }
    return Hold(**{**fields, **changes})


# -- hypothesis strategies --------------------------------------------------------------------

dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2060, 12, 31))
maybe_dates = st.none() | dates
ids = st.sampled_from(["r1", "r2", "c1", "c2", "s1", "s2", "p1", "p2", "tickets", "billing"])
periods = st.builds(
    Period,
    years=st.integers(0, 12),
    months=st.integers(0, 24),
    days=st.integers(0, 400),
)
plain_rules = st.builds(
    Rule,
    id=st.sampled_from(["a", "b"]),
    category=st.just("tickets"),
    trigger=st.just(Trigger.TIME),
    date_field=st.sampled_from(list(RecordDate)),
    period=periods,
) | st.builds(
    Rule,
    id=st.sampled_from(["e1", "e2"]),
    category=st.just("tickets"),
    trigger=st.just(Trigger.EVENT),
    event=st.sampled_from(list(Event)),
    period=periods,
)
any_rules = plain_rules | st.builds(
    BillingRule,
    id=st.just("cra"),
    category=st.just("tickets"),
    fiscal_year_end=st.sampled_from([(12, 31), (3, 31), (2, 29), (6, 30)]),
)
records = st.builds(
    RecordFacts,
    id=st.sampled_from(["r1", "r2"]),
    category=st.just("tickets"),
    client_id=st.none() | st.sampled_from(["c1", "c2"]),
    system_id=st.none() | st.sampled_from(["s1", "s2"]),
    subject_ids=st.frozensets(st.sampled_from(["p1", "p2"])),
    created_at=maybe_dates,
    closed_at=maybe_dates,
    document_date=maybe_dates,
    event_at=maybe_dates,
    last_transaction_on=maybe_dates,
    events=st.dictionaries(st.sampled_from(list(Event)), dates),
)


@st.composite
def holds_(draw: Any) -> Hold:
    kind = draw(st.sampled_from(list(HoldKind)))
    placed = draw(dates)
    released = draw(st.none() | st.dates(min_value=placed, max_value=D(2070, 1, 1)))
    recourse = kind is HoldKind.RECOURSE
    return Hold(
        id=draw(st.text("abcdef", min_size=1, max_size=3)),
        kind=kind,
        scope=draw(st.sampled_from(list(Scope))),
        scope_value=draw(ids),
        placed_at=placed,
        released_at=released,
        until=draw(maybe_dates) if recourse else None,
        open_ended=draw(st.booleans()) if recourse else False,
    )
