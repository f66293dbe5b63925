"""Termination hand-over of a client's credentials as a KeePass file, and its acknowledgement (R16).

The hand-over file is encrypted under a one-time passphrase that is returned to the caller and
stored nowhere: the database keeps only the file's SHA-256 and counts. Once the client confirms
receipt, ``vault.purge`` may crypto-shred the client's vault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Agreement, Handover, Organization, Secret
from auditor.schemas.vault_admin import HandoverOut
from auditor.services import audit, inventory
from auditor.services.context import Actor
from auditor.services.errors import (
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
)
from auditor.services.vault import keys as vault_keys
from auditor.services.vault import store
from auditor.services.vault.fields import open_fields
from crypto import envelope, kdbx
from crypto.keys import MasterKeyRing

KIND_GROUPS = {
    "password": "Passwords",
    "api_key": "API keys",
    "totp_seed": "One-time password seeds",
    "note": "Secure notes",
}
DISPOSITION_CATEGORY = "credentials"  # the policy's data category of client credentials
ACKNOWLEDGEMENT_CLOCK_SKEW = dt.timedelta(minutes=5)
_BASE32 = re.compile("[A-Z2-7]+=*")
_ENTRY_INDEX = re.compile(r"entry (\d+)[: ]*")


def terminated_agreement(org: Organization) -> Agreement:
    """The agreement whose termination ends the vault's purpose; refused while any is active."""
    active = [a.reference for a in org.agreements if a.status == "active"]
    if active:
        raise Conflict(
            f"The client's agreement {active[0]} is active: credentials are kept while it runs "
            "(record its termination first)."
        )
    ended = [a for a in org.agreements if a.status == "terminated"]
    if not ended:
        raise Conflict("The client has no terminated agreement: there is nothing to hand over.")
    return max(ended, key=lambda a: (a.termination_date or dt.date.min, a.id))


# -- hand-over ----------------------------------------------------------------------------------


def _otp(secret: Secret, value: str) -> str:
    """A TOTP seed also goes to KeePassXC's otp field when it is one (the password keeps it)."""
    if secret.kind != "totp_seed":
        return ""
    if value.startswith("otpauth://"):
        return value
    return value if _BASE32.fullmatch(value.replace(" ", "").upper()) else ""


def _entry(secret: Secret, keys: dict[int, envelope.ClientKey]) -> kdbx.KdbxEntry:
    opened = open_fields(keys, secret)  # the value, username and notes, all sealed
    value = opened.value
    return kdbx.KdbxEntry(
        title=secret.name,
        username=opened.username or "",
        password=value,  # every kind: a protected field carries any text, even control characters
        url=secret.url or "",
        notes=opened.notes or "",
        group=secret.system.name if secret.system else KIND_GROUPS[secret.kind],
        tags=(secret.kind,),
        otp=_otp(secret, value),
    )


def _unexportable(exc: ValueError, secrets: list[Secret]) -> Exception:
    """The writer names the entry by index (never by value): point at the secret instead."""
    found = _ENTRY_INDEX.match(str(exc))
    if found is None:
        return exc
    problem = FieldError(secrets[int(found.group(1))].ref, str(exc)[found.end() :])
    return ValidationFailed("A secret cannot be written to a KeePass file; correct it.", [problem])


def export_handover(
    session: Session,
    ring: MasterKeyRing,
    client_code: str,
    *,
    recipient: str,
    method: str,
    actor: Actor,
    now: dt.datetime | None = None,
    kdf: kdbx.Argon2Parameters = kdbx.HANDOVER_KDF,
) -> tuple[bytes, str, Handover]:
    """Every credential of a client whose agreement ended, as a KDBX 4 file, and its passphrase.

    The passphrase is returned once and stored nowhere; the hand-over row keeps the file's
    SHA-256 and the count. Audited as ``vault.handover_export`` (no passphrase, no values).
    """
    org = inventory.organization(session, client_code)
    store.require_access(session, actor, org.id, action="handover", object_id=None)
    agreement = terminated_agreement(org)
    moment = now or utcnow()
    secrets = list(
        session.scalars(select(Secret).where(Secret.organization_id == org.id).order_by(Secret.id))
    )
    keys = vault_keys.all_keys(session, ring, org.id) if secrets else {}
    entries = [_entry(secret, keys) for secret in secrets]
    passphrase = kdbx.generate_passphrase()
    description = (
        f"Credentials of {org.name} handed over on {moment:%Y-%m-%d} "
        f"at the end of agreement {agreement.reference}."
    )
    try:
        data = kdbx.write_kdbx4(
            entries,
            passphrase,
            database_name=f"{org.name} ({org.code})",
            description=description,
            kdf=kdf,
            now=moment,
        )
    except ValueError as exc:
        raise _unexportable(exc, secrets) from None
    digest = hashlib.sha256(data).hexdigest()
    handover = Handover(
        organization_id=org.id,
        recipient=recipient,
        method=method,
        secrets_count=len(secrets),
        file_sha256=digest,
        exported_by=actor.name,
        exported_at=moment,
    )
    session.add(handover)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.handover_export",
        object_type="handover",
        object_id=handover.id,
        organization_id=org.id,
        details={
            "secrets": len(secrets),
            "file_sha256": digest,
            "method": method,
            "agreement": agreement.reference,
            "kdf": {"argon2id_memory_kib": kdf.memory_kib, "iterations": kdf.iterations},
        },
        now=moment,
    )
    return data, passphrase, handover


def handover_out(session: Session, handover: Handover) -> HandoverOut:
    org = session.get(Organization, handover.organization_id)
    data = {name: getattr(handover, name, None) for name in HandoverOut.model_fields}
    return HandoverOut.model_validate({**data, "client": org.code if org else None})


def record_acknowledgement(
    session: Session,
    handover_id: int,
    *,
    acknowledged_at: dt.datetime,
    acknowledgement: str,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Handover:
    """Record who at the client confirmed receipt of the file, how and when (once: evidence)."""
    handover = session.get(Handover, handover_id)
    if handover is None:
        raise NotFound(f"Hand-over {handover_id} does not exist.")
    store.require_access(
        session, actor, handover.organization_id, action="handover_acknowledge", object_id=None
    )
    if handover.acknowledged_at is not None:
        raise Conflict(
            f"Hand-over {handover_id} was already acknowledged on "
            f"{handover.acknowledged_at:%Y-%m-%d}; export again for a new hand-over."
        )
    text = acknowledgement.strip()
    errors = [] if text else [FieldError("acknowledgement", "say who confirmed receipt and how")]
    if acknowledged_at.tzinfo is None:
        errors.append(FieldError("acknowledged_at", "must include a time zone"))
    elif acknowledged_at < handover.exported_at:
        errors.append(FieldError("acknowledged_at", "is before the file was exported"))
    elif acknowledged_at > (now or utcnow()) + ACKNOWLEDGEMENT_CLOCK_SKEW:
        errors.append(FieldError("acknowledged_at", "is in the future"))
    if errors:
        raise ValidationFailed("The acknowledgement is not valid.", errors)
    handover.acknowledged_at = acknowledged_at
    handover.acknowledgement = text
    handover.recorded_by = actor.name
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.handover_acknowledge",
        object_type="handover",
        object_id=handover.id,
        organization_id=handover.organization_id,
        details={"acknowledged_at": audit.format_time(acknowledged_at)},
        now=now,
    )
    return handover
