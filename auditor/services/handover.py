"""Termination hand-over of a client's credentials as a KeePass file, and their purge (R16, R20).

The hand-over file is encrypted under a one-time passphrase that is returned to the caller and
stored nowhere: the database keeps only the file's SHA-256 and counts. The purge crypto-shreds the
client's vault (client key versions, the data keys wrapped inside each sealed value, the
ciphertexts) and writes a disposition record that holds no plaintext and no digest of a secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models import Agreement, ClientKey, Disposition, Handover, Organization, Secret
from auditor.schemas.vault_admin import HandoverOut, PurgeOut
from auditor.services import audit, inventory, vault, vault_keys
from auditor.services.context import Actor
from auditor.services.errors import (
    Conflict,
    FieldError,
    HandoverRequired,
    NotFound,
    ValidationFailed,
)
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
_DELETE_CHUNK = 1000


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
    plain = envelope.unseal(keys, secret.value, secret_id=secret.ref, field=vault.VALUE_FIELD)
    value = plain.decode("utf-8")
    return kdbx.KdbxEntry(
        title=secret.name,
        username=secret.username or "",
        password=value,  # every kind: a protected field carries any text, even control characters
        url=secret.url or "",
        notes=secret.notes or "",
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
    vault.require_access(session, actor, org.id, action="handover", object_id=None)
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


def to_out(session: Session, handover: Handover) -> HandoverOut:
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
    vault.require_access(
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


# -- purge --------------------------------------------------------------------------------------


def _summary(
    code: str,
    dry_run: bool,
    counts: tuple[int, int] = (0, 0),
    handover_id: int | None = None,
    done: tuple[int, int] | None = None,
    previous: int | None = None,
) -> PurgeOut:
    """What a purge destroyed (``done``: disposition id, audit seq) or, dry, would destroy."""
    secrets, keys = counts
    what = f"{secrets} secret(s) and {keys} client key version(s) of {code}"
    if not secrets and not keys:
        before = f" (purged before: disposition {previous})" if previous else ""
        message = f"Nothing to purge: {code} holds no secret and no client key{before}."
    elif done is None:
        message = f"Dry run: would crypto-shred {what} (hand-over {handover_id})."
    else:
        message = f"Crypto-shredded {what}: disposition {done[0]}, audit event {done[1]}."
    return PurgeOut(
        client=code,
        dry_run=dry_run,
        secrets=secrets,
        client_key_versions=keys,
        handover_id=handover_id,
        disposition_id=done[0] if done else None,
        audit_seq=done[1] if done else None,
        previous_disposition_id=previous,
        message=message,
    )


def purge_readiness(session: Session, organization_id: int) -> Handover:
    """The acknowledged hand-over that allows the client's vault purge (R16), or HandoverRequired
    saying what is missing. The purge and the retention plan both ask this one question."""
    handover = _acknowledged_handover(session, organization_id)
    _check_current(session, organization_id, handover)
    return handover


def _acknowledged_handover(session: Session, organization_id: int) -> Handover:
    handovers = select(Handover).where(Handover.organization_id == organization_id)
    latest = session.scalars(
        handovers.where(Handover.acknowledged_at.is_not(None))
        .order_by(Handover.exported_at.desc(), Handover.id.desc())
        .limit(1)
    ).first()
    if latest is not None:
        return latest
    pending = session.scalars(handovers.order_by(Handover.id.desc()).limit(1)).first()
    if pending is not None:
        raise HandoverRequired(
            f"Purge blocked (R16): hand-over {pending.id} has no recorded acknowledgement; "
            "record who at the client confirmed receipt first.",
            reason="hand-over not acknowledged",
        )
    raise HandoverRequired(
        "Purge blocked (R16): no hand-over of this client's credentials is recorded; export "
        "them for the client and record the acknowledgement first.",
        reason="hand-over missing",
    )


def _check_current(session: Session, organization_id: int, handover: Handover) -> None:
    """The file handed over must hold every value (and detail) that the purge destroys."""
    changed = session.scalar(
        select(func.count())
        .select_from(Secret)
        .where(
            Secret.organization_id == organization_id,
            or_(
                Secret.value_changed_at > handover.exported_at,
                Secret.updated_at > handover.exported_at,
            ),
        )
    )
    if changed:
        raise HandoverRequired(
            f"Purge blocked (R16): {changed} secret(s) were added or changed after hand-over "
            f"{handover.id} was exported; export again and record the acknowledgement.",
            reason="secrets changed after the acknowledged hand-over",
        )


def _counts(session: Session, organization_id: int, *, lock: bool = False) -> tuple[list[int], int]:
    query = select(Secret.id).where(Secret.organization_id == organization_id)
    if lock:  # PostgreSQL: no concurrent change slips between the checks and the delete
        query = query.with_for_update()
    ids = list(session.scalars(query))
    keys = session.scalar(
        select(func.count())
        .select_from(ClientKey)
        .where(ClientKey.organization_id == organization_id)
    )
    return ids, keys or 0


def purge_client_vault(
    session: Session,
    client_code: str,
    *,
    actor: Actor,
    dry_run: bool,
    now: dt.datetime | None = None,
    run_id: int | None = None,
    rule: tuple[str | None, int | None] = (None, None),
    holds_checked: list[Any] | None = None,
) -> PurgeOut:
    """Crypto-shred a client's vault, all or nothing, once its hand-over is acknowledged (R16).

    The retention purge passes its run id, the credentials rule (code, version) and the holds it
    checked, which the disposition record cites (R20).

    Refused (Conflict) while an agreement is active or before the termination date; refused
    (HandoverRequired) without an acknowledged hand-over exported after every secret's last
    change. A dry run checks the same and writes nothing; a second purge finds nothing.
    """
    org = inventory.organization(session, client_code)
    vault.require_access(session, actor, org.id, action="purge", object_id=None)
    ids, key_versions = _counts(session, org.id, lock=not dry_run)
    if not ids and not key_versions:
        previous = session.scalar(
            select(func.max(Disposition.id)).where(
                Disposition.subject_type == "client_vault", Disposition.subject_ref == org.code
            )
        )
        return _summary(org.code, dry_run, previous=previous)
    agreement = terminated_agreement(org)
    moment = now or utcnow()
    if agreement.termination_date and agreement.termination_date > moment.date():
        raise Conflict(
            f"Agreement {agreement.reference} ends on {agreement.termination_date}: "
            "its credentials are purged after that date."
        )
    handover = purge_readiness(session, org.id)
    if dry_run:
        return _summary(org.code, True, (len(ids), key_versions), handover.id)
    assert handover.acknowledged_at is not None
    with session.begin_nested():  # a failed post-check leaves everything in place
        for start in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[start : start + _DELETE_CHUNK]
            session.execute(delete(Secret).where(Secret.id.in_(chunk)))
        session.execute(delete(ClientKey).where(ClientKey.organization_id == org.id))
        left, keys_left = _counts(session, org.id)
        if left or keys_left:
            # a secret stored while the purge ran: it was never handed over
            raise Conflict(
                "A secret was added to this client's vault during the purge; nothing was "
                "destroyed. Export and acknowledge a new hand-over."
            )
    counts = {"secrets": len(ids), "client_key_versions": key_versions}
    event = audit.record(
        session,
        actor=actor,
        action="vault.purge",
        object_type="client_vault",
        object_id=org.code,
        organization_id=org.id,
        details={"method": "crypto_shred", "handover_id": handover.id, **counts},
        now=moment,
    )
    disposition = Disposition(
        created_at=moment,
        subject_type="client_vault",
        subject_ref=org.code,
        organization_id=org.id,
        category=DISPOSITION_CATEGORY,
        trigger_evidence={
            "agreement": agreement.reference,
            "termination_date": agreement.termination_date.isoformat()
            if agreement.termination_date
            else None,
            "handover_id": handover.id,
            "acknowledged_at": audit.format_time(handover.acknowledged_at),
        },
        holds_checked=holds_checked or [],
        rule=rule[0],
        rule_version=rule[1],
        run_id=run_id,
        executor=actor.name,
        method="crypto_shred",
        counts=counts,
        post_check="0 secrets and 0 client keys remain",
        audit_seq=event.seq,
    )
    session.add(disposition)
    session.flush()
    return _summary(
        org.code, False, (len(ids), key_versions), handover.id, (disposition.id, event.seq)
    )
