"""The ``auditor`` command: Flask's own commands (run, shell, routes) and the project's groups.

``auditor --help``, ``auditor GROUP --help``, ``auditor instance init`` and ``auditor keys
generate`` need no configuration; a command that touches data loads the configuration (and
stops with a message and exit status 2 when it is incomplete).
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from auditor.cli.registry import ALL


def _create_app() -> Flask:
    from auditor import create_app
    from auditor.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


class _Main(FlaskGroup):
    """Flask's group (it gives ``run``, ``shell`` and ``routes`` their app), with every command
    registered on it, so listing them loads no app, and without Flask's --app, --env-file and
    --debug: the configuration comes from AUDITOR_* settings only (docs/operator-guide.md)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)


main = _Main(
    name="auditor",
    help="auditor: PIPEDA compliance and data-retention auditing for MSPs.",
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
main.params = [param for param in main.params if param.name not in ("env_file", "app", "debug")]
for _group in ALL:
    main.add_command(_group)

__all__ = ["main"]
