"""Records the MSP holds about people, and which subjects each one concerns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow

record_subject = Table(
    "record_subject",
    Base.metadata,
    Column("record_id", Integer, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "subject_id", Integer, ForeignKey("data_subject.id", ondelete="CASCADE"), primary_key=True
    ),
    Index("ix_record_subject_subject_id_record_id", "subject_id", "record_id"),
)


class Record(Base):
    """One ticket, invoice, log entry, contact record or consent record from a source system."""

    __tablename__ = "record"
    __table_args__ = (
        UniqueConstraint("system_id", "external_id"),
        Index("ix_record_organization_id_id", "organization_id", "id"),
        Index("ix_record_category_id_id", "category_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("system.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int] = mapped_column(ForeignKey("data_category.id", ondelete="RESTRICT"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    document_date: Mapped[dt.date | None] = mapped_column(Date)
    event_at: Mapped[dt.datetime | None]
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_digest: Mapped[str] = mapped_column(String(64))
    pan_redactions: Mapped[int] = mapped_column(default=0)
    # an explicit per-record retention rule (its code) that replaces the category default (R18)
    retention_rule: Mapped[str | None] = mapped_column(String(64))
    # set when a retention rule anonymised the record (content and subjects removed, R20)
    anonymised_at: Mapped[dt.datetime | None]
    ingested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
