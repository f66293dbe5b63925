"""Request and response models of the breach register (R24-R27)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from auditor.schemas.common import AwareDatetime, Code, InputModel, OutputModel, PageQuery

Level = Literal["low", "medium", "high"]
Recipient = Literal["opc", "cai", "individuals", "organization", "public"]
Regulator = Literal["opc", "cai"]
Method = Literal["email", "letter", "phone", "portal", "in_person", "public_notice", "other"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Prose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64)]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^BR-\d{4}-\d{4,}$")
]


class BreachFields(InputModel):
    """What can be said of a breach when it is recorded, and changed later."""

    title: Title = Field(description="a short name for the register; no one's name in it")
    occurred_from: dt.date = Field(description="the day it happened, or the start of the period")
    occurred_to: dt.date | None = Field(default=None, description="the end of the period")
    occurred_approximate: bool = Field(default=False, description="the dates are an estimate")
    discovered_at: AwareDatetime = Field(description="when the MSP became aware of it")
    determined_at: AwareDatetime | None = Field(
        default=None, description="when it was determined a breach occurred (R25 counts from it)"
    )
    circumstances: Prose = Field(description="what happened")
    cause: Prose | None = Field(default=None, description="the cause, if known")
    information: Prose = Field(description="the personal information involved")
    information_unknown_reason: Prose | None = Field(
        default=None, description="why the information involved cannot be described (Québec)"
    )
    categories: list[Code] = Field(default_factory=list, description="data category codes")
    affected_count: int | None = Field(default=None, ge=0, le=2_000_000_000)
    affected_approximate: bool = False
    mitigation: Prose | None = Field(default=None, description="steps taken to reduce the harm")
    notification_steps: Prose | None = Field(
        default=None, description="steps taken or intended to notify the individuals"
    )
    individual_advice: Prose | None = Field(
        default=None, description="what the people affected can do to reduce the harm (letter)"
    )
    contact_name: Short | None = Field(default=None, description="who answers the OPC's questions")
    contact_title: Short | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    public_notice_reason: Prose | None = Field(
        default=None, description="why a public notice was given (Québec register)"
    )


class BreachIn(BreachFields):
    client: Code | None = Field(
        default=None, description="the client whose people are affected; none: the MSP or several"
    )
    quebec: bool | None = Field(
        default=None, description="Québec rules apply (default: the client's Québec flag)"
    )


class AssessmentIn(InputModel):
    """The real-risk-of-significant-harm assessment (R24), kept even when nothing is reported."""

    sensitivity: Level
    misuse_probability: Level
    consequences: Prose | None = Field(default=None, description="the consequences anticipated")
    rrosh: bool = Field(description="the conclusion: a real risk of significant harm")
    rationale: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=20, max_length=10_000)
    ] = Field(description="why (at least 20 characters)")


class NotificationIn(InputModel):
    recipient: Recipient
    recipient_name: Short | None = Field(
        default=None, description="the organization told (required for an organization)"
    )
    method: Method
    sent_at: AwareDatetime
    notified_count: int | None = Field(default=None, ge=0, le=2_000_000_000)
    notes: Prose | None = None

    @model_validator(mode="after")
    def _organization_named(self) -> NotificationIn:
        if self.recipient == "organization" and not self.recipient_name:
            raise ValueError("recipient_name is required when the recipient is an organization")
        return self


class LetterIn(InputModel):
    to: Short | None = Field(
        default=None, description="the person's name; none: a letter to the people affected"
    )


class ReportIn(InputModel):
    regulator: Regulator = "opc"


class ReportSent(InputModel):
    sent_at: AwareDatetime


class NotificationOut(OutputModel):
    id: int
    recipient: str
    recipient_name: str | None
    method: str
    sent_at: dt.datetime
    notified_count: int | None
    notes: str | None
    recorded_by: str


class ReportOut(OutputModel):
    id: int
    regulator: str
    version: int
    kind: Literal["initial", "update"]
    content: dict[str, object]
    content_sha256: str
    generated_by: str
    generated_at: dt.datetime
    sent_at: dt.datetime | None
    sent_by: str | None


class BreachOut(OutputModel):
    id: int
    reference: str
    client: str | None
    quebec: bool
    title: str
    occurred_from: dt.date
    occurred_to: dt.date | None
    occurred_approximate: bool
    discovered_at: dt.datetime
    determined_at: dt.datetime | None
    circumstances: str
    cause: str | None
    information: str
    information_unknown_reason: str | None
    categories: list[str]
    affected_count: int | None
    affected_approximate: bool
    mitigation: str | None
    notification_steps: str | None
    individual_advice: str | None
    contact_name: str | None
    contact_title: str | None
    contact_email: str | None
    contact_phone: str | None
    public_notice_reason: str | None
    sensitivity: str | None
    misuse_probability: str | None
    consequences: str | None
    rrosh: bool | None = Field(description="null: not assessed yet")
    rrosh_rationale: str | None
    assessed_by: str | None
    assessed_at: dt.datetime | None
    retain_until: dt.date | None = Field(description="R25: kept at least until this day")
    recorded_by: str
    recorded_at: dt.datetime
    updated_at: dt.datetime
    report_missing: list[str] = Field(description="R26 fields still empty for the OPC report")
    register_missing: list[str] = Field(description="Québec register fields still empty (R27)")
    outstanding: list[str] = Field(description="what the conclusion still requires")
    notifications: list[NotificationOut]
    reports: list[ReportOut]


class BreachQuery(PageQuery):
    client: Code | None = None
    rrosh: Literal["yes", "no", "unassessed"] | None = Field(
        default=None, description="by the assessment's conclusion"
    )
    quebec: bool | None = None


class RegisterQuery(InputModel):
    client: Code | None = None
    quebec: bool | None = Field(default=None, description="only Québec-flagged breaches")


class RegisterOut(OutputModel):
    kind: Literal["breaches", "quebec_incidents"] = Field(
        description="the breach register (R24), or Québec's incident register (R27)"
    )
    fields: list[str] = Field(description="the register's fields, in order")
    items: list[dict[str, object]]
