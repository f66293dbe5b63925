"""Holds as the retention engine sees them: rows turned into retention.schedule.Hold values,
their scope values translated to the ids that RecordFacts carry (categories stay codes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from auditor.models import DataSubject, Hold
from auditor.services.holds import CODED_SCOPES
from retention import schedule


def to_policy_hold(hold: Hold, *, key: str) -> schedule.Hold:
    """The row as the pure library's Hold; ``key`` is its scope value as RecordFacts carry it."""
    return schedule.Hold(
        id=str(hold.id),
        kind=schedule.HoldKind(hold.kind),
        scope=schedule.Scope(hold.scope),
        scope_value=key,
        placed_at=hold.placed_at,
        released_at=hold.released_at,
        until=hold.until,
        open_ended=hold.open_ended,
    )


def _keys(session: Session, holds: Sequence[Hold]) -> dict[tuple[str, str], str]:
    """Engine keys of the holds' scope values, a few queries for the whole batch."""
    wanted: dict[str, set[str]] = {}
    for hold in holds:
        wanted.setdefault(hold.scope, set()).add(hold.scope_value)
    keys: dict[tuple[str, str], str] = {}
    for value in wanted.pop("record", set()):
        keys[("record", value)] = value
    for value in wanted.pop("category", set()):
        keys[("category", value)] = value
    if refs := wanted.pop("subject", set()):
        rows = session.execute(
            select(DataSubject.ref, DataSubject.id).where(DataSubject.ref.in_(refs))
        )
        keys.update({("subject", ref): str(id_) for ref, id_ in rows})
    for scope, codes in wanted.items():
        model = CODED_SCOPES[scope]
        rows = session.execute(select(model.code, model.id).where(model.code.in_(codes)))
        keys.update({(scope, code): str(id_) for code, id_ in rows})
    return keys


def policy_holds(session: Session, holds: Iterable[Hold]) -> list[schedule.Hold]:
    """The rows as pure Holds; a hold whose subject, client or system no longer exists covers
    no record and is left out."""
    rows = list(holds)
    keys = _keys(session, rows)
    return [
        to_policy_hold(hold, key=keys[(hold.scope, hold.scope_value)])
        for hold in rows
        if (hold.scope, hold.scope_value) in keys
    ]


def _not_released_before(as_of: dt.date | None) -> ColumnElement[bool]:
    if as_of is None:
        return Hold.released_at.is_(None)
    # the release day still blocks (schedule.Hold.is_active): keep holds released on or after it
    start = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
    return or_(Hold.released_at.is_(None), Hold.released_at >= start)


def holds_fingerprint(session: Session) -> tuple[int, ...]:
    """Changes whenever a hold is placed or released (holds are never deleted, and nothing else
    of a hold changes): a batch re-reads the holds only then."""
    count, last, released = session.execute(
        select(func.count(Hold.id), func.max(Hold.id), func.count(Hold.released_at))
    ).one()
    return (count, last or 0, released)


def engine_holds(session: Session, *, as_of: dt.date | None = None) -> list[schedule.Hold]:
    """Every hold that may be in force on ``as_of`` (unreleased ones when None), for a batch."""
    rows = session.scalars(select(Hold).where(_not_released_before(as_of)).order_by(Hold.id))
    return policy_holds(session, rows.all())


def holds_for_facts(
    session: Session, facts: schedule.RecordFacts, *, as_of: dt.date | None = None
) -> list[schedule.Hold]:
    """The holds whose scope covers one record (in force on ``as_of`` or not: ``decide`` judges).

    Holds are few; a batch should call ``engine_holds`` once and filter with ``Hold.covers``.
    """
    return [hold for hold in engine_holds(session, as_of=as_of) if hold.covers(facts)]
