"""The purge of a terminated client's vault (R16, R20): crypto-shredding, once the hand-over is
acknowledged.

The purge destroys the client's key versions, the data keys wrapped inside each sealed value and
the ciphertexts, all or nothing, and writes a disposition record that holds no plaintext and no
digest of a secret. ``purge_readiness`` is the one question the purge and the retention plan ask
before: is there an acknowledged hand-over that holds every value the purge would destroy?
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from auditor.models import ClientKey, Disposition, DispositionBatch, Handover, Secret
from auditor.schemas.vault_admin import PurgeOut
from auditor.services import inventory
from auditor.services.context import Actor
from auditor.services.errors import Conflict, HandoverRequired
from auditor.services.vault import store
from auditor.services.vault.handover import terminated_agreement

_DELETE_CHUNK = 1000


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


@dataclasses.dataclass(frozen=True)
class Shredded:
    """What ``shred`` destroyed, for the disposition record and audit event its caller writes."""

    organization_id: int
    code: str
    secrets: int
    client_key_versions: int
    handover_id: int
    agreement: str
    termination_date: dt.date | None
    acknowledged_at: dt.datetime


def shred(
    session: Session, client_code: str, *, actor: Actor, dry_run: bool, now: dt.datetime
) -> Shredded | PurgeOut:
    """Crypto-shred a client's vault, all or nothing, once its hand-over is acknowledged (R16).

    Refused (Conflict) while an agreement is active or before the termination date; refused
    (HandoverRequired) without an acknowledged hand-over exported after every secret's last
    change. A dry run checks the same and writes nothing (its summary is returned, as is the
    summary when nothing is left to purge); otherwise what was destroyed is returned, and the
    caller (``retention.vault_purge``) writes the proof in the same transaction.
    """
    org = inventory.organization(session, client_code)
    store.require_access(session, actor, org.id, action="purge", object_id=None)
    ids, key_versions = _counts(session, org.id, lock=not dry_run)
    if not ids and not key_versions:
        return _summary(org.code, dry_run, previous=_previous(session, org.code))
    agreement = terminated_agreement(org)
    if agreement.termination_date and agreement.termination_date > now.date():
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
    return Shredded(
        organization_id=org.id,
        code=org.code,
        secrets=len(ids),
        client_key_versions=key_versions,
        handover_id=handover.id,
        agreement=agreement.reference,
        termination_date=agreement.termination_date,
        acknowledged_at=handover.acknowledged_at,
    )


def done(shredded: Shredded, disposition_id: int, audit_seq: int, run_id: int) -> PurgeOut:
    """The summary of a purge that happened."""
    out = _summary(
        shredded.code,
        False,
        (shredded.secrets, shredded.client_key_versions),
        shredded.handover_id,
        (disposition_id, audit_seq),
    )
    return out.model_copy(update={"run_id": run_id})


def _previous(session: Session, code: str) -> int | None:
    """The disposition of an earlier purge of the client's vault."""
    return session.scalar(
        select(func.max(Disposition.id))
        .join(DispositionBatch, DispositionBatch.id == Disposition.batch_id)
        .where(DispositionBatch.subject_type == "client_vault", Disposition.subject_ref == code)
    )
