"""``auditor demo load``: the demo MSP, and a token to explore it with."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from auditor import demo as msp
from auditor.cli.common import handle_errors, session
from auditor.keys import master_key_ring
from auditor.schemas.users import TokenIn
from auditor.services import users
from auditor.services.context import Actor


@click.group(cls=AppGroup)
def demo() -> None:
    """Demonstration data."""


@demo.command("load")
@click.option("--token/--no-token", default=True, help="print a new admin API token at the end")
@handle_errors
def load(token: bool) -> None:
    """Load the demo MSP (idempotent: a second run changes nothing)."""
    db = session()
    actor = Actor.cli()
    result = msp.load(db, actor=actor, ring=master_key_ring())
    if result.received == 0:
        click.echo("demo records: left alone (a purge has run: they would come back)")
    else:
        click.echo(
            f"demo records: inserted {result.inserted}, updated {result.updated}, "
            f"unchanged {result.unchanged}, card numbers redacted {result.pan_redactions}"
        )
    secret = None
    if token:
        admin = users.find_user(db, msp.USERS[0][0])
        secret, _ = users.create_token(
            db,
            admin.id,
            TokenIn(name="demo", expires_in_days=30),
            actor=actor,
            default_ttl_days=current_app.config["TOKEN_TTL_DAYS"],
        )
    db.commit()
    if secret:
        click.echo(f"admin API token for {msp.USERS[0][0]} (valid 30 days; shown once):")
        click.echo(secret)
