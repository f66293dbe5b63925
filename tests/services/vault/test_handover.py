"""Termination hand-over (R16): a KDBX 4 file an independent reader opens, holding every credential
of the client and nothing else, kept out of the audit log and the database; its acknowledgement
recorded once. The purge it unlocks: test_purge.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import pytest
from sqlalchemy import func, select

from auditor.models import AuditEvent, Handover
from auditor.services.errors import Conflict, ValidationFailed
from tests.factories import (
    CREDENTIALS,
    database_text,
    secret,
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
    for plain in ("OLDCO\\administrator", "Rotated quarterly.\nSee runbook §4.", "front door"):
        assert plain not in dump and repr(plain)[1:-1] not in dump  # sealed, yet in the file
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
