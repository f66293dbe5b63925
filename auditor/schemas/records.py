"""Request and response models of records and their ingest."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, model_validator

from auditor.schemas.common import AwareDatetime, Code, InputModel, OutputModel
from auditor.schemas.subjects import IdentifierIn, SubjectOut

WriteOutcome = Literal["inserted", "updated", "unchanged"]


class RecordIn(InputModel):
    """One record from a source system; (system, external_id) identifies it for upserts."""

    system: Code
    external_id: str = Field(min_length=1, max_length=200)
    category: Code
    client: Code = Field(description="code of the client organization the record belongs to")
    subjects: list[IdentifierIn] = Field(
        default_factory=list, max_length=100, description="people the record concerns"
    )
    created_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    document_date: dt.date | None = None
    event_at: AwareDatetime | None = None
    content: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates(self) -> RecordIn:
        if self.closed_at and self.closed_at < self.created_at:
            raise ValueError("closed_at is before created_at")
        return self


class RecordOut(OutputModel):
    id: int
    system: str
    external_id: str
    category: str
    client: str
    subjects: list[str] = Field(description="refs of the subjects the record concerns")
    created_at: dt.datetime
    closed_at: dt.datetime | None
    document_date: dt.date | None
    event_at: dt.datetime | None
    content: dict[str, Any]
    content_digest: str
    pan_redactions: int
    ingested_at: dt.datetime
    updated_at: dt.datetime


class RecordWriteResult(OutputModel):
    record: RecordOut
    outcome: WriteOutcome


class RejectedLine(OutputModel):
    line: int
    errors: list[dict[str, Any]]


class IngestSummary(OutputModel):
    received: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    pan_redactions: int
    rejected_lines: list[RejectedLine] = Field(default_factory=list)


class RecordQuery(InputModel):
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=500)
    client: Code | None = None
    category: Code | None = None
    system: Code | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None


class BulkQuery(InputModel):
    skip_invalid: bool = Field(
        default=False,
        description="import the good lines and report the bad ones (default: all or nothing)",
    )


class SubjectLookupOut(OutputModel):
    subjects: list[SubjectOut]
    records: list[RecordOut]
    next_cursor: str | None
