"""Request and response models of privacy requests (R1-R9, R29), their tasks and documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from auditor.models.requests import Channel as Channel
from auditor.models.requests import DocumentKind as DocumentKind
from auditor.models.requests import RequestStatus as RequestStatus
from auditor.models.requests import RequestType as RequestType
from auditor.schemas.common import (
    AwareDatetime,
    Code,
    InputModel,
    Name,
    OutputModel,
    PageQuery,
    RowId,
    Text,
)
from auditor.schemas.subjects import ConsentMethod, IdentifierIn

RespondTo = Literal["individual", "client"]
VerificationMethod = Literal[
    "matched_known_contact", "government_id_sighted", "client_confirmed", "account_login", "other"
]
ExtensionReason = Literal["unreasonable_interference", "consultations_needed", "alternative_format"]
RefusalGround = Literal[
    "third_party_information",
    "solicitor_client_privilege",
    "confidential_commercial_information",
    "threat_to_life_or_security",
    "investigation_of_breach",
    "formal_dispute_resolution",
]
TaskActionKind = Literal["unmodified", "deleted", "corrected", "redacted"]
MediaType = Literal[
    "application/pdf",
    "text/plain",
    "message/rfc822",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
]

Contact = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Filename = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Base64 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=800_000)]
SubjectRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class FileIn(InputModel):
    """A file sent inline: its bytes in base64 (standard alphabet), with its media type."""

    media_type: MediaType
    content_base64: Base64
    filename: Filename | None = None


class DocumentIn(FileIn):
    kind: DocumentKind = "correspondence"


class RequestIn(InputModel):
    """A privacy request at intake. It must be in writing (PIPEDA s. 8(1)): ``request_text``,
    ``document`` or both. The requester's name and contact stay in the request's row only."""

    type: RequestType
    channel: Channel
    received_at: AwareDatetime = Field(description="when it was received; may be in the past")
    requester_name: Name
    requester_contact: Contact = Field(description="email, phone or postal address")
    identifiers: list[IdentifierIn] = Field(
        default=[], max_length=10, description="the subject's email or phone, to find them"
    )
    subject: SubjectRef | None = Field(default=None, description="the data subject's ref")
    request_text: Note | None = Field(default=None, description="the written request")
    document: FileIn | None = Field(default=None, description="the written request, as a file")
    forwarded_by: Code | None = Field(
        default=None, description="the client that forwarded it (the MSP is its processor)"
    )
    client_instructions: Note | None = None
    respond_to: RespondTo | None = Field(
        default=None, description="who gets the response: 'client' by default when forwarded"
    )
    external_reference: ShortText | None = Field(
        default=None, description="the requester's or client's own reference"
    )


class TransitionIn(InputModel):
    to: RequestStatus
    at: AwareDatetime | None = Field(default=None, description="when (default: now)")
    note: Note | None = None
    grounds: list[RefusalGround] = Field(default=[], description="R7 grounds of a refusal")
    reasons: Note | None = Field(default=None, description="the reasons of a refusal (R7)")


class VerificationIn(InputModel):
    method: VerificationMethod
    verified_at: AwareDatetime | None = Field(default=None, description="default: now")
    note: Note | None = None


class ExtensionIn(InputModel):
    """The one extension (R2/R3) and the notice sent to the individual by day 30."""

    reason: ExtensionReason
    new_due_at: AwareDatetime
    notice_sent_at: AwareDatetime
    notice_text: Note
    opc_statement: bool = Field(
        default=False, description="the notice states the right to complain to the OPC"
    )


class FeeIn(InputModel):
    """A fee (R5): only after a cost estimate was sent and the individual confirmed."""

    amount: Decimal = Field(ge=0, max_digits=9, decimal_places=2, description="CAD")
    estimate_sent_at: AwareDatetime | None = None
    confirmed_at: AwareDatetime | None = Field(
        default=None, description="when the individual confirmed the request stands"
    )


class ComplaintIn(InputModel):
    complaint_at: AwareDatetime = Field(description="when the complaint to the OPC was made")
    note: Note | None = None


#: a reason an auditor can read: why the answer may go with searches still open
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=2000)]


class SearchesOverrideIn(InputModel):
    """A privacy officer's decision to answer the request although search tasks are open."""

    reason: Reason = Field(
        description="why the answer may go now (at least 20 characters), e.g. which systems "
        "cannot hold the person's data and why"
    )


class SearchesOverrideOut(OutputModel):
    reason: str
    by: str
    at: dt.datetime


class SubjectLinkIn(InputModel):
    subject: SubjectRef


class TaskActionIn(InputModel):
    element: ShortText = Field(description="the data element, e.g. 'ticket contact field'")
    action: TaskActionKind
    note: Note | None = None


class TaskUpdate(InputModel):
    """Only the fields sent change; ``closed: true`` closes the task (it must be searched)."""

    searched: bool | None = None
    found: bool | None = None
    actions: list[TaskActionIn] | None = Field(default=None, max_length=500)
    note: Note | None = None
    closed: bool | None = None


class RequestQuery(PageQuery):
    status: RequestStatus | None = None
    type: RequestType | None = None
    overdue: bool | None = Field(default=None, description="open and past the due date (R4)")


class VerificationOut(OutputModel):
    method: str
    verified_by: str
    verified_at: dt.datetime
    note: str | None


class ExtensionOut(OutputModel):
    reason: str
    new_due_at: dt.datetime
    notice_sent_at: dt.datetime
    notice_text: str
    opc_statement: bool
    extended_by: str
    extended_at: dt.datetime


class FeeOut(OutputModel):
    amount: str = Field(description="CAD, two decimals")
    estimate_sent_at: dt.datetime
    confirmed_at: dt.datetime


class TasksSummary(OutputModel):
    total: int
    open: int
    closed: int
    holding_records: int


class TaskActionOut(OutputModel):
    element: str
    action: str
    note: str | None = None


class TaskOut(OutputModel):
    id: int
    system: str
    system_name: str
    assignee: str | None
    holds_records: bool
    searched: bool
    searched_at: dt.datetime | None
    found: bool | None
    actions: list[TaskActionOut]
    note: str | None
    closed_at: dt.datetime | None
    closed_by: str | None


class DocumentOut(OutputModel):
    id: int
    kind: str
    filename: str | None
    media_type: str
    size: int
    sha256: str
    added_by: str
    added_at: dt.datetime


class RequesterOut(OutputModel):
    name: str
    contact: str


class RequestOut(OutputModel):
    """A request as lists show it: its clock and flags, never the requester's identity."""

    reference: str
    type: str
    status: str
    channel: str
    received_at: dt.datetime
    original_due_at: dt.datetime = Field(description="received_at + 30 days (R1)")
    due_at: dt.datetime = Field(description="the due date, extended or not")
    days_left: int = Field(description="calendar days to the due date; negative when past")
    overdue: bool
    deemed_refused: bool = Field(description="open past its due date (R4)")
    deadline_met: bool | None = Field(description="answered by the due date; null while open")
    subject: str | None = Field(description="the data subject's ref; null until linked")
    is_quebec: bool = Field(description="the subject or its client is Québec-flagged (R29)")
    forwarded_by: str | None
    respond_to: str
    external_reference: str | None
    verified: bool
    verification: VerificationOut | None
    extension: ExtensionOut | None
    fee: FeeOut | None
    refusal_grounds: list[str]
    responded_at: dt.datetime | None
    closed_at: dt.datetime | None
    closed_by: str | None
    complaint_at: dt.datetime | None
    file_retention_until: dt.date | None = Field(
        description="when the request's own file may go; null while open or under complaint"
    )
    tasks_summary: TasksSummary
    created_by: str
    created_at: dt.datetime


class RequestDetail(RequestOut):
    """One request with its tasks and documents. ``requester`` is shown to officers only and
    ``identifiers`` to officers and technicians (to search their systems); null otherwise."""

    requester: RequesterOut | None
    identifiers: list[dict[str, str]] | None
    client_instructions: str | None
    refusal_reasons: str | None
    closing_note: str | None
    complaint_note: str | None
    searches_override: SearchesOverrideOut | None = Field(
        description="the officer's reason to answer with search tasks still open"
    )
    tasks: list[TaskOut]
    documents: list[DocumentOut]


# -- what the other kinds of request change (R10-R13) --------------------------------------------

FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CorrectionIn(InputModel):
    field: FieldName = Field(
        description="display_name, email, phone (email[2]: the second address), or a path into "
        "the record's content (summary, contact.name) with record_id"
    )
    new_value: Text
    record_id: RowId | None = Field(default=None, description="a record of the request's subject")


class RejectionIn(InputModel):
    field: FieldName
    record_id: RowId | None = None
    reason: Text = Field(description="why the value stays as it is")
    statement: Text = Field(description="the individual's statement of disagreement (R11)")
    requested_value: Text | None = Field(default=None, description="what the individual asked for")


class DeletionIn(InputModel):
    confirm: Literal[True] = Field(description="must be true: the deletion cannot be undone")


class WithdrawalIn(InputModel):
    purpose: Code = Field(description="the purpose code, e.g. marketing")
    effective_at: AwareDatetime | None = Field(
        default=None, description="when the withdrawal takes effect (default now; may be earlier)"
    )
    method: ConsentMethod | None = None


class MarketingQuery(InputModel):
    as_of: AwareDatetime | None = Field(default=None, description="default now")


class DeskQuery(InputModel):
    """The request desk's filters, as the list page and its CSV read them from the URL."""

    status: RequestStatus | None = None
    type: RequestType | None = None
    client: Code | None = None
    quebec: bool | None = None
    due_within: int | None = Field(default=None, ge=0, le=366, description="days, today counts")
    overdue: bool | None = None
    page: int = Field(default=1, ge=1, le=10_000)
