"""``auditor users`` and ``auditor tokens``: accounts, roles and API tokens."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import ROW_ID, choice, command
from auditor.cli.operator import no_active_admin
from auditor.permissions import Permission
from auditor.schemas.common import parse
from auditor.schemas.users import RoleName, TokenIn, UserIn, UserUpdate
from auditor.services import mfa
from auditor.services import users as service
from auditor.services.context import Actor

ROLES = choice(RoleName)


@command(groups.users, "create", needs=Permission.USERS_MANAGE, bootstrap=no_active_admin)
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=ROLES, required=True)
def create(session: Session, actor: Actor, email: str, name: str, role: str) -> str:
    """Create a user with one role."""
    user = service.create_user(
        session,
        parse(UserIn, {"email": email, "name": name, "role": role}, what="user"),
        actor=actor,
    )
    return f"created user {user.id} ({user.role})"


@command(groups.users, "list", reads=Permission.USERS_MANAGE)
def list_(session: Session) -> None:
    """List users and roles."""
    for user in service.list_users(session):
        state = "active" if user.is_active else "deactivated"
        click.echo(f"{user.id:>4}  {user.email:40} {user.role:16} {state}")


@command(groups.users, "set-role", needs=Permission.USERS_MANAGE)
@click.argument("email")
@click.argument("role", type=ROLES)
def set_role(session: Session, actor: Actor, email: str, role: str) -> str:
    """Change a user's role (audited as a role change)."""
    user = service.find_user(session, email)
    service.update_user(session, user.id, UserUpdate(role=role), actor=actor)  # type: ignore[arg-type]
    return f"user {user.id} is now {role}"


@command(groups.users, "deactivate", needs=Permission.USERS_MANAGE)
@click.argument("email")
def deactivate(session: Session, actor: Actor, email: str) -> str:
    """Deactivate a user and revoke every token they hold."""
    user = service.find_user(session, email)
    service.update_user(session, user.id, UserUpdate(is_active=False), actor=actor)
    return f"user {user.id} deactivated; tokens revoked, web sessions ended"


@command(groups.users, "reset-mfa", needs=Permission.USERS_MANAGE)
@click.argument("email")
def reset_mfa(session: Session, actor: Actor, email: str) -> str:
    """Reset a user's second factor (a lost phone): the authenticator and the recovery codes go,
    their web sessions end, and they set up an authenticator again at their next sign-in."""
    user = service.find_user(session, email)
    mfa.reset(session, user, actor=actor)
    return f"user {user.id}: second factor reset; they enrol again at their next sign-in"


@command(groups.users, "set-password", needs=Permission.USERS_MANAGE)
@click.argument("email")
@click.password_option(help="the new password (prompted when omitted)")
def set_password(session: Session, actor: Actor, email: str, password: str) -> str:
    """Set a user's password for the web interface (stored as an Argon2id hash)."""
    user = service.find_user(session, email)
    service.set_password(session, user.id, password, actor=actor)
    return f"password set for user {user.id}"


@command(groups.tokens, "create", needs=Permission.USERS_MANAGE)
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="what the token is for")
@click.option("--days", type=int, help="lifetime in days (default: AUDITOR_TOKEN_TTL_DAYS)")
def create_token(session: Session, actor: Actor, email: str, name: str, days: int | None) -> None:
    """Create a token for a user. The token is printed alone on the last line, once."""
    user = service.find_user(session, email)
    data = parse(TokenIn, {"name": name, "expires_in_days": days}, what="token")
    token, row = service.create_token(
        session, user.id, data, actor=actor, default_ttl_days=current_app.config["TOKEN_TTL_DAYS"]
    )
    session.commit()
    click.echo(
        f"token {row.id} for user {user.id} ({user.role}), expires {row.expires_at:%Y-%m-%d}",
        err=True,
    )
    click.echo(token)


@command(groups.tokens, "revoke", needs=Permission.USERS_MANAGE)
@click.argument("token_id", type=ROW_ID)
def revoke(session: Session, actor: Actor, token_id: int) -> str:
    """Revoke a token by its id (see 'tokens list')."""
    service.revoke_token(session, token_id, actor=actor)
    return f"token {token_id} revoked"


@command(groups.tokens, "list", reads=Permission.USERS_MANAGE)
@click.argument("email", required=False)
def list_tokens(session: Session, email: str | None) -> None:
    """List tokens (never the secret itself), for one user or all."""
    user_id = service.find_user(session, email).id if email else None
    for row in service.list_tokens(session, user_id):
        state = "revoked" if row.revoked_at else f"expires {row.expires_at:%Y-%m-%d}"
        click.echo(f"{row.id:>4}  user {row.user_id:<4} {row.prefix}…  {row.name:20} {state}")
