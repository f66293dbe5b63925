"""Set-at-a-time statements for the purge's hot path, written for each database.

A purge batch names a thousand records at once. Written the obvious way (``IN`` with a thousand
bound parameters, an ``executemany`` of dictionaries) SQLAlchemy and psycopg spend more time
preparing the statements than the database spends running them. Here:

- ``id_in``: one parameter: an array (``= ANY(:ids)``, sent as the array's text, which psycopg
  passes as it is where a list would be dumped element by element) on PostgreSQL, a JSON array
  read with ``json_each`` on SQLite;
- ``insert_rows``: ``COPY ... FROM STDIN`` on PostgreSQL, one driver ``executemany`` of tuples on
  SQLite, with ids assigned before the insert (PostgreSQL: reserved from the table's sequence;
  SQLite: after the largest id, under the write lock the caller's transaction holds), so the
  caller knows each row's id without reading them back.

Values are converted exactly as SQLAlchemy would (the columns' own bind processors on SQLite;
the app's JSON serializer on PostgreSQL), inside the caller's transaction.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnClause

from auditor.db import json_dumps


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def id_in(
    session: Session, column: ColumnElement[Any] | InstrumentedAttribute[Any], ids: Sequence[int]
) -> ColumnElement[bool]:
    """``column IN ids`` (integers) with one parameter, however many ids: an array on
    PostgreSQL, a JSON array read by ``json_each`` on SQLite (whose builds cap the parameters of
    a statement: 32,766 by default, 250,000 in Debian's)."""
    listed = ",".join(map(str, map(int, ids)))
    if is_postgresql(session):
        values = cast(bindparam(None, "{" + listed + "}", type_=Text()), ARRAY(BigInteger))
        return column == any_(values)
    each = func.json_each(bindparam(None, "[" + listed + "]")).table_valued("value")
    return column.in_(select(each.c.value))


def id_values(session: Session, ids: Sequence[int]) -> ColumnElement[Any]:
    """``ids`` as a one-column table to select from (``unnest`` of an array on PostgreSQL,
    ``json_each`` on SQLite), with one parameter however many there are."""
    listed = ",".join(map(str, map(int, ids)))
    if is_postgresql(session):
        values = cast(bindparam(None, "{" + listed + "}", type_=Text()), ARRAY(BigInteger))
        return func.unnest(values).table_valued("id").render_derived().c.id
    return func.json_each(bindparam(None, "[" + listed + "]")).table_valued("value").c.value


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (dicts with every column but ``id``; defaults do not apply) into ``table``
    (an integer ``id`` primary key); returns their ids, ascending in row order."""
    ids = reserve_ids(session, table, len(rows))
    copy_rows(session, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids of ``table``, ascending: PostgreSQL reserves them from the table's
    sequence; SQLite takes those after the largest id, under the write lock the caller's
    transaction holds (so nothing else can take them before it commits)."""
    if count < 1:
        return []
    if is_postgresql(session):
        return sorted(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": count},
            )
        )
    first = (session.scalar(select(table.c.id).order_by(table.c.id.desc()).limit(1)) or 0) + 1
    return list(range(first, first + count))


def reserve_block(session: Session, table: Table, count: int) -> list[int]:
    """``reserve_ids`` in one round trip, for a caller that holds the audit head lock (every
    writer of disposition records does): PostgreSQL moves the sequence ``count`` ahead at once,
    which is safe only while nobody else draws from it meanwhile."""
    if count < 1:
        return []
    if not is_postgresql(session):
        return reserve_ids(session, table, count)
    last = session.scalar(
        text(
            "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
            "nextval(pg_get_serial_sequence(:t, 'id')) + :n - 1)"
        ),
        {"t": table.name, "n": count},
    )
    assert last is not None
    return list(range(last - count + 1, last + 1))


def copy_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with every column, ``id`` included; defaults do not apply)."""
    if not rows:
        return
    names = [c.name for c in table.columns]
    values = operator.itemgetter(*names)
    copy_tuples(session, table, names, [values(row) for row in rows])


def copy_tuples(
    session: Session,
    table: Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    convert: bool = True,
) -> None:
    """Insert ``rows``, each the values of the columns ``names`` in that order (the hot path
    builds tuples, not dicts); values are converted as SQLAlchemy would, unless ``convert`` is
    false: then they are already as both drivers take them (text, numbers, bytes, ISO dates,
    no JSON)."""
    if not rows:
        return
    columns = [table.c[name] for name in names]
    listed = ", ".join(names)
    if is_postgresql(session):
        json_at = [i for i, c in enumerate(columns) if isinstance(c.type, JSON)]
        connection = session.connection().connection.driver_connection
        assert connection is not None
        sql = f"COPY {table.name} ({listed}) FROM STDIN"
        encoded = _Memo(json_dumps)
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                if json_at and convert:
                    row = list(row)
                    for i in json_at:
                        if row[i] is not None:
                            row[i] = encoded(row[i])
                copy.write_row(row)
        return
    dialect = session.get_bind().dialect
    # each column's bind processor, once per distinct object (rows share the batch's time)
    processors = [(i, _Memo(p)) for i, c in enumerate(columns) if (p := _processor(c, dialect))]
    if processors and convert:
        converted = []
        for row in rows:
            line = list(row)
            for i, process in processors:
                if line[i] is not None:
                    line[i] = process(line[i])
            converted.append(tuple(line))
        rows = converted
    marks = ", ".join("?" for _ in columns)
    # names from the table definition, values as parameters
    insert = f"INSERT INTO {table.name} ({listed}) VALUES ({marks})"  # noqa: S608
    session.connection().exec_driver_sql(insert, rows)


def _processor(column: ColumnClause[Any], dialect: Any) -> Any:
    return column.type.dialect_impl(dialect).bind_processor(dialect)


class _Memo:
    """An encoder applied once per object: rows often share one (a batch's time, its holds
    checked). Keyed by ``id``, so only within one call, while every row is alive."""

    def __init__(self, encode: Any) -> None:
        self.encode = encode
        self.done: dict[int, Any] = {}

    def __call__(self, value: Any) -> Any:
        key = id(value)
        found = self.done.get(key)
        if found is None:
            found = self.done[key] = self.encode(value)
        return found
