"""Disposition records (R20): the proof that something was destroyed, holding no personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow


class Disposition(Base):
    """One disposal: what (by id and keyed digest only), why, under which checks, by whom, how."""

    __tablename__ = "disposition"
    __table_args__ = (
        CheckConstraint(
            "method IN ('delete', 'anonymise', 'crypto_shred', 'transfer_then_delete')",
            name="method",
        ),
        Index("ix_disposition_subject_type_subject_ref", "subject_type", "subject_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    subject_type: Mapped[str] = mapped_column(String(32))  # record, client_vault, ...
    subject_ref: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None]
    category: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(64))
    rule_version: Mapped[int | None]
    trigger_evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    holds_checked: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    approver: Mapped[str | None] = mapped_column(String(200))
    executor: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(32))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    post_check: Mapped[str] = mapped_column(String(200))
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    # the purge run that wrote it (no foreign key: disposition rows outlive everything else)
    run_id: Mapped[int | None] = mapped_column(index=True)
    review_id: Mapped[int | None]


class PurgeRun(Base):
    """One execution of the retention purge: its progress, outcome and certificate."""

    __tablename__ = "purge_run"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'interrupted')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    executor: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(32))  # cli, scheduler, api
    job_run_id: Mapped[int | None]
    last_record_id: Mapped[int] = mapped_column(BigInteger, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    certificate: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class DispositionReview(Base):
    """A batch of due records whose rule requires an officer's decision before disposal."""

    __tablename__ = "disposition_review"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'approved', 'extended', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    item_count: Mapped[int] = mapped_column(default=0)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None]
    justification: Mapped[str | None] = mapped_column(Text)
    extend_until: Mapped[dt.date | None] = mapped_column(Date)
    transfer_reference: Mapped[str | None] = mapped_column(String(200))


class DispositionReviewItem(Base):
    """A record in a review batch (no foreign key: the item outlives the disposed record)."""

    __tablename__ = "disposition_review_item"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("disposition_review.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(primary_key=True, index=True)
