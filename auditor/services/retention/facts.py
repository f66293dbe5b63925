"""What the retention rules say about each record: the one evaluation the plan, the forecast and
the purge executor share (R15-R19), so a dry run and a real run can never disagree.

Records are read in id order, ``batch`` at a time (only the needed columns); rules, terminations
and holds are read once per ``Evaluator``, holds again by ``refresh_holds`` in every batch (a hold
placed during a run is seen by the next batch).

A record of a category whose rule counts from a record date (or the billing rule), with no
per-record rule and no hold naming it, its client, system, category or one of its subjects, is
decided by that category's ``retention.lane.Lane`` (the same Decision, due dates memoised);
every other record goes through ``retention.decide``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, false, or_, select
from sqlalchemy.orm import Session

from auditor.models import (
    DataCategory,
    Organization,
    Record,
    System,
)
from auditor.services.retention import rules as retention_rules
from auditor.services.retention.holds import engine_holds, holds_fingerprint
from auditor.services.retention.inputs import (
    Review,
    consent_withdrawn_on,
    review_batches,
    subjects_of,
    terminations,
    withdrawal_days,
)
from retention import (
    AnyRule,
    BillingRule,
    Decision,
    Event,
    Outcome,
    RecordFacts,
    Trigger,
    decide,
    review_verdict,
    transfer_blocks,
)
from retention import Hold as PolicyHold
from retention.lane import Lane, supports


@dataclasses.dataclass(frozen=True, slots=True)
class Evaluation:
    """One record's verdict on ``as_of``.

    ``status`` is what happens to the record on the day, after holds, rules and review;
    ``reason`` says why it is blocked or not computable ("hold", "pending review", "review
    rejected", ...); ``due_on`` is the date it falls (or fell) due when computable; ``review`` is
    the approving batch of a due record whose rule requires review.
    """

    row: Any
    category: str
    client: str
    status: Outcome
    rule: AnyRule | None = None
    decision: Decision | None = None
    reason: str | None = None
    hold_ids: tuple[str, ...] = ()
    due_on: dt.date | None = None
    review: Review | None = None
    subject_ids: frozenset[int] = frozenset()

    def transfer_pending(self) -> str | None:
        """None if a due record may go now, else why not (a transfer must be recorded first)."""
        assert self.rule is not None
        transfer = self.review.transfer_reference if self.review else None
        return transfer_blocks(self.rule.action, transfer)


_COLUMNS = (
    Record.id,
    Record.category_id,
    Record.organization_id,
    Record.system_id,
    Record.external_id,
    Record.content_digest,
    Record.created_at,
    Record.closed_at,
    Record.document_date,
    Record.event_at,
    Record.retention_rule,
)


def read_batch(
    session: Session, *, after: int, limit: int, where: ColumnElement[bool] | None = None
) -> Sequence[Row[Any]]:
    """The needed columns of the next ``limit`` records not yet anonymised, in id order (only
    those matching ``where`` when given)."""
    query = select(*_COLUMNS).where(Record.id > after, Record.anonymised_at.is_(None))
    if where is not None:
        query = query.where(where)
    return typing.cast(
        Sequence[Row[Any]], session.execute(query.order_by(Record.id).limit(limit)).all()
    )


def iter_batches(session: Session, batch: int) -> Iterator[Sequence[Row[Any]]]:
    """Every record in id order, ``batch`` rows per query (keyset)."""
    after = 0
    while rows := read_batch(session, after=after, limit=batch):
        yield rows
        after = rows[-1].id


def last_transaction_on(row: Any) -> dt.date | None:
    """A record's latest related transaction (R17): the later of its document date and the UTC
    date of its event, whichever it has."""
    return max(
        (d for d in (row.document_date, day_of(row.event_at)) if d is not None), default=None
    )


def day_of(value: dt.datetime | None) -> dt.date | None:
    """The UTC date of an aware timestamp (the database gives UTC ones: no conversion then)."""
    if value is None:
        return None
    return value.date() if value.tzinfo is dt.UTC else value.astimezone(dt.UTC).date()


class Evaluator:
    """Rules, holds and events as of one day, applied to batches of record rows."""

    def __init__(
        self, session: Session, *, as_of: dt.date, executing_on: dt.date | None = None
    ) -> None:
        """``executing_on``: the purge's own day. Holds are then judged on the later of it and
        ``as_of``, and a hold that exists and is not released blocks even if its placed_at is
        later than that (another host's clock): only a dry run may look at the past."""
        self.session = session
        self.as_of = as_of
        self.executing = executing_on is not None
        self.holds_on = max(as_of, executing_on or as_of)
        self.ignored_holds: frozenset[str] = frozenset()
        self.rules, self.broken = retention_rules.parsed_rules(session)
        self.holds: list[PolicyHold] = []
        self.holds_seen: tuple[int, ...] | None = None
        self.refresh_holds()
        self.categories = dict(session.execute(select(DataCategory.id, DataCategory.code)).all())
        self.clients = dict(session.execute(select(Organization.id, Organization.code)).all())
        self.systems = dict(session.execute(select(System.id, System.code)).all())
        self.terminations = terminations(session)
        # category id -> the lane deciding its records that no hold and no record rule name
        self.lanes: dict[int, Lane] = {}
        for category_id, code in self.categories.items():
            rule = self.rules.get(code)
            if rule is not None and code not in self.broken and supports(rule):
                self.lanes[category_id] = Lane(rule, as_of)

    def refresh_holds(self) -> None:
        """Re-read the holds (the executor does so in every batch transaction) if any was placed
        or released since, leaving out those ``ignore_holds`` names (a request's own hold)."""
        if (seen := holds_fingerprint(self.session)) == self.holds_seen:
            return
        self.holds_seen = seen
        holds = [
            hold
            for hold in engine_holds(self.session, as_of=self.holds_on)
            if hold.id not in self.ignored_holds
        ]
        if self.executing:
            holds = [
                dataclasses.replace(hold, placed_at=min(hold.placed_at, self.holds_on))
                for hold in holds
            ]
        self.holds = holds
        self.hold_index: dict[tuple[str, str], list[PolicyHold]] = defaultdict(list)
        for hold in holds:
            self.hold_index[(str(hold.scope), hold.scope_value)].append(hold)
        # the numeric scope values as ints (ids compare as str(id), so "07" matches no record and
        # is left out: such a hold names no record and ``decide`` would not apply it either)
        self.held_ids: dict[str, frozenset[int]] = {
            scope: frozenset(
                int(value)
                for kind, value in self.hold_index
                if kind == scope and value.isdigit() and str(int(value)) == value
            )
            for scope in ("record", "client", "system", "subject")
        }
        self.held_categories = {value for kind, value in self.hold_index if kind == "category"}

    def ignore_holds(self, hold_ids: frozenset[str]) -> None:
        """From now on leave these holds out (their ids as strings), and re-read the others."""
        self.ignored_holds, self.holds_seen = frozenset(hold_ids), None
        self.refresh_holds()

    def holds_for(self, facts: RecordFacts) -> list[PolicyHold]:
        """The holds whose scope names this record, its client, system, category or a subject
        (``decide`` still checks each one); found by key, not by testing every hold."""
        index = self.hold_index
        if not index:
            return []
        keys = [
            ("record", facts.id),
            ("client", facts.client_id or ""),
            ("system", facts.system_id or ""),
            ("category", facts.category),
            *(("subject", subject) for subject in facts.subject_ids),
        ]
        return [hold for key in keys for hold in index.get(key, ())]

    def candidate_filter(self) -> ColumnElement[bool]:
        """SQL keeping every record that may be due on ``as_of`` (a superset; ``evaluate``
        decides): for a category whose rule counts a period from a record date, only records
        whose date is old enough; every record of an event-rule category; every record with a
        per-record rule. Records of a category without a readable rule are not computable, so
        never due, and are left out. Used by the purge, which has no use for the others."""
        clauses: list[ColumnElement[bool]] = [Record.retention_rule.is_not(None)]
        for category_id, code in sorted(self.categories.items()):
            rule = self.rules.get(code)
            if rule is None or code in self.broken:
                continue
            in_category = Record.category_id == category_id
            if isinstance(rule, BillingRule):
                cutoff = self.as_of - dt.timedelta(days=rule.document_period.min_days())
                clauses.append(in_category & (Record.document_date <= cutoff))
            elif rule.trigger is Trigger.EVENT:
                clauses.append(in_category)
            else:
                shortest = min(
                    [rule.period.min_days(), *(p.min_days() for _, p in rule.source_periods)]
                )
                day = self.as_of - dt.timedelta(days=shortest)
                column = getattr(Record, str(rule.date_field))
                if str(rule.date_field) == "document_date":
                    clauses.append(in_category & (column <= day))
                else:  # a timestamp: its UTC date is at most ``day``
                    limit = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
                    clauses.append(in_category & (column < limit))
        return or_(false(), *clauses)

    def evaluate(self, rows: Sequence[Any]) -> list[Evaluation]:
        ids = [row.id for row in rows]
        subjects = subjects_of(self.session, ids)
        # consent withdrawals only matter to event rules: a lane's records never need them
        slow = (
            r.id for r in rows if r.retention_rule is not None or r.category_id not in self.lanes
        )
        withdrawals = withdrawal_days(
            self.session, set().union(*(subjects.get(i, ()) for i in slow))
        )
        review_rules = any(rule.requires_review for rule in self.rules.values())
        reviews = review_batches(self.session, ids) if review_rules else {}
        return [self.one(row, subjects.get(row.id, set()), withdrawals, reviews) for row in rows]

    def facts(self, row: Any, subjects: set[int], withdrawals: dict[int, dt.date]) -> RecordFacts:
        events: dict[Event, dt.date] = {}
        if (terminated := self.terminations.get(row.organization_id)) is not None:
            events[Event.AGREEMENT_TERMINATED] = terminated
        if (withdrawn := consent_withdrawn_on(subjects, withdrawals)) is not None:
            events[Event.CONSENT_WITHDRAWN] = withdrawn
        return RecordFacts(
            id=str(row.id),
            category=self.categories[row.category_id],
            client_id=str(row.organization_id),
            system_id=str(row.system_id),
            subject_ids=frozenset(str(s) for s in subjects),
            created_at=day_of(row.created_at),
            closed_at=day_of(row.closed_at),
            document_date=row.document_date,
            event_at=day_of(row.event_at),
            last_transaction_on=last_transaction_on(row),
            source=self.systems[row.system_id],
            events=events,
        )

    def one(
        self,
        row: Any,
        subjects: set[int],
        withdrawals: dict[int, dt.date],
        reviews: dict[tuple[int, str, int], Review],
    ) -> Evaluation:
        category = self.categories[row.category_id]
        client = self.clients[row.organization_id]
        lane = self.lanes.get(row.category_id)
        decision: Decision | None = None
        if (
            lane is not None
            and row.retention_rule is None
            and not self.named_by_hold(row, subjects)
        ):
            decision = self.in_lane(lane, row)
            if decision.outcome is Outcome.DUE and not lane.rule.requires_review:
                # the common case, built directly (the purge's hot path)
                return Evaluation(
                    row,
                    category,
                    client,
                    Outcome.DUE,
                    lane.rule,
                    decision,
                    due_on=decision.due_on,
                    subject_ids=frozenset(subjects),
                )
        base = {
            "row": row,
            "category": category,
            "client": client,
            "subject_ids": frozenset(subjects),
        }
        if decision is None:
            problem, category_rule, record_rule = self.rules_for(category, row.retention_rule)
            if problem is not None or category_rule is None:
                return Evaluation(
                    **base, status=Outcome.NOT_COMPUTABLE, reason=problem or "no rule"
                )
            facts = self.facts(row, subjects, withdrawals)
            decision = decide(
                facts,
                category_rule,
                record_rule,
                holds=self.holds_for(facts),
                as_of=self.as_of,
                holds_on=self.holds_on,
            )
        rule = decision.rule
        verdict = {**base, "rule": rule, "decision": decision, "due_on": decision.due_on}
        if decision.outcome is Outcome.BLOCKED:
            return Evaluation(
                **verdict, status=Outcome.BLOCKED, reason="hold", hold_ids=decision.hold_ids
            )
        if decision.outcome is Outcome.NOT_COMPUTABLE:
            return Evaluation(**verdict, status=Outcome.NOT_COMPUTABLE, reason=decision.reason)
        if decision.outcome is Outcome.NOT_YET_DUE:
            return Evaluation(**verdict, status=Outcome.NOT_YET_DUE)
        if not rule.requires_review:
            return Evaluation(**verdict, status=Outcome.DUE)
        return self.reviewed(verdict, reviews.get((row.id, rule.id, rule.version)))

    def named_by_hold(self, row: Any, subjects: set[int]) -> bool:
        """True if a hold's scope names the record, its client, system, category or a subject
        (whether in force or not: ``decide`` judges those records)."""
        held = self.held_ids
        return bool(
            row.id in held["record"]
            or row.organization_id in held["client"]
            or row.system_id in held["system"]
            or (self.held_categories and self.categories[row.category_id] in self.held_categories)
            or (held["subject"] and not held["subject"].isdisjoint(subjects))
        )

    def in_lane(self, lane: Lane, row: Any) -> Decision:
        """``decide`` for a record of a lane's category that no hold and no record rule name."""
        if lane.billing:
            return lane.decide(
                str(row.id),
                document_date=row.document_date,
                last_transaction_on=last_transaction_on(row),
            )
        value = getattr(row, lane.date_field)  # type: ignore[arg-type]
        start = value if lane.date_field == "document_date" else day_of(value)
        return lane.decide(str(row.id), start=start, source=self.systems[row.system_id])

    def reviewed(self, verdict: dict[str, Any], review: Review | None) -> Evaluation:
        """A due record whose rule requires review: disposable only once a batch is approved."""
        found = review_verdict(
            review.status if review else None, review.extend_until if review else None, self.as_of
        )
        if found.due_on is not None:
            verdict["due_on"] = found.due_on
        return Evaluation(
            **verdict,
            status=found.outcome,
            reason=found.reason,
            review=review if found.batch_stands else None,
        )

    def rules_for(
        self, category: str, record_code: str | None
    ) -> tuple[str | None, AnyRule | None, AnyRule | None]:
        for code in (category, record_code):
            if code is not None and code in self.broken:
                return f"rule {code} cannot be read: {self.broken[code]}", None, None
        category_rule = self.rules.get(category)
        if category_rule is None:
            return f"no current retention rule for category {category}", None, None
        if record_code is None:
            return None, category_rule, None
        record_rule = self.rules.get(record_code)
        if record_rule is None:
            return f"per-record rule {record_code} not found", None, None
        return None, category_rule, record_rule
