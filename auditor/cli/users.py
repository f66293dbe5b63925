"""``auditor users`` and ``auditor tokens``: accounts, roles and API tokens."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from auditor.cli.common import handle_errors, session
from auditor.schemas.common import parse
from auditor.schemas.users import TokenIn, UserIn, UserUpdate
from auditor.services import users as service
from auditor.services.context import Actor

ROLES = click.Choice(["admin", "privacy_officer", "technician", "auditor"])


@click.group(cls=AppGroup)
def users() -> None:
    """Users and their roles."""


@users.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=ROLES, required=True)
@handle_errors
def create(email: str, name: str, role: str) -> None:
    """Create a user with one role."""
    db = session()
    user = service.create_user(
        db,
        parse(UserIn, {"email": email, "name": name, "role": role}, what="user"),
        actor=Actor.cli(),
    )
    db.commit()
    click.echo(f"created user {user.id} ({user.role})")


@users.command("list")
@handle_errors
def list_() -> None:
    """List users and roles."""
    for user in service.list_users(session()):
        state = "active" if user.is_active else "deactivated"
        click.echo(f"{user.id:>4}  {user.email:40} {user.role:16} {state}")


@users.command("set-role")
@click.argument("email")
@click.argument("role", type=ROLES)
@handle_errors
def set_role(email: str, role: str) -> None:
    """Change a user's role (audited as a role change)."""
    db = session()
    user = service.find_user(db, email)
    service.update_user(db, user.id, UserUpdate(role=role), actor=Actor.cli())  # type: ignore[arg-type]
    db.commit()
    click.echo(f"user {user.id} is now {role}")


@users.command("deactivate")
@click.argument("email")
@handle_errors
def deactivate(email: str) -> None:
    """Deactivate a user and revoke every token they hold."""
    db = session()
    user = service.find_user(db, email)
    service.update_user(db, user.id, UserUpdate(is_active=False), actor=Actor.cli())
    db.commit()
    click.echo(f"user {user.id} deactivated; tokens revoked")


@users.command("set-password")
@click.argument("email")
@click.password_option(help="the new password (prompted when omitted)")
@handle_errors
def set_password(email: str, password: str) -> None:
    """Set a user's password for the web interface (stored as an Argon2id hash)."""
    db = session()
    user = service.find_user(db, email)
    service.set_password(db, user.id, password, actor=Actor.cli())
    db.commit()
    click.echo(f"password set for user {user.id}")


@click.group(cls=AppGroup)
def tokens() -> None:
    """API tokens (bearer)."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="what the token is for")
@click.option("--days", type=int, help="lifetime in days (default: AUDITOR_TOKEN_TTL_DAYS)")
@handle_errors
def create_token(email: str, name: str, days: int | None) -> None:
    """Create a token for a user. The token is printed alone on the last line, once."""
    db = session()
    user = service.find_user(db, email)
    data = parse(TokenIn, {"name": name, "expires_in_days": days}, what="token")
    token, row = service.create_token(
        db, user.id, data, actor=Actor.cli(), default_ttl_days=current_app.config["TOKEN_TTL_DAYS"]
    )
    db.commit()
    click.echo(
        f"token {row.id} for user {user.id} ({user.role}), expires {row.expires_at:%Y-%m-%d}",
        err=True,
    )
    click.echo(token)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@handle_errors
def revoke(token_id: int) -> None:
    """Revoke a token by its id (see 'tokens list')."""
    db = session()
    service.revoke_token(db, token_id, actor=Actor.cli())
    db.commit()
    click.echo(f"token {token_id} revoked")


@tokens.command("list")
@click.argument("email", required=False)
@handle_errors
def list_tokens(email: str | None) -> None:
    """List tokens (never the secret itself), for one user or all."""
    db = session()
    user_id = service.find_user(db, email).id if email else None
    for row in service.list_tokens(db, user_id):
        state = "revoked" if row.revoked_at else f"expires {row.expires_at:%Y-%m-%d}"
        click.echo(f"{row.id:>4}  user {row.user_id:<4} {row.prefix}…  {row.name:20} {state}")
