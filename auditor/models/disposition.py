"""Disposition records (R20): the proof that something was destroyed, holding no personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, String
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
