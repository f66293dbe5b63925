"""Master key rotation: add a master version, re-wrap every client key under it (and reseal the
users' TOTP secrets, sealed directly under the master key), retire the old one
(docs/crypto-format.md, sections 11 and 15). Client keys rotate in ``client_rotation``.

Long operations commit once per batch, each batch with its own audit event, so an interrupted run
keeps its progress and the next run picks up what is left. No key material reaches an audit
event, an error or a return value.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from auditor.models import ClientKey, MasterKeyCanary, Secret, User
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import Conflict, NotFound
from auditor.services.mfa import TOTP_PURPOSE, totp_owner
from auditor.services.vault import keys as vault_keys
from auditor.services.vault.status import client_keys_by_master, totp_by_master
from crypto import envelope, master_sealed
from crypto.keys import MasterKeyRing

DEFAULT_BATCH = 5000
Progress = Callable[[int], None]

_client_keys = cast(Table, ClientKey.__table__)
_secrets = cast(Table, Secret.__table__)
_users = cast(Table, User.__table__)


def client_id(organization_id: int) -> str:
    return str(organization_id)  # the client id in every AAD (services/vault.py)


def check_ring(session: Session, ring: MasterKeyRing) -> None:
    """Refuse to wrap anything with a ring that does not match the stored canaries; store the
    canary of a ring version that has none yet (a freshly rotated one)."""
    try:
        vault_keys.check_master_keys(session, ring)
    except vault_keys.KeyCheckFailed as exc:
        raise Conflict(f"The master key ring does not match the database: {exc}") from None


def expire(session: Session, model: type) -> None:
    """Bulk updates bypass the identity map: drop what it holds of `model`."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model):
            session.expire(obj)


# -- master key versions ----------------------------------------------------------------------


def rotate_master(
    session: Session,
    ring: MasterKeyRing,
    *,
    actor: Actor,
    save: Callable[[MasterKeyRing], None],
) -> MasterKeyRing:
    """Add a master version, made current; `save` stores the new ring (the key ring file).

    The ring is checked against the canaries first, so a wrong ring is never extended. The new
    version's canary and the audit event are added to the session; the caller commits. Client
    keys stay under their old versions until rewrap_client_keys.
    """
    check_ring(session, ring)
    rotated = ring.add_version()
    save(rotated)
    vault_keys.check_master_keys(session, rotated)  # stores the new version's canary
    pending = sum(client_keys_by_master(session).values())
    audit.record(
        session,
        actor=actor,
        action="keys.rotate",
        object_type="master_key",
        object_id=rotated.current,
        details={
            "master_version": rotated.current,
            "previous_version": ring.current,
            "client_keys_to_rewrap": pending,
        },
    )
    return rotated


@dataclass(frozen=True)
class RewrapResult:
    master_version: int
    pending: dict[int, int]  # master version -> client keys under it, before the run
    rewrapped: int
    dry_run: bool
    totp_pending: dict[int, int] = dataclasses.field(default_factory=dict)
    totp_resealed: int = 0


def rewrap_client_keys(
    session: Session,
    ring: MasterKeyRing,
    *,
    actor: Actor,
    batch: int = DEFAULT_BATCH,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RewrapResult:
    """Re-wrap every client key row not under the ring's current master version.

    Same client key, same client key version, a fresh "AUK" blob: sealed secrets are untouched.
    Commits per batch with one ``keys.rewrap`` event each; a second run finds nothing to do.
    """
    current = ring.current
    pending = {v: n for v, n in client_keys_by_master(session).items() if v != current}
    totp_pending = {v: n for v, n in totp_by_master(session).items() if v != current}
    if dry_run or not (pending or totp_pending):
        return RewrapResult(current, pending, 0, dry_run, totp_pending)
    check_ring(session, ring)
    statement = (
        update(_client_keys)
        .where(_client_keys.c.id == bindparam("b_id"))
        .values(wrapped=bindparam("b_wrapped"), master_version=current)
    )
    done, after = 0, 0
    while True:
        rows = session.execute(
            select(
                ClientKey.id, ClientKey.organization_id, ClientKey.wrapped, ClientKey.master_version
            )
            .where(ClientKey.master_version != current, ClientKey.id > after)
            .order_by(ClientKey.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        params = [
            {
                "b_id": row.id,
                "b_wrapped": envelope.rewrap_client_key(
                    ring, client_id(row.organization_id), bytes(row.wrapped)
                ),
            }
            for row in rows
        ]
        session.execute(statement, params)
        versions = [row.master_version for row in rows]
        _record_batch(session, actor, current, "rewrapped", versions, progress)
        done, after = done + len(rows), rows[-1].id
    expire(session, ClientKey)
    resealed = _reseal_totp(session, ring, actor=actor, batch=batch, progress=progress)
    return RewrapResult(current, pending, done, False, totp_pending, resealed)


def _record_batch(
    session: Session,
    actor: Actor,
    current: int,
    counted: str,
    versions: list[int],
    progress: Progress | None,
) -> None:
    """One batch of a rewrap done: its ``keys.rewrap`` event (how many, from which versions),
    committed, and the progress told."""
    origins = Counter(versions)
    audit.record(
        session,
        actor=actor,
        action="keys.rewrap",
        object_type="master_key",
        object_id=current,
        details={
            "master_version": current,
            counted: len(versions),
            "from_versions": {str(v): n for v, n in sorted(origins.items())},
        },
    )
    session.commit()
    if progress is not None:
        progress(len(versions))


def _reseal_totp(
    session: Session, ring: MasterKeyRing, *, actor: Actor, batch: int, progress: Progress | None
) -> int:
    """Seal again, under the current master version, every TOTP secret under an older one."""
    current = ring.current
    statement = (
        update(_users)
        .where(_users.c.id == bindparam("b_id"))
        .values(totp_secret=bindparam("b_sealed"), totp_master_version=current)
    )
    done = 0
    while True:
        rows = session.execute(
            select(User.id, User.totp_secret, User.totp_master_version)
            .where(User.totp_secret.is_not(None), User.totp_master_version != current)
            .order_by(User.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        params = []
        for row in rows:
            assert row.totp_secret is not None
            sealed = master_sealed.reseal(
                ring, bytes(row.totp_secret), purpose=TOTP_PURPOSE, owner=totp_owner(row.id)
            )
            params.append({"b_id": row.id, "b_sealed": sealed})
        session.execute(statement, params)
        versions = [int(row.totp_master_version) for row in rows]
        _record_batch(session, actor, current, "totp_resealed", versions, progress)
        done += len(rows)
    expire(session, User)
    return done


@dataclass(frozen=True)
class Retirement:
    master_version: int
    in_ring: bool
    had_canary: bool
    dry_run: bool


def retire_master(
    session: Session, ring: MasterKeyRing, version: int, *, actor: Actor, dry_run: bool = False
) -> Retirement:
    """Forget a master version in the database (its canary), once no client key names it.

    Refused for the current version and while any client key row is wrapped under it. The caller
    then removes the version from the key ring file (in that order: a canary left without its key
    would stop the service).
    """
    if version == ring.current:
        raise Conflict(
            f"Master key version {version} is the current version and cannot be retired; "
            "rotate first ('auditor keys rotate --yes')."
        )
    in_use = client_keys_by_master(session).get(version, 0)
    totp = totp_by_master(session).get(version, 0)
    if in_use or totp:
        raise Conflict(
            f"Master key version {version} still wraps {in_use} client key(s) and {totp} TOTP "
            "secret(s); run 'auditor keys rewrap --yes' first."
        )
    canary = session.get(MasterKeyCanary, version)
    if version not in ring and canary is None:
        raise NotFound(f"Master key version {version} is neither in the key ring nor in use.")
    result = Retirement(version, version in ring, canary is not None, dry_run)
    if dry_run:
        return result
    if canary is not None:
        session.delete(canary)
        session.flush()
    audit.record(
        session,
        actor=actor,
        action="keys.retire",
        object_type="master_key",
        object_id=version,
        details={"master_version": version, "had_canary": canary is not None},
    )
    return result
