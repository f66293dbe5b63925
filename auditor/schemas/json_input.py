"""JSON from outside, refused when a database could not keep it exactly: NUL characters (which
PostgreSQL cannot store in text and SQLite would) and integers beyond 64 bits (which the JSON
parser turns into floats, silently losing digits)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from auditor.services.errors import FieldError, MalformedRequest, ValidationFailed

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# row ids (every primary key but the audit sequence) are 32-bit INTEGER columns on PostgreSQL
ROW_ID_MAX = 2**31 - 1
NUL_MESSAGE = "contains a NUL character (U+0000), which cannot be stored"
BIG_INT_MESSAGE = "an integer beyond 64 bits (±9.2e18) cannot be kept exactly: send it as a string"


def problems(value: Any, where: str = "") -> list[FieldError]:
    """What in a parsed JSON value cannot be stored exactly, by field path (the paths name
    fields as validation errors do: ``content.summary``, ``lines[2]``; ``body`` for the whole)."""
    found: list[FieldError] = []
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                found.append(FieldError(path or "body", NUL_MESSAGE))
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                found.append(FieldError(path or "body", BIG_INT_MESSAGE))
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    found.append(FieldError(path or "body", "a field name " + NUL_MESSAGE))
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path or 'body'}[{index}]", child) for index, child in enumerate(item))
    return sorted(found, key=lambda error: error.field)


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes | str, *, where: str = "") -> Any:
    """Parse JSON; MalformedRequest if it is not JSON, ValidationFailed (with the field paths)
    if it holds what cannot be stored exactly."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedRequest("The body is not valid JSON.") from None
    if _has_float(value):
        # orjson reads an integer beyond 64 bits as a float: read it again, exactly, to tell
        # such integers from real decimals
        value = json.loads(data, parse_constant=_no_constant)
    errors = problems(value, where)
    if errors:
        raise ValidationFailed("The JSON holds values that cannot be stored exactly.", errors)
    return value
