"""Request and response models of compliance findings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from auditor.schemas.common import InputModel, OutputModel

Severity = Literal["critical", "high", "medium", "low", "info"]
Format = Literal["json", "ocsf", "sarif"]


class FindingQuery(InputModel):
    severity: Severity | None = None
    check: str | None = Field(default=None, max_length=64, description="e.g. requests.overdue")
    resolved: bool = Field(default=False, description="include the resolved findings")
    format: Format = Field(
        default="json", description="json, ocsf (OCSF 2003 JSON Lines), sarif (SARIF 2.1.0)"
    )


class FindingOut(OutputModel):
    finding_id: str = Field(description="stable across runs: the check and its object")
    check: str
    rule: str
    severity: Severity
    title: str
    evidence: dict[str, Any]
    fix: str
    state: Literal["new", "unchanged", "resolved"]
    first_seen_at: str
    last_seen_at: str
    resolved_at: str | None


class RunOut(OutputModel):
    id: int
    started_at: str
    actor: str
    counts: dict[str, Any]


class FindingsOut(OutputModel):
    run: RunOut | None = Field(description="the latest run of the checks")
    severities: list[str]
    findings: list[FindingOut]
