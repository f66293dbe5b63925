"""The building blocks of a bundle's populations: the period and client of an export, what
``index.json`` says of each file, and writing a query's rows as JSON Lines."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Select
from sqlalchemy.orm import Session

from auditor.services.evidence.bag import BagWriter
from auditor.services.retention import lines as canonical


@dataclasses.dataclass(frozen=True)
class Scope:
    """The period [start, end) in UTC, the client (None: the whole MSP), personal information."""

    start: dt.datetime
    end: dt.datetime
    organization_id: int | None
    personal: bool


@dataclasses.dataclass
class Population:
    """What ``index.json`` says of one file: how it was produced and how many rows it holds."""

    file: str
    description: str
    query: str
    parameters: dict[str, Any]
    rows: int = 0


def sql(session: Session, query: Select[Any]) -> tuple[str, dict[str, Any]]:
    compiled = query.compile(dialect=session.get_bind().dialect)
    params = {k: plain(v) for k, v in compiled.params.items()}
    return " ".join(str(compiled).split()), params


def plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return canonical.format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def time(value: dt.datetime | None) -> str | None:
    return None if value is None else canonical.format_time(value)


def write_query(
    session: Session,
    bag: BagWriter,
    name: str,
    description: str,
    query: Any,  # a Select
    shape: Callable[[Any], dict[str, Any]],
) -> Population:
    text, params = sql(session, query)
    found = Population(f"data/{name}", description, text, params)
    with bag.payload(name) as out:
        for row in session.execute(query).yield_per(1000):
            out.write(orjson.dumps(shape(row), option=orjson.OPT_SORT_KEYS) + b"\n")
            found.rows += 1
    return found


def columns(row: Any) -> dict[str, Any]:
    obj = row[0]
    return {c.name: plain(getattr(obj, c.key)) for c in obj.__table__.columns}
