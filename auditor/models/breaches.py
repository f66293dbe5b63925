"""The breach register (R24-R27): breaches, the notifications made, the reports to regulators."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from auditor.db import Base, JSONType, utcnow

LEVELS = "('low', 'medium', 'high')"


class Breach(Base):
    """One breach of security safeguards, recorded whether or not it poses a real risk of
    significant harm (R24). Never deleted by hand: the retention purge disposes of it (R25)."""

    __tablename__ = "breach"
    __table_args__ = (
        CheckConstraint(f"sensitivity IS NULL OR sensitivity IN {LEVELS}", name="sensitivity"),
        CheckConstraint(
            f"misuse_probability IS NULL OR misuse_probability IN {LEVELS}",
            name="misuse_probability",
        ),
        CheckConstraint("affected_count IS NULL OR affected_count >= 0", name="affected_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # BR-2026-0001
    # the client whose people's information was involved; None: the MSP's own or several
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    quebec: Mapped[bool] = mapped_column(default=False)  # R25, R27: 5 years, the CAI register
    title: Mapped[str] = mapped_column(String(200))
    # when it happened (a day or a period), and whether that is an approximation (R27 field 3)
    occurred_from: Mapped[dt.date] = mapped_column(Date)
    occurred_to: Mapped[dt.date | None] = mapped_column(Date)
    occurred_approximate: Mapped[bool] = mapped_column(default=False)
    discovered_at: Mapped[dt.datetime]  # when the MSP became aware of it (R27 field 4)
    determined_at: Mapped[dt.datetime | None]  # when it was determined a breach: R25 counts from it
    circumstances: Mapped[str] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    information: Mapped[str] = mapped_column(Text)  # the personal information involved
    information_unknown_reason: Mapped[str | None] = mapped_column(Text)  # R27 field 1
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)  # data category codes
    affected_count: Mapped[int | None]
    affected_approximate: Mapped[bool] = mapped_column(default=False)
    mitigation: Mapped[str | None] = mapped_column(Text)  # steps taken to reduce the harm
    notification_steps: Mapped[str | None] = mapped_column(Text)  # to notify individuals (R26)
    individual_advice: Mapped[str | None] = mapped_column(Text)  # what they can do themselves
    contact_name: Mapped[str | None] = mapped_column(String(200))  # who answers the OPC (R26)
    contact_title: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(64))
    # the real-risk-of-significant-harm assessment (R24); rrosh None: not assessed yet
    sensitivity: Mapped[str | None] = mapped_column(String(8))
    misuse_probability: Mapped[str | None] = mapped_column(String(8))
    consequences: Mapped[str | None] = mapped_column(Text)  # anticipated consequences (R27 f. 6)
    rrosh: Mapped[bool | None]
    rrosh_rationale: Mapped[str | None] = mapped_column(Text)
    assessed_by: Mapped[str | None] = mapped_column(String(200))
    assessed_at: Mapped[dt.datetime | None]
    public_notice_reason: Mapped[str | None] = mapped_column(Text)  # R27 field 7, when given
    retain_until: Mapped[dt.date | None] = mapped_column(Date)  # R25, set once determined
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BreachNotification(Base):
    """A notice given about a breach: to the OPC or Québec's Commission d'accès à l'information,
    to the individuals, to another organization that can reduce the harm, or to the public."""

    __tablename__ = "breach_notification"
    __table_args__ = (
        CheckConstraint(
            "recipient IN ('opc', 'cai', 'individuals', 'organization', 'public')",
            name="recipient",
        ),
        CheckConstraint("notified_count IS NULL OR notified_count >= 0", name="notified_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breach.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(16))
    recipient_name: Mapped[str | None] = mapped_column(String(200))  # the organization told
    method: Mapped[str] = mapped_column(String(32))  # email, letter, phone, portal, ...
    sent_at: Mapped[dt.datetime]
    notified_count: Mapped[int | None]  # individuals told
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BreachReport(Base):
    """One version of the report to a regulator (R26): its fields frozen when it was generated,
    with their SHA-256, and when it was sent. Versions are numbered per breach and regulator."""

    __tablename__ = "breach_report"
    __table_args__ = (
        UniqueConstraint("breach_id", "regulator", "version"),
        CheckConstraint("regulator IN ('opc', 'cai')", name="regulator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breach.id", ondelete="CASCADE"), index=True)
    regulator: Mapped[str] = mapped_column(String(8))
    version: Mapped[int]  # 1: the initial report; 2 and after: updates
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_sha256: Mapped[str] = mapped_column(String(64))
    generated_by: Mapped[str] = mapped_column(String(200))
    generated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    sent_by: Mapped[str | None] = mapped_column(String(200))
