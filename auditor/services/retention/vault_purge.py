"""A terminated client's vault purge with its proof (R16, R20): the vault's crypto-shredding, one
disposition line in a batch of its own, the ``vault.purge`` audit event committing to it, and,
outside a retention run, a purge run of its own (trigger ``vault``) with a certificate like any
other run's. All in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.schemas.vault_admin import PurgeOut
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.retention import ledger, runs
from auditor.services.vault import purge as shredder
from auditor.services.vault.handover import DISPOSITION_CATEGORY

POST_CHECK = "0 secrets and 0 client keys remain"


def purge_client_vault(
    session: Session,
    client_code: str,
    *,
    actor: Actor,
    dry_run: bool,
    digest_key_id: str,
    now: dt.datetime | None = None,
    run_id: int | None = None,
    rule: tuple[str | None, int | None] = (None, None),
    holds_in_force: int | None = None,
) -> PurgeOut:
    """Crypto-shred ``client_code``'s vault and record it (``vault.purge.shred`` says when it is
    refused). The retention purge passes its run id, the credentials rule (code, version) and
    the number of holds it checked; otherwise the purge opens and completes a run of its own."""
    moment = now or utcnow()
    found = shredder.shred(session, client_code, actor=actor, dry_run=dry_run, now=moment)
    if isinstance(found, PurgeOut):
        return found  # a dry run, or nothing left
    run = None
    if run_id is None:
        run = runs.open_run(
            session,
            as_of=moment.astimezone(dt.UTC).date(),
            actor=actor,
            trigger="vault",
            now=moment,
            details={"trigger": "vault", "client": found.code},
            interrupt=False,
        )
        run_id = run.id
    header = ledger.Header(
        subject_type="client_vault",
        rule=rule[0],
        rule_version=rule[1],
        method="crypto_shred",
        post_check=POST_CHECK,
    )
    line = ledger.Line(
        subject_ref=found.code,
        organization_id=found.organization_id,
        category=DISPOSITION_CATEGORY,
        digest=None,
        evidence={
            "agreement": found.agreement,
            "termination_date": found.termination_date.isoformat()
            if found.termination_date
            else None,
            "handover_id": found.handover_id,
            "acknowledged_at": audit.format_time(found.acknowledged_at),
            "secrets": found.secrets,
            "client_key_versions": found.client_key_versions,
        },
    )
    written = ledger.write(
        session,
        [(header, [line])],
        actor=actor,
        run_id=run_id,
        now=moment,
        holds_in_force=holds_in_force,
        action="vault.purge",
        object_type="client_vault",
        object_id=found.code,
        organization_id=found.organization_id,
        details={
            "method": "crypto_shred",
            "handover_id": found.handover_id,
            "secrets": found.secrets,
            "client_key_versions": found.client_key_versions,
        },
    )
    disposition_id = written.lines[0]["id"]
    if run is not None:
        entry = {
            "client": found.code,
            "secrets": found.secrets,
            "status": "purged",
            "reason": None,
            "disposition_id": disposition_id,
        }
        counts = {
            **run.counts,
            "disposed": 0,
            "subjects_removed": 0,
            "by_rule": {},
            "blocked": {},
            "credentials": [entry],
        }
        runs.close_run(
            session, run, "completed", counts, actor=actor, now=moment, digest_key_id=digest_key_id
        )
    return shredder.done(found, disposition_id, written.audit_seq, run_id)
