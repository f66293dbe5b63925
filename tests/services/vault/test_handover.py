"""Termination hand-over (a KDBX 4 file an independent reader opens) and the purge it unlocks (R16,
R20): refused without an acknowledged, current hand-over; crypto-shred, disposition, idempotent."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from auditor.models import AuditEvent, Disposition, Handover, Secret
from auditor.schemas.vault import SecretUpdate
from auditor.services.errors import Conflict, HandoverRequired, ValidationFailed
from auditor.services.vault import purge as vault_purge
from auditor.services.vault import store as vault
from tests.factories import (
    CREDENTIALS,
    OFFICER,
    database_text,
    secret,
    terminated_client,
    vault_counts,
)
from tests.factories import acknowledge_handover as acknowledge
from tests.factories import export_handover as export
from tests.factories.kdbx import (
    CHEAP,
    entries_of,
    export_xml,
    keepassxc,
    needs_keepassxc,
    open_kdbx,
)
from tests.factories.vault import SEED


def purge(session, code="oldco", dry_run=False):
    return vault_purge.purge_client_vault(session, code, actor=OFFICER, dry_run=dry_run)


# -- export ---------------------------------------------------------------------------------------


def test_export_handover_writes_every_credential_of_the_client_and_records_the_file(session, oldco):
    data, passphrase, row = export(session)
    root, _ = open_kdbx(data, passphrase)
    found = entries_of(root)
    assert sorted(found) == sorted(c["name"] for c in CREDENTIALS)  # not acme's router
    domain = found["Domain admin"]
    assert (domain["UserName"], domain["Password"], domain["URL"], domain["Notes"]) == (
        "OLDCO\\administrator",
        "Pässwört-<&>-🔑",
        "https://dc01.oldco.example",
        "Rotated quarterly.\nSee runbook §4.",
    )
    assert domain["group"] == "PSA" and domain["tags"] == {"password"}  # the system's name
    assert found["Backup API"]["group"] == "API keys"
    assert found["Alarm code"]["Password"] == "1234\r\n5678"
    assert SEED in found["Firewall MFA"]["otp"] and found["Firewall MFA"]["Password"] == SEED
    assert root.findtext("Meta/DatabaseName") == "Oldco (oldco)"
    assert len(passphrase.split("-")) == 10
    assert (row.secrets_count, row.file_sha256) == (4, hashlib.sha256(data).hexdigest())
    assert (row.recipient, row.method, row.exported_by) == (
        "Dana Client, IT lead",
        "USB in person",
        "user:7",
    )
    assert row.acknowledged_at is None


@pytest.mark.slow
@needs_keepassxc
def test_keepassxc_opens_the_handover_file_and_reads_every_credential(session, oldco, tmp_path):
    data, passphrase, _ = export(session)
    path = tmp_path / "oldco.kdbx"
    path.write_bytes(data)
    found = entries_of(export_xml(tmp_path, path, passphrase))
    assert sorted(found) == sorted(c["name"] for c in CREDENTIALS)
    for credential in CREDENTIALS:
        entry = found[credential["name"]]
        assert entry["Password"] == credential["value"].replace("\r\n", "\n")  # XML parsing
        assert entry["UserName"] == credential.get("username", "")
        assert entry["URL"] == credential.get("url", "")
        assert entry["Notes"] == credential.get("notes", "")
    assert found["Firewall MFA"]["otp"].startswith("otpauth://totp/")
    assert found["Domain admin"]["group"] == "PSA"
    shown = keepassxc(tmp_path, passphrase, "show", "-q", "-s", "-a", "Password", str(path),
                      "/Secure notes/Alarm code")  # fmt: skip
    assert shown == (0, "1234\r\n5678\n", "")


def test_export_keeps_the_passphrase_and_values_out_of_audit_logs_and_database(
    session, oldco, caplog
):
    with caplog.at_level(logging.DEBUG):
        _, passphrase, row = export(session)
    session.flush()
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vault.handover_export")
    ).one()
    assert event.object_id == str(row.id) and event.organization_id == oldco.id
    assert event.details == {
        "secrets": 4,
        "file_sha256": row.file_sha256,
        "method": "USB in person",
        "agreement": "msa-oldco",
        "kdf": {"argon2id_memory_kib": CHEAP.memory_kib, "iterations": CHEAP.iterations},
    }
    dump = database_text(session) + caplog.text
    for value in [passphrase, *(c["value"] for c in CREDENTIALS)]:
        assert value not in dump
    assert "Dana" not in str(event.details)  # the recipient stays in the hand-over row


@pytest.mark.parametrize(
    ("code", "message"),
    [("acme", "agreement msa-1 is active"), ("qc-client", "no terminated agreement")],
)
def test_export_is_refused_unless_the_agreement_ended(session, oldco, code, message):
    with pytest.raises(Conflict, match=message):
        export(session, client=code)
    assert session.scalar(select(func.count()).select_from(Handover)) == 0


def test_export_names_the_secret_a_keepass_file_cannot_carry(session, oldco):
    bad = secret(session, client="oldco", name="Bell", notes="ding\x07", value="hunter22")
    with pytest.raises(ValidationFailed) as caught:
        export(session)
    assert caught.value.errors[0].field == bad.ref
    assert "notes contains a character" in caught.value.errors[0].message
    assert "hunter22" not in str(caught.value.errors)


# -- acknowledgement ------------------------------------------------------------------------------


def test_acknowledgement_is_recorded_once_and_audited_without_its_text(session, oldco):
    _, _, row = export(session)
    moment = row.exported_at + dt.timedelta(minutes=3)
    acknowledge(session, handover=row, at=moment)
    assert row.acknowledged_at == moment and row.recorded_by == "user:7"
    assert row.acknowledgement == "Dana confirmed by signed receipt form"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vault.handover_acknowledge")
    ).one()
    assert event.details == {"acknowledged_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    with pytest.raises(Conflict, match="already acknowledged"):
        acknowledge(session, handover=row)


@pytest.mark.parametrize(
    ("offset", "message"),
    [(dt.timedelta(hours=-1), "before the file was exported"), (dt.timedelta(days=2), "future")],
)
def test_acknowledgement_cannot_predate_the_export_or_lie_in_the_future(
    session, oldco, offset, message
):
    _, _, row = export(session)
    with pytest.raises(ValidationFailed) as caught:
        acknowledge(session, handover=row, at=row.exported_at + offset)
    assert caught.value.errors[0].field == "acknowledged_at"
    assert message in caught.value.errors[0].message
    assert row.acknowledged_at is None


# -- purge ----------------------------------------------------------------------------------------


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
    summary = purge(session)
    assert (summary.dry_run, summary.secrets, summary.client_key_versions) == (False, 4, 1)
    assert vault_counts(session, organization_id=oldco.id) == (0, 0)
    assert vault_counts(session, organization_id=inventory.client.id) == before_acme == (1, 1)
    acme_ref = session.scalar(select(Secret.ref).where(Secret.organization_id != oldco.id))
    assert vault.reveal_secret(session, keyring, acme_ref, "after purge", actor=OFFICER)[0] == (
        "acme-router-pw"
    )
    disposition = session.get(Disposition, summary.disposition_id)
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
    }
    assert (disposition.subject_type, disposition.subject_ref, disposition.method) == (
        "client_vault",
        "oldco",
        "crypto_shred",
    )
    assert (disposition.organization_id, disposition.category) == (oldco.id, "credentials")
    assert disposition.counts == {"secrets": 4, "client_key_versions": 1}
    assert disposition.trigger_evidence == {
        "agreement": "msa-oldco",
        "termination_date": "2026-10-31",
        "handover_id": row.id,
        "acknowledged_at": row.acknowledged_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    assert disposition.holds_checked == [] and disposition.digest is None
    assert disposition.executor == "user:7" and disposition.audit_seq == event.seq
    assert disposition.post_check == "0 secrets and 0 client keys remain"
    assert summary.message == (
        f"Crypto-shredded 4 secret(s) and 1 client key version(s) of oldco: "
        f"disposition {disposition.id}, audit event {event.seq}."
    )
    dump = database_text(session)
    for credential in CREDENTIALS:
        assert credential["value"] not in dump
        digest = hashlib.sha256(credential["value"].encode()).hexdigest()
        assert digest not in dump
    assert passphrase not in dump


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
            text("UPDATE disposition SET executor = 'someone' WHERE id = :id"),
            {"id": summary.disposition_id},
        )
