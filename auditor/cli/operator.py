"""Who runs a command: the user named with ``--as EMAIL`` (or AUDITOR_OPERATOR), checked against
the role matrix the API applies, so that the audit trail names a person and not ``cli:root``.

A command that changes data or discloses personal data *needs* a user; a read-only command
*reads* as one when one is named (and is then held to the same matrix). The OS account stays in
the trail as context (``details.via``). Setup and infrastructure commands (``instance init``,
``db``, ``keys generate``, ``scheduler``, ``demo load``) name nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import User
from auditor.permissions import Permission, Role, is_allowed
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import PermissionDenied

ENVVAR = "AUDITOR_OPERATOR"


@dataclass(frozen=True)
class Identity:
    """What a command asks of its operator: ``permission``, and whether naming a user is
    ``required``; ``bootstrap`` tells when a required user may be missing (the first admin)."""

    permission: Permission
    required: bool
    bootstrap: Callable[[Session], bool] | None = None


def option() -> Callable[[Any], Any]:
    return click.option(
        "--as",
        "operator",
        metavar="EMAIL",
        envvar=ENVVAR,
        help=f"the user running the command (default: ${ENVVAR}); checked against their role",
    )


def resolve(session: Session, identity: Identity, email: str | None, command: str) -> Actor:
    """The actor of ``command``: the named active user if their role allows it; without a name
    the OS account, when the command allows that. Refusals are audited, then raised."""
    if not email or not email.strip():
        if not identity.required or (identity.bootstrap and identity.bootstrap(session)):
            return Actor.cli()
        raise PermissionDenied(
            f"'auditor {command}' changes or discloses data: name the user running it with "
            f"--as EMAIL or {ENVVAR} (an active user whose role allows it)."
        )
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        audit.record_refusal(
            session,
            actor=Actor.cli(),
            action="auth.operator",
            outcome="failure",
            details={"reason": "no active user has that email", "command": command},
        )
        raise PermissionDenied(f"No active user has the email given with --as or {ENVVAR}.")
    actor = Actor.cli_user(user.id, user.role)
    if not is_allowed(user.role, identity.permission):
        audit.record_refusal(
            session,
            actor=actor,
            action="access.denied",
            details={"permission": identity.permission.value, "command": command},
        )
        raise PermissionDenied(
            f"The role '{user.role}' may not run 'auditor {command}' "
            f"(it needs {identity.permission.value})."
        )
    return actor


def no_active_admin(session: Session) -> bool:
    """True before the first admin exists: ``users create`` may then run as the OS account."""
    admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
    )
    return not admins
