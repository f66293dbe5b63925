"""Helpers shared by the command groups: the session, domain errors as exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.orm import Session

from auditor.config import ConfigError
from auditor.db import get_session
from auditor.schemas.common import field_errors
from auditor.services.errors import AuditorError, ValidationFailed
from crypto.errors import CryptoError

MAX_PRINTED_ERRORS = 20


def session() -> Session:
    return get_session()


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become a message on stderr and exit status 1; the work is rolled back."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            get_session().rollback()
            report(ValidationFailed("The input is not valid.", field_errors(exc)))
            sys.exit(1)
        except (AuditorError, CryptoError, ConfigError) as exc:
            get_session().rollback()
            report(exc)
            sys.exit(1)

    return wrapper


def report(exc: BaseException) -> None:
    click.echo(f"Error: {getattr(exc, 'detail', None) or exc}", err=True)
    errors = getattr(exc, "errors", None) or []
    for error in errors[:MAX_PRINTED_ERRORS]:
        where = f"line {error.line}: " if error.line is not None else ""
        click.echo(f"  {where}{error.field}: {error.message}", err=True)
    if len(errors) > MAX_PRINTED_ERRORS:
        click.echo(f"  ... and {len(errors) - MAX_PRINTED_ERRORS} more", err=True)
