"""Data subjects, their identifiers and their consents."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditor.db import Base, utcnow
from auditor.models.inventory import Organization, Purpose, TimestampMixin


def new_ref() -> str:
    return "sub_" + uuid.uuid4().hex


class DataSubject(TimestampMixin, Base):
    """A person the MSP holds data about: client staff, an individual customer."""

    __tablename__ = "data_subject"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('client_staff', 'individual_customer', 'msp_staff', 'other')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True, default=new_ref)
    display_name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="other")
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    is_quebec: Mapped[bool] = mapped_column(default=False)

    organization: Mapped[Organization | None] = relationship()
    identifiers: Mapped[list[SubjectIdentifier]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", order_by="SubjectIdentifier.id"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", order_by="Consent.id"
    )


class SubjectIdentifier(Base):
    """An email address or phone number that identifies one subject (stored normalised)."""

    __tablename__ = "subject_identifier"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint("kind IN ('email', 'phone')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("data_subject.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    subject: Mapped[DataSubject] = relationship(back_populates="identifiers")


class Consent(TimestampMixin, Base):
    """Consent a subject gave for a purpose, and its withdrawal."""

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("subject_id", "purpose_id", "given_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("data_subject.id", ondelete="CASCADE"), index=True
    )
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purpose.id", ondelete="RESTRICT"))
    given_at: Mapped[dt.datetime]
    method: Mapped[str] = mapped_column(String(32))
    text_version: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawal_method: Mapped[str | None] = mapped_column(String(32))

    subject: Mapped[DataSubject] = relationship(back_populates="consents")
    purpose: Mapped[Purpose] = relationship()
