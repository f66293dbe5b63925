"""What answering a privacy request did: corrections (R10-R11), dispute notes shown in later
access reports (R11), and the items a response lists (deleted, kept with basis and date,
redacted...). Personal data (old and new values, statements) lives here, never in audit events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow

CORRECTION_STATUSES = ("applied", "rejected")
ITEM_KINDS = ("deleted", "kept", "corrected", "redacted", "exported", "withdrawn")


class RequestCorrection(Base):
    """One correction asked for in a request: the old value is kept here (R10)."""

    __tablename__ = "request_correction"
    __table_args__ = (CheckConstraint("status IN ('applied', 'rejected')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("privacy_request.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_subject.id", ondelete="SET NULL"), index=True
    )
    record_id: Mapped[int | None]  # no foreign key: the record may be disposed of later
    field: Mapped[str] = mapped_column(String(200))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    third_parties: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DisputeNote(Base):
    """R11: the individual's statement that a value is wrong, after a rejected correction; shown
    in every later access report about the subject."""

    __tablename__ = "dispute_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("data_subject.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("privacy_request.id", ondelete="SET NULL")
    )
    field: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RequestItem(Base):
    """One line of a response: a record deleted (with its disposition), kept (with its basis and
    disposal date), corrected, redacted, exported, or a consent withdrawn."""

    __tablename__ = "request_item"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('deleted', 'kept', 'corrected', 'redacted', 'exported', 'withdrawn')",
            name="kind",
        ),
        Index("ix_request_item_request_id_kind", "request_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("privacy_request.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int | None]
    category: Mapped[str | None] = mapped_column(String(64))
    system: Mapped[str | None] = mapped_column(String(64))
    basis: Mapped[str | None] = mapped_column(Text)
    dispose_on: Mapped[dt.date | None] = mapped_column(Date)
    disposition_id: Mapped[int | None]
    hold_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
