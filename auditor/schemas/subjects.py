"""Request and response models of data subjects, identifiers, consents and subject look-ups."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from auditor.schemas.common import (
    AwareDatetime,
    Code,
    InputModel,
    Name,
    OutputModel,
    PageQuery,
    Text,
)

SubjectKind = Literal["client_staff", "individual_customer", "msp_staff", "other"]
IdentifierKind = Literal["email", "phone"]
ConsentMethod = Literal["web_form", "email", "verbal", "paper", "contract", "other"]
IdentifierValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)
]


class IdentifierIn(InputModel):
    kind: IdentifierKind
    value: IdentifierValue


class IdentifierOut(OutputModel):
    kind: str
    value: str


class ConsentIn(InputModel):
    purpose: Code
    given_at: AwareDatetime
    method: ConsentMethod
    text_version: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    evidence: Text | None = Field(default=None, description="where the proof of consent is kept")
    withdrawn_at: AwareDatetime | None = None
    withdrawal_method: ConsentMethod | None = None

    @model_validator(mode="after")
    def _withdrawal(self) -> ConsentIn:
        if self.withdrawn_at and self.withdrawn_at < self.given_at:
            raise ValueError("withdrawn_at is before given_at")
        if self.withdrawal_method and not self.withdrawn_at:
            raise ValueError("withdrawal_method needs withdrawn_at")
        return self


class ConsentOut(OutputModel):
    id: int
    purpose: str
    given_at: dt.datetime
    method: str
    text_version: str
    evidence: str | None
    withdrawn_at: dt.datetime | None
    withdrawal_method: str | None


class ConsentWithdrawal(InputModel):
    withdrawn_at: AwareDatetime
    withdrawal_method: ConsentMethod


class SubjectIn(InputModel):
    ref: Annotated[str, StringConstraints(pattern=r"^sub_[a-z0-9]{1,36}$")] | None = Field(
        default=None, description="stable reference; generated when absent"
    )
    display_name: Name | None = None
    kind: SubjectKind = "other"
    organization: Code | None = Field(default=None, description="organization code")
    is_quebec: bool = False
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=50)
    consents: list[ConsentIn] = Field(default_factory=list, max_length=200)


class SubjectUpdate(InputModel):
    display_name: Name | None = None
    kind: SubjectKind | None = None
    organization: Code | None = None
    is_quebec: bool | None = None


class SubjectOut(OutputModel):
    id: int
    ref: str
    display_name: str | None
    kind: str
    organization: str | None
    is_quebec: bool
    identifiers: list[IdentifierOut]
    consents: list[ConsentOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class SubjectLookup(InputModel):
    """Find a subject by any identifier: a POST body, so identifiers stay out of URLs and logs."""

    kind: Literal["email", "phone", "name"]
    value: IdentifierValue
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=500)


class SubjectQuery(PageQuery):
    organization: str | None = None
