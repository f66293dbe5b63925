"""Request and response models of retention holds (R19)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from auditor.schemas.common import InputModel, OutputModel, PageQuery

HoldKind = Literal["legal", "recourse", "breach", "cra_objection"]
# recourse holds are placed by opening a privacy request (R9), never by hand
PlaceableKind = Literal["legal", "breach", "cra_objection"]
HoldScope = Literal["subject", "client", "system", "category", "record"]
HoldStatus = Literal["active", "released", "lapsed"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ScopeValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class HoldIn(InputModel):
    """A hold to place: everything in its scope is kept from disposal until released."""

    kind: PlaceableKind = "legal"
    scope: HoldScope
    value: ScopeValue = Field(
        description="subject ref, organization code, system code, category code or record id"
    )
    reason: Reason
    reference: Reference | None = Field(
        default=None, description="the matter, breach or CRA file the hold belongs to"
    )


class HoldRelease(InputModel):
    reason: Reason = Field(description="why the hold is released (recorded with who and when)")


class HoldOut(OutputModel):
    id: int
    kind: str
    scope: str
    value: str
    reason: str
    reference: str | None
    created_by: str
    placed_at: dt.datetime
    until: dt.date | None = Field(description="a recourse hold's minimum end (R9)")
    open_ended: bool
    status: HoldStatus
    released_at: dt.datetime | None
    released_by: str | None
    release_reason: str | None


class HoldQuery(PageQuery):
    status: HoldStatus | None = Field(default=None, description="active, released or lapsed")
    kind: HoldKind | None = None
    scope: HoldScope | None = None
    value: ScopeValue | None = Field(default=None, description="the scope value (with scope)")
    reference: Reference | None = None
