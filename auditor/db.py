"""The database: declarative base, aware-UTC datetimes, engine and one session per app context."""

from __future__ import annotations

import datetime as dt
from typing import Any

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
        conn.exec_driver_sql("BEGIN")


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
