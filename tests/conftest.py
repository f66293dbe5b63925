"""Fixtures: a migrated database per run, one rolled-back transaction per test, app/client/runner;
the fixed clock, the officer, the key ring and the data most tests start from (tests.factories
builds it).

AUDITOR_TEST_DATABASE_URL selects PostgreSQL (postgresql+psycopg://...); otherwise a SQLite file.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from auditor import create_app, migrate
from auditor.db import get_database, make_engine
from auditor.models import Organization
from auditor.services.context import Actor
from crypto.keys import MasterKeyRing
from tests import factories
from tests.factories import app_settings

PG_URL = os.environ.get("AUDITOR_TEST_DATABASE_URL", "")


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
def runner(app: Flask, session: Session) -> FlaskCliRunner:
    """The CLI as the tests' operator, an active admin (``factories.operator_runner``)."""
    return factories.operator_runner(app, session)


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
    """The suite's fixed clock: 22 November 2026, noon UTC (``factories.NOW``)."""
    return factories.NOW


@pytest.fixture
def officer() -> Actor:
    """The privacy officer (user 7) the services act for."""
    return factories.OFFICER


@pytest.fixture
def keyring() -> MasterKeyRing:
    """The test app's vault master key ring (one throwaway version)."""
    return factories.keyring()


@pytest.fixture
def digest_key() -> bytes:
    """The key of the disposition records' keyed digests (the test app's DISPOSITION_KEY)."""
    return factories.DIGEST_KEY


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    """The test app's audit signing key."""
    return factories.signing_key()


@pytest.fixture
def inventory(session: Session) -> factories.Inventory:
    """The policy defaults plus two clients and three systems."""
    return factories.inventory(session)


@pytest.fixture
def rules(session: Session, inventory: factories.Inventory) -> None:
    """The default retention rules (version 1), loaded at the fixed clock and committed, so that
    a purge rolling back a failed batch keeps them. Nothing is returned: a test reads the rules
    from the database (keeping the rows would keep them in the session's identity map, stale
    after an update in SQL)."""
    factories.default_rules(session)
    session.commit()


@pytest.fixture
def reviewed_rules(session: Session, inventory: factories.Inventory) -> None:
    """The default rules, with ticket history revised to require a review (version 2)."""
    factories.default_rules(session, ticket_history={"requires_review": True})
    session.commit()


@pytest.fixture
def transfer_rules(session: Session, inventory: factories.Inventory) -> None:
    """The default rules, with ticket history revised to be transferred (to an archive, say)
    then deleted, after a review (version 2)."""
    changes = {"action": "transfer_then_delete", "requires_review": True}
    factories.default_rules(session, ticket_history=changes)
    session.commit()


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the record batches the retention engine reads, in order (a spy)."""
    from auditor.services.retention import facts

    sizes: list[int] = []
    original = facts.iter_batches

    def spy(db: Session, batch: int) -> Iterator[Any]:
        for rows in original(db, batch):
            sizes.append(len(rows))
            yield rows

    monkeypatch.setattr(facts, "iter_batches", spy)
    return sizes


@pytest.fixture
def beta(session: Session, inventory: factories.Inventory) -> Organization:
    """A second client, beta, with an agreement in force."""
    return factories.active_client(session, code="beta")


@pytest.fixture
def oldco(session: Session, inventory: factories.Inventory) -> Organization:
    """A terminated client holding four credentials (``factories.CREDENTIALS``)."""
    return factories.oldco(session)


@pytest.fixture
def auth(session: Session) -> Any:
    """auth(role) -> request headers carrying a fresh token of a user with that role."""

    def make(role: str = "admin") -> dict[str, str]:
        token = factories.token(session, role=role)
        session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make
