"""The demo MSP's vault: a few credentials per client, and the demo technician's grants."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.demo import data as demo
from auditor.models import Disposition, DispositionBatch, Organization, Secret
from auditor.schemas.vault import SecretIn
from auditor.services import users, vault
from auditor.services.context import Actor
from crypto.keys import MasterKeyRing

VAULT = [
    # (name, kind, username, url, system)
    ("Domain administrator", "password", "{short}\\administrator", "https://dc01.{domain}", "rmm"),
    ("Firewall admin", "password", "admin", "https://fw.{domain}", None),
    (
        "Microsoft 365 global admin",
        "password",
        "admin@{domain}",
        "https://admin.microsoft.com",
        None,
    ),
    ("Backup service API key", "api_key", None, "https://backup.{domain}/api", None),
    ("Global admin MFA seed", "totp_seed", "admin@{domain}", None, None),
]


def load(session: Session, ring: MasterKeyRing, *, actor: Actor) -> int:
    """A few credentials per client (once), and the demo technician's grants to two clients."""
    created = 0
    for code, _, domain, _, _, _ in demo.CLIENTS:
        org = session.scalar(select(Organization).where(Organization.code == code))
        assert org is not None
        if session.scalar(select(Secret.id).where(Secret.organization_id == org.id).limit(1)):
            continue
        purged = select(DispositionBatch.id).where(
            DispositionBatch.subject_type == "client_vault",
            DispositionBatch.id.in_(
                select(Disposition.batch_id).where(Disposition.subject_ref == org.code)
            ),
        )
        if session.scalar(purged.limit(1)):
            continue  # its vault was handed over and purged: do not bring it back
        rng = random.Random(code)
        for name, kind, username, url, system in VAULT:
            value = "".join(
                rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
                for _ in range(20)
            )
            data = SecretIn(
                name=name,
                kind=kind,  # type: ignore[arg-type]  # a kind of the VAULT table above
                system=system,
                username=username.format(short=code.split("-")[0].upper(), domain=domain)
                if username
                else None,
                url=url.format(domain=domain) if url else None,
                value=value,  # type: ignore[arg-type]
            )
            vault.create_secret(session, ring, code, data, actor=actor)
            created += 1
    technician = users.find_user(session, demo.USERS[2][0])
    for code in ("northwind-dental", "maple-logistics"):
        vault.grant(session, technician.id, code, actor=actor)
    return created
