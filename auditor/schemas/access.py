"""Request and response models of access reviews and deprovisioning (R35, R36)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from auditor.schemas.common import InputModel, OutputModel, RowId

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class DecisionIn(InputModel):
    user_id: RowId
    decision: Literal["keep", "revoke"]
    reason: Reason | None = Field(
        default=None, description="required to revoke, and to decide your own account"
    )


class DeprovisioningOut(OutputModel):
    id: int
    user_id: int
    name: str | None
    role: str
    deactivated_at: str
    deactivated_by: str
    tokens_revoked: int
    tokens_revoked_at: str | None
    sessions_ended: int
    grants_removed: list[str]
    grants_removed_at: str | None
    completed_at: str
    seconds_to_complete: float


class DecisionOut(OutputModel):
    user_id: int
    decision: str
    reason: str | None
    decided_by: str
    decided_at: str
    revocation: DeprovisioningOut | None


class ReviewSummary(OutputModel):
    id: int
    status: Literal["open", "completed"]
    started_by: str
    started_at: str
    snapshot_sha256: str = Field(description="SHA-256 of the snapshot's canonical JSON")
    accounts: int
    decided: int
    kept: int
    revoked: int
    completed_by: str | None
    completed_at: str | None


class ReviewOut(ReviewSummary):
    snapshot: dict[str, Any] = Field(description="the accounts as they were when it started")
    decisions: list[DecisionOut]


class DeprovisioningQuery(InputModel):
    start: dt.date | None = Field(default=None, alias="from", description="first day (UTC)")
    end: dt.date | None = Field(default=None, alias="to", description="last day, included")
