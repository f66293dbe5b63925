"""Evidence bundles over the API (docs/evidence.md)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from auditor.schemas.common import InputModel


class EvidenceBundleIn(InputModel):
    """What to export: the period (whole UTC days, both included) and, optionally, one client."""

    start: dt.date = Field(alias="from", description="first day of the period (UTC)")
    end: dt.date = Field(alias="to", description="last day of the period (UTC), today at most")
    client: str | None = Field(
        default=None, min_length=1, max_length=64, description="a client's code (default: all)"
    )
    personal_information: bool = Field(
        default=False,
        description="include requesters' names and officers' free text (privacy officers only)",
    )
