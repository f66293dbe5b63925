"""Inventory tables: organizations, agreements, systems, purposes, categories, third parties."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditor.db import Base, JSONType, utcnow


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Organization(TimestampMixin, Base):
    """The MSP itself or one of its clients."""

    __tablename__ = "organization"
    __table_args__ = (CheckConstraint("kind IN ('msp', 'client')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    is_quebec: Mapped[bool] = mapped_column(default=False)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    notes: Mapped[str | None] = mapped_column(Text)

    agreements: Mapped[list[Agreement]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="Agreement.id"
    )


class Agreement(TimestampMixin, Base):
    """A service agreement (MSA) between the MSP and a client."""

    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'terminated')", name="status"),
        UniqueConstraint("organization_id", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    reference: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), default="msa")
    status: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[dt.date] = mapped_column(Date)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)

    organization: Mapped[Organization] = relationship(back_populates="agreements")


class System(TimestampMixin, Base):
    """A system where data lives: PSA, RMM, billing, log store, the vault."""

    __tablename__ = "system"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    vendor: Mapped[str | None] = mapped_column(String(200))
    hosting_country: Mapped[str | None] = mapped_column(String(2))
    safeguards: Mapped[list[str]] = mapped_column(JSONType, default=list)
    certifications: Mapped[list[str]] = mapped_column(JSONType, default=list)
    owner: Mapped[str | None] = mapped_column(String(200))


class Purpose(TimestampMixin, Base):
    """Why the MSP holds a category of data (service delivery, security monitoring, ...)."""

    __tablename__ = "purpose"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)


category_purpose = Table(
    "category_purpose",
    Base.metadata,
    Column(
        "category_id", Integer, ForeignKey("data_category.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("purpose_id", Integer, ForeignKey("purpose.id", ondelete="RESTRICT"), primary_key=True),
)


class DataCategory(TimestampMixin, Base):
    """A category of data with its purposes, controller, basis and retention (R14)."""

    __tablename__ = "data_category"
    __table_args__ = (
        CheckConstraint("controller_kind IN ('msp', 'client')", name="controller_kind"),
        CheckConstraint("trigger_type IN ('time', 'event')", name="trigger_type"),
        CheckConstraint(
            "min_retention_days IS NULL OR max_retention_days IS NULL "
            "OR min_retention_days <= max_retention_days",
            name="retention_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    controller_kind: Mapped[str] = mapped_column(String(16), default="msp")
    controller_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT")
    )
    basis: Mapped[str | None] = mapped_column(Text)
    min_retention_days: Mapped[int | None]
    max_retention_days: Mapped[int | None]
    trigger_type: Mapped[str | None] = mapped_column(String(16))
    trigger: Mapped[str | None] = mapped_column(String(64))
    is_sensitive: Mapped[bool] = mapped_column(default=False)

    purposes: Mapped[list[Purpose]] = relationship(
        secondary=category_purpose, order_by="Purpose.code"
    )
    controller_organization: Mapped[Organization | None] = relationship()


class ThirdParty(TimestampMixin, Base):
    """A vendor or other organization that data is disclosed to."""

    __tablename__ = "third_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    certifications: Mapped[list[str]] = mapped_column(JSONType, default=list)
    contact_email: Mapped[str | None] = mapped_column(String(320))


class Disclosure(TimestampMixin, Base):
    """Which category goes to which third party, and for which purpose."""

    __tablename__ = "disclosure"
    __table_args__ = (UniqueConstraint("category_id", "third_party_id", "purpose_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("data_category.id", ondelete="RESTRICT"), index=True
    )
    third_party_id: Mapped[int] = mapped_column(
        ForeignKey("third_party.id", ondelete="RESTRICT"), index=True
    )
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purpose.id", ondelete="RESTRICT"))
    description: Mapped[str | None] = mapped_column(Text)

    category: Mapped[DataCategory] = relationship()
    third_party: Mapped[ThirdParty] = relationship()
    purpose: Mapped[Purpose] = relationship()
