"""Users, their roles and their API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditor.db import Base, utcnow


class User(Base):
    """A person or service account who uses the auditor, with one role."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'privacy_officer', 'technician', 'auditor')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    # the second factor (TOTP, RFC 6238): the shared secret, sealed under the master key ("AUM",
    # docs/crypto-format.md section 15) with the master version it is under, when it was
    # enrolled, and the last time step accepted, so that a replayed code is refused
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_master_version: Mapped[int | None]
    totp_enrolled_at: Mapped[dt.datetime | None]
    totp_last_step: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiToken(Base):
    """A bearer token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class AuthThrottle(Base):
    """Failed authentications of one source (or account) in the current interval."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "token:<ip>", ...
    window_started_at: Mapped[dt.datetime]
    failures: Mapped[int] = mapped_column(default=0)
    audited: Mapped[int] = mapped_column(default=0)  # failures already in the audit trail
