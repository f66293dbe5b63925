"""Retention holds (R19) and scheduled job runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Date, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow


class Hold(Base):
    """A hold keeps everything in its scope from disposal until released (no automatic expiry,
    except a recourse hold's minimum, R9)."""

    __tablename__ = "retention_hold"
    __table_args__ = (
        CheckConstraint("kind IN ('legal', 'recourse', 'breach', 'cra_objection')", name="kind"),
        CheckConstraint(
            "scope IN ('subject', 'client', 'system', 'category', 'record')", name="scope"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    scope_value: Mapped[str] = mapped_column(String(200), index=True)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))  # a request, breach or CRA file
    created_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    until: Mapped[dt.date | None] = mapped_column(Date)
    open_ended: Mapped[bool] = mapped_column(default=False)
    released_at: Mapped[dt.datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_reason: Mapped[str | None] = mapped_column(Text)


class JobRun(Base):
    """One run of a scheduled job; (job, scheduled_for) is unique so no run happens twice."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "scheduled_for"),
        CheckConstraint(
            "outcome IN ('running', 'success', 'failure', 'interrupted', 'skipped')",
            name="outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int | None]  # the process that runs it: gone while 'running' = interrupted
    heartbeat_at: Mapped[dt.datetime | None]  # refreshed while it runs


class RetentionRule(Base):
    """One version of a retention rule. Editing a rule adds a version; dispositions cite one."""

    __tablename__ = "retention_rule"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        CheckConstraint(
            "action IN ('delete', 'anonymise', 'crypto_shred', 'transfer_then_delete')",
            name="action",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    category: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    requires_review: Mapped[bool] = mapped_column(default=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[dt.datetime | None]
