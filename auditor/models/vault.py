"""The credentials vault: master-key canaries, wrapped client keys, sealed secrets, grants,
hand-overs. Values, usernames and notes are stored only sealed (docs/crypto-format.md)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditor.db import Base, utcnow
from auditor.models.inventory import Organization, System


def new_secret_ref() -> str:
    return "sec_" + uuid.uuid4().hex


class MasterKeyCanary(Base):
    """Proof that a master key version is the one that wrapped the stored client keys."""

    __tablename__ = "master_key_canary"

    master_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    canary: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ClientKey(Base):
    """One version of a client organization's key, wrapped under a master key version."""

    __tablename__ = "client_key"
    __table_args__ = (UniqueConstraint("organization_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int]
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    master_version: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()


class Secret(Base):
    """A credential of one client. The value, the username and the notes are AUS blobs, all
    under ``client_key_version``; the username also has a blind index, for exact search. Name,
    kind, URL, system and times stay plain: listing, search and the retention checks read them
    (docs/crypto-format.md, section 8)."""

    __tablename__ = "secret"
    __table_args__ = (
        CheckConstraint("kind IN ('password', 'api_key', 'totp_seed', 'note')", name="kind"),
        Index(
            "ix_secret_organization_id_client_key_version", "organization_id", "client_key_version"
        ),
        Index("ix_secret_organization_id_username_index", "organization_id", "username_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True, default=new_secret_ref)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2000))
    system_id: Mapped[int | None] = mapped_column(ForeignKey("system.id", ondelete="SET NULL"))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    username_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    username_index: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256, hex
    notes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    client_key_version: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    value_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_revealed_at: Mapped[dt.datetime | None]

    organization: Mapped[Organization] = relationship()
    system: Mapped[System | None] = relationship()


class VaultGrant(Base):
    """A technician's access to one client's vault (admins and officers see every client)."""

    __tablename__ = "vault_grant"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Handover(Base):
    """A client's credentials exported at termination, and the client's acknowledgement (R16)."""

    __tablename__ = "handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(100))
    secrets_count: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(String(64))
    exported_by: Mapped[str] = mapped_column(String(200))
    exported_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledgement: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(200))
