"""Server-side sessions of the web application: created, found, kept alive and ended.

The browser holds a random token; the database holds its SHA-256, the user, when the second
factor was verified, and a little data (the CSRF token, where a form left off). A session ends
after ``idle`` without use or ``absolute`` after it began, at sign-out, when its user signs out
everywhere, and when the user is deactivated or their second factor is reset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from auditor.models import WebSession

#: how precisely a session's last use is kept: one write per session per interval at most
TOUCH_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetime:
    idle: dt.timedelta
    absolute: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Lifetime:
        return cls(
            idle=dt.timedelta(minutes=int(settings["SESSION_IDLE_MINUTES"])),
            absolute=dt.timedelta(hours=int(settings["SESSION_ABSOLUTE_HOURS"])),
        )


def session_id(token: str) -> str:
    # tokens carry 256 random bits: a fast hash is enough to keep a copy of the table useless
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_expired(row: WebSession, lifetime: Lifetime, now: dt.datetime) -> bool:
    return now - row.last_seen_at >= lifetime.idle or now - row.created_at >= lifetime.absolute


def find(
    session: Session, token: str | None, lifetime: Lifetime, now: dt.datetime
) -> tuple[WebSession | None, bool]:
    """The live session behind ``token`` and whether one existed but has expired."""
    if not token or len(token) > 100:
        return None, False
    row = session.get(WebSession, session_id(token))
    if row is None:
        return None, False
    if is_expired(row, lifetime, now):
        return None, True
    return row, False


def create(
    session: Session,
    token: str,
    *,
    data: dict[str, Any],
    user_id: int | None,
    mfa_at: dt.datetime | None,
    source_ip: str | None,
    now: dt.datetime,
) -> WebSession:
    row = WebSession(
        id=session_id(token),
        user_id=user_id,
        data=data,
        created_at=now,
        last_seen_at=now,
        mfa_at=mfa_at,
        source_ip=source_ip,
    )
    session.add(row)
    session.flush()
    return row


def end(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == session_id(token)))


def end_all(session: Session, user_id: int) -> int:
    """End every session of the user; returns how many there were."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def prune(session: Session, lifetime: Lifetime, now: dt.datetime) -> int:
    """Delete the sessions that have expired; returns how many."""
    result = session.execute(
        delete(WebSession).where(
            or_(
                WebSession.last_seen_at <= now - lifetime.idle,
                WebSession.created_at <= now - lifetime.absolute,
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
