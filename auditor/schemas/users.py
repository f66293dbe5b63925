"""Request and response models of users, tokens and the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import EmailStr, Field

from auditor.schemas.common import InputModel, Name, OutputModel, RowId

RoleName = Literal["admin", "privacy_officer", "technician", "auditor"]


class UserIn(InputModel):
    email: EmailStr
    name: Name
    role: RoleName


class UserUpdate(InputModel):
    name: Name | None = None
    role: RoleName | None = None
    is_active: bool | None = None


class UserOut(OutputModel):
    id: int
    email: str
    name: str
    role: str
    is_active: bool
    created_at: dt.datetime


class TokenIn(InputModel):
    name: Name
    expires_in_days: int | None = Field(default=None, ge=1, le=730)


class TokenOut(OutputModel):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class NewToken(OutputModel):
    token: str = Field(description="the bearer token; shown once, only its hash is stored")
    info: TokenOut


class Me(OutputModel):
    user: UserOut
    permissions: list[str]


class AuditEventOut(OutputModel):
    seq: int
    occurred_at: dt.datetime
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    organization_id: int | None
    source_ip: str | None
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    leaf_hash: str


class AuditQuery(InputModel):
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=500)
    action: str | None = Field(default=None, max_length=64)
    organization_id: RowId | None = None
    since: dt.datetime | None = None


class VerifyOut(OutputModel):
    ok: bool
    tree_size: int
    root_hash: str
    checkpoints_checked: int
    first_bad_seq: int | None
    problem: str | None


class CheckpointOut(OutputModel):
    id: int
    tree_size: int
    root_hash: str
    created_at: dt.datetime
    note: str


class Health(OutputModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    schema_revision: str | None
