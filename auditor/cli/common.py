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

from auditor.config import ConfigError
from auditor.db import get_session
from auditor.schemas.common import field_errors
from auditor.services.context import Actor
from auditor.services.errors import AuditorError, ValidationFailed
from crypto.errors import CryptoError

MAX_PRINTED_ERRORS = 20

F = typing.TypeVar("F", bound=Callable[..., Any])


def group(name: str, help: str, *, parent: click.Group | None = None, **attrs: Any) -> click.Group:
    """A command group (of ``parent`` when given). Groups need no configuration: ``auditor GROUP
    --help`` works before anything is set up."""
    created = click.Group(name, help=help, **attrs)
    if parent is not None:
        parent.add_command(created)
    return created


def command(
    parent: click.Group, name: str, *, app: bool = True, **attrs: Any
) -> Callable[[F], click.Command]:
    """Declare ``fn`` as the command ``parent name``.

    With ``app`` (the default) the command runs with the configured application: it gets
    ``session`` (the database session) and ``actor`` (the CLI operator, as the audit trail names
    it) when its function names them, and the session commits once the function returns. A
    function may commit earlier itself, e.g. before it writes a file or prints a secret, so
    nothing is shown that was not recorded. What the function returns (a line, or a list of
    lines) is printed after the commit. ``app=False`` is for the few commands that must
    work before anything is configured (``instance init``, ``keys generate``).

    Domain errors, invalid input and configuration errors roll the session back and end the
    command with the message on stderr and exit status 1: no traceback, nothing personal.
    """

    def decorate(fn: F) -> click.Command:
        wants = set(inspect.signature(fn).parameters) & {"session", "actor"}

        @functools.wraps(fn)
        def callback(**kwargs: Any) -> Any:
            db = get_session() if app and "session" in wants else None
            if db is not None:
                kwargs["session"] = db
            if "actor" in wants:
                kwargs["actor"] = Actor.cli()
            try:
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

        return parent.command(name, **attrs)(with_appcontext(callback) if app else callback)

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
