"""The purge of a terminated client's vault (R16, R20): refused without an acknowledged, current
hand-over or before the agreement ended; a dry run first; then crypto-shredding of every key and
value of the client with a disposition record, idempotent, all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from auditor.models import AuditEvent, Disposition, PurgeRun, Secret
from auditor.schemas.vault import SecretUpdate
from auditor.services import retention
from auditor.services.errors import Conflict, HandoverRequired
from auditor.services.vault import purge as vault_purge
from auditor.services.vault import store as vault
from crypto.digest import key_id
from tests.factories import (
    CREDENTIALS,
    DIGEST_KEY,
    OFFICER,
    database_text,
    dispositions,
    secret,
    terminated_client,
    vault_counts,
)
from tests.factories import acknowledge_handover as acknowledge
from tests.factories import export_handover as export


def purge(session, code="oldco", dry_run=False):
    return retention.purge_client_vault(
        session, code, actor=OFFICER, dry_run=dry_run, digest_key_id=key_id(DIGEST_KEY)
    )


def test_purge_is_refused_while_the_agreement_is_active(session, inventory):
    secret(session, client="acme", name="Router", value="pw-router")
    with pytest.raises(Conflict, match="msa-1 is active"):
        purge(session, "acme")
    assert vault_counts(session, organization_id=inventory.client.id) == (1, 1)


def test_purge_is_refused_before_the_termination_date(session, inventory):
    terminated_client(session, code="later", termination=dt.date.today() + dt.timedelta(days=30))
    secret(session, client="later", name="Router", value="pw-router")
    with pytest.raises(Conflict, match="purged after that date"):
        purge(session, "later")


def test_purge_is_refused_without_a_handover(session, oldco):
    with pytest.raises(HandoverRequired, match="no hand-over of this client's credentials"):
        purge(session)
    assert vault_counts(session, organization_id=oldco.id) == (4, 1)


def test_purge_is_refused_without_an_acknowledgement(session, oldco):
    _, _, row = export(session)
    for dry_run in (True, False):
        with pytest.raises(HandoverRequired, match=f"hand-over {row.id} has no recorded ack"):
            purge(session, dry_run=dry_run)
    assert vault_counts(session, organization_id=oldco.id) == (4, 1)


@pytest.mark.parametrize("change", ["value", "metadata", "new secret"])
def test_purge_is_refused_when_a_secret_changed_after_the_export(session, oldco, keyring, change):
    _, _, row = export(session)
    acknowledge(session, handover=row)
    first = session.scalars(select(Secret).where(Secret.organization_id == oldco.id)).first()
    if change == "value":
        vault.update_secret(
            session, keyring, first.ref, SecretUpdate(value="rotated!"), actor=OFFICER
        )
    elif change == "metadata":
        vault.update_secret(
            session, keyring, first.ref, SecretUpdate(username="new-admin"), actor=OFFICER
        )
    else:
        secret(session, client="oldco", name="Late addition", value="late-pw")
    with pytest.raises(HandoverRequired, match="added or changed after hand-over"):
        purge(session)
    assert vault_counts(session, organization_id=oldco.id)[0] == 4 + (change == "new secret")


def test_dry_run_reports_what_would_be_destroyed_and_writes_nothing(session, oldco):
    _, _, row = export(session)
    acknowledge(session, handover=row)
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    summary = purge(session, dry_run=True)
    assert (summary.dry_run, summary.secrets, summary.client_key_versions) == (True, 4, 1)
    assert summary.handover_id == row.id and summary.disposition_id is None
    assert summary.message == (
        f"Dry run: would crypto-shred 4 secret(s) and 1 client key version(s) of oldco "
        f"(hand-over {row.id})."
    )
    assert vault_counts(session, organization_id=oldco.id) == (4, 1)
    assert session.scalar(select(func.count()).select_from(Disposition)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_purge_crypto_shreds_the_client_vault_and_writes_a_disposition(
    session, oldco, inventory, keyring
):
    _, passphrase, row = export(session)
    acknowledge(session, handover=row)
    before_acme = vault_counts(session, organization_id=inventory.client.id)
    sealed = session.execute(
        select(Secret.username_sealed, Secret.username_index, Secret.notes_sealed).where(
            Secret.organization_id == oldco.id
        )
    ).all()
    leftovers = [part for row_ in sealed for part in row_ if part is not None]
    assert len(leftovers) == 2 + 2 + 2  # two usernames (sealed, indexed), two notes
    summary = purge(session)
    assert (summary.dry_run, summary.secrets, summary.client_key_versions) == (False, 4, 1)
    assert vault_counts(session, organization_id=oldco.id) == (0, 0)
    assert vault_counts(session, organization_id=inventory.client.id) == before_acme == (1, 1)
    acme_ref = session.scalar(select(Secret.ref).where(Secret.organization_id != oldco.id))
    assert vault.reveal_secret(session, keyring, acme_ref, "after purge", actor=OFFICER).value == (
        "acme-router-pw"
    )
    (disposition,) = dispositions(session, id=summary.disposition_id)
    event = session.get(AuditEvent, summary.audit_seq)
    assert (event.action, event.object_id, event.organization_id) == (
        "vault.purge",
        "oldco",
        oldco.id,
    )
    assert event.details == {
        "method": "crypto_shred",
        "handover_id": row.id,
        "secrets": 4,
        "client_key_versions": 1,
        "batches": [
            {
                "batch": disposition.batch,
                "lines": 1,
                "digest": hashlib.sha256(_line(disposition)).hexdigest(),
            }
        ],
    }
    assert (disposition.subject_type, disposition.subject_ref, disposition.method) == (
        "client_vault",
        "oldco",
        "crypto_shred",
    )
    assert (disposition.organization_id, disposition.category) == (oldco.id, "credentials")
    assert disposition.trigger_evidence == {
        "agreement": "msa-oldco",
        "termination_date": "2026-10-31",
        "handover_id": row.id,
        "acknowledged_at": row.acknowledged_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "secrets": 4,
        "client_key_versions": 1,
    }
    assert disposition.holds_in_force is None and disposition.digest is None
    assert disposition.executor == "user:7" and disposition.audit_seq == event.seq
    assert disposition.post_check == "0 secrets and 0 client keys remain"
    # outside a retention run, the purge is a run of its own, completed, with a certificate
    run = session.get(PurgeRun, summary.run_id)
    assert (run.trigger, run.status, disposition.run_id) == ("vault", "completed", run.id)
    assert run.certificate["dispositions"]["count"] == 1
    assert run.certificate["credentials"][0]["disposition_id"] == disposition.id
    assert summary.message == (
        f"Crypto-shredded 4 secret(s) and 1 client key version(s) of oldco: "
        f"disposition {disposition.id}, audit event {event.seq}."
    )
    dump = database_text(session)
    for credential in CREDENTIALS:
        assert credential["value"] not in dump
        for field in ("username", "notes"):  # sealed, but gone with the rest of the vault
            if credential.get(field) and len(credential[field]) > 5:
                assert repr(credential[field])[1:-1] not in dump
        digest = hashlib.sha256(credential["value"].encode()).hexdigest()
        assert digest not in dump
    assert passphrase not in dump
    for part in leftovers:  # the sealed usernames, their blind indexes and the sealed notes
        assert (part if isinstance(part, str) else repr(bytes(part))) not in dump


def test_purge_is_idempotent_a_second_run_finds_nothing(session, oldco):
    _, _, row = export(session)
    acknowledge(session, handover=row)
    first = purge(session)
    again = purge(session)
    assert (again.secrets, again.client_key_versions, again.disposition_id) == (0, 0, None)
    assert again.message == (
        f"Nothing to purge: oldco holds no secret and no client key "
        f"(purged before: disposition {first.disposition_id})."
    )
    assert session.scalar(select(func.count()).select_from(Disposition)) == 1
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "vault.purge")
        )
        == 1
    )


def test_purge_leaves_everything_when_its_post_check_fails(session, oldco, monkeypatch):
    _, _, row = export(session)
    acknowledge(session, handover=row)
    real_counts = vault_purge._counts

    def racing(db, organization_id, *, lock=False):
        ids, keys = real_counts(db, organization_id, lock=lock)
        return ids or [999_999], keys  # the post-check sees a secret stored meanwhile

    monkeypatch.setattr(vault_purge, "_counts", racing)
    with pytest.raises(Conflict, match="added to this client's vault during the purge"):
        purge(session)
    assert vault_counts(session, organization_id=oldco.id) == (4, 1)
    assert session.scalar(select(func.count()).select_from(Disposition)) == 0


def test_disposition_rows_cannot_be_changed_afterwards(session, oldco):
    _, _, row = export(session)
    acknowledge(session, handover=row)
    summary = purge(session)
    session.commit()
    with pytest.raises(DBAPIError, match="disposition is append-only"), session.begin_nested():
        session.execute(
            text("UPDATE disposition SET subject_ref = 'someone' WHERE id = :id"),
            {"id": summary.disposition_id},
        )


def _line(disposition):
    text_ = json.dumps(disposition.line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text_.encode() + b"\n"
