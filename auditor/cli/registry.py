"""Every command of ``auditor``: importing the command modules adds their commands to the
groups of auditor/cli/groups.py; ``register_commands`` puts those groups on an app's CLI."""

from __future__ import annotations

from flask import Flask

from auditor.cli import (  # noqa: F401  (imported for the commands they declare)
    access,
    audit,
    breaches,
    compliance,
    db,
    demo,
    evidence,
    holds,
    instance,
    inventory,
    keys,
    records,
    requests,
    retention,
    scheduler,
    users,
    vault,
)
from auditor.cli.groups import ALL

__all__ = ["ALL", "register_commands"]


def register_commands(app: Flask) -> None:
    """The groups on ``app.cli`` too, so ``app.test_cli_runner()`` and ``flask`` see them."""
    for command_group in ALL:
        app.cli.add_command(command_group)
