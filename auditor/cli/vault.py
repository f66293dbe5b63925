"""``auditor vault``: credential import, hand-over and purge, grants, the reveal report."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click
from sqlalchemy.orm import Session

from auditor import keys
from auditor.cli import groups
from auditor.cli.common import ROW_ID, command
from auditor.keys import master_key_ring
from auditor.permissions import Permission
from auditor.schemas.common import parse
from auditor.schemas.vault_admin import AcknowledgementIn, HandoverIn
from auditor.services import retention as retention_service
from auditor.services import users
from auditor.services import vault as vault_service
from auditor.services.context import Actor
from auditor.services.errors import ValidationFailed
from crypto.digest import key_id


@command(groups.vault, "import", needs=Permission.VAULT_WRITE)
@click.argument("client")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="import the good rows (default: all or nothing)")
@click.option(
    "--notes-on-secret",
    "--plain-notes",  # its name from when notes were not sealed; kept for existing scripts
    "notes_on_secret",
    is_flag=True,
    help="keep a login's notes on its secret, revealed with it (default: a note secret of their "
    "own); sealed either way",
)
def import_(
    session: Session,
    actor: Actor,
    client: str,
    file: Path,
    skip_invalid: bool,
    notes_on_secret: bool,
) -> None:
    """Import CLIENT's credentials from FILE, a Bitwarden, LastPass, Passportal or IT Glue CSV.

    Bad rows are reported with their line number; without --skip-invalid nothing is imported."""
    with file.open("rb") as fh:
        result = vault_service.import_csv(
            session,
            master_key_ring(),
            client,
            fh,
            actor=actor,
            skip_invalid=skip_invalid,
            notes_on_secret=notes_on_secret,
        )
    session.commit()
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.kinds.items())) or "none"
    click.echo(
        f"{result.shape} export: {result.rows} row(s), {result.imported} secret(s) ({kinds})"
    )
    for line, errors in result.rejected_lines:
        for error in errors:
            click.echo(f"  skipped line {line}: {error.field}: {error.message}", err=True)


def _write_private(path: Path, data: bytes) -> None:
    """Create the file readable by its owner only; never overwrite one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationFailed(f"{path} already exists; choose another --output.") from None
    except OSError as exc:
        raise ValidationFailed(f"Cannot create {path}: {exc.strerror}.") from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)


@command(groups.vault, "handover", needs=Permission.VAULT_HANDOVER)
@click.argument("client")
@click.option("--recipient", required=True, help="who at the client receives the file")
@click.option("--method", required=True, help="how the file travels (e.g. 'USB key in person')")
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the .kdbx file to create (mode 0600)",
)
def handover_(
    session: Session, actor: Actor, client: str, recipient: str, method: str, output: Path
) -> None:
    """Export CLIENT's credentials as a KeePass (KDBX 4) file for hand-over at termination.

    The passphrase is printed once, alone on the last line: give it to the recipient through
    another channel than the file, then record their acknowledgement ('vault acknowledge')."""
    data = parse(HandoverIn, {"recipient": recipient, "method": method}, what="hand-over")
    content, passphrase, row = vault_service.export_handover(
        session,
        master_key_ring(),
        client,
        recipient=data.recipient,
        method=data.method,
        actor=actor,
    )
    _write_private(output, content)
    try:
        session.commit()
    except BaseException:
        output.unlink(missing_ok=True)  # no hand-over recorded: no file either
        raise
    click.echo(
        f"hand-over {row.id}: {row.secrets_count} secret(s) of {client} written to {output}\n"
        f"sha256 {row.file_sha256}\n"
        "passphrase (shown once; send it by another channel than the file):",
        err=True,
    )
    click.echo(passphrase)


@command(groups.vault, "acknowledge", needs=Permission.VAULT_HANDOVER)
@click.argument("handover_id", type=ROW_ID)
@click.option("--by", "by", required=True, help="who at the client confirmed receipt")
@click.option("--note", default="", help="how they confirmed (signed form, email, call)")
@click.option(
    "--at",
    "at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d"]),
    help="when they confirmed, e.g. 2026-03-01T14:00+00:00 (default: now; a date means 00:00 UTC)",
)
def acknowledge(
    session: Session, actor: Actor, handover_id: int, by: str, note: str, at: dt.datetime | None
) -> str:
    """Record the client's acknowledgement of hand-over HANDOVER_ID (needed before the purge)."""
    moment = dt.datetime.now(dt.UTC) if at is None else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    text = f"confirmed by {by.strip()}" + (f": {note.strip()}" if note.strip() else "")
    data = parse(
        AcknowledgementIn,
        {"acknowledged_at": moment, "acknowledgement": text},
        what="acknowledgement",
    )
    row = vault_service.record_acknowledgement(
        session,
        handover_id,
        acknowledged_at=data.acknowledged_at,
        acknowledgement=data.acknowledgement,
        actor=actor,
    )
    return f"hand-over {row.id} acknowledged on {row.acknowledged_at:%Y-%m-%d %H:%M} UTC"


@command(groups.vault, "purge", needs=Permission.VAULT_HANDOVER)
@click.argument("client")
@click.option("--yes", is_flag=True, help="really destroy (default: a dry run)")
def purge(session: Session, actor: Actor, client: str, yes: bool) -> None:
    """Crypto-shred CLIENT's vault after an acknowledged hand-over (R16); a dry run by default."""
    summary = retention_service.purge_client_vault(
        session,
        client,
        actor=actor,
        dry_run=not yes,
        digest_key_id=key_id(keys.disposition_key()),
    )
    session.commit()
    click.echo(summary.message)
    if summary.dry_run and summary.secrets + summary.client_key_versions:
        click.echo("Nothing was destroyed; run again with --yes to purge.")


@command(groups.vault, "report", reads=Permission.VAULT_REPORT)
@click.argument("email")
def report(session: Session, actor: Actor, email: str) -> None:
    """List the secrets the user revealed that have not changed since (rotate them at
    off-boarding)."""
    user = users.find_user(session, email)
    rows = vault_service.revealed_unchanged(session, user.id, actor=actor)
    session.commit()
    if not rows:
        click.echo(f"user {user.id}: no revealed secret is unchanged since")
    for row in rows:
        click.echo(
            f"{row.client:20} {row.ref:36} {row.kind:10} {row.name}  "
            f"(revealed {row.last_revealed_by_user_at:%Y-%m-%d %H:%M}, "
            f"changed {row.value_changed_at:%Y-%m-%d %H:%M})"
        )


@command(groups.vault, "grant", needs=Permission.USERS_MANAGE)
@click.argument("email")
@click.argument("client")
def grant(session: Session, actor: Actor, email: str, client: str) -> str:
    """Give a user access to CLIENT's vault (admins and officers reach every client)."""
    user = users.find_user(session, email)
    vault_service.grant(session, user.id, client, actor=actor)
    return f"user {user.id} may use the vault of {client}"


@command(groups.vault, "revoke", needs=Permission.USERS_MANAGE)
@click.argument("email")
@click.argument("client")
def revoke(session: Session, actor: Actor, email: str, client: str) -> str:
    """Withdraw a user's access to CLIENT's vault."""
    user = users.find_user(session, email)
    vault_service.revoke_grant(session, user.id, client, actor=actor)
    return f"user {user.id} no longer has the vault of {client}"
