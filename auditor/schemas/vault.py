"""Request and response models of the credentials vault. Values, usernames and notes are sealed:
they appear only in reveal responses; a listing says whether a username or notes are set."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, StringConstraints

from auditor.schemas.common import Code, InputModel, Name, OutputModel, Text

SecretKind = Literal["password", "api_key", "totp_seed", "note"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
MAX_VALUE_CHARS = 64 * 1024


# a secret value is kept exactly as given: leading or trailing spaces can be part of a password
_EXACT = ConfigDict(extra="forbid", str_strip_whitespace=False)
Plain = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)]


class SecretIn(InputModel):
    model_config = _EXACT

    name: Name
    kind: SecretKind = "password"
    username: Plain | None = Field(
        default=None, description="sealed like the value; returned only by a reveal"
    )
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    system: Code | None = Field(default=None, description="code of the system it opens")
    notes: Text | None = Field(
        default=None, description="sealed like the value; returned only by a reveal"
    )
    value: SecretStr = Field(description="the secret itself; sealed on arrival, never returned")

    def plain_value(self) -> str:
        return self.value.get_secret_value()


class SecretUpdate(InputModel):
    model_config = _EXACT

    name: Name | None = None
    kind: SecretKind | None = None
    username: Plain | None = None
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    system: Code | None = None
    notes: Text | None = None
    value: SecretStr | None = Field(default=None, description="a new value (rotates the secret)")


class SecretOut(OutputModel):
    ref: str
    client: str
    name: str
    kind: str
    has_username: bool = Field(description="a username is stored (sealed: see the reveal)")
    url: str | None
    system: str | None
    has_notes: bool = Field(description="notes are stored (sealed: see the reveal)")
    client_key_version: int
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    value_changed_at: dt.datetime
    last_revealed_at: dt.datetime | None


class SecretQuery(InputModel):
    cursor: str | None = None
    limit: int | None = Field(default=None, ge=1, le=500)
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        default=None,
        description="part of the name or URL, or the whole username (any case); never values",
    )
    kind: SecretKind | None = None


class RevealIn(InputModel):
    reason: Reason = Field(description="why the value is needed; kept in the audit trail")


class Revealed(OutputModel):
    ref: str
    value: str
    username: str | None
    notes: str | None
    revealed_at: dt.datetime


class GrantIn(InputModel):
    client: Code


class GrantOut(OutputModel):
    user_id: int
    client: str
    granted_by: str
    granted_at: dt.datetime


class RevealedUnchanged(OutputModel):
    ref: str
    client: str
    name: str
    kind: str
    last_revealed_by_user_at: dt.datetime
    value_changed_at: dt.datetime
