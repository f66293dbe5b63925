"""How every ``auditor`` command is declared: the one decorator that opens the session, names
the actor, commits and turns domain errors into a message and exit status 1; choices from the
schemas' vocabularies."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any, NoReturn

import click
from flask.cli import with_appcontext
from pydantic import ValidationError
from sqlalchemy.orm import Session

from auditor.cli import operator
from auditor.config import ConfigError
from auditor.db import get_session
from auditor.permissions import Permission
from auditor.schemas.common import field_errors
from auditor.schemas.json_input import ROW_ID_MAX
from auditor.services.context import Actor
from auditor.services.errors import AuditorError, ValidationFailed
from crypto.errors import CryptoError

MAX_PRINTED_ERRORS = 20
# a row's number on the command line: what no row can have is a usage error, not an overflow
ROW_ID = click.IntRange(1, ROW_ID_MAX)

F = typing.TypeVar("F", bound=Callable[..., Any])


def group(name: str, help: str, *, parent: click.Group | None = None, **attrs: Any) -> click.Group:
    """A command group (of ``parent`` when given). Groups need no configuration: ``auditor GROUP
    --help`` works before anything is set up."""
    created = click.Group(name, help=help, **attrs)
    if parent is not None:
        parent.add_command(created)
        _PARENTS[created] = parent
    return created


_PARENTS: dict[click.Group, click.Group] = {}
#: what each command asks of its operator (None: it names nobody)
IDENTITIES: dict[click.Command, operator.Identity | None] = {}
_PATHS: dict[click.Command, str] = {}


def _full_path(parent: click.Group, name: str) -> str:
    """``retention review open``: the words that run the command after ``auditor``."""
    words = [name]
    at: click.Group | None = parent
    while at is not None:
        words.insert(0, at.name or "")
        at = _PARENTS.get(at)
    return " ".join(words)


def command_path(command: click.Command) -> str:
    """The words that run a command declared with ``command()``."""
    return _PATHS[command]


def command(
    parent: click.Group,
    name: str,
    *,
    app: bool = True,
    needs: Permission | None = None,
    reads: Permission | None = None,
    bootstrap: Callable[[Session], bool] | None = None,
    **attrs: Any,
) -> Callable[[F], click.Command]:
    """Declare ``fn`` as the command ``parent name``.

    With ``app`` (the default) the command runs with the configured application: it gets
    ``session`` (the database session) and ``actor`` (the CLI operator, as the audit trail names
    it) when its function names them, and the session commits once the function returns. A
    function may commit earlier itself, e.g. before it writes a file or prints a secret, so
    nothing is shown that was not recorded. What the function returns (a line, or a list of
    lines) is printed after the commit. ``app=False`` is for the few commands that must
    work before anything is configured (``instance init``, ``keys generate``).

    ``needs`` makes the command take ``--as EMAIL`` (or AUDITOR_OPERATOR) and refuse to run
    unless that active user's role has the permission; ``actor`` is then that user. ``reads``
    does the same when a user is named and otherwise runs as the OS account (read-only
    commands); ``bootstrap(session)`` true lets a ``needs`` command run unnamed (the first
    admin). See auditor/cli/operator.py.

    Domain errors, invalid input and configuration errors roll the session back and end the
    command with the message on stderr and exit status 1: no traceback, nothing personal.
    """

    permission = needs or reads
    identity = (
        operator.Identity(permission, required=needs is not None, bootstrap=bootstrap)
        if permission is not None
        else None
    )

    def decorate(fn: F) -> click.Command:
        wants = set(inspect.signature(fn).parameters) & {"session", "actor"}

        @functools.wraps(fn)
        def callback(**kwargs: Any) -> Any:
            email = kwargs.pop("operator", None)
            db = get_session() if app and ("session" in wants or identity) else None
            if db is not None and "session" in wants:
                kwargs["session"] = db
            try:
                if identity is not None and db is not None:
                    actor = operator.resolve(db, identity, email, _full_path(parent, name))
                else:
                    actor = Actor.cli()
                if "actor" in wants:
                    kwargs["actor"] = actor
                result = fn(**kwargs)
                if db is not None:
                    db.commit()
            except ValidationError as exc:
                _rollback(db)
                fail_with(ValidationFailed("The input is not valid.", field_errors(exc)))
            except (AuditorError, CryptoError, ConfigError) as exc:
                _rollback(db)
                fail_with(exc)
            for line in [result] if isinstance(result, str) else result or ():
                click.echo(line)

        if identity is not None:
            callback = operator.option()(callback)
        created = parent.command(name, **attrs)(with_appcontext(callback) if app else callback)
        IDENTITIES[created] = identity  # docs/cli.md lists them; tests check every command
        _PATHS[created] = _full_path(parent, name)
        return created

    return decorate


def _rollback(db: Any) -> None:
    if db is not None:
        db.rollback()


def fail(message: str) -> NoReturn:
    """Stop the command: the message on stderr, exit status 1 (no traceback, nothing personal)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def fail_with(exc: BaseException) -> NoReturn:
    """Stop the command with a domain error's detail and its field errors, exit status 1."""
    report(exc)
    sys.exit(1)


def report(exc: BaseException) -> None:
    """Print a domain error's detail and (the first of) its field errors on stderr."""
    click.echo(f"Error: {getattr(exc, 'detail', None) or exc}", err=True)
    errors = getattr(exc, "errors", None) or []
    for error in errors[:MAX_PRINTED_ERRORS]:
        where = f"line {error.line}: " if error.line is not None else ""
        click.echo(f"  {where}{error.field}: {error.message}", err=True)
    if len(errors) > MAX_PRINTED_ERRORS:
        click.echo(f"  ... and {len(errors) - MAX_PRINTED_ERRORS} more", err=True)


def choice(vocabulary: Any, *, case_sensitive: bool = True) -> click.Choice[str]:
    """A click choice of a schema vocabulary (a ``Literal`` type): the CLI offers exactly what
    the API accepts."""
    return click.Choice(typing.get_args(vocabulary), case_sensitive=case_sensitive)
