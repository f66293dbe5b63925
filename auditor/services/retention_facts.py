"""What the retention rules say about each record: the one evaluation the plan, the forecast and
the purge executor share (R15-R19), so a dry run and a real run can never disagree.

Records are read in id order, ``batch`` at a time (only the columns the rules need); holds, rules
and clients' terminations are read once per ``Evaluator`` (the executor makes a fresh one per
batch transaction so that a hold placed during a run is seen by the next batch).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, false, or_, select
from sqlalchemy.orm import Session

from auditor.models import (
    Agreement,
    Consent,
    DataCategory,
    DispositionReview,
    DispositionReviewItem,
    Organization,
    Purpose,
    Record,
    System,
    record_subject,
)
from auditor.services import retention_rules
from auditor.services.hold_policy import engine_holds
from retention import (
    AnyRule,
    BillingRule,
    Decision,
    Event,
    InvalidDefinition,
    Outcome,
    RecordFacts,
    Trigger,
    decide,
)
from retention import Hold as PolicyHold

MARKETING_PURPOSE = "marketing"

# what happens to a record on the day, after holds, rules and review
DUE = "due"
BLOCKED = "blocked"
NOT_COMPUTABLE = "not_computable"
NOT_YET_DUE = "not_yet_due"
PENDING_REVIEW = "pending review"


@dataclasses.dataclass(frozen=True, slots=True)
class Review:
    """The latest review batch holding a record for its governing rule version."""

    id: int
    status: str  # open, approved, extended, rejected
    decided_by: str | None
    extend_until: dt.date | None
    transfer_reference: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Evaluation:
    """One record's verdict on ``as_of``.

    ``status`` is DUE, BLOCKED, NOT_COMPUTABLE or NOT_YET_DUE; ``reason`` says why it is blocked
    or not computable ("hold", "pending review", "review rejected", ...); ``due_on`` is the date
    it falls (or fell) due when computable; ``review`` is the approving batch of a DUE record whose
    rule requires review.
    """

    row: Any
    category: str
    client: str
    status: str
    rule: AnyRule | None = None
    decision: Decision | None = None
    reason: str | None = None
    hold_ids: tuple[str, ...] = ()
    due_on: dt.date | None = None
    review: Review | None = None
    subject_ids: frozenset[int] = frozenset()


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
    return session.execute(query.order_by(Record.id).limit(limit)).all()


def iter_batches(session: Session, batch: int) -> Iterator[Sequence[Row[Any]]]:
    """Every record in id order, ``batch`` rows per query (keyset)."""
    after = 0
    while rows := read_batch(session, after=after, limit=batch):
        yield rows
        after = rows[-1].id


def load_rules(session: Session) -> tuple[dict[str, AnyRule], dict[str, str]]:
    """The current rule per code, and the codes of stored rules that no longer parse."""
    rules: dict[str, AnyRule] = {}
    broken: dict[str, str] = {}
    for row in retention_rules.current_rules(session):
        try:
            rules[row.code] = retention_rules.to_rule(row)
        except InvalidDefinition as exc:
            broken[row.code] = str(exc)
    return rules, broken


def terminations(session: Session) -> dict[int, dt.date]:
    """Clients with no active agreement and a terminated one: the latest termination date."""
    rows = session.execute(
        select(Agreement.organization_id, Agreement.status, Agreement.termination_date)
    )
    active: set[int] = set()
    ended: dict[int, dt.date] = {}
    for org_id, status, termination in rows:
        if status == "active":
            active.add(org_id)
        elif status == "terminated" and termination is not None:
            ended[org_id] = max(termination, ended.get(org_id, termination))
    return {org_id: day for org_id, day in ended.items() if org_id not in active}


def subjects_of(session: Session, record_ids: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(record_subject.c.record_id, record_subject.c.subject_id).where(
            record_subject.c.record_id.in_(record_ids)
        )
    )
    for record_id, subject_id in rows:
        found[record_id].add(subject_id)
    return found


def _withdrawals(session: Session, subject_ids: set[int]) -> dict[int, dt.date]:
    """Subjects whose latest marketing consent is withdrawn: the withdrawal day."""
    if not subject_ids:
        return {}
    rows = session.execute(
        select(Consent.subject_id, Consent.withdrawn_at)
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .where(Purpose.code == MARKETING_PURPOSE, Consent.subject_id.in_(subject_ids))
        .order_by(Consent.subject_id, Consent.given_at, Consent.id)
    )
    latest: dict[int, dt.datetime | None] = {}
    for subject_id, withdrawn in rows:
        latest[subject_id] = withdrawn
    return {
        subject_id: withdrawn.astimezone(dt.UTC).date()
        for subject_id, withdrawn in latest.items()
        if withdrawn is not None
    }


def _consent_withdrawn(subjects: set[int], withdrawals: dict[int, dt.date]) -> dt.date | None:
    """Recorded once every subject of the record has withdrawn, on the latest withdrawal."""
    days = [withdrawals.get(subject) for subject in subjects]
    if not days or any(day is None for day in days):
        return None
    return max(day for day in days if day is not None)


def _reviews(session: Session, record_ids: list[int]) -> dict[tuple[int, str, int], Review]:
    """The latest review batch of each record, per rule code and version."""
    rows = session.execute(
        select(
            DispositionReviewItem.record_id,
            DispositionReview.rule,
            DispositionReview.rule_version,
            DispositionReview.id,
            DispositionReview.status,
            DispositionReview.decided_by,
            DispositionReview.extend_until,
            DispositionReview.transfer_reference,
        )
        .join(DispositionReview, DispositionReview.id == DispositionReviewItem.review_id)
        .where(DispositionReviewItem.record_id.in_(record_ids))
        .order_by(DispositionReview.id)
    )
    found: dict[tuple[int, str, int], Review] = {}
    for record_id, rule, version, *review in rows:
        found[(record_id, rule, version)] = Review(*review)
    return found


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
        self.rules, self.broken = load_rules(session)
        self.holds: list[PolicyHold] = []
        self.refresh_holds()
        self.categories = dict(session.execute(select(DataCategory.id, DataCategory.code)).all())
        self.clients = dict(session.execute(select(Organization.id, Organization.code)).all())
        self.systems = dict(session.execute(select(System.id, System.code)).all())
        self.terminations = terminations(session)

    def refresh_holds(self) -> None:
        """Re-read the holds (the executor does so in every batch transaction), leaving out the
        ones ``ignore_holds`` names (a deletion request's own recourse hold)."""
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

    def ignore_holds(self, hold_ids: frozenset[str]) -> None:
        """From now on leave these holds out (their ids as strings), and re-read the others."""
        self.ignored_holds = frozenset(hold_ids)
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
        withdrawals = _withdrawals(self.session, set().union(*subjects.values()))
        review_rules = any(rule.requires_review for rule in self.rules.values())
        reviews = _reviews(self.session, ids) if review_rules else {}
        return [self.one(row, subjects.get(row.id, set()), withdrawals, reviews) for row in rows]

    def facts(self, row: Any, subjects: set[int], withdrawals: dict[int, dt.date]) -> RecordFacts:
        events: dict[Event, dt.date] = {}
        if (terminated := self.terminations.get(row.organization_id)) is not None:
            events[Event.AGREEMENT_TERMINATED] = terminated
        if (withdrawn := _consent_withdrawn(subjects, withdrawals)) is not None:
            events[Event.CONSENT_WITHDRAWN] = withdrawn
        last_transaction = max(
            (d for d in (row.document_date, day_of(row.event_at)) if d is not None), default=None
        )
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
            last_transaction_on=last_transaction,
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
        base = {
            "row": row,
            "category": category,
            "client": self.clients[row.organization_id],
            "subject_ids": frozenset(subjects),
        }
        problem, category_rule, record_rule = self.rules_for(category, row.retention_rule)
        if problem is not None or category_rule is None:
            return Evaluation(**base, status=NOT_COMPUTABLE, reason=problem or "no rule")
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
            return Evaluation(**verdict, status=BLOCKED, reason="hold", hold_ids=decision.hold_ids)
        if decision.outcome is Outcome.NOT_COMPUTABLE:
            return Evaluation(**verdict, status=NOT_COMPUTABLE, reason=decision.reason)
        if decision.outcome is Outcome.NOT_YET_DUE:
            return Evaluation(**verdict, status=NOT_YET_DUE)
        if not rule.requires_review:
            return Evaluation(**verdict, status=DUE)
        return self.reviewed(verdict, reviews.get((row.id, rule.id, rule.version)))

    def reviewed(self, verdict: dict[str, Any], review: Review | None) -> Evaluation:
        """A due record whose rule requires review: disposable only once a batch is approved."""
        if review is None or review.status == "open":
            return Evaluation(**verdict, status=BLOCKED, reason=PENDING_REVIEW, review=review)
        if review.status == "approved":
            return Evaluation(**verdict, status=DUE, review=review)
        if review.status == "rejected":
            return Evaluation(**verdict, status=BLOCKED, reason="review rejected", review=review)
        assert review.extend_until is not None
        if review.extend_until > self.as_of:
            verdict["due_on"] = review.extend_until
            return Evaluation(**verdict, status=NOT_YET_DUE, review=review)
        # the extension ran out: the record needs a new decision
        return Evaluation(**verdict, status=BLOCKED, reason=PENDING_REVIEW, review=None)

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
