"""The web sign-in: server-side sessions and the recovery codes of the second factor."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow


class WebSession(Base):
    """A browser's session. Only the SHA-256 of the cookie's value is stored: a copy of the
    table cannot be replayed. ``user_id`` is set once the password is checked and
    ``mfa_at`` once the second factor is; a page shows data only when both are."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    mfa_at: Mapped[dt.datetime | None]
    source_ip: Mapped[str | None] = mapped_column(String(64))


class RecoveryCode(Base):
    """One single-use recovery code of a user's second factor, stored as its SHA-256 (the codes
    carry 80 random bits, so a fast hash is enough)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]
