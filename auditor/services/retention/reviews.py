"""Disposition review (Purview practice): due records whose rule requires review are put in batches
per rule version, and an officer approves, extends or rejects each batch with a justification.

The purge (``purge.py``) reads the decisions through ``retention_facts.Evaluator``: a record is
disposed of only once the latest batch holding it for its governing rule code and version is
approved; an extension keeps it until the date, then it needs a new batch; a rejection keeps it
for good under that rule version (a revised rule version needs a new review).

Batches never hold personal data: the items are record ids only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import (
    DispositionBatch,
    DispositionReview,
    DispositionReviewItem,
    Record,
    RetentionRule,
)
from auditor.permissions import Permission, is_allowed
from auditor.schemas.retention import ReviewDetail, ReviewOut
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from auditor.services.retention import facts
from retention import needs_batch

OBJECT_TYPE = "disposition_review"
DECISIONS = {"approve": "approved", "extend": "extended", "reject": "rejected"}
MAX_ITEMS = 10_000
MAX_JUSTIFICATION = 2000
MAX_REFERENCE = 200
READ_BATCH = 1000  # records evaluated per query
INSERT_CHUNK = 1000  # review items per executemany
ITEMS = typing.cast(Table, DispositionReviewItem.__table__)
_PG_LOCK_KEY = 0x7265766965777321  # "reviews!": one opener at a time, so no record is batched twice


@dataclasses.dataclass
class _Filling:
    """The batch being filled for one rule version, and the item ids not inserted yet."""

    review: DispositionReview
    pending: list[int] = dataclasses.field(default_factory=list)


class _Opener:
    def __init__(self, session: Session, actor: Actor, now: dt.datetime, max_items: int) -> None:
        self.session = session
        self.actor = actor
        self.now = now
        self.max_items = max_items
        self.filling: dict[tuple[str, int], _Filling] = {}
        self.opened: list[DispositionReview] = []

    def add(self, rule: str, version: int, record_id: int) -> None:
        batch = self.filling.get((rule, version))
        if batch is None:
            review = DispositionReview(rule=rule, rule_version=version, status="open")
            review.created_at, review.created_by, review.item_count = self.now, self.actor.name, 0
            self.session.add(review)
            self.session.flush()
            batch = self.filling[(rule, version)] = _Filling(review)
        batch.pending.append(record_id)
        batch.review.item_count += 1
        if len(batch.pending) >= INSERT_CHUNK:
            self.write(batch)
        if batch.review.item_count >= self.max_items:
            self.close((rule, version))

    def write(self, batch: _Filling) -> None:
        if batch.pending:
            rows = [{"review_id": batch.review.id, "record_id": i} for i in batch.pending]
            self.session.execute(insert(ITEMS), rows)  # Core executemany: no ORM objects
            batch.pending.clear()

    def close(self, key: tuple[str, int]) -> None:
        batch = self.filling.pop(key)
        self.write(batch)
        self.opened.append(batch.review)

    def audit(self) -> None:
        """One event per batch, written last: the audit log's lock (which every audited action
        waits for on PostgreSQL) is then held only from here to the commit, not during the scan."""
        for review in self.opened:
            audit.record(
                self.session,
                actor=self.actor,
                action="retention.review_open",
                object_type=OBJECT_TYPE,
                object_id=review.id,
                details={
                    "rule": review.rule,
                    "version": review.rule_version,
                    "item_count": review.item_count,
                },
                now=self.now,
            )


def _lock(session: Session) -> None:
    """PostgreSQL: serialise openers until the caller's transaction ends (the scheduler and an
    officer opening at once would otherwise batch the same records twice)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date()


def open_review_batches(
    session: Session,
    *,
    as_of: dt.date,
    actor: Actor,
    now: dt.datetime | None = None,
    max_items: int = MAX_ITEMS,
) -> list[DispositionReview]:
    """Open one batch per rule code and version (split every ``max_items`` records) for the
    records due on ``as_of`` that wait for a review and are in no open batch for that version.

    Idempotent: records already in an open batch, approved, extended or rejected for their rule
    version are left alone. Works in the caller's transaction (the caller commits); memory stays
    bounded whatever the number of records (ids are inserted in chunks as they are found).
    """
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    moment = now or utcnow()
    if as_of > _today(moment):
        raise ValidationFailed(
            "Review batches cannot be opened for a future day.",
            [FieldError("as_of", f"must be on or before {_today(moment)}")],
        )
    _lock(session)
    # holds as the purge judges them (in force today even if placed after as_of): a held record
    # is not put before an officer
    evaluator = facts.Evaluator(session, as_of=as_of, executing_on=_today(moment))
    if not any(rule.requires_review for rule in evaluator.rules.values()):
        return []
    opener = _Opener(session, actor, moment, max_items)
    for rows in facts.iter_batches(session, READ_BATCH):
        for verdict in evaluator.evaluate(rows):
            status = verdict.review.status if verdict.review else None
            if not needs_batch(verdict.status, verdict.reason, status):
                continue
            assert verdict.rule is not None
            opener.add(verdict.rule.id, verdict.rule.version, verdict.row.id)
    for key in list(opener.filling):
        opener.close(key)
    opener.opened.sort(key=lambda review: review.id)
    opener.audit()
    return opener.opened


# -- deciding -------------------------------------------------------------------------------------


def _text(value: str | None, field: str, limit: int) -> tuple[str | None, list[FieldError]]:
    cleaned = (value or "").strip() or None
    if cleaned is not None and len(cleaned) > limit:
        return None, [FieldError(field, f"must be at most {limit} characters")]
    return cleaned, []


def _rule_version(session: Session, review: DispositionReview) -> RetentionRule | None:
    return session.scalar(
        select(RetentionRule).where(
            RetentionRule.code == review.rule, RetentionRule.version == review.rule_version
        )
    )


def _check_decision(
    rule: RetentionRule | None,
    *,
    decision: str,
    justification: str | None,
    extend_until: dt.date | None,
    transfer_reference: str | None,
    today: dt.date,
) -> None:
    errors: list[FieldError] = []
    if decision not in DECISIONS:
        errors.append(FieldError("decision", f"must be one of {', '.join(DECISIONS)}"))
    if justification is None:
        errors.append(FieldError("justification", "must not be empty"))
    if decision == "extend" and extend_until is None:
        errors.append(FieldError("extend_until", "is required to extend"))
    elif decision == "extend" and extend_until is not None and extend_until <= today:
        errors.append(FieldError("extend_until", f"must be after {today}"))
    elif decision != "extend" and extend_until is not None:
        errors.append(FieldError("extend_until", "only with decision extend"))
    transfer = rule is not None and rule.action == "transfer_then_delete"
    if decision != "approve" and transfer_reference is not None:
        errors.append(FieldError("transfer_reference", "only with decision approve"))
    elif decision == "approve" and transfer and transfer_reference is None:
        errors.append(
            FieldError("transfer_reference", "required: the rule transfers before deleting")
        )
    if errors:
        raise ValidationFailed("The decision is not valid.", errors)


def decide_review(
    session: Session,
    review_id: int,
    *,
    decision: str,
    justification: str | None,
    actor: Actor,
    extend_until: dt.date | None = None,
    transfer_reference: str | None = None,
    now: dt.datetime | None = None,
) -> DispositionReview:
    """Approve, extend (until a later day) or reject an open batch, with a justification.

    Decided by a person holding ``retention:review``, never by the scheduler. Approving or
    extending a batch whose rule version was revised since is refused (the purge would ignore
    the decision: the new version needs its own batch); rejecting it closes it.
    """
    review = get_review(session, review_id)
    if actor.name.startswith("system:"):
        raise PermissionDenied("A disposition review is decided by a person, not the scheduler.")
    if actor.role is None or not is_allowed(actor.role, Permission.RETENTION_REVIEW):
        raise PermissionDenied("Only a privacy officer or an administrator decides a review.")
    moment = now or utcnow()
    justification, errors = _text(justification, "justification", MAX_JUSTIFICATION)
    transfer_reference, more = _text(transfer_reference, "transfer_reference", MAX_REFERENCE)
    if errors or more:
        raise ValidationFailed("The decision is not valid.", errors + more)
    rule = _rule_version(session, review)
    _check_decision(
        rule,
        decision=decision,
        justification=justification,
        extend_until=extend_until,
        transfer_reference=transfer_reference,
        today=_today(moment),
    )
    if review.status != "open":
        raise Conflict(f"The review batch is already decided ({review.status}).")
    if decision != "reject" and (rule is None or rule.superseded_at is not None):
        raise Conflict(
            f"Rule {review.rule} v{review.rule_version} was revised since the batch was opened: "
            "the purge applies the current version, whose records need a new batch."
        )
    review.status = DECISIONS[decision]
    review.decided_by = actor.name
    review.decided_at = moment
    review.justification = justification
    review.extend_until = extend_until
    review.transfer_reference = transfer_reference
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="retention.review_decide",
        object_type=OBJECT_TYPE,
        object_id=review.id,
        details={
            "decision": decision,
            "status": review.status,
            "rule": review.rule,
            "version": review.rule_version,
            "item_count": review.item_count,
            "extend_until": extend_until.isoformat() if extend_until else None,
            "transfer_reference": transfer_reference,
        },
        now=moment,
    )
    return review


# -- reading --------------------------------------------------------------------------------------


def get_review(session: Session, review_id: int) -> DispositionReview:
    review = session.get(DispositionReview, review_id)
    if review is None:
        raise NotFound("No disposition review batch with that id.")
    return review


def list_reviews(
    session: Session, *, status: str | None = None, after: int | None = None, limit: int = 50
) -> list[DispositionReview]:
    """A page of batches in id order, optionally of one status."""
    query = select(DispositionReview).order_by(DispositionReview.id).limit(limit)
    if status is not None:
        query = query.where(DispositionReview.status == status)
    if after is not None:
        query = query.where(DispositionReview.id > after)
    return list(session.scalars(query))


def review_items(
    session: Session, review_id: int, *, after: int | None = None, limit: int = 100
) -> list[int]:
    """A page of the batch's record ids, in id order."""
    query = (
        select(DispositionReviewItem.record_id)
        .where(DispositionReviewItem.review_id == review_id)
        .order_by(DispositionReviewItem.record_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(DispositionReviewItem.record_id > after)
    return list(session.scalars(query))


def review_counts(session: Session, review: DispositionReview) -> dict[str, Any]:
    """How many of the batch's records are still held, and how many the purge disposed of
    citing this batch (only an approved batch has any)."""
    remaining = session.scalar(
        select(func.count())
        .select_from(DispositionReviewItem)
        .join(Record, Record.id == DispositionReviewItem.record_id)
        .where(DispositionReviewItem.review_id == review.id, Record.anonymised_at.is_(None))
    )
    disposed: int | None = 0
    if review.status == "approved":
        # the review's batches say how many lines each holds
        disposed = session.scalar(
            select(func.sum(DispositionBatch.lines)).where(
                DispositionBatch.subject_type == "record", DispositionBatch.review_id == review.id
            )
        )
    return {"items": review.item_count, "remaining": remaining or 0, "disposed": disposed or 0}


def review_detail(session: Session, review_id: int, *, first: int = 100) -> ReviewDetail:
    """The batch, its counts and its first ``first`` record ids."""
    review = get_review(session, review_id)
    record_ids = review_items(session, review.id, limit=first)
    return ReviewDetail.model_validate(
        {
            **ReviewOut.model_validate(review).model_dump(),
            "counts": review_counts(session, review),
            "record_ids": record_ids,
            "record_ids_truncated": review.item_count > len(record_ids),
        }
    )
