"""``auditor audit``: verify the tamper-evident trail and sign checkpoints."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import command, fail
from auditor.cli.retention.runs import echo_check
from auditor.keys import audit_origin, audit_public_key, audit_signing_key
from auditor.permissions import Permission
from auditor.services import audit as service
from auditor.services import retention
from auditor.services.context import Actor
from crypto.note import public_key_pem, verifier_key


@command(groups.audit, "verify", reads=Permission.AUDIT_READ)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key to check checkpoints with (default: the configured key's)",
)
def verify(session: Session, public_key: Path | None) -> None:
    """Recompute the hash chain and Merkle tree; check every signed checkpoint.

    Exits 0 on an intact log; otherwise 1, naming the first bad sequence number."""
    key = audit_public_key()
    if public_key is not None:
        try:
            loaded = serialization.load_pem_public_key(public_key.read_bytes())
        except (ValueError, TypeError):
            fail("the public key is not a PEM public key")
        if not isinstance(loaded, Ed25519PublicKey):
            fail("the public key is not an Ed25519 key")
        key = loaded
    report = service.verify(session, public_key=key, origin=audit_origin())
    if not report.ok:
        where = (
            ""
            if report.first_bad_seq is None
            else f" (first bad sequence number: {report.first_bad_seq})"
        )
        fail(f"audit trail verification FAILED{where}: {report.problem}")
    note = "" if key else " (no key configured: checkpoint signatures not checked)"
    click.echo(
        f"audit trail intact: {report.tree_size} events, root {report.root_hash}, "
        f"{report.checkpoints_checked} checkpoints verified{note}"
    )
    # the log commits to every disposition batch and run certificate: check them against it
    echo_check(retention.verify_dispositions(session))


@command(groups.audit, "checkpoint", needs=Permission.AUDIT_CHECKPOINT)
def checkpoint(session: Session, actor: Actor) -> None:
    """Sign the current tree head (C2SP tlog-checkpoint) and store it."""
    row = service.create_checkpoint(
        session, signing_key=audit_signing_key(), origin=audit_origin(), actor=actor
    )
    session.commit()
    click.echo(row.note, nl=False)


@command(groups.audit, "public-key")
@click.option(
    "--format", "fmt", type=click.Choice(["pem", "vkey"]), default="pem", show_default=True
)
def public_key(fmt: str) -> None:
    """Print the checkpoint verification key (PEM, or the note 'vkey' form)."""
    key = audit_signing_key().public_key()
    if fmt == "pem":
        click.echo(public_key_pem(key).decode(), nl=False)
    else:
        click.echo(verifier_key(audit_origin(), key))
