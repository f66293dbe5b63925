"""Access reviews and deprovisioning (R35, R36): who had access, who decided, when it ended."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow


class AccessReview(Base):
    """A review of every account: the accounts, roles, client grants and tokens as they were
    when it started (frozen, with their SHA-256), and a decision per account."""

    __tablename__ = "access_review"
    __table_args__ = (CheckConstraint("status IN ('open', 'completed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    accounts: Mapped[int]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[dt.datetime | None]


class AccessReviewDecision(Base):
    """Keep or revoke one account of a review, why, and when a revocation took effect."""

    __tablename__ = "access_review_decision"
    __table_args__ = (
        UniqueConstraint("review_id", "user_id"),
        CheckConstraint("decision IN ('keep', 'revoke')", name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("access_review.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deprovisioning_id: Mapped[int | None] = mapped_column(
        ForeignKey("deprovisioning.id", ondelete="RESTRICT")
    )


class Deprovisioning(Base):
    """One account's access ended: when it was deactivated, and when its tokens, web sessions
    and vault grants went (R36). Written by the deactivation itself, so the times are exact."""

    __tablename__ = "deprovisioning"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(32))  # the role it had
    deactivated_at: Mapped[dt.datetime]
    deactivated_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    tokens_revoked: Mapped[int] = mapped_column(default=0)
    tokens_revoked_at: Mapped[dt.datetime | None]
    sessions_ended: Mapped[int] = mapped_column(default=0)
    grants_removed: Mapped[list[str]] = mapped_column(JSONType, default=list)  # client codes
    grants_removed_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime]  # when the last of it took effect
