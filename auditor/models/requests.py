"""Privacy requests from individuals (R1-R9, R29): the request, its documents, its search tasks.

The requester's name and contact, the identifiers they gave and the documents are personal data:
they live in these rows only, never in audit events or logs (those carry the request reference).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auditor.db import Base, JSONType, utcnow
from auditor.models.inventory import Organization, System, TimestampMixin
from auditor.models.subjects import DataSubject

#: the kinds of request an individual can make (R1-R13, R30)
RequestType = Literal["access", "correction", "deletion", "consent_withdrawal", "portability"]
#: the states of a request (services/requests/states.py holds the transitions between them)
RequestStatus = Literal[
    "received",
    "verifying",
    "in_progress",
    "extended",
    "completed",
    "partially_refused",
    "refused",
    "withdrawn",
]
#: how a request reached the MSP
Channel = Literal["email", "web_form", "mail", "phone", "in_person", "client_forwarded"]
#: the documents of a request's file
DocumentKind = Literal[
    "written_request",
    "correspondence",
    "identity_evidence",
    "extension_notice",
    "fee_estimate",
    "response",
    "refusal_letter",
    "other",
]
#: the states in which a request is still being answered (its file and recourse hold stay)
OPEN_STATUSES: tuple[str, ...] = ("received", "verifying", "in_progress", "extended")
TYPES: tuple[str, ...] = get_args(RequestType)
STATUSES: tuple[str, ...] = get_args(RequestStatus)
CHANNELS: tuple[str, ...] = get_args(Channel)
DOCUMENT_KINDS: tuple[str, ...] = get_args(DocumentKind)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PrivacyRequest(TimestampMixin, Base):
    """One request from an individual (or forwarded by a client for one): access, correction,
    deletion, consent withdrawal or portability, with its clock (R1-R4) and its decisions."""

    __tablename__ = "privacy_request"
    __table_args__ = (
        CheckConstraint(_one_of("type", TYPES), name="type"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint("respond_to IN ('individual', 'client')", name="respond_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # PR-2026-00001
    type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(24), default="received", index=True)
    channel: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[dt.datetime]
    original_due_at: Mapped[dt.datetime]  # received_at + 30 days (R1): day 30
    due_at: Mapped[dt.datetime] = mapped_column(index=True)  # the extended date once extended
    # the requester's (or forwarding client's) own reference, e.g. their ticket number
    external_reference: Mapped[str | None] = mapped_column(String(200), index=True)
    created_by: Mapped[str] = mapped_column(String(200))

    # personal data: never copied into audit details or logs
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_contact: Mapped[str] = mapped_column(String(320))
    subject_identifiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)

    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_subject.id", ondelete="SET NULL"), index=True
    )
    forwarded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT")
    )
    client_instructions: Mapped[str | None] = mapped_column(Text)
    respond_to: Mapped[str] = mapped_column(String(16), default="individual")

    verification_method: Mapped[str | None] = mapped_column(String(32))
    verified_by: Mapped[str | None] = mapped_column(String(200))
    verified_at: Mapped[dt.datetime | None]
    verification_note: Mapped[str | None] = mapped_column(Text)

    # the one extension (R2/R3) and its notice to the individual
    extension_reason: Mapped[str | None] = mapped_column(String(40))
    extension_notice_sent_at: Mapped[dt.datetime | None]
    extension_notice_text: Mapped[str | None] = mapped_column(Text)
    extension_opc_statement: Mapped[bool] = mapped_column(default=False)
    extended_by: Mapped[str | None] = mapped_column(String(200))
    extended_at: Mapped[dt.datetime | None]

    # a fee (R5): only after a cost estimate and the individual's confirmation
    fee_estimate_sent_at: Mapped[dt.datetime | None]
    fee_confirmed_at: Mapped[dt.datetime | None]
    fee_amount_cents: Mapped[int | None]

    # the decision: grounds and reasons of a (partial) refusal (R7), who closed it and when
    refusal_grounds: Mapped[list[str]] = mapped_column(JSONType, default=list)
    refusal_reasons: Mapped[str | None] = mapped_column(Text)
    closing_note: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[dt.datetime | None]  # completed, partially refused or refused
    closed_at: Mapped[dt.datetime | None]  # any final state, withdrawn included
    closed_by: Mapped[str | None] = mapped_column(String(200))

    complaint_at: Mapped[dt.datetime | None]  # a complaint to the OPC (R9: open-ended hold)
    complaint_note: Mapped[str | None] = mapped_column(Text)
    deemed_refused_at: Mapped[dt.datetime | None]  # when the deadline job recorded R4
    # when the request's own file may be disposed of (null while open or under complaint)
    file_retention_until: Mapped[dt.date | None] = mapped_column(Date)
    # final documents and the deletion with search tasks still open: the officer's reason
    searches_override_reason: Mapped[str | None] = mapped_column(Text)
    searches_override_by: Mapped[str | None] = mapped_column(String(200))
    searches_override_at: Mapped[dt.datetime | None]

    subject: Mapped[DataSubject | None] = relationship()
    forwarded_by: Mapped[Organization | None] = relationship()
    tasks: Mapped[list[RequestTask]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestTask.id"
    )
    documents: Mapped[list[RequestDocument]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestDocument.id"
    )


class RequestDocument(Base):
    """A document of a request's file: the written request, correspondence, notices, letters."""

    __tablename__ = "request_document"
    __table_args__ = (CheckConstraint(_one_of("kind", DOCUMENT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("privacy_request.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str | None] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded on demand
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    request: Mapped[PrivacyRequest] = relationship(back_populates="documents")


class RequestTask(TimestampMixin, Base):
    """The search of one system for a request: who does it, what was found and done."""

    __tablename__ = "request_task"
    __table_args__ = (UniqueConstraint("request_id", "system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("privacy_request.id", ondelete="CASCADE"), index=True
    )
    system_id: Mapped[int] = mapped_column(ForeignKey("system.id", ondelete="RESTRICT"))
    assignee: Mapped[str | None] = mapped_column(String(200))  # the system's owner
    holds_records: Mapped[bool] = mapped_column(default=False)  # records of the subject there
    searched: Mapped[bool] = mapped_column(default=False)
    searched_at: Mapped[dt.datetime | None]
    found: Mapped[bool | None]
    # [{"element": ..., "action": unmodified|deleted|corrected|redacted, "note": ...}]
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))

    request: Mapped[PrivacyRequest] = relationship(back_populates="tasks")
    system: Mapped[System] = relationship()
