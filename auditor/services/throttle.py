"""Failed authentication, counted per source and interval: past a limit the source waits (429),
and the audit trail records the first failure of each interval and then one event with the
count, so it stays complete without growing by a row for every attempt.

The counts live in the database (``auth_throttle``), so every worker of a server sees them.
Keys name what is counted: ``token:<source IP>`` for API tokens (the web application's sign-in
adds ``signin:<source>`` and ``account:<email digest>`` keys). Nothing is counted for a request
that succeeds, so authenticated traffic pays no query for the throttle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import set_access
from auditor.models import AuthThrottle
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import TooManyFailures


@dataclasses.dataclass(frozen=True)
class Limit:
    """``failures`` allowed per ``window`` (then 429 until the window ends)."""

    failures: int
    window: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Limit:
        return cls(
            int(settings["AUTH_FAILURE_LIMIT"]),
            dt.timedelta(seconds=int(settings["AUTH_FAILURE_WINDOW_SECONDS"])),
        )


def _window_end(row: AuthThrottle, limit: Limit) -> dt.datetime:
    return row.window_started_at + limit.window


def _retry_after(row: AuthThrottle, limit: Limit, now: dt.datetime) -> int:
    return max(1, math.ceil((_window_end(row, limit) - now).total_seconds()))


def _summarise(session: Session, row: AuthThrottle, limit: Limit, actor: Actor) -> None:
    """The failures of a closed interval not yet in the audit trail, as one event."""
    repeated = row.failures - row.audited
    if repeated > 0:
        audit.record(
            session,
            actor=actor,
            action="auth.failures",
            outcome="failure",
            details={
                "key": row.key.partition(":")[0],
                "failures": repeated,
                "window_start": audit.format_time(row.window_started_at),
                "window_end": audit.format_time(_window_end(row, limit)),
            },
        )
        row.audited = row.failures


def record_failure(
    session: Session,
    key: str,
    *,
    limit: Limit,
    actor: Actor,
    now: dt.datetime,
    event: dict[str, Any],
) -> None:
    """Count one failed authentication of ``key`` and record it, in its own transaction: the
    first failure of an interval as its own audit event (``event``: action, details), the rest
    as a count. Raises TooManyFailures once the interval's limit is passed."""
    session.rollback()
    set_access("write")
    row = session.get(AuthThrottle, key, with_for_update=True)
    if row is not None and _window_end(row, limit) <= now:
        _summarise(session, row, limit, actor)
        row.window_started_at, row.failures, row.audited = now, 0, 0
    if row is None:
        row = AuthThrottle(key=key, window_started_at=now, failures=0, audited=0)
        session.add(row)
    row.failures += 1
    if row.failures == 1:
        audit.record(session, actor=actor, outcome="failure", **event)
        row.audited = 1
    over = row.failures > limit.failures
    retry = _retry_after(row, limit, now)
    session.commit()
    if over:
        raise TooManyFailures(
            "Too many failed authentications from this source; try again later.", retry
        )


def locked_for(session: Session, key: str, *, limit: Limit, now: dt.datetime) -> int | None:
    """Seconds until ``key`` may try again once it has failed ``limit.failures`` times in the
    current interval (a lockout: the next attempt is refused unchecked), else None."""
    row = session.get(AuthThrottle, key)
    if row is None or _window_end(row, limit) <= now or row.failures < limit.failures:
        return None
    return _retry_after(row, limit, now)


def summarise_closed(session: Session, *, limit: Limit, now: dt.datetime, actor: Actor) -> int:
    """Write the count of every closed interval not yet in the audit trail (the scheduled
    checkpoint calls this, so a burst that stops is still recorded); returns how many."""
    rows = session.scalars(
        select(AuthThrottle).where(
            AuthThrottle.failures > AuthThrottle.audited,
            AuthThrottle.window_started_at <= now - limit.window,
        )
    ).all()
    for row in rows:
        _summarise(session, row, limit, actor)
    return len(rows)
