"""Alembic is the only way the schema changes: the migrations build exactly the models' schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import auditor.models  # noqa: F401
from auditor import migrate
from auditor.db import Base

#: the newest migration: the one with the highest number in auditor/migrations/versions/
NEWEST = max(
    p.name[:4] for p in (Path(migrate.__file__).parent / "migrations" / "versions").glob("0*.py")
)


def test_migrated_schema_matches_the_models(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_the_head_revision(engine):
    assert migrate.current_revision(engine) == migrate.head_revision() == NEWEST


def test_upgrade_and_downgrade_round_trip(tmp_path):
    from auditor.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == NEWEST
    engine.dispose()
