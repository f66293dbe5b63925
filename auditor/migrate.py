"""Schema migrations through Alembic: the only way the schema is created or changed."""

from __future__ import annotations

import functools
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from auditor.paths import PACKAGE_DIR


def alembic_config(url: str, connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(str(engine.url), connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(str(engine.url), connection), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    """The newest revision this code knows (read once: the scripts do not change at run time)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()
