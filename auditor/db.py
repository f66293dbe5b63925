"""The database: declarative base, aware-UTC datetimes, engine and one session per app context.

Every unit of work says up front whether it writes (``access``). On SQLite a writing unit
begins with BEGIN IMMEDIATE: it takes the write lock before it reads, so concurrent writers
queue on the busy timeout instead of failing when a read transaction cannot be upgraded
("database is locked"); a reading unit begins a plain BEGIN and runs alongside them (WAL). On
every database a reading unit that tries to write fails loudly (ReadOnlyViolation), so a
declaration that is wrong shows in the tests, not as a lock error under load.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, Literal

import orjson
from flask import Flask, g
from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out, on every backend; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def literal_processor(self, dialect: Any) -> Callable[[Any], str]:
        """A moment inlined in SQL as the database stores it: SQLite's own text (``2026-12-01
        21:37:14.577490``, in UTC), a ``timestamptz`` literal elsewhere; so a stated query (the
        disposition report's), pasted into sqlite3 or psql, selects what the service selected."""

        def process(value: Any) -> str:
            moment = self.process_bind_param(value, dialect)
            if moment is None:
                return "NULL"
            if dialect.name == "sqlite":
                return f"'{moment:%Y-%m-%d %H:%M:%S.%f}'"
            return f"'{moment.isoformat(sep=' ')}'"

        return process

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# JSON everywhere, JSONB on PostgreSQL (indexable, compact)
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


Access = Literal["read", "write"]
_ACCESS: contextvars.ContextVar[Access] = contextvars.ContextVar(
    "auditor_db_access", default="write"
)
_WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "COPY", "TRUNCATE", "REPLACE")


class ReadOnlyViolation(RuntimeError):
    """A unit of work declared read-only tried to write: a programming error."""


@contextlib.contextmanager
def access(mode: Access) -> Iterator[None]:
    """Run the enclosed unit of work as reading or writing (see the module docstring)."""
    token = _ACCESS.set(mode)
    try:
        yield
    finally:
        _ACCESS.reset(token)


def set_access(mode: Access) -> None:
    """Switch the current unit of work, e.g. a reading request that must record a refusal: the
    next transaction begins accordingly (end the current one first)."""
    _ACCESS.set(mode)


def current_access() -> Access:
    return _ACCESS.get()


def _sqlite_setup(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL: turn it off and
    # emit BEGIN ourselves (the recipe in SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _ACCESS.get() == "write" else "BEGIN")


def _guard_reads(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if _ACCESS.get() == "read" and statement.lstrip()[:8].upper().startswith(_WRITES):
            raise ReadOnlyViolation(f"a read-only unit of work tried to run {statement[:40]!r}")


def json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    # hide_parameters: bound values (personal data) never appear in exception messages or logs
    kwargs: dict[str, Any] = {
        "echo": echo,
        "hide_parameters": True,
        # JSON columns through orjson: several times faster than json (ingest, dispositions)
        "json_serializer": json_dumps,
        "json_deserializer": orjson.loads,
    }
    if url.startswith("postgresql"):
        kwargs.update(pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    _guard_reads(engine)
    return engine


class Database:
    """The engine and session factory of one app; tests may bind the factory to a connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session_factory = sessionmaker(bind=engine, expire_on_commit=False)

    def bind(self, connection: Any) -> None:
        """Run every session inside ``connection``'s transaction (tests roll it back)."""
        self.session_factory = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )

    def session(self) -> Session:
        return self.session_factory()


def init_app(app: Flask) -> None:
    database = Database(make_engine(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"]))
    app.extensions["auditor.db"] = database

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def get_database(app: Flask) -> Database:
    database: Database = app.extensions["auditor.db"]
    return database


def get_session() -> Session:
    """The session of the current app context, opened on first use and closed at teardown."""
    from flask import current_app

    if "db_session" not in g:
        g.db_session = get_database(current_app).session()
    session: Session = g.db_session
    return session
