"""Set-based due selection: the purge's hot path (R15, R20).

Most due records belong to a category whose rule deletes them a period after a record date, have
no per-record rule, and are named by no hold (by id, client, system, category or subject). For
those, ``decide`` reduces to "the date is on or before a cutoff", the same for every record of
the category and log source: the database selects them (``due_filter``, a category at a time),
and ``FastDisposer``
deletes them, digests them and writes their disposition lines without building an object per
record: each line's bytes come from a template made once per batch, and equal what
``lines.line`` gives (tests/services/retention/test_fast.py checks both, and that a purge with
and without this path disposes of the same records with the same lines).

The billing rule (R17) is one too: due when the document date and the last transaction (the
later of the document date and the event date) are each on or before their cutoff. Everything
else (event and reviewed rules, anonymisation, per-record rules, anything a hold names) still
goes through ``facts.Evaluator`` and ``batch.BatchDisposer``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from auditor.models import Record, record_subject
from auditor.services.retention import facts
from retention import BillingRule, Period

ACTIONS = ("delete", "crypto_shred")  # deleted rows; the others need more than a DELETE


@dataclasses.dataclass(frozen=True)
class FastCategory:
    """A category the database can select due records of, and its rule's cutoffs."""

    category_id: int
    code: str
    rule: Any  # a time rule (retention.Rule)
    date_field: str
    # (system ids with a period of their own, their cutoff); then (None, the default cutoff)
    cutoffs: tuple[tuple[frozenset[int] | None, dt.date], ...]
    # the billing rule (R17): the latest last transaction whose fiscal-year branch is due
    transaction_cutoff: dt.date | None = None
    # (start day, system id or last transaction) -> (due day, start day, last transaction) as
    # ISO text, for the whole run
    days: dict[tuple[Any, Any], tuple[str, str, str]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def limit(self, cutoff: dt.date) -> Any:
        """The bound on the date column: a date column up to the cutoff, a timestamp before the
        next day (its UTC date at most the cutoff)."""
        if self.date_field == "document_date":
            return cutoff
        return dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time(), dt.UTC)


def cutoff(period: Period, as_of: dt.date) -> dt.date:
    """The latest start whose due date (``period.after(start)``) is on or before ``as_of``."""
    return latest(period.after, as_of, period.min_days() + 400)


def latest(due: Callable[[dt.date], dt.date], as_of: dt.date, span: int) -> dt.date:
    """The latest day whose ``due`` day is on or before ``as_of``, ``due`` never decreasing as
    the day moves later and the answer within ``span`` days before ``as_of``: a binary
    search."""
    low, high = as_of - dt.timedelta(days=span), as_of
    if due(high) <= as_of:
        return high
    while (high - low).days > 1:
        middle = low + dt.timedelta(days=(high - low).days // 2)
        if due(middle) <= as_of:
            low = middle
        else:
            high = middle
    return low


def fast_categories(evaluator: facts.Evaluator) -> dict[int, FastCategory]:
    """The categories whose due records the database can select (see the module docstring)."""
    by_code = {code: id_ for id_, code in evaluator.systems.items()}
    found = {}
    for category_id, lane in evaluator.lanes.items():
        rule = lane.rule
        if rule.requires_review or rule.action not in ACTIONS:
            continue
        code = evaluator.categories[category_id]
        if isinstance(rule, BillingRule):
            # due when both branches are: the document date, and the last transaction (the
            # later of the document date and the event), each on or before its cutoff
            by_document = cutoff(rule.document_period, evaluator.as_of)
            span = rule.transaction_period.min_days() + 800
            by_year = latest(functools.partial(_year_branch, rule), evaluator.as_of, span)
            found[category_id] = FastCategory(
                category_id,
                code,
                rule,
                "document_date",
                ((None, min(by_document, by_year)),),
                transaction_cutoff=by_year,
            )
            continue
        own = [
            (frozenset({by_code[source]}), cutoff(period, evaluator.as_of))
            for source, period in rule.source_periods
            if source in by_code
        ]
        default = (None, cutoff(rule.period, evaluator.as_of))
        found[category_id] = FastCategory(
            category_id,
            code,
            rule,
            str(rule.date_field),
            (*own, default),
        )
    return found


def _year_branch(rule: BillingRule, last_transaction: dt.date) -> dt.date:
    """The billing rule's fiscal-year branch: its due day for a last transaction."""
    return rule.transaction_period.after(rule.fiscal_year_end_on_or_after(last_transaction))


def due_filter(evaluator: facts.Evaluator, category: FastCategory) -> ColumnElement[bool] | None:
    """SQL selecting exactly the due records of ``category`` that no hold names, with the holds
    as ``evaluator`` last read them; None when a hold names the whole category. One category at
    a time: the (category, id) index then gives them in id order without a sort."""
    if category.code in evaluator.held_categories:
        return None  # every record of it is named by a hold: decide() judges them
    column = getattr(Record, category.date_field)
    own: set[int] = set()
    parts = []
    for systems, day in category.cutoffs:
        bound = category.limit(day)
        before = column <= bound if category.date_field == "document_date" else column < bound
        if systems is None:
            parts.append(before & Record.system_id.not_in(sorted(own)) if own else before)
        else:
            own |= systems
            parts.append(Record.system_id.in_(sorted(systems)) & before)
    if category.transaction_cutoff is not None:  # the event date counts too (R17)
        after = dt.datetime.combine(
            category.transaction_cutoff + dt.timedelta(days=1), dt.time(), dt.UTC
        )
        parts = [and_(or_(*parts), or_(Record.event_at.is_(None), Record.event_at < after))]
    held = evaluator.held_ids
    where: list[ColumnElement[bool]] = [
        Record.category_id == category.category_id,
        or_(false(), *parts),
        Record.retention_rule.is_(None),
        Record.anonymised_at.is_(None),
    ]
    for scope, column in (
        ("record", Record.id),
        ("client", Record.organization_id),
        ("system", Record.system_id),
    ):
        if held[scope]:
            where.append(column.not_in(sorted(held[scope])))
    # records a subject hold names: left out by ``due_links`` from the links it reads with them
    # (an anti-join here would be planned as a scan of every link, now and then)
    return and_(*where)


def due_links(
    session: Session,
    where: ColumnElement[bool],
    *,
    after: int,
    limit: int,
    held_subjects: frozenset[int] = frozenset(),
) -> tuple[int | None, list[int], dict[int, list[int]]]:
    """The next ``limit`` ids matching ``where`` after ``after``, and the subjects each is
    linked to, read in one statement (the delete cascades to the links). Returns the last id
    read (None: nothing was left), those of them no subject hold names (ascending: a held
    subject's records are for ``decide`` to judge) and their subjects."""
    due = select(Record.id).where(where, Record.id > after).order_by(Record.id).limit(limit)
    found = due.subquery("due")
    query = select(found.c.id, record_subject.c.subject_id).select_from(
        found.outerjoin(record_subject, record_subject.c.record_id == found.c.id)
    )
    links: dict[int, list[int]] = {}
    for record_id, subject_id in session.execute(query).all():
        people = links.setdefault(record_id, [])
        if subject_id is not None:
            people.append(subject_id)
    if not links:
        return None, [], {}
    last = max(links)
    if held_subjects:
        links = {r: people for r, people in links.items() if held_subjects.isdisjoint(people)}
    return last, sorted(links), links
