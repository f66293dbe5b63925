"""Retention rules and the purge engine (pure library: standard library and SQLAlchemy only)."""

from __future__ import annotations

from retention.errors import InvalidDefinition, RetentionError
from retention.rules import (
    SECURITY_LOG_MAXIMUM,
    SECURITY_LOG_MINIMUM,
    Action,
    AnyRule,
    BillingRule,
    Event,
    Period,
    RecordDate,
    Rule,
    Trigger,
    add_months,
    security_log_rule,
)
from retention.schedule import (
    RECOURSE_PERIOD,
    Decision,
    Hold,
    HoldKind,
    NotComputable,
    Outcome,
    RecordFacts,
    Scope,
    active_holds,
    compute_due,
    decide,
    due_date,
    recourse_hold,
)

__all__ = [
    "RECOURSE_PERIOD",
    "SECURITY_LOG_MAXIMUM",
    "SECURITY_LOG_MINIMUM",
    "Action",
    "AnyRule",
    "BillingRule",
    "Decision",
    "Event",
    "Hold",
    "HoldKind",
    "InvalidDefinition",
    "NotComputable",
    "Outcome",
    "Period",
    "RecordDate",
    "RecordFacts",
    "RetentionError",
    "Rule",
    "Scope",
    "Trigger",
    "active_holds",
    "add_months",
    "compute_due",
    "decide",
    "due_date",
    "recourse_hold",
    "security_log_rule",
]
