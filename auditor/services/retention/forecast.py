"""The disposition schedule: what the retention rules will make due in each of the coming months,
what holds and review keep back, what cannot be computed yet (R15-R19). Nothing is written.

Every record is evaluated once, on the start day, by the same ``Evaluator`` as the plan and the
purge, reading ``batch`` records at a time; only counters are kept, so memory stays flat whatever
the number of records. A record falls into the bucket of its due date: "due now" (on or before
the start day: what the next purge would take), one of the calendar months after it, or "later".
Holds and events are taken as they stand on the start day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.reports.filters import long_date, month_label
from auditor.schemas.retention import MAX_SCHEDULE_MONTHS
from auditor.services.errors import FieldError, ValidationFailed
from auditor.services.retention import facts
from auditor.services.retention.plan import credentials_status
from retention import PENDING_REVIEW, Outcome

FORMAT = "auditor-disposition-schedule/1"
MAX_MONTHS = MAX_SCHEDULE_MONTHS
DUE_NOW = "due_now"
LATER = "later"


def _natural(value: str) -> tuple[int, str]:
    """Hold ids are numbers as text: 2 before 10."""
    return (len(value), value) if value.isdigit() else (1 << 30, value)


def _month_end(day: dt.date) -> dt.date:
    following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


@dataclasses.dataclass
class Bucket:
    """What falls due in one period; ``due`` excludes what holds and review keep back."""

    key: str
    label: str
    first_day: dt.date | None
    last_day: dt.date | None
    due: int = 0
    by_rule: Counter[tuple[str, int, str]] = dataclasses.field(default_factory=Counter)
    by_category: Counter[str] = dataclasses.field(default_factory=Counter)
    by_client: Counter[str] = dataclasses.field(default_factory=Counter)
    held: int = 0
    hold_ids: set[str] = dataclasses.field(default_factory=set)
    pending_review: int = 0
    blocked_other: Counter[str] = dataclasses.field(default_factory=Counter)

    def add_due(self, verdict: facts.Evaluation) -> None:
        assert verdict.rule is not None
        rule = verdict.rule
        self.due += 1
        self.by_rule[(rule.id, rule.version, str(rule.action))] += 1
        self.by_category[verdict.category] += 1
        self.by_client[verdict.client] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "due": self.due,
            "by_rule": [
                {"rule": rule, "version": version, "action": action, "count": count}
                for (rule, version, action), count in sorted(self.by_rule.items())
            ],
            "by_category": [
                {"category": code, "count": count}
                for code, count in sorted(self.by_category.items())
            ],
            "by_client": [
                {"client": code, "count": count} for code, count in sorted(self.by_client.items())
            ],
            "held": {"count": self.held, "hold_ids": sorted(self.hold_ids, key=_natural)},
            "pending_review": self.pending_review,
            "blocked_other": [
                {"reason": reason, "count": count}
                for reason, count in sorted(self.blocked_other.items())
            ],
        }


@dataclasses.dataclass
class NotComputable:
    """Records whose due date cannot be computed, for one reason and rule."""

    reason: str
    rule: str | None
    version: int | None
    count: int = 0
    hold_ids: set[str] = dataclasses.field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "rule": self.rule,
            "version": self.version,
            "count": self.count,
            "hold_ids": sorted(self.hold_ids, key=_natural),
        }


@dataclasses.dataclass
class Forecast:
    start: dt.date
    months: int
    due_now: Bucket
    by_month: list[Bucket]
    later: Bucket
    records_checked: int = 0
    not_computable: dict[tuple[str, str, int], NotComputable] = dataclasses.field(
        default_factory=dict
    )
    credentials: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def horizon_end(self) -> dt.date:
        last = self.by_month[-1].last_day
        assert last is not None
        return last

    def buckets(self) -> list[Bucket]:
        return [self.due_now, *self.by_month, self.later]

    def bucket_for(self, day: dt.date) -> Bucket:
        if day <= self.start:
            return self.due_now
        if day > self.horizon_end:
            return self.later
        first = self.by_month[0].first_day
        assert first is not None
        return self.by_month[(day.year - first.year) * 12 + day.month - first.month]

    def to_dict(self) -> dict[str, Any]:
        buckets = self.buckets()
        groups = [self.not_computable[key] for key in sorted(self.not_computable)]
        return {
            "format": FORMAT,
            "start": self.start.isoformat(),
            "months": self.months,
            "horizon_end": self.horizon_end.isoformat(),
            "records_checked": self.records_checked,
            "totals": {
                "due_now": self.due_now.due,
                "due_in_months": sum(bucket.due for bucket in self.by_month),
                "due_later": self.later.due,
                "held": sum(bucket.held for bucket in buckets),
                "pending_review": sum(bucket.pending_review for bucket in buckets),
                "blocked_other": sum(sum(b.blocked_other.values()) for b in buckets),
                "not_computable": sum(group.count for group in groups),
                "credentials": len(self.credentials),
            },
            "due_now": self.due_now.to_dict(),
            "by_month": [bucket.to_dict() for bucket in self.by_month],
            "later": self.later.to_dict(),
            "not_computable": [group.to_dict() for group in groups],
            "credentials": self.credentials,
        }


def _empty(start: dt.date, months: int) -> Forecast:
    """The buckets: due now, ``months`` calendar months from the day after ``start``, later."""
    due_now = Bucket(DUE_NOW, f"Due now (on or before {long_date(start)})", None, start)
    first = start + dt.timedelta(days=1)
    by_month = []
    for index in range(months):
        number = first.month - 1 + index
        month = dt.date(first.year + number // 12, number % 12 + 1, 1)
        label = month_label(month)
        by_month.append(Bucket(f"{month:%Y-%m}", label, max(month, first), _month_end(month)))
    end = by_month[-1].last_day
    assert end is not None
    later = Bucket(LATER, f"After {by_month[-1].label}", end + dt.timedelta(days=1), None)
    return Forecast(start=start, months=months, due_now=due_now, by_month=by_month, later=later)


class _Counter:
    def __init__(self, result: Forecast) -> None:
        self.result = result

    def one(self, verdict: facts.Evaluation) -> None:
        self.result.records_checked += 1
        rule = verdict.rule
        if verdict.status == Outcome.NOT_COMPUTABLE or verdict.due_on is None:
            self.not_computable(verdict)
            return
        bucket = self.result.bucket_for(verdict.due_on)
        if verdict.status == Outcome.BLOCKED:
            if verdict.reason == "hold":
                bucket.held += 1
                bucket.hold_ids.update(verdict.hold_ids)
            elif verdict.reason == PENDING_REVIEW:
                bucket.pending_review += 1
            else:
                bucket.blocked_other[verdict.reason or "blocked"] += 1
        elif verdict.status == Outcome.NOT_YET_DUE and rule is not None and rule.requires_review:
            # it will wait for an officer's decision once due (an extension ends the same way)
            bucket.pending_review += 1
        elif (why := verdict.transfer_pending()) is not None:
            bucket.blocked_other[why] += 1  # the purge skips it too
        else:
            bucket.add_due(verdict)

    def not_computable(self, verdict: facts.Evaluation) -> None:
        rule = verdict.rule
        reason = verdict.reason
        if verdict.decision is not None and verdict.decision.reason:
            reason = verdict.decision.reason  # held and not computable: the date is the problem
        key = (reason or "not computable", rule.id if rule else "", rule.version if rule else 0)
        if key not in self.result.not_computable:
            self.result.not_computable[key] = NotComputable(
                key[0], rule.id if rule else None, rule.version if rule else None
            )
        group = self.result.not_computable[key]
        group.count += 1
        group.hold_ids.update(verdict.hold_ids)


def forecast_schedule(
    session: Session, *, start: dt.date, months: int = 12, batch: int = 2000
) -> Forecast:
    """What falls due from ``start`` (inclusive of everything already due) for ``months`` months."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValidationFailed(
            "The schedule covers 1 to 36 months.",
            [FieldError("months", f"must be between 1 and {MAX_MONTHS}")],
        )
    if batch < 1:
        raise ValueError("batch must be at least 1")
    result = _empty(start, months)
    # holds as the purge sees them: any hold in force today counts, even for a past start day
    evaluator = facts.Evaluator(session, as_of=start, executing_on=utcnow().date())
    counter = _Counter(result)
    for rows in facts.iter_batches(session, batch):
        for verdict in evaluator.evaluate(rows):
            counter.one(verdict)
    for status in credentials_status(session, evaluator):
        entry = status.to_dict()
        entry["period"] = result.bucket_for(status.due_on).key if status.due_on else None
        result.credentials.append(entry)
    return result
