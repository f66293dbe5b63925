"""Compliance findings and the runs of the checks that found them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow


class ComplianceRun(Base):
    """One run of every check: when, who or what ran it, and what changed."""

    __tablename__ = "compliance_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ComplianceFinding(Base):
    """One failure of a check, followed across runs by its stable ``finding_id``."""

    __tablename__ = "compliance_finding"
    __table_args__ = (
        CheckConstraint(
            "severity IN ('critical', 'high', 'medium', 'low', 'info')", name="severity"
        ),
        CheckConstraint("state IN ('new', 'unchanged', 'resolved')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[str] = mapped_column(String(300), unique=True)
    check: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    fix: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # in the latest run that looked at it
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    first_run_id: Mapped[int] = mapped_column(ForeignKey("compliance_run.id", ondelete="RESTRICT"))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("compliance_run.id", ondelete="RESTRICT"))
