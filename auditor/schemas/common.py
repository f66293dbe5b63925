"""Schema building blocks: strict input models, codes, country codes, pages and cursors."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import typing
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
)

from auditor.schemas.json_input import ROW_ID_MAX
from auditor.services.errors import FieldError, ValidationFailed

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
# a row named by its number: beyond ROW_ID_MAX nothing can exist (and PostgreSQL would overflow)
RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]
Country = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")
]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time zone (e.g. 2026-01-31T09:00:00Z)")
    return value.astimezone(dt.UTC)


AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]


class InputModel(BaseModel):
    """Every input (a body, a query, a CLI option, an imported row): unknown fields are errors,
    strings are stripped, and a NUL character is refused wherever it comes from (PostgreSQL
    cannot store it, SQLite would: both databases must behave the same)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("contains a NUL character (U+0000), which cannot be stored")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(OutputModel, Generic[T]):
    """One page of a keyset-paginated list; pass ``next_cursor`` back as ``cursor``."""

    items: list[T]
    next_cursor: str | None = Field(description="opaque cursor of the next page; null on the last")


class PageQuery(InputModel):
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int | None = Field(default=None, ge=1, le=500, description="page size")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, maximum: int = ROW_ID_MAX) -> int | None:
    """The id a cursor names: at most ``maximum`` (the largest value its key column holds)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= maximum:
            raise ValueError  # not an id this API handed out
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ValidationFailed(
            "The cursor is not valid.", [FieldError("cursor", "not a cursor returned by this API")]
        ) from None


def field_errors(
    exc: ValidationError, *, prefix: str = "", line: int | None = None
) -> list[FieldError]:
    """Pydantic errors as FieldErrors: location and message only, never the input value."""
    errors = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        errors.append(FieldError(prefix + (loc or "body"), message, line))
    return errors


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, *, what: str = "request body") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(f"The {what} is not valid.", field_errors(exc)) from None


_partials: dict[type[BaseModel], type[BaseModel]] = {}


def filtered_page_query(output: type[BaseModel], filters: tuple[str, ...]) -> type[PageQuery]:
    """The query model of a list of ``output`` items: a page plus one optional text filter per
    name in ``filters`` (the inventory's generic listings)."""
    fields: dict[str, Any] = {
        name: (str | None, Field(default=None, max_length=64)) for name in filters
    }
    model = create_model(  # the page fields without descriptions, as the API has always shown
        f"{output.__name__}Query",
        __base__=InputModel,
        cursor=(str | None, None),
        limit=(int | None, Field(default=None, ge=1, le=500)),
        **fields,
    )
    return typing.cast(type[PageQuery], model)


def partial(model: type[M]) -> type[M]:
    """The same model with every field optional, for PATCH (only the fields sent are applied)."""
    if model not in _partials:
        fields: dict[str, Any] = {
            name: (
                typing.cast(Any, info.annotation) | None,
                Field(default=None, description=info.description),
            )
            for name, info in model.model_fields.items()
        }
        _partials[model] = create_model(model.__name__ + "Patch", __base__=InputModel, **fields)
    return typing.cast(type[M], _partials[model])
