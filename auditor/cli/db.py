"""``auditor db``: schema migrations through Alembic."""

from __future__ import annotations

import click
from flask import current_app

from auditor import migrate
from auditor.cli import groups
from auditor.cli.common import command, fail
from auditor.db import get_database
from auditor.keys import load_ring


@command(groups.db, "upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: the latest).

    Migrations that seal vault data use the configured master key ring."""
    engine = get_database(current_app).engine
    migrate.upgrade(engine, revision, keyring=lambda: load_ring(current_app.config))
    click.echo(f"database at revision {migrate.current_revision(engine)}")


@command(groups.db, "downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="really downgrade (drops tables and data)")
def downgrade(revision: str, yes: bool) -> None:
    """Migrate down to REVISION ('base' drops everything). Dry run unless --yes."""
    engine = get_database(current_app).engine
    if not yes:
        fail(
            f"would downgrade from {migrate.current_revision(engine)} to {revision}; "
            "pass --yes to do it"
        )
    migrate.downgrade(engine, revision, keyring=lambda: load_ring(current_app.config))
    click.echo(f"database at revision {migrate.current_revision(engine)}")


@command(groups.db, "current")
def current() -> None:
    """Show the schema revision of the database and of this code."""
    engine = get_database(current_app).engine
    click.echo(f"database: {migrate.current_revision(engine)}  code: {migrate.head_revision()}")
