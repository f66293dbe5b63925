"""Vault keys in the database: master-key canaries and each client's wrapped key versions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import ClientKey, MasterKeyCanary
from crypto import envelope
from crypto.errors import DecryptionFailed, UnknownKeyVersion
from crypto.keys import MasterKeyRing


class KeyCheckFailed(Exception):
    """The configured master keys do not match the database: the service must not start."""


def check_master_keys(session: Session, ring: MasterKeyRing) -> list[int]:
    """Check every stored canary and every master version in use against the ring.

    Raises KeyCheckFailed (naming versions, never keys) before anything is read or written with a
    wrong key; stores a canary for ring versions that have none yet, and returns those versions.
    """
    canaries = session.scalars(select(MasterKeyCanary).order_by(MasterKeyCanary.master_version))
    try:
        missing = envelope.check_canaries(ring, [row.canary for row in canaries])
    except UnknownKeyVersion:
        stored = sorted(session.scalars(select(MasterKeyCanary.master_version)))
        absent = [v for v in stored if v not in ring.versions]
        raise KeyCheckFailed(
            f"master key version(s) {absent} have canaries in the database but are not "
            "configured; restore them in AUDITOR_MASTER_KEY_FILE"
        ) from None
    except DecryptionFailed as exc:
        raise KeyCheckFailed(f"{exc}: the configured master key is not the one in use") from None
    used = session.execute(
        select(ClientKey.master_version, func.count()).group_by(ClientKey.master_version)
    ).all()
    unknown = sorted(version for version, _ in used if version not in ring.versions)
    if unknown:
        raise KeyCheckFailed(
            f"client keys are wrapped under master key version(s) {unknown}, "
            "which the configured key ring lacks"
        )
    in_use_without_canary = sorted(v for v, _ in used if v in missing)
    if in_use_without_canary:
        raise KeyCheckFailed(
            f"master key version(s) {in_use_without_canary} wrap client keys but have no canary "
            "to check the configured key against; refusing to trust it"
        )
    for version in missing:
        session.add(
            MasterKeyCanary(master_version=version, canary=envelope.make_canary(ring, version))
        )
    session.flush()
    return missing


def _client_id(organization_id: int) -> str:
    return str(organization_id)


def current_version(session: Session, organization_id: int) -> int | None:
    return session.scalar(
        select(func.max(ClientKey.version)).where(ClientKey.organization_id == organization_id)
    )


def current_key(
    session: Session, ring: MasterKeyRing, organization_id: int, *, create: bool = True
) -> envelope.ClientKey | None:
    """The client's newest key, created (and wrapped under the current master key) on first use."""
    row = session.scalar(
        select(ClientKey)
        .where(ClientKey.organization_id == organization_id)
        .order_by(ClientKey.version.desc())
        .limit(1)
    )
    if row is not None:
        return envelope.unwrap_client_key(ring, _client_id(organization_id), row.wrapped)
    if not create:
        return None
    return add_version(session, ring, organization_id)


def add_version(session: Session, ring: MasterKeyRing, organization_id: int) -> envelope.ClientKey:
    """A new client key version, wrapped under the current master version."""
    version = (current_version(session, organization_id) or 0) + 1
    if session.get(MasterKeyCanary, ring.current) is None:
        # whatever is wrapped under a master version must be checkable against its canary later
        session.add(MasterKeyCanary(master_version=ring.current, canary=envelope.make_canary(ring)))
    key = envelope.ClientKey.generate(_client_id(organization_id), version)
    session.add(
        ClientKey(
            organization_id=organization_id,
            version=version,
            wrapped=envelope.wrap_client_key(ring, key),
            master_version=ring.current,
        )
    )
    session.flush()
    return key


def all_keys(
    session: Session, ring: MasterKeyRing, organization_id: int
) -> dict[int, envelope.ClientKey]:
    """Every stored version of the client's key, unwrapped (a rotation may be half done)."""
    rows = session.scalars(select(ClientKey).where(ClientKey.organization_id == organization_id))
    return {
        row.version: envelope.unwrap_client_key(ring, _client_id(organization_id), row.wrapped)
        for row in rows
    }
