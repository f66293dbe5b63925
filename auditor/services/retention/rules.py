"""Versioned retention rules in the database (R14-R17).

A row of ``retention_rule`` is one version of a ``retention.rules`` rule; its ``definition`` is the
JSON form below. A rule is never edited in place: ``revise`` adds version + 1 and marks the old
one superseded, so a disposition can cite the exact (code, version) it applied. The code of a
category's default rule is the category code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import RetentionRule
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import Conflict, NotFound, ValidationFailed
from retention import (
    Action,
    AnyRule,
    BillingRule,
    Event,
    InvalidDefinition,
    Period,
    RecordDate,
    Rule,
    Trigger,
    security_log_rule,
)

OBJECT_TYPE = "retention_rule"
SECURITY_LOG_DEFAULT_DAYS = 365  # the policy maximum; per-source overrides via revise


# -- JSON form ----------------------------------------------------------------------------------


def _period_json(period: Period | None) -> dict[str, int] | None:
    if period is None:
        return None
    return {"years": period.years, "months": period.months, "days": period.days}


def _period(value: Any, field: str) -> Period | None:
    if value is None:
        return None
    if isinstance(value, Period):
        return value
    if not isinstance(value, Mapping) or not set(value) <= {"years", "months", "days"}:
        raise InvalidDefinition(f"{field} must be an object of years, months and days")
    return Period(**value)


def _required(value: Any, field: str) -> Period:
    period = _period(value, field)
    if period is None:
        raise InvalidDefinition(f"{field} is required")
    return period


def month_day(value: Any) -> tuple[int, int]:
    """A fiscal year-end given as "MM-DD" or (month, day)."""
    if isinstance(value, str):
        parts = value.split("-")
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            return int(parts[0]), int(parts[1])
        raise InvalidDefinition(f"fiscal_year_end must be MM-DD, not {value!r}")
    if isinstance(value, list | tuple) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise InvalidDefinition(f"fiscal_year_end must be MM-DD, not {value!r}")


def to_definition(rule: AnyRule) -> dict[str, Any]:
    """The rule as the JSON stored in ``definition`` (everything but code, category, version)."""
    common = {"action": str(rule.action), "requires_review": rule.requires_review}
    if isinstance(rule, BillingRule):
        month, day = rule.fiscal_year_end
        return {
            "type": "billing",
            "fiscal_year_end": f"{month:02d}-{day:02d}",
            "document_period": _period_json(rule.document_period),
            "transaction_period": _period_json(rule.transaction_period),
            **common,
        }
    return {
        "type": "rule",
        "trigger": str(rule.trigger),
        "date_field": None if rule.date_field is None else str(rule.date_field),
        "event": None if rule.event is None else str(rule.event),
        "period": _period_json(rule.period),
        "minimum": _period_json(rule.minimum),
        "maximum": _period_json(rule.maximum),
        "source_periods": {source: _period_json(p) for source, p in rule.source_periods},
        **common,
    }


def from_definition(
    definition: Mapping[str, Any], *, code: str, category: str, version: int
) -> AnyRule:
    """The rule a ``definition`` describes; InvalidDefinition if it is malformed."""
    data = dict(definition)
    kind = data.pop("type", "rule")
    common: dict[str, Any] = {
        "id": code,
        "category": category,
        "version": version,
        "action": data.pop("action", Action.DELETE),
        "requires_review": bool(data.pop("requires_review", False)),
    }
    try:
        if kind == "billing":
            return BillingRule(
                fiscal_year_end=month_day(data.pop("fiscal_year_end", "12-31")),
                document_period=_period(data.pop("document_period", None), "document_period")
                or Period(years=7),
                transaction_period=_period(
                    data.pop("transaction_period", None), "transaction_period"
                )
                or Period(years=6),
                **_no_more(data),
                **common,
            )
        if kind != "rule":
            raise InvalidDefinition(f"rule type must be rule or billing, not {kind!r}")
        sources = data.pop("source_periods", None) or {}
        if not isinstance(sources, Mapping):
            raise InvalidDefinition("source_periods must map log sources to periods")
        return Rule(
            trigger=data.pop("trigger", None),
            date_field=data.pop("date_field", None),
            event=data.pop("event", None),
            period=_required(data.pop("period", None), "period"),
            minimum=_period(data.pop("minimum", None), "minimum"),
            maximum=_period(data.pop("maximum", None), "maximum"),
            source_periods=tuple(
                (str(s), _required(p, f"source_periods.{s}")) for s, p in sources.items()
            ),
            **_no_more(data),
            **common,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidDefinition(f"rule {code}: {exc}") from None


def _no_more(data: Mapping[str, Any]) -> dict[str, Any]:
    if data:
        raise InvalidDefinition(f"unknown rule field(s): {', '.join(sorted(data))}")
    return {}


def to_rule(row: RetentionRule) -> AnyRule:
    """The stored version as the pure library's rule."""
    return from_definition(
        row.definition, code=row.code, category=row.category, version=row.version
    )


# -- defaults -----------------------------------------------------------------------------------


def _event_rule(code: str, event: Event, days: int, action: Action = Action.DELETE) -> Rule:
    return Rule(
        id=code,
        category=code,
        trigger=Trigger.EVENT,
        event=event,
        period=Period(days=days),
        maximum=Period(days=days),
        action=action,
    )


def default_rules(fiscal_year_end: tuple[int, int] | str = (12, 31)) -> list[AnyRule]:
    """Version 1 of the policy's rules, one per policy category (periods: the policy maxima)."""
    seven_years = Period(years=7)
    return [
        Rule(
            id="ticket_history",
            category="ticket_history",
            trigger=Trigger.TIME,
            date_field=RecordDate.CLOSED_AT,
            period=seven_years,
        ),
        Rule(
            id="payment_data",
            category="payment_data",
            trigger=Trigger.TIME,
            date_field=RecordDate.DOCUMENT_DATE,
            period=seven_years,
        ),
        BillingRule(
            id="billing_records",
            category="billing_records",
            fiscal_year_end=month_day(fiscal_year_end),
        ),
        security_log_rule(id="security_logs", default_days=SECURITY_LOG_DEFAULT_DAYS),
        _event_rule("personal_contact", Event.RELATIONSHIP_ENDED, 365),
        _event_rule("business_technical", Event.AGREEMENT_TERMINATED, 90),
        _event_rule("credentials", Event.AGREEMENT_TERMINATED, 30, Action.CRYPTO_SHRED),
        _event_rule("marketing_contacts", Event.CONSENT_WITHDRAWN, 30),
    ]


def _add(
    session: Session, rule: AnyRule, *, actor: Actor, now: dt.datetime, action: str
) -> RetentionRule:
    row = RetentionRule(
        code=rule.id,
        version=rule.version,
        category=rule.category,
        action=str(rule.action),
        requires_review=rule.requires_review,
        definition=to_definition(rule),
        created_by=actor.name,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=row.id,
        details={"code": row.code, "version": row.version, "definition": row.definition},
        now=now,
    )
    return row


def load_default_rules(
    session: Session,
    *,
    actor: Actor,
    fiscal_year_end: tuple[int, int] | str = (12, 31),
    now: dt.datetime | None = None,
) -> list[RetentionRule]:
    """Create version 1 of each default rule whose code does not exist yet; returns the new rows."""
    now = now or utcnow()
    existing = set(session.scalars(select(RetentionRule.code).distinct()))
    return [
        _add(session, rule, actor=actor, now=now, action="retention.rule_create")
        for rule in default_rules(fiscal_year_end)
        if rule.id not in existing
    ]


def create_rule(
    session: Session, rule: AnyRule, *, actor: Actor, now: dt.datetime | None = None
) -> RetentionRule:
    """Version 1 of a new rule (e.g. a per-record rule, R18); Conflict if the code exists."""
    if rule.version != 1:
        raise ValidationFailed("A new rule starts at version 1.")
    if session.scalar(select(RetentionRule.id).where(RetentionRule.code == rule.id).limit(1)):
        raise Conflict("A retention rule with that code exists: revise it instead.")
    return _add(session, rule, actor=actor, now=now or utcnow(), action="retention.rule_create")


# -- queries and revision -----------------------------------------------------------------------


def current_rules(session: Session) -> list[RetentionRule]:
    """The current (not superseded) version of every rule, by code."""
    query = select(RetentionRule).where(RetentionRule.superseded_at.is_(None))
    return list(session.scalars(query.order_by(RetentionRule.code)))


def current_rule(session: Session, code: str) -> RetentionRule:
    row = session.scalar(
        select(RetentionRule).where(
            RetentionRule.code == code, RetentionRule.superseded_at.is_(None)
        )
    )
    if row is None:
        raise NotFound("No current retention rule with that code.")
    return row


def rule_versions(session: Session, code: str) -> list[RetentionRule]:
    """Every version of one rule, oldest first."""
    query = select(RetentionRule).where(RetentionRule.code == code)
    return list(session.scalars(query.order_by(RetentionRule.version)))


def revise_rule(
    session: Session,
    code: str,
    changes: Mapping[str, Any],
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> RetentionRule:
    """Add version + 1 of rule ``code`` with ``changes`` (definition fields) applied; the old
    version is marked superseded. Invalid changes raise ValidationFailed and change nothing."""
    now = now or utcnow()
    old = current_rule(session, code)
    forbidden = sorted({"type", "code", "category", "version"} & set(changes))
    if forbidden:
        raise ValidationFailed(f"A revision cannot change {', '.join(forbidden)}.")
    try:
        rule = from_definition(
            {**old.definition, **changes},
            code=old.code,
            category=old.category,
            version=old.version + 1,
        )
    except InvalidDefinition as exc:
        raise ValidationFailed(f"The rule revision is not valid: {exc}") from None
    old.superseded_at = now
    session.flush()
    return _add(session, rule, actor=actor, now=now, action="retention.rule_revise")


def parsed_rules(session: Session) -> tuple[dict[str, AnyRule], dict[str, str]]:
    """The current rule per code, and the codes of stored rules that no longer parse."""
    rules: dict[str, AnyRule] = {}
    broken: dict[str, str] = {}
    for row in current_rules(session):
        try:
            rules[row.code] = to_rule(row)
        except InvalidDefinition as exc:
            broken[row.code] = str(exc)
    return rules, broken
