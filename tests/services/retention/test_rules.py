"""Versioned retention rules in the database: JSON round trip, defaults, revision, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent
from auditor.services.errors import NotFound, ValidationFailed
from auditor.services.retention import rules as retention_rules
from retention import BillingRule, Event, InvalidDefinition, Period, Trigger
from tests.factories import NOW, OFFICER


@pytest.mark.parametrize("rule", retention_rules.default_rules((3, 31)), ids=lambda r: r.id)
def test_definition_round_trips_every_default_rule(rule):
    definition = retention_rules.to_definition(rule)
    again = retention_rules.from_definition(
        definition, code=rule.id, category=rule.category, version=rule.version
    )
    assert again == rule


def test_definition_refuses_unknown_fields_and_bad_periods():
    with pytest.raises(InvalidDefinition, match="unknown rule field"):
        retention_rules.from_definition(
            {"type": "rule", "trigger": "time", "date_field": "created_at", "period": {}, "x": 1},
            code="c",
            category="c",
            version=1,
        )
    with pytest.raises(InvalidDefinition, match="years, months and days"):
        retention_rules.from_definition(
            {"trigger": "time", "date_field": "created_at", "period": {"weeks": 2}},
            code="c",
            category="c",
            version=1,
        )
    with pytest.raises(InvalidDefinition, match="MM-DD"):
        retention_rules.month_day("March 31")


def test_load_defaults_creates_version_one_of_each_rule_once(session):
    created = retention_rules.load_default_rules(
        session, actor=OFFICER, fiscal_year_end="03-31", now=NOW
    )
    assert sorted(row.code for row in created) == [
        "billing_records",
        "business_technical",
        "credentials",
        "marketing_contacts",
        "payment_data",
        "personal_contact",
        "security_logs",
        "ticket_history",
    ]
    assert retention_rules.load_default_rules(session, actor=OFFICER) == []
    rules = {
        row.code: retention_rules.to_rule(row) for row in retention_rules.current_rules(session)
    }
    assert {rule.version for rule in rules.values()} == {1}
    billing = rules["billing_records"]
    assert isinstance(billing, BillingRule) and billing.fiscal_year_end == (3, 31)
    assert rules["ticket_history"].date_field == "closed_at"
    assert rules["ticket_history"].period == Period(years=7)
    assert rules["payment_data"].date_field == "document_date"
    assert rules["security_logs"].period == Period(days=365)
    assert rules["credentials"].event is Event.AGREEMENT_TERMINATED
    assert rules["credentials"].action == "crypto_shred"
    assert rules["business_technical"].event is Event.AGREEMENT_TERMINATED
    assert rules["marketing_contacts"].event is Event.CONSENT_WITHDRAWN
    assert rules["personal_contact"].trigger is Trigger.EVENT
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.rule_create")
    ).all()
    assert len(events) == 8
    assert {e.details["code"] for e in events} == set(rules)
    assert all(e.actor == "user:7" for e in events)


def test_revise_adds_a_version_and_supersedes_the_old_one(session):
    retention_rules.load_default_rules(session, actor=OFFICER, now=NOW)
    later = NOW + dt.timedelta(days=1)
    new = retention_rules.revise_rule(
        session, "ticket_history", {"period": {"years": 8}}, actor=OFFICER, now=later
    )
    assert (new.code, new.version) == ("ticket_history", 2)
    assert retention_rules.to_rule(new).period == Period(years=8)
    old, current = retention_rules.rule_versions(session, "ticket_history")
    assert old.version == 1 and old.superseded_at == later and current is new
    assert retention_rules.current_rule(session, "ticket_history") is new
    assert [
        r.version for r in retention_rules.current_rules(session) if r.code == "ticket_history"
    ] == [2]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.rule_revise")
    ).one()
    assert event.details["version"] == 2
    assert event.details["definition"]["period"] == {"years": 8, "months": 0, "days": 0}


def test_revise_security_log_source_override_within_bounds(session):
    retention_rules.load_default_rules(session, actor=OFFICER, now=NOW)
    new = retention_rules.revise_rule(
        session, "security_logs", {"source_periods": {"firewall": {"days": 120}}}, actor=OFFICER
    )
    assert retention_rules.to_rule(new).period_for("firewall") == Period(days=120)
    with pytest.raises(ValidationFailed, match="shorter than the minimum"):
        retention_rules.revise_rule(
            session, "security_logs", {"source_periods": {"vpn": {"days": 30}}}, actor=OFFICER
        )
    assert retention_rules.current_rule(session, "security_logs").version == 2


def test_revise_refuses_identity_changes_and_unknown_codes(session):
    retention_rules.load_default_rules(session, actor=OFFICER, now=NOW)
    with pytest.raises(ValidationFailed, match="cannot change category"):
        retention_rules.revise_rule(session, "ticket_history", {"category": "x"}, actor=OFFICER)
    with pytest.raises(NotFound):
        retention_rules.revise_rule(session, "nope", {}, actor=OFFICER)
