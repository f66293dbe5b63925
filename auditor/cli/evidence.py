"""``auditor evidence export|verify``: signed evidence bundles (docs/evidence.md)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import command, fail
from auditor.keys import audit_origin, audit_public_key, audit_signing_key
from auditor.permissions import Permission, is_allowed
from auditor.services import evidence
from auditor.services.context import Actor
from auditor.services.requests.common import responder

DAY = click.DateTime(["%Y-%m-%d"])


@command(groups.evidence, "export", needs=Permission.EVIDENCE_EXPORT)
@click.option("--from", "start", type=DAY, required=True, help="first day of the period (UTC)")
@click.option("--to", "end", type=DAY, required=True, help="last day of the period (UTC)")
@click.option("--client", help="one client's code (default: the whole MSP)")
@click.option(
    "--personal-information",
    is_flag=True,
    help="include names and officers' free text (privacy officers; recorded in the bundle)",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the ZIP to write (default: <bundle name>.zip here)",
)
def export(
    session: Session,
    actor: Actor,
    start: dt.datetime,
    end: dt.datetime,
    client: str | None,
    personal_information: bool,
    output: Path | None,
) -> None:
    """Export the evidence of a period as a signed BagIt ZIP an auditor checks with standard
    tools (its VERIFY.md says how). The same closed period gives the same bytes."""
    if personal_information and not is_allowed(actor.role or "", Permission.REQUESTS_MANAGE):
        fail("--personal-information is for privacy officers and admins")
    request = evidence.Request(start.date(), end.date(), client, personal_information)
    target = output or Path(f"{request.name()}.zip")
    if target.exists():
        fail(f"{target} exists: remove it or give another --output")
    organization = responder(session, current_app.config)["name"] or "unnamed organization"
    folder = target.resolve().parent
    if not folder.is_dir():
        fail(f"no folder {folder}")
    # written beside the target and renamed once complete and audited: never half a bundle
    handle, partial = tempfile.mkstemp(prefix=".evidence-", suffix=".zip", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            result = evidence.export(
                session,
                request,
                out,
                key=audit_signing_key(),
                origin=audit_origin(),
                actor=actor,
                organization=organization,
            )
        session.commit()
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    span = (
        f"events {result.first_seq}..{result.last_seq}, checkpoint {result.checkpoint_size}"
        if result.first_seq is not None
        else "no audit event in the period"
    )
    click.echo(f"{target}: {span}")
    click.echo(
        f"tag manifest SHA-256 {result.tag_manifest_sha256} (audit event {result.audit_seq})"
    )


@command(groups.evidence, "verify", reads=Permission.AUDIT_READ)
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM key the bundle must be signed with (default: this instance's audit key)",
)
def verify(bundle: Path, public_key: Path | None) -> None:
    """Check a bundle: manifests, signature and signer, the audit slice against its
    checkpoints and proofs. Exits 1 naming each failure."""
    key = audit_public_key()
    if public_key is not None:
        try:
            loaded = serialization.load_pem_public_key(public_key.read_bytes())
        except (ValueError, TypeError):
            fail("the public key is not a PEM public key")
        if not isinstance(loaded, Ed25519PublicKey):
            fail("the public key is not an Ed25519 key")
        key = loaded
    report = evidence.verify_bundle(bundle, key=key, origin=audit_origin())
    if not report.ok:
        problems = "\n".join(f"  {p}" for p in report.problems)
        fail(f"evidence bundle verification FAILED:\n{problems}")
    signer = "its signer is this instance's key" if key else "signed by its own key (none pinned)"
    click.echo(
        f"evidence bundle intact: {report.files} payload files, {report.events} audit events, "
        f"{report.checkpoints} checkpoints; {signer}"
    )
