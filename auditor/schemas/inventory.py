"""Request and response models of the data inventory."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import EmailStr, Field, model_validator

from auditor.schemas.common import Code, Country, InputModel, Name, OutputModel, Text

SystemKind = Literal["psa", "rmm", "billing", "log_store", "vault", "email", "backup", "other"]
Certification = Literal["soc2_type1", "soc2_type2", "iso27001", "iso27017", "iso27018", "pci_dss"]
TriggerType = Literal["time", "event"]
Trigger = Literal[
    "created_at",
    "closed_at",
    "document_date",
    "event_at",
    "agreement_termination",
    "relationship_end",
    "consent_withdrawal",
]


class AgreementIn(InputModel):
    reference: Code
    kind: Literal["msa", "sow", "dpa", "other"] = "msa"
    status: Literal["draft", "active", "terminated"]
    start_date: dt.date
    termination_date: dt.date | None = None

    @model_validator(mode="after")
    def _dates(self) -> AgreementIn:
        if self.termination_date and self.termination_date < self.start_date:
            raise ValueError("termination_date is before start_date")
        if self.status == "terminated" and self.termination_date is None:
            raise ValueError("a terminated agreement needs a termination_date")
        return self


class AgreementOut(OutputModel):
    reference: str
    kind: str
    status: str
    start_date: dt.date
    termination_date: dt.date | None


class OrganizationIn(InputModel):
    code: Code
    name: Name
    kind: Literal["msp", "client"]
    is_quebec: bool = Field(default=False, description="the client falls under Québec's Law 25")
    contact_email: EmailStr | None = None
    notes: Text | None = None
    agreements: list[AgreementIn] = Field(default_factory=list)


class OrganizationOut(OutputModel):
    id: int
    code: str
    name: str
    kind: str
    is_quebec: bool
    contact_email: str | None
    notes: str | None
    agreements: list[AgreementOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class SystemIn(InputModel):
    code: Code
    name: Name
    kind: SystemKind
    vendor: Name | None = None
    hosting_country: Country | None = Field(default=None, description="ISO 3166-1 alpha-2")
    safeguards: list[Name] = Field(default_factory=list)
    certifications: list[Certification] = Field(default_factory=list)
    owner: Name | None = Field(default=None, description="who answers for the system")


class SystemOut(OutputModel):
    id: int
    code: str
    name: str
    kind: str
    vendor: str | None
    hosting_country: str | None
    safeguards: list[str]
    certifications: list[str]
    owner: str | None


class PurposeIn(InputModel):
    code: Code
    name: Name
    description: Text | None = None


class PurposeOut(OutputModel):
    id: int
    code: str
    name: str
    description: str | None


class CategoryIn(InputModel):
    code: Code
    name: Name
    description: Text | None = None
    purposes: list[Code] = Field(default_factory=list, description="purpose codes")
    controller: Literal["msp", "client"] = "msp"
    controller_organization: Code | None = Field(
        default=None, description="organization code of the client who controls this data"
    )
    basis: Text | None = Field(default=None, description="legal or business basis")
    min_retention_days: int | None = Field(default=None, ge=0, le=36_500)
    max_retention_days: int | None = Field(default=None, ge=0, le=36_500)
    trigger_type: TriggerType | None = None
    trigger: Trigger | None = None
    is_sensitive: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> CategoryIn:
        low, high = self.min_retention_days, self.max_retention_days
        if low is not None and high is not None and low > high:
            raise ValueError("min_retention_days is greater than max_retention_days")
        events = {"agreement_termination", "relationship_end", "consent_withdrawal"}
        if self.trigger and self.trigger_type:
            expected = "event" if self.trigger in events else "time"
            if self.trigger_type != expected:
                raise ValueError(f"trigger {self.trigger} is a {expected} trigger")
        return self


class CategoryOut(OutputModel):
    id: int
    code: str
    name: str
    description: str | None
    purposes: list[str]
    controller: str
    controller_organization: str | None
    basis: str | None
    min_retention_days: int | None
    max_retention_days: int | None
    trigger_type: str | None
    trigger: str | None
    is_sensitive: bool
    findings: list[str] = Field(description="what R14 requires and this category lacks")


class ThirdPartyIn(InputModel):
    code: Code
    name: Name
    country: Country | None = None
    certifications: list[Certification] = Field(default_factory=list)
    contact_email: EmailStr | None = None


class ThirdPartyOut(OutputModel):
    id: int
    code: str
    name: str
    country: str | None
    certifications: list[str]
    contact_email: str | None


class DisclosureIn(InputModel):
    code: Code = Field(description="a name for this disclosure, e.g. procurement-microsoft")
    category: Code
    third_party: Code
    purpose: Code
    description: Text | None = None


class DisclosureOut(OutputModel):
    id: int
    code: str
    category: str
    third_party: str
    purpose: str
    description: str | None
