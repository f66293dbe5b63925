"""Schema migrations through Alembic: the only way the schema is created or changed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from auditor.paths import PACKAGE_DIR
from crypto.keys import MasterKeyRing

#: how a migration that seals or opens vault data gets the master key ring: called only when
#: there is something to seal (0009 seals existing usernames and notes)
KeyringSource = Callable[[], MasterKeyRing]


def alembic_config(
    url: str, connection: Any = None, keyring: KeyringSource | None = None
) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    if keyring is not None:
        cfg.attributes["master_key_ring"] = keyring
    return cfg


def upgrade(
    engine: Engine, revision: str = "head", *, keyring: KeyringSource | None = None
) -> None:
    """Every migration up to ``revision``, in one transaction: all of them, or none."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(str(engine.url), connection, keyring), revision)
    if engine.dialect.name == "sqlite":
        # what a migration removed (0009: plain usernames and notes) must not linger in the
        # write-ahead log's older frames: copy the log into the database file and empty it
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def downgrade(engine: Engine, revision: str, *, keyring: KeyringSource | None = None) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(str(engine.url), connection, keyring), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    """The newest revision this code knows (read once: the scripts do not change at run time)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()
