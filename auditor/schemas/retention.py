"""Response and query models of retention rules and the disposition plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from auditor.schemas.common import InputModel, OutputModel


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
