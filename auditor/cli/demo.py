"""``auditor demo load``: the demo MSP, and a token to explore it with."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor import demo as msp
from auditor.cli import groups
from auditor.cli.common import command
from auditor.demo.loader import DEMO_PASSWORD
from auditor.keys import master_key_ring
from auditor.schemas.users import TokenIn
from auditor.services import users
from auditor.services.context import Actor


@command(groups.demo, "load")
@click.option("--token/--no-token", default=True, help="print a new admin API token at the end")
def load(session: Session, actor: Actor, token: bool) -> None:
    """Load the demo MSP (idempotent: a second run changes nothing)."""
    actor = actor
    result = msp.load(session, actor=actor, ring=master_key_ring())
    if result.received == 0:
        click.echo("demo records: left alone (a purge has run: they would come back)")
    else:
        click.echo(
            f"demo records: inserted {result.inserted}, updated {result.updated}, "
            f"unchanged {result.unchanged}, card numbers redacted {result.pan_redactions}"
        )
    secret = None
    if token:
        admin = users.find_user(session, msp.USERS[0][0])
        secret, _ = users.create_token(
            session,
            admin.id,
            TokenIn(name="demo", expires_in_days=30),
            actor=actor,
            default_ttl_days=current_app.config["TOKEN_TTL_DAYS"],
        )
    session.commit()
    click.echo("sign in to the web application as any demo user, with the password")
    click.echo(f"'{DEMO_PASSWORD}'; the first sign-in sets up an authenticator app (TOTP):")
    for email, _name, role in msp.USERS:
        click.echo(f"  {email:<32} {role.replace('_', ' ')}")
    if secret:
        click.echo(f"admin API token for {msp.USERS[0][0]} (valid 30 days; shown once):")
        click.echo(secret)
