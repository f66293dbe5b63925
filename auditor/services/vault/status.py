"""The vault key status report: what each master version wraps, each client's key and secrets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import ClientKey, MasterKeyCanary, Organization, Secret, User
from crypto.keys import MasterKeyRing


def client_keys_by_master(session: Session) -> dict[int, int]:
    """How many client key rows each master version wraps."""
    query = select(ClientKey.master_version, func.count()).group_by(ClientKey.master_version)
    return dict(session.execute(query).all())


def totp_by_master(session: Session) -> dict[int, int]:
    """How many users' TOTP secrets each master version seals (crypto-format section 15)."""
    query = (
        select(User.totp_master_version, func.count())
        .where(User.totp_secret.is_not(None))
        .group_by(User.totp_master_version)
    )
    return {int(v): n for v, n in session.execute(query).all() if v is not None}


@dataclass(frozen=True)
class MasterVersionStatus:
    version: int
    client_keys: int
    is_current: bool
    in_ring: bool
    has_canary: bool
    totp_secrets: int = 0  # users' TOTP secrets sealed under it (crypto-format section 15)


@dataclass(frozen=True)
class ClientKeyStatus:
    code: str
    current_version: int
    key_created_at: dt.datetime
    key_age: dt.timedelta
    key_versions: tuple[int, ...]
    secrets_by_version: dict[int, int]

    @property
    def secrets(self) -> int:
        return sum(self.secrets_by_version.values())

    @property
    def pending(self) -> int:
        """Secrets not yet on the current version: an unfinished rotation."""
        return self.secrets - self.secrets_by_version.get(self.current_version, 0)


@dataclass(frozen=True)
class KeyStatus:
    current_master: int
    masters: list[MasterVersionStatus]
    clients: list[ClientKeyStatus]


def key_status(
    session: Session, ring: MasterKeyRing, *, now: dt.datetime | None = None
) -> KeyStatus:
    """Per master version: the client keys and TOTP secrets it wraps; per client: key version,
    age, secrets."""
    moment = now or utcnow()
    used = client_keys_by_master(session)
    totp = totp_by_master(session)
    canaries = set(session.scalars(select(MasterKeyCanary.master_version)))
    masters = [
        MasterVersionStatus(
            v, used.get(v, 0), v == ring.current, v in ring, v in canaries, totp.get(v, 0)
        )
        for v in sorted(set(ring.versions) | set(used) | set(totp) | canaries)
    ]
    secrets: dict[int, dict[int, int]] = {}
    for org_id, version, count in session.execute(
        select(Secret.organization_id, Secret.client_key_version, func.count()).group_by(
            Secret.organization_id, Secret.client_key_version
        )
    ):
        secrets.setdefault(org_id, {})[version] = count
    keys: dict[int, list[tuple[int, dt.datetime]]] = {}
    codes: dict[int, str] = {}
    for org_id, code, version, created_at in session.execute(
        select(
            ClientKey.organization_id, Organization.code, ClientKey.version, ClientKey.created_at
        )
        .join(Organization, Organization.id == ClientKey.organization_id)
        .order_by(Organization.code, ClientKey.version)
    ):
        keys.setdefault(org_id, []).append((version, created_at))
        codes[org_id] = code
    clients = []
    for org_id, versions in keys.items():
        newest, created_at = versions[-1]
        clients.append(
            ClientKeyStatus(
                code=codes[org_id],
                current_version=newest,
                key_created_at=created_at,
                key_age=moment - created_at,
                key_versions=tuple(v for v, _ in versions),
                secrets_by_version=dict(sorted(secrets.get(org_id, {}).items())),
            )
        )
    return KeyStatus(ring.current, masters, clients)
