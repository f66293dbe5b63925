"""The append-only audit trail and its signed checkpoints (docs/audit-log.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType


class AuditEvent(Base):
    """One audit event: a leaf of the Merkle tree, chained to the previous event's hash."""

    __tablename__ = "audit_event"
    # what happened to one object, in order: a request's timeline
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(index=True)
    source_ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint note) of the audit tree at some size."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    note: Mapped[str] = mapped_column(Text)
