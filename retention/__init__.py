"""Retention as pure decisions: the standard library only, no database, no Flask, no auditor.

- ``rules``: frozen, versioned retention rules (time, event and the CRA billing rule) and their
  periods; ``security_log_rule`` for the policy's per-source log retention.
- ``schedule``: one record's fate on a day (``decide``): due dates (R15, R17), holds and their
  scopes (R19), the R18 precedence; ``Outcome`` names the verdicts every caller uses.
- ``lane``: ``decide`` for many records of a plain time rule at once (the purge's hot path).
- ``review``: what a disposition review batch makes of a due record, and transfer-then-delete.

The engine that reads and writes the database is ``auditor.services.retention``.
"""

from __future__ import annotations

from retention.errors import InvalidDefinition, RetentionError
from retention.review import (
    PENDING_REVIEW,
    REVIEW_REJECTED,
    TRANSFER_NOT_RECORDED,
    ReviewStatus,
    ReviewVerdict,
    needs_batch,
    review_verdict,
    transfer_blocks,
)
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
    "PENDING_REVIEW",
    "RECOURSE_PERIOD",
    "REVIEW_REJECTED",
    "SECURITY_LOG_MAXIMUM",
    "SECURITY_LOG_MINIMUM",
    "TRANSFER_NOT_RECORDED",
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
    "ReviewStatus",
    "ReviewVerdict",
    "Rule",
    "Scope",
    "Trigger",
    "active_holds",
    "add_months",
    "compute_due",
    "decide",
    "due_date",
    "needs_batch",
    "recourse_hold",
    "review_verdict",
    "security_log_rule",
    "transfer_blocks",
]
