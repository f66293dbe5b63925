"""``auditor instance init``: the instance folder and generated development secrets (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from auditor.cli import groups
from auditor.cli.common import command
from auditor.config import INSTANCE_MASTER_KEY_FILE, INSTANCE_SECRET_FILES
from crypto.digest import new_digest_key
from crypto.keys import dump_key_ring, new_key_ring
from crypto.note import generate_private_key_pem


def _write_secret(path: Path, content: bytes) -> bool:
    if path.exists():
        return False
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return True


@command(groups.instance, "init", app=False)
@click.option(
    "--path",
    "path",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="AUDITOR_INSTANCE_PATH",
    required=True,
    help="instance folder (AUDITOR_INSTANCE_PATH)",
)
def init(path: Path) -> None:
    """Create the folder and any missing secret (existing ones are kept)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    generated = {
        "SECRET_KEY": secrets.token_urlsafe(48).encode(),
        "AUDIT_SIGNING_KEY": generate_private_key_pem(),
        "DISPOSITION_KEY": new_digest_key().encode(),
    }
    for name, filename in INSTANCE_SECRET_FILES.items():
        target = path / filename
        if _write_secret(target, generated[name]):
            click.echo(f"generated {target} (mode 0600) for AUDITOR_{name}")
        else:
            click.echo(f"kept {target}")
    ring_file = path / INSTANCE_MASTER_KEY_FILE
    if _write_secret(ring_file, dump_key_ring(new_key_ring()).encode()):
        click.echo(
            f"generated {ring_file} (mode 0600): a DEVELOPMENT vault master key ring for "
            "AUDITOR_MASTER_KEY_FILE; in production keep the master key outside this machine's "
            "database backups"
        )
    else:
        click.echo(f"kept {ring_file}")
