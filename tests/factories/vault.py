"""Keyword-only builders of the vault's data: a terminated client's credentials, sealed with the
test key ring, their hand-over file and its acknowledgement; and what a database dump shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.db import Base
from auditor.models import ClientKey, Handover, Organization, Secret
from auditor.schemas.vault import SecretIn
from auditor.services.vault import handover as vault_handover
from auditor.services.vault import store as vault_store
from tests.factories.actors import OFFICER
from tests.factories.inventory import terminated_client
from tests.factories.kdbx import CHEAP
from tests.factories.keys import keyring

SEED = "JBSWY3DPEHPK3PXP"
CREDENTIALS = [
    {
        "name": "Domain admin",
        "kind": "password",
        "username": "OLDCO\\administrator",
        "url": "https://dc01.oldco.example",
        "system": "psa",
        "notes": "Rotated quarterly.\nSee runbook §4.",
        "value": "Pässwört-<&>-🔑",
    },
    {"name": "Backup API", "kind": "api_key", "url": "https://backup.example", "value": "ak_9f3e"},
    {"name": "Firewall MFA", "kind": "totp_seed", "username": "admin", "value": SEED},
    {"name": "Alarm code", "kind": "note", "notes": "front door", "value": "1234\r\n5678"},
]


def secret(session: Session, *, client: str, **data: Any) -> Secret:
    """A secret of ``client`` sealed by the officer with the test key ring."""
    return vault_store.create_secret(session, keyring(), client, SecretIn(**data), actor=OFFICER)


def oldco(session: Session) -> Organization:
    """Oldco, whose agreement ended on 31 October 2026, holding the four CREDENTIALS; and acme's
    router password beside them. Needs the inventory."""
    org = terminated_client(session, code="oldco", termination=dt.date(2026, 10, 31))
    for data in CREDENTIALS:
        secret(session, client="oldco", **data)
    secret(session, client="acme", name="Acme router", value="acme-router-pw")
    return org


def export_handover(
    session: Session, *, client: str = "oldco", **options: Any
) -> tuple[bytes, str, Handover]:
    """(file, passphrase, hand-over row) of ``client``'s credentials, with a fast KDF."""
    return vault_handover.export_handover(
        session, keyring(), client, recipient="Dana Client, IT lead", method="USB in person",
        actor=OFFICER, kdf=CHEAP, **options,
    )  # fmt: skip


def acknowledge_handover(
    session: Session, *, handover: Handover, at: dt.datetime | None = None, **options: Any
) -> Handover:
    """The client's signed receipt of ``handover``, recorded at ``at`` (default: the real now)."""
    return vault_handover.record_acknowledgement(
        session,
        handover.id,
        acknowledged_at=at or dt.datetime.now(dt.UTC),
        acknowledgement="Dana confirmed by signed receipt form",
        actor=OFFICER,
        **options,
    )


def vault_counts(session: Session, *, organization_id: int) -> tuple[int, int]:
    """(secrets, client key versions) the organization's vault holds."""
    secrets = session.scalar(
        select(func.count()).select_from(Secret).where(Secret.organization_id == organization_id)
    )
    keys = session.scalar(
        select(func.count())
        .select_from(ClientKey)
        .where(ClientKey.organization_id == organization_id)
    )
    return secrets or 0, keys or 0


def database_text(session: Session) -> str:
    """Every row of every table, as text: what an attacker with a database dump would read."""
    rows = []
    for table in Base.metadata.sorted_tables:
        rows.extend(str(tuple(row)) for row in session.execute(table.select()))
    return "\n".join(rows)
