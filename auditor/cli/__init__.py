"""The ``auditor`` command: Flask's CLI (run, shell, routes) plus the project's command groups."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from auditor import create_app
    from auditor.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """auditor: PIPEDA compliance and data-retention auditing for MSPs."""


def register_commands(app: Flask) -> None:
    """The command groups that need the app (its config and database)."""
    from auditor.cli import (
        audit,
        db,
        demo,
        holds,
        inventory,
        records,
        requests,
        retention,
        users,
        vault,
    )

    for group in (
        db.db,
        inventory.inventory,
        records.records,
        users.users,
        users.tokens,
        audit.audit,
        demo.demo,
        vault.vault,
        holds.holds,
        retention.retention,
        requests.requests,
    ):
        app.cli.add_command(group)
    from auditor.cli.scheduler import scheduler

    app.cli.add_command(scheduler)


def _add_standalone() -> None:
    from auditor.cli.instance import instance
    from auditor.cli.keys import keys

    main.add_command(instance)
    main.add_command(keys)  # standalone: 'keys generate' must work before any key is configured


_add_standalone()


def fail(message: str, code: int = 1) -> Any:
    """Print an error and exit non-zero: no traceback, nothing personal."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)
