"""Request, response and query models of retention: rules, the disposition plan, review batches,
purge runs, their certificates and the disposition report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from auditor.schemas.common import InputModel, OutputModel, PageQuery
from auditor.services.errors import FieldError


class RuleOut(OutputModel):
    code: str
    version: int
    category: str
    action: str
    requires_review: bool
    definition: dict[str, Any]
    created_by: str
    created_at: dt.datetime


class PlanQuery(InputModel):
    as_of: dt.date | None = Field(
        default=None, description="plan as of this date (default today, UTC)"
    )


# -- disposition review ---------------------------------------------------------------------------

MAX_SCHEDULE_MONTHS = 36  # the disposition schedule covers at most three years
ReviewStatus = Literal["open", "approved", "extended", "rejected"]
Justification = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]
TransferReference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class ReviewOut(OutputModel):
    """A batch of due records of one rule version waiting for (or given) an officer's decision."""

    id: int
    rule: str
    rule_version: int
    status: ReviewStatus
    created_at: dt.datetime
    created_by: str
    item_count: int = Field(description="records in the batch")
    decided_by: str | None = Field(description="the approver the dispositions cite")
    decided_at: dt.datetime | None
    justification: str | None
    extend_until: dt.date | None = Field(description="an extended batch's records wait until")
    transfer_reference: str | None = Field(
        description="the recorded transfer (rules that transfer, then delete)"
    )


class ReviewCounts(OutputModel):
    items: int
    remaining: int = Field(description="records of the batch still held (not anonymised)")
    disposed: int = Field(description="records the purge disposed of citing this batch")


class ReviewDetail(ReviewOut):
    counts: ReviewCounts
    record_ids: list[int] = Field(description="the first record ids of the batch, in id order")
    record_ids_truncated: bool


class ReviewsOpened(OutputModel):
    as_of: dt.date
    opened: list[ReviewOut] = Field(description="the batches opened now (none if up to date)")


class ReviewQuery(PageQuery):
    status: ReviewStatus | None = Field(default=None, description="open, approved, ...")


class ReviewDecision(InputModel):
    """approve (the purge may dispose), extend (until a later day) or reject (keep)."""

    decision: Literal["approve", "extend", "reject"]
    justification: Justification = Field(description="why (recorded with who and when)")
    extend_until: dt.date | None = Field(
        default=None, description="with extend: the day the records are reviewed again"
    )
    transfer_reference: TransferReference | None = Field(
        default=None, description="with approve: the transfer made (required by such rules)"
    )


# -- purge runs, certificates and the disposition report (R20, R22) --------------------------------


class RunOut(OutputModel):
    id: int
    as_of: dt.date
    status: Literal["running", "completed", "failed", "interrupted"]
    trigger: str
    executor: str
    job_run_id: int | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    last_record_id: int
    counts: dict[str, Any] = Field(
        description="disposed, subjects_removed, by_rule, blocked (by reason), credentials, "
        "and the audit positions of the run"
    )
    error: str | None


class RunQuery(InputModel):
    limit: int = Field(default=20, ge=1, le=200, description="how many of the latest runs")


class _Open(OutputModel):
    """Documents the known fields; fields added later pass through unchanged."""

    model_config = ConfigDict(extra="allow")


class RuleCount(_Open):
    rule: str | None
    version: int | None
    category: str | None
    subject_type: str
    method: str
    count: int


class DispositionSummary(_Open):
    count: int
    digest: str = Field(description="SHA-256 of the canonical lines (docs/disposition.md)")
    digest_algorithm: str
    first_id: int | None
    last_id: int | None
    first_at: str | None
    last_at: str | None
    by_rule: list[RuleCount]
    by_category: dict[str, int]


class CertificateRun(_Open):
    id: int
    as_of: str
    status: str
    trigger: str
    executor: str
    started_at: str
    finished_at: str | None


class CertificateAudit(_Open):
    run_started_seq: int | None
    run_completed_seq: int | None
    checkpoint: dict[str, Any] | None


class CertificateOut(_Open):
    """What a purge run disposed of, provably (R20): no personal data."""

    format: str
    run: CertificateRun
    dispositions: DispositionSummary
    blocked: dict[str, int]
    credentials: list[dict[str, Any]]
    digest_key_id: str = Field(description="the id of the key of the records' keyed digests")
    audit: CertificateAudit


class DispositionOut(_Open):
    """One disposition (R20), its canonical line (docs/disposition.md section 3): ids and keyed
    digests only, no personal data (R21). Lines converted from before migration 0011 (format 1)
    have ``holds_checked``, ``counts`` and ``audit_seq`` instead of ``batch`` and
    ``holds_in_force``."""

    id: int
    batch: int | None = None
    created_at: str
    subject_type: str
    subject_ref: str
    organization_id: int | None
    category: str | None
    digest: str | None
    rule: str | None
    rule_version: int | None
    trigger_evidence: dict[str, Any]
    holds_in_force: int | None = None
    approver: str | None
    executor: str
    method: str
    post_check: str
    run_id: int | None
    review_id: int | None


class BatchOut(_Open):
    """A disposition batch: where its lines are, their digest, the audit event committing to it."""

    id: int
    run_id: int | None
    first_id: int
    lines: int
    digest: str
    line_format: int
    audit_seq: int | None


class ReportPeriod(_Open):
    start: str
    end_exclusive: str


class ReportQueryText(_Open):
    sql: str = Field(description="the query that selected the dispositions (R22)")
    parameters: dict[str, Any]
    dialect: str


class DispositionReportOut(_Open):
    """Every disposition of a period and the query that selected them (R22)."""

    format: str
    period: ReportPeriod
    query: ReportQueryText
    summary: DispositionSummary
    batches: list[BatchOut]
    dispositions: list[DispositionOut] | None


class RecordDispositionsOut(_Open):
    """The dispositions of one record."""

    record: int
    dispositions: list[DispositionOut]


class DispositionsQuery(InputModel):
    start: dt.date | None = Field(
        default=None, alias="from", description="first day (UTC), inclusive"
    )
    end: dt.date | None = Field(default=None, alias="to", description="last day (UTC), exclusive")
    record: int | None = Field(
        default=None, ge=1, description="instead of a period: one record's dispositions, by id"
    )

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if start is not None and end is not None and end <= start:
            raise ValueError("must be after from")
        return end

    def problems(self) -> list[FieldError]:
        """What is missing or contradictory: a period, or a record, not both."""
        if self.record is not None:
            if self.start is not None or self.end is not None:
                return [FieldError("record", "give either record, or from and to")]
            return []
        return [
            FieldError(name, "required, unless record is given")
            for name, value in (("from", self.start), ("to", self.end))
            if value is None
        ]


class ScheduleQuery(InputModel):
    start: dt.date | None = Field(
        default=None, description="first day of the schedule (default today, UTC)"
    )
    months: int = Field(
        default=12,
        ge=1,
        le=MAX_SCHEDULE_MONTHS,
        description="calendar months covered after the start day",
    )
