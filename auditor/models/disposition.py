"""Disposition records (R20): the proof that something was destroyed, holding no personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow


class DispositionBatch(Base):
    """What every disposition of one batch shares (R20): the run, the rule version, the review and
    its approver, who executed it, how, the post-check, the holds in force, the audit event that
    commits to the batch (its details carry ``digest``) and the digest of its canonical lines.

    ``line_format`` 2: lines as docs/disposition.md section 3 gives them; 1: a batch converted
    from the one-wide-row-per-disposition shape (migration 0011), whose lines keep that format
    so certificates and reports made before the change still verify (``legacy`` keeps what the
    old rows held that the new shape does not: their ``holds_checked``)."""

    __tablename__ = "disposition_batch"
    __table_args__ = (
        CheckConstraint(
            "method IN ('delete', 'anonymise', 'crypto_shred', 'transfer_then_delete')",
            name="method",
        ),
        CheckConstraint("line_format IN (1, 2)", name="line_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    # the purge run that wrote it (no foreign key: disposition records outlive everything else)
    run_id: Mapped[int | None] = mapped_column(index=True)
    subject_type: Mapped[str] = mapped_column(String(32))  # record, data_subject, client_vault
    rule: Mapped[str | None] = mapped_column(String(64))
    rule_version: Mapped[int | None]
    review_id: Mapped[int | None]
    approver: Mapped[str | None] = mapped_column(String(200))
    executor: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(32))
    post_check: Mapped[str] = mapped_column(String(200))
    holds_in_force: Mapped[int | None]
    # the trigger evidence every line shares, and the name of the start date a line's own
    # ``started_on`` gives (``closed_at``, ``document_date``, ...)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    start_field: Mapped[str | None] = mapped_column(String(64))
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, index=True)
    first_id: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))
    line_format: Mapped[int] = mapped_column(default=2)
    legacy: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Disposition(Base):
    """One disposed thing (R20): what differs between the lines of a batch, and no personal data.

    Its id is its position in the append-only table; the lines of a batch have consecutive ids
    from the batch's ``first_id``. ``digest``: the keyed digest (32 bytes) of the record or
    subject; ``due_on`` and ``started_on``: the dates that made it due; ``evidence``: any other
    trigger evidence that varies from line to line (usually null)."""

    __tablename__ = "disposition"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int]
    subject_ref: Mapped[str] = mapped_column(String(200), index=True)
    organization_id: Mapped[int | None]
    category: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[bytes | None] = mapped_column(LargeBinary)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # line format 1 only: the old row's counts
    legacy: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


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
