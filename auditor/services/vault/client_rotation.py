"""Client key rotation: a new key version for one client, its secrets' data keys re-wrapped in
batches (values, usernames and notes are never re-encrypted; the usernames' blind indexes are
recomputed under the new key), then the old versions deleted (docs/crypto-format.md, section 11).
Interrupted, it resumes the same rotation when run again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session

from auditor.models import ClientKey, Organization, Secret
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import NotFound
from auditor.services.vault import keys as vault_keys
from auditor.services.vault.fields import SEALED_COLUMNS, rewrap_fields
from auditor.services.vault.rotation import DEFAULT_BATCH, Progress, check_ring, expire
from crypto import envelope
from crypto.blind_index import BlindIndex
from crypto.keys import MasterKeyRing

_client_keys = cast(Table, ClientKey.__table__)
_secrets = cast(Table, Secret.__table__)


@dataclass(frozen=True)
class ClientRotationPlan:
    organization_id: int
    code: str
    current_version: int
    new_version: int
    resumes: bool  # the newest version already exists: a rotation left unfinished
    pending: int  # secrets still to re-wrap


@dataclass(frozen=True)
class ClientRotation:
    plan: ClientRotationPlan
    rewrapped: int
    deleted_versions: tuple[int, ...]  # old key rows no secret used any more: crypto-shredded
    kept_versions: tuple[int, ...]  # old rows still named by a secret (written meanwhile)


def _organization(session: Session, client: int | str) -> Organization:
    if isinstance(client, int):
        org = session.get(Organization, client)
    else:
        org = session.scalar(select(Organization).where(Organization.code == client))
    if org is None:
        raise NotFound("No organization with that code.")
    return org


def _stale(session: Session, organization_id: int, version: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Secret)
            .where(Secret.organization_id == organization_id, Secret.client_key_version != version)
        )
        or 0
    )


def plan_client_rotation(session: Session, client: int | str) -> ClientRotationPlan:
    """What rotate_client would do: resume an unfinished rotation, or start a new version."""
    org = _organization(session, client)
    newest = vault_keys.current_version(session, org.id)
    if newest is None:
        raise NotFound(f"Client {org.code} has no vault key yet: there is nothing to rotate.")
    stale = _stale(session, org.id, newest)
    if stale:
        return ClientRotationPlan(org.id, org.code, newest, newest, True, stale)
    total = session.scalar(
        select(func.count()).select_from(Secret).where(Secret.organization_id == org.id)
    )
    return ClientRotationPlan(org.id, org.code, newest, newest + 1, False, total or 0)


def rotate_client(
    session: Session,
    ring: MasterKeyRing,
    client: int | str,
    *,
    actor: Actor,
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> ClientRotation:
    """Rotate one client's key: a new version, every data key re-wrapped under it in committed
    batches (bytes 68+ of each blob unchanged, the username's blind index recomputed), then the
    old versions' rows deleted once unused.

    Resumable: when the newest version already has secrets on older versions (an interrupted
    run), that rotation is finished instead of adding yet another version.
    """
    check_ring(session, ring)
    plan = plan_client_rotation(session, client)
    org_id, new_version = plan.organization_id, plan.new_version
    if not plan.resumes:
        vault_keys.add_version(session, ring, org_id)
        audit.record(
            session,
            actor=actor,
            action="keys.rotate_client",
            object_type="client_key",
            object_id=new_version,
            organization_id=org_id,
            details={
                "client_key_version": new_version,
                "previous_version": plan.current_version,
                "secrets_to_rewrap": plan.pending,
            },
        )
        session.commit()  # the new version exists before any secret names it
    keys = vault_keys.all_keys(session, ring, org_id)
    new_key = keys.pop(new_version)
    rewrapped = _rewrap_secrets(session, org_id, keys, new_key, plan, actor, batch, progress)
    deleted, kept = _shred_unused(session, org_id, new_version, actor)
    return ClientRotation(plan, rewrapped, deleted, kept)


def _rewrap_secrets(
    session: Session,
    organization_id: int,
    old: dict[int, envelope.ClientKey],
    new: envelope.ClientKey,
    plan: ClientRotationPlan,
    actor: Actor,
    batch: int,
    progress: Progress | None,
) -> int:
    columns = [*SEALED_COLUMNS.values(), "username_index"]
    statement = (
        update(_secrets)
        .where(_secrets.c.id == bindparam("b_id"))
        .values({column: bindparam(f"b_{column}") for column in columns})
        .values(client_key_version=new.version)
    )
    index, done, after = BlindIndex(new), 0, 0
    while True:
        rows = session.execute(
            select(
                Secret.id, Secret.ref, *(_secrets.c[column] for column in SEALED_COLUMNS.values())
            )
            .where(
                Secret.organization_id == organization_id,
                Secret.client_key_version != new.version,
                Secret.id > after,
            )
            .order_by(Secret.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        params = []
        for row in rows:
            sealed = {column: getattr(row, column) for column in SEALED_COLUMNS.values()}
            moved = rewrap_fields(old, new, row.ref, sealed, index)
            params.append({"b_id": row.id, **{f"b_{c}": moved[c] for c in columns}})
        session.execute(statement, params)
        done, after = done + len(rows), rows[-1].id
        audit.record(
            session,
            actor=actor,
            action="keys.rewrap_secrets",
            object_type="client_key",
            object_id=new.version,
            organization_id=organization_id,
            details={
                "client_key_version": new.version,
                "rewrapped": len(rows),
                "resumed": plan.resumes,
            },
        )
        session.commit()
        if progress is not None:
            progress(len(rows))
    expire(session, Secret)
    return done


def _shred_unused(
    session: Session, organization_id: int, version: int, actor: Actor
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Delete the client's older key rows that no secret names any more (crypto-shredding)."""
    older = ClientKey.version < version
    candidates = session.scalars(
        select(ClientKey.version).where(ClientKey.organization_id == organization_id, older)
    ).all()
    if not candidates:
        return (), ()
    used = exists().where(
        Secret.organization_id == ClientKey.organization_id,
        Secret.client_key_version == ClientKey.version,
    )
    session.execute(
        delete(ClientKey).where(ClientKey.organization_id == organization_id, older, ~used),
        execution_options={"synchronize_session": False},
    )
    kept = tuple(
        session.scalars(
            select(ClientKey.version)
            .where(ClientKey.organization_id == organization_id, older)
            .order_by(ClientKey.version)
        ).all()
    )
    deleted = tuple(sorted(set(candidates) - set(kept)))
    if deleted:
        audit.record(
            session,
            actor=actor,
            action="keys.shred_client_key",
            object_type="client_key",
            object_id=version,
            organization_id=organization_id,
            details={"deleted_versions": list(deleted), "client_key_version": version},
        )
    session.commit()
    expire(session, ClientKey)
    return deleted, kept
