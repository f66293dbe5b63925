"""``decide`` for the common case, many records at a time (the purge's hot path).

Most records are governed by their category's rule counted from a record date (or by the
billing rule), have no per-record rule and no hold that names them. For those, ``decide``
reduces to "due date = period after start; due if on or before ``as_of``", and the due date
depends only on the start date (and the log source): it is computed once per distinct value
and memoised. A ``Lane`` gives exactly the ``Decision`` that ``decide`` gives for such a record
(tests/retention/test_lane.py checks both agree on generated rules and dates); the caller must
send every other record (a record rule, a hold naming it, an event rule) through ``decide``.
"""

from __future__ import annotations

import datetime as dt

from retention.rules import AnyRule, BillingRule, Trigger
from retention.schedule import Decision, Outcome


class Lane:
    """Decisions of one category rule without holds or record rule, on ``as_of``."""

    __slots__ = ("_due", "_missing", "as_of", "billing", "date_field", "rule")

    def __init__(self, rule: AnyRule, as_of: dt.date) -> None:
        if not supports(rule):
            raise ValueError(f"rule {rule.id} v{rule.version} needs decide()")
        self.rule = rule
        self.as_of = as_of
        self.billing = isinstance(rule, BillingRule)
        self.date_field = None if isinstance(rule, BillingRule) else str(rule.date_field)
        self._due: dict[tuple[object, ...], dt.date] = {}
        self._missing = f"rule {rule.id} v{rule.version}: "

    def decide(
        self,
        record_id: str,
        *,
        start: dt.date | None = None,
        source: str | None = None,
        document_date: dt.date | None = None,
        last_transaction_on: dt.date | None = None,
    ) -> Decision:
        """The decision for a record: ``start`` is its ``date_field`` (time rule) and ``source``
        its log source; a billing rule uses ``document_date`` and ``last_transaction_on``."""
        rule = self.rule
        if self.billing:
            assert isinstance(rule, BillingRule)
            if document_date is None or last_transaction_on is None:
                field = "document_date" if document_date is None else "last_transaction_on"
                return self._not_computable(record_id, field)
            key: tuple[object, ...] = (document_date, last_transaction_on)
            due = self._due.get(key)
            if due is None:
                due = self._due[key] = rule.due(document_date, last_transaction_on)
        else:
            if start is None:
                return self._not_computable(record_id, str(self.date_field))
            key = (start, source)
            due = self._due.get(key)
            if due is None:
                assert not isinstance(rule, BillingRule)
                due = self._due[key] = rule.period_for(source).after(start)
        return Decision(
            record_id=record_id,
            outcome=Outcome.DUE if due <= self.as_of else Outcome.NOT_YET_DUE,
            rule=rule,
            as_of=self.as_of,
            due_on=due,
            retained_by=rule,
        )

    def _not_computable(self, record_id: str, field: str) -> Decision:
        return Decision(
            record_id=record_id,
            outcome=Outcome.NOT_COMPUTABLE,
            rule=self.rule,
            as_of=self.as_of,
            reason=f"{self._missing}{field} missing",
        )


def supports(rule: AnyRule) -> bool:
    """True if a ``Lane`` can decide for this rule: counted from a record date (or billing)."""
    return isinstance(rule, BillingRule) or rule.trigger is Trigger.TIME
