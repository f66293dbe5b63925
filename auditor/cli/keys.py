"""``auditor keys``: master key generation, rotation and retirement; client key rotation; status.

Each command loads the key ring from the configuration itself (AUDITOR_MASTER_KEY_FILE or
AUDITOR_MASTER_KEY), never from the app's cached copy: ``rotate`` rewrites the file. Commands
that change keys are dry runs unless given --yes.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import ROW_ID, command, fail
from auditor.keys import load_ring
from auditor.permissions import Permission
from auditor.services import vault as vault_service
from auditor.services.context import Actor
from crypto.keys import (
    KEY_VARIABLE,
    MasterKeyRing,
    generate_key,
    new_key_ring,
    read_key_ring_file,
    write_key_ring_file,
)

YES = click.option("--yes", is_flag=True, help="do it (without: a dry run that changes nothing)")
BATCH = click.option(
    "--batch", type=click.IntRange(1), default=vault_service.DEFAULT_BATCH, show_default=True
)


def _ring() -> MasterKeyRing:
    return load_ring(current_app.config)


def _ring_file() -> Path:
    """The key ring file to rewrite; rotation needs one (an environment key has one version)."""
    config = current_app.config
    if config.get("MASTER_KEY"):
        fail(
            f"the master key comes from {KEY_VARIABLE}, which holds one version and cannot be "
            "rotated in place: create a key ring file holding that key as version 1 "
            "(docs/crypto-format.md, section 3), set AUDITOR_MASTER_KEY_FILE to it and unset "
            f"{KEY_VARIABLE}, then rotate"
        )
    if not config.get("MASTER_KEY_FILE"):
        fail("no key ring file is configured (AUDITOR_MASTER_KEY_FILE)")
    return Path(config["MASTER_KEY_FILE"])


def _versions(counts: dict[int, int]) -> str:
    return ", ".join(f"{n} under version {v}" for v, n in sorted(counts.items())) or "none"


@command(groups.keys, "generate", app=False)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write a new key ring file (mode 0600) for AUDITOR_MASTER_KEY_FILE",
)
@click.option("--print", "print_", is_flag=True, help=f"print one base64 key for {KEY_VARIABLE}")
def generate(output: Path | None, print_: bool) -> None:
    """Generate a master key: a key ring file (--output PATH) or one printed key (--print).

    Needs no configuration. An existing file is never overwritten."""
    if (output is None) == (not print_):
        fail("give exactly one of --output PATH or --print")
    if print_:
        click.echo(
            f"a new master key for {KEY_VARIABLE} (one version; rotation needs a key ring file):",
            err=True,
        )
        click.echo(base64.b64encode(generate_key()).decode())
        return
    assert output is not None
    if not output.parent.is_dir():
        fail(f"{output.parent} is not a folder")
    # Written complete under a temporary name, then linked: the link fails if the name exists.
    staging = output.with_name(f".{output.name}.new-{os.getpid()}")
    try:
        write_key_ring_file(staging, new_key_ring())
        os.link(staging, output)
    except FileExistsError:
        fail(f"{output} exists; refusing to overwrite a key ring")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    finally:
        staging.unlink(missing_ok=True)
    click.echo(f"wrote {output} (mode 0600): master key ring, version 1 current")
    click.echo(f"set AUDITOR_MASTER_KEY_FILE={output}; keep a copy outside the database backups")


@command(groups.keys, "rotate", needs=Permission.KEYS_MANAGE)
@YES
def rotate(session: Session, actor: Actor, yes: bool) -> None:
    """Add a master key version to the key ring file and make it current."""
    path = _ring_file()
    ring = read_key_ring_file(path)
    if not yes:
        counts = vault_service.client_keys_by_master(session)
        click.echo(
            f"dry run: would add master key version {ring.versions[-1] + 1} to {path} and make "
            f"it current (now {ring.current}); client keys to re-wrap then: {_versions(counts)}"
        )
        click.echo("pass --yes to do it")
        return
    rotated = vault_service.rotate_master(
        session, ring, actor=actor, save=lambda new: write_key_ring_file(path, new)
    )
    session.commit()
    old = ", ".join(str(v) for v in ring.versions)
    click.echo(f"master key version {rotated.current} is now current in {path}")
    click.echo(
        "next: restart the auditor service (it caches the key ring), then run "
        f"'auditor keys rewrap --yes'; keep version(s) {old} in the ring until "
        "'auditor keys status' shows they wrap no client key"
    )


@command(groups.keys, "rewrap", needs=Permission.KEYS_MANAGE)
@YES
@BATCH
def rewrap(session: Session, actor: Actor, yes: bool, batch: int) -> None:
    """Re-wrap every client key (and reseal every user's TOTP secret) under the current master
    version; the vault's sealed secrets are untouched.

    Resumable and idempotent: each batch is committed; a second run finds nothing to do."""
    ring = _ring()
    result = vault_service.rewrap_client_keys(session, ring, actor=actor, batch=batch, dry_run=True)
    keys_total, totp_total = sum(result.pending.values()), sum(result.totp_pending.values())
    if not keys_total and not totp_total:
        click.echo(f"every client key is already under master key version {ring.current}")
        return
    totp = f" and {totp_total} TOTP secret(s)" if totp_total else ""
    if not yes:
        versions = _versions({**result.totp_pending, **result.pending})
        click.echo(
            f"dry run: would re-wrap {keys_total} client key(s){totp} under master key "
            f"version {ring.current} ({versions}); pass --yes to do it"
        )
        return
    with click.progressbar(length=keys_total + totp_total, label="re-wrapping") as bar:
        result = vault_service.rewrap_client_keys(
            session, ring, actor=actor, batch=batch, progress=bar.update
        )
    resealed = f" and {result.totp_resealed} TOTP secret(s)" if result.totp_resealed else ""
    click.echo(
        f"re-wrapped {result.rewrapped} client key(s){resealed} under master key version "
        f"{ring.current}"
    )
    left = vault_service.client_keys_by_master(session)
    left.pop(ring.current, None)
    if left:
        click.echo(f"still to re-wrap (written meanwhile): {_versions(left)}; run it again")


@command(groups.keys, "rotate-client", needs=Permission.KEYS_MANAGE)
@click.argument("client")
@YES
@BATCH
def rotate_client(session: Session, actor: Actor, client: str, yes: bool, batch: int) -> None:
    """Rotate CLIENT's key (its code): a new version, every data key re-wrapped under it,
    old versions deleted once unused. Resumes an interrupted rotation."""
    plan = vault_service.plan_client_rotation(session, client)
    what = (
        f"resume the rotation to client key version {plan.new_version}"
        if plan.resumes
        else f"add client key version {plan.new_version} (now {plan.current_version})"
    )
    if not yes:
        click.echo(
            f"dry run: would {what} for {plan.code} and re-wrap {plan.pending} secret(s), then "
            "delete the older versions no secret uses; pass --yes to do it"
        )
        return
    ring = _ring()
    with click.progressbar(length=plan.pending, label=f"re-wrapping {plan.code}") as bar:
        result = vault_service.rotate_client(
            session, ring, client, actor=actor, batch=batch, progress=bar.update
        )
    deleted = ", ".join(map(str, result.deleted_versions)) or "none"
    click.echo(
        f"{plan.code}: client key version {plan.new_version}; re-wrapped {result.rewrapped} "
        f"secret(s); deleted old version(s): {deleted}"
    )
    if result.kept_versions:
        kept = ", ".join(map(str, result.kept_versions))
        click.echo(f"version(s) {kept} still used by secrets written meanwhile; run it again")


@command(groups.keys, "status")
def status(session: Session) -> None:
    """Per master version: client keys and TOTP secrets it wraps; per client: key version, age
    and secrets."""
    report = vault_service.key_status(session, _ring())
    click.echo(f"master key versions (current: {report.current_master})")
    click.echo(f"  {'version':>7}  {'client keys':>11}  {'TOTP':>5}  {'in ring':7}  canary")
    for m in report.masters:
        mark = "*" if m.is_current else " "
        click.echo(
            f"  {m.version:>6}{mark}  {m.client_keys:>11}  {m.totp_secrets:>5}  "
            f"{'yes' if m.in_ring else 'NO':7}  {'yes' if m.has_canary else 'no'}"
        )
    click.echo(f"client keys ({len(report.clients)} clients)")
    click.echo(f"  {'client':20} {'version':>7} {'age (days)':>10} {'secrets':>9} {'pending':>8}")
    for c in report.clients:
        by_version = ", ".join(f"v{v}: {n}" for v, n in c.secrets_by_version.items())
        click.echo(
            f"  {c.code:20} {c.current_version:>7} {c.key_age.days:>10} {c.secrets:>9} "
            f"{c.pending:>8}  {by_version}".rstrip()
        )


@command(groups.keys, "retire", needs=Permission.KEYS_MANAGE)
@click.argument("version", type=ROW_ID)
@YES
def retire(session: Session, actor: Actor, version: int, yes: bool) -> None:
    """Retire master key VERSION: delete its canary, then drop it from the key ring file.

    Refused for the current version and while any client key is wrapped under it."""
    ring = _ring()
    plan = vault_service.retire_master(session, ring, version, actor=actor, dry_run=True)
    path = _ring_file() if plan.in_ring else None
    if not yes:
        where = f" and remove it from {path}" if path else ""
        click.echo(
            f"dry run: no client key uses master key version {version}; would delete its "
            f"canary{where}; pass --yes to do it"
        )
        return
    vault_service.retire_master(session, ring, version, actor=actor)
    session.commit()
    if path is not None:
        write_key_ring_file(path, read_key_ring_file(path).drop_version(version))
    where = f" and removed from {path}" if path else ""
    click.echo(f"master key version {version} retired: canary deleted{where}")
    if plan.in_ring:
        click.echo("destroy every other copy of that key (backups of the ring file) to finish")
