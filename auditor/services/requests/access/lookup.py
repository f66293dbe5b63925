"""What an access package looks up about records: the subject's records in batches, the
other people linked to them, categories with their purposes and disclosures, and retention
rules in plain words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Row, Text, select, type_coerce
from sqlalchemy.orm import Session, joinedload, selectinload

from auditor.models import (
    DataCategory,
    DataSubject,
    Disclosure,
    Record,
    SubjectIdentifier,
    record_subject,
)
from auditor.services.requests.access.redaction import OtherPerson
from retention import AnyRule, BillingRule, Event, Period, RecordDate, Trigger

_COLUMNS: tuple[Any, ...] = (
    Record.id,
    Record.category_id,
    Record.organization_id,
    Record.system_id,
    Record.external_id,
    Record.created_at,
    Record.closed_at,
    Record.document_date,
    Record.event_at,
    Record.retention_rule,
    # the raw JSON text where the driver gives it (SQLite): orjson parses it faster
    type_coerce(Record.content, Text).label("content"),
)
_DATE_WORDS = {
    RecordDate.CREATED_AT: "creation",
    RecordDate.CLOSED_AT: "closing",
    RecordDate.DOCUMENT_DATE: "its document date",
    RecordDate.EVENT_AT: "the event it records",
}
_EVENT_WORDS = {
    Event.AGREEMENT_TERMINATED: "the service agreement ends",
    Event.RELATIONSHIP_ENDED: "the business relationship ends",
    Event.CONSENT_WITHDRAWN: "consent is withdrawn",
}


def period_words(period: Period) -> str:
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((period.years, "year"), (period.months, "month"), (period.days, "day"))
        if count
    ]
    return " and ".join(parts) or "no time"


@functools.lru_cache(maxsize=256)
def rule_words(rule: AnyRule, source: str | None) -> str:
    """The retention period in plain words: "7 years after closing"."""
    if isinstance(rule, BillingRule):
        return (
            f"{period_words(rule.document_period)} after its document date, or "
            f"{period_words(rule.transaction_period)} after the end of the fiscal year of the "
            "last related transaction, whichever is later"
        )
    period = period_words(rule.period_for(source))
    if rule.trigger is Trigger.TIME and rule.date_field is not None:
        return f"{period} after {_DATE_WORDS[rule.date_field]}"
    assert rule.event is not None
    return f"{period} after {_EVENT_WORDS[rule.event]}"


def read_batch(session: Session, subject_id: int, *, after: int, limit: int) -> Sequence[Row[Any]]:
    """The next ``limit`` records linked to the subject (not anonymised), in id order."""
    return session.execute(
        select(*_COLUMNS)
        .join(record_subject, record_subject.c.record_id == Record.id)
        .where(
            record_subject.c.subject_id == subject_id,
            record_subject.c.record_id > after,
            Record.anonymised_at.is_(None),
        )
        .order_by(record_subject.c.record_id)
        .limit(limit)
    ).all()


def content_of(row: Row[Any]) -> Any:
    """A batch row's content, parsed (SQLite hands over the JSON text, PostgreSQL the value)."""
    raw = row.content
    return orjson.loads(raw) if isinstance(raw, str | bytes) else raw


def learn_people(session: Session, subject_ids: set[int], people: dict[int, OtherPerson]) -> None:
    """Add the name and identifiers of each subject not in ``people`` yet (read once each)."""
    missing = subject_ids - people.keys()
    if not missing:
        return
    names = dict(
        session.execute(
            select(DataSubject.id, DataSubject.display_name).where(DataSubject.id.in_(missing))
        ).all()
    )
    identifiers: dict[int, list[tuple[str, str]]] = {}
    rows = session.execute(
        select(SubjectIdentifier.subject_id, SubjectIdentifier.kind, SubjectIdentifier.value).where(
            SubjectIdentifier.subject_id.in_(missing)
        )
    )
    for subject_id, kind, value in rows:
        identifiers.setdefault(subject_id, []).append((kind, value))
    for subject_id in missing:
        people[subject_id] = OtherPerson(
            names.get(subject_id), tuple(identifiers.get(subject_id, ()))
        )


@dataclasses.dataclass(frozen=True)
class CategoryInfo:
    code: str
    name: str
    description: str | None
    basis: str | None
    purposes: tuple[tuple[str, str, str | None], ...]  # (code, name, description)
    disclosures: tuple[dict[str, Any], ...]

    @property
    def purpose_names(self) -> list[str]:
        return [name for _, name, _ in self.purposes]

    @property
    def third_parties(self) -> list[str]:
        return sorted({d["name"] for d in self.disclosures})


def load_categories(session: Session) -> dict[int, CategoryInfo]:
    disclosures: dict[int, list[dict[str, Any]]] = {}
    rows = session.scalars(
        select(Disclosure)
        .options(joinedload(Disclosure.third_party), joinedload(Disclosure.purpose))
        .order_by(Disclosure.code)
    )
    for row in rows:
        disclosures.setdefault(row.category_id, []).append(
            {
                "third_party": row.third_party.code,
                "name": row.third_party.name,
                "country": row.third_party.country,
                "purpose": row.purpose.name,
                "description": row.description,
            }
        )
    categories = session.scalars(select(DataCategory).options(selectinload(DataCategory.purposes)))
    return {
        c.id: CategoryInfo(
            code=c.code,
            name=c.name,
            description=c.description,
            basis=c.basis,
            purposes=tuple((p.code, p.name, p.description) for p in c.purposes),
            disclosures=tuple(disclosures.get(c.id, [])),
        )
        for c in categories
    }


@dataclasses.dataclass
class Span:
    """How many records, their first and last dates, and their disposal dates."""

    count: int = 0
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    dispose_from: dt.date | None = None
    dispose_to: dt.date | None = None

    def add(self, created: dt.datetime, dispose_on: dt.date | None) -> None:
        self.count += 1
        self.first = created if self.first is None else min(self.first, created)
        self.last = created if self.last is None else max(self.last, created)
        if dispose_on is not None:
            low, high = self.dispose_from, self.dispose_to
            self.dispose_from = dispose_on if low is None else min(low, dispose_on)
            self.dispose_to = dispose_on if high is None else max(high, dispose_on)

    def merge(self, other: Span) -> Span:
        self.count += other.count
        for name, pick in (
            ("first", min),
            ("last", max),
            ("dispose_from", min),
            ("dispose_to", max),
        ):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is not None:
                setattr(self, name, theirs if mine is None else pick(mine, theirs))
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "first": self.first,
            "last": self.last,
            "dispose_from": self.dispose_from,
            "dispose_to": self.dispose_to,
        }
