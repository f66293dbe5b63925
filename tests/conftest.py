"""Fixtures: a migrated database per run, one rolled-back transaction per test, app/client/runner.

AUDITOR_TEST_DATABASE_URL selects PostgreSQL (postgresql+psycopg://...); otherwise a SQLite file.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from auditor import create_app, migrate
from auditor.db import get_database, make_engine
from crypto.note import generate_private_key_pem
from tests import factories

PG_URL = os.environ.get("AUDITOR_TEST_DATABASE_URL", "")
SIGNING_KEY_PEM = generate_private_key_pem().decode()
SECRET_KEY = "test-secret-key-" + "x" * 32
DISPOSITION_KEY = "ZGlzcG9zaXRpb24ta2V5LWZvci10ZXN0cy0wMDAwMDA="  # 32 bytes, tests only
MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LWZvci10aGUtdGVzdC1ydW4="  # 32 bytes, base64; tests only


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="needs AUDITOR_TEST_DATABASE_URL (PostgreSQL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The suite never reads the developer's ./instance (``make run`` writes secrets there, and
    Flask's default instance folder is that one) nor the AUDITOR_* settings of their shell: every
    app and subprocess gets an empty instance folder and the defaults, except the test database."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AUDITOR_") and name != "AUDITOR_TEST_DATABASE_URL":
                patch.delenv(name)
        instance = tmp_path_factory.mktemp("instance")
        patch.setenv("AUDITOR_INSTANCE_PATH", str(instance))
        yield instance


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The schema is created once per run, by the migrations (never by create_all)."""
    engine = make_engine(database_url)
    if migrate.current_revision(engine) is not None:
        migrate.downgrade(engine, "base")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One outer transaction per test, rolled back at the end whatever the test committed."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


def app_settings(database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "AUDIT_SIGNING_KEY": SIGNING_KEY_PEM,
        "DISPOSITION_KEY": DISPOSITION_KEY,
        "MASTER_KEY": MASTER_KEY,
        "CHECK_KEYS_AT_START": False,  # tests call the check themselves, inside their transaction
        "LOG_JSON": True,
        **extra,
    }


@pytest.fixture
def app(database_url: str, connection: Connection) -> Iterator[Flask]:
    app = create_app(app_settings(database_url))
    get_database(app).bind(connection)
    yield app
    get_database(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session inside the test's transaction; commit() only releases a savepoint."""
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def inventory(session: Session) -> factories.Inventory:
    """The policy defaults plus two clients and three systems."""
    return factories.inventory(session)


@pytest.fixture
def auth(session: Session) -> Any:
    """auth(role) -> request headers carrying a fresh token of a user with that role."""

    def make(role: str = "admin") -> dict[str, str]:
        token = factories.token(session, role=role)
        session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make
