"""What a deletion request keeps and why (R12, R17, R18): the review of the subject's records.

``Review`` evaluates each record of the subject with the retention engine as of today, leaving
out the request's OWN recourse hold (placed because the person asked; every other hold still
blocks), and sorts it: KEPT with its basis and disposal date (see ``request_deletion``), or to be
disposed of now, its evaluation marked DUE for the purge's ``BatchDisposer``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import (
    AuditEvent,
    DataCategory,
    PrivacyRequest,
    Record,
    RequestItem,
    System,
    record_subject,
)
from auditor.services import retention
from auditor.services.errors import Conflict
from auditor.services.requests import recourse as request_holds
from auditor.services.requests.common import OBJECT_TYPE, iso
from auditor.services.requests.consents import acting_on, require_subject
from retention import BillingRule, Outcome, Scope

HOLD_WORDS = {
    "legal": "legal hold",
    "recourse": "recourse hold",
    "breach": "breach hold",
    "cra_objection": "CRA objection hold",
}


@dataclasses.dataclass
class Item:
    """One line of the deletion response: a record deleted, or kept with its basis and date."""

    kind: str  # deleted | kept
    record_id: int
    category: str
    system: str
    basis: str | None = None
    dispose_on: dt.date | None = None
    hold_ids: list[str] = dataclasses.field(default_factory=list)
    disposition_id: int | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"dispose_on": iso(self.dispose_on)}


@dataclasses.dataclass
class DeletionResult:
    """What a deletion did (or, as a dry run, would do)."""

    reference: str
    subject: str | None
    dry_run: bool
    deleted: list[Item] = dataclasses.field(default_factory=list)
    kept: list[Item] = dataclasses.field(default_factory=list)
    consents_withdrawn: int = 0
    subject_removed: bool = False
    run_id: int | None = None
    certificate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "subject": self.subject,
            "dry_run": self.dry_run,
            "deleted": [item.to_dict() for item in self.deleted],
            "kept": [item.to_dict() for item in self.kept],
            "consents_withdrawn": self.consents_withdrawn,
            "subject_removed": self.subject_removed,
            "run_id": self.run_id,
            "certificate": self.certificate,
        }


def subject_rows(session: Session, subject_id: int, *, after: int, limit: int) -> list[Any]:
    """The subject's records (the columns the rules need), ``limit`` at a time in id order."""
    linked = select(record_subject.c.record_id).where(record_subject.c.subject_id == subject_id)
    return list(
        retention.read_batch(session, after=after, limit=limit, where=Record.id.in_(linked))
    )


class Review:
    """Decides, record by record, what the deletion keeps (see the module docstring)."""

    def __init__(self, session: Session, request: PrivacyRequest, today: dt.date) -> None:
        self.session = session
        self.today = today
        self.evaluator = retention.Evaluator(session, as_of=today, executing_on=today)
        self.own = {str(hold.id) for hold in request_holds.holds_of(session, request)}
        self.minimum: dict[int, tuple[int | None, str | None]] = {
            row.id: (row.min_retention_days, row.basis)
            for row in session.execute(
                select(
                    DataCategory.id,
                    DataCategory.min_retention_days,
                    DataCategory.basis,
                )
            )
        }
        self.refresh()

    def refresh(self) -> None:
        """Re-read the holds (each batch transaction does), leaving the request's own out."""
        self.evaluator.ignore_holds(frozenset(self.own))

    @property
    def in_force(self) -> list[Any]:
        return [h for h in self.evaluator.holds if h.is_active(self.evaluator.holds_on)]

    def holds_subject(self, subject_id: int) -> bool:
        key = str(subject_id)
        return any(h.scope is Scope.SUBJECT and h.scope_value == key for h in self.in_force)

    def check_rules(self, subject_id: int) -> None:
        """Conflict, before anything changes, if a record of the subject has no usable rule."""
        linked = select(record_subject.c.record_id).where(record_subject.c.subject_id == subject_id)
        pairs = self.session.execute(
            select(Record.category_id, Record.retention_rule)
            .where(Record.id.in_(linked), Record.anonymised_at.is_(None))
            .distinct()
        )
        for category_id, record_rule in pairs:
            category = self.evaluator.categories[category_id]
            problem, rule, _ = self.evaluator.rules_for(category, record_rule)
            if problem is not None or rule is None:
                raise Conflict(
                    f"Records of the subject in category {category} have no usable retention "
                    f"rule ({problem or 'no rule'}): fix the rules, then run the deletion again."
                )

    def sort(self, rows: list[Any]) -> tuple[list[Item], list[retention.Evaluation]]:
        """The kept items and the evaluations to dispose of now (marked DUE)."""
        kept, due = [], []
        for verdict in self.evaluator.evaluate(rows):
            if verdict.rule is None:
                raise Conflict(
                    f"Record {verdict.row.id} ({verdict.category}) has no usable retention rule "
                    f"({verdict.reason}): fix the rules, then run the deletion again."
                )
            item = self.keep(verdict)
            if item is not None:
                kept.append(item)
            elif verdict.status == Outcome.DUE:
                due.append(verdict)
            else:  # the request itself is the decision to dispose of it early (R12)
                due.append(dataclasses.replace(verdict, status=Outcome.DUE, review=None))
        return kept, due

    def keep(self, verdict: retention.Evaluation) -> Item | None:
        row, due_on = verdict.row, verdict.due_on
        item = Item("kept", row.id, verdict.category, self.evaluator.systems[row.system_id])
        item.dispose_on = due_on
        review = verdict.review
        if verdict.status == Outcome.BLOCKED and verdict.reason == "hold":
            held = [h for h in self.evaluator.holds if h.id in verdict.hold_ids]
            item.basis = ", ".join(f"{HOLD_WORDS[h.kind.value]} {h.id}" for h in held)
            item.hold_ids = list(verdict.hold_ids)
            ends = [h.until for h in held if h.until is not None and not h.open_ended]
            # disposed of once every hold has ended, and not before the rule's own date
            item.dispose_on = None
            if due_on is not None and held and len(ends) == len(held):
                item.dispose_on = max(due_on, max(ends) + dt.timedelta(days=1))
            item.note = "kept while the hold is in force"
        elif isinstance(verdict.rule, BillingRule) and (due_on is None or due_on > self.today):
            item.basis = "CRA billing retention (R17)"
            if due_on is None:
                item.note = "disposal date not computable yet: a billing date is missing"
        elif self.within_minimum(row):
            days, basis = self.minimum[row.category_id]
            item.basis = basis or f"minimum retention of {days} days"
            if due_on is None:
                item.note = "disposal date depends on an event not recorded yet"
        elif review is not None and review.status == "rejected":
            item.basis = f"disposition review {review.id}: an officer decided to keep it"
            item.dispose_on = None
        elif review is not None and review.status == "extended" and verdict.status != Outcome.DUE:
            item.basis = f"disposition review {review.id}: an officer extended its retention"
        elif verdict.rule is not None and verdict.transfer_pending() is not None:
            item.basis = "the hand-over to the client must be recorded first (R16)"
        else:
            return None
        return item

    def within_minimum(self, row: Any) -> bool:
        days = self.minimum[row.category_id][0] or 0
        created = retention.day_of(row.created_at)
        return created is not None and created + dt.timedelta(days=days) > self.today


def _names(session: Session, model: Any, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(model.code, model.name).where(model.code.in_(codes))).all())


def plan_deletion(
    session: Session, request: PrivacyRequest | str, *, now: dt.datetime | None = None
) -> DeletionResult:
    """What ``execute_deletion`` would delete and keep today; changes nothing."""
    request = acting_on(session, request, types=("deletion",), what="a deletion")
    subject = require_subject(request)
    review = Review(session, request, (now or utcnow()).astimezone(dt.UTC).date())
    review.check_rules(subject.id)
    result = DeletionResult(request.reference, subject.ref, dry_run=True)
    after = 0
    while rows := subject_rows(session, subject.id, after=after, limit=500):
        kept, due = review.sort(rows)
        result.kept += kept
        for verdict in due:
            row = verdict.row
            system = review.evaluator.systems[row.system_id]
            result.deleted.append(Item("deleted", row.id, verdict.category, system))
        after = rows[-1].id
    result.consents_withdrawn = sum(
        1
        for c in subject.consents
        if c.withdrawn_at is None and c.purpose.code == retention.MARKETING_PURPOSE
    )
    result.subject_removed = not result.kept and not review.holds_subject(subject.id)
    return result


def deletion_report(session: Session, request: PrivacyRequest) -> dict[str, Any] | None:
    """What the request's (latest) deletion deleted and kept, for its report; None before."""
    event = session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == OBJECT_TYPE,
            AuditEvent.object_id == request.reference,
            AuditEvent.action == "request.deletion",
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    if event is None:
        return None
    items = list(
        session.scalars(
            select(RequestItem)
            .where(RequestItem.request_id == request.id, RequestItem.kind.in_(("deleted", "kept")))
            .order_by(RequestItem.record_id, RequestItem.id)
        )
    )
    categories = _names(session, DataCategory, {i.category for i in items if i.category})
    systems = _names(session, System, {i.system for i in items if i.system})

    def line(item: RequestItem) -> dict[str, Any]:
        return {
            "record_id": item.record_id,
            "category": item.category,
            "category_name": categories.get(item.category or "", item.category),
            "system": item.system,
            "system_name": systems.get(item.system or "", item.system),
        }

    deleted = [
        line(i) | {"deleted_on": iso(i.created_at.date()), "disposition_id": i.disposition_id}
        for i in items
        if i.kind == "deleted"
    ]
    kept = [
        line(i)
        | {
            "basis": i.basis,
            "dispose_on": iso(i.dispose_on),
            "hold_ids": i.hold_ids,
            "note": i.note,
        }
        for i in items
        if i.kind == "kept"
    ]
    return {
        "carried_out_at": iso(event.occurred_at),
        "run_id": event.details.get("run"),
        "deleted": deleted,
        "kept": kept,
        "profile_removed": bool(event.details.get("subject_removed")),
    }
