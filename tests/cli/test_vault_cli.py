"""`auditor vault`: import, hand-over file (0600, passphrase last), acknowledgement, purge (dry run
unless --yes), the report, grants."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from sqlalchemy import func, select, text

from auditor.models import ClientKey, Disposition, Handover, Secret, VaultGrant
from auditor.services.context import Actor
from auditor.services.vault import store
from tests import factories
from tests.factories.kdbx import entries_of, export_xml, needs_keepassxc, open_kdbx

CSV = (
    "name,login_username,login_password,login_uri,notes\n"
    "Domain admin,ACME\\admin,Dc-Pa55,https://dc.acme.example,\n"
    "Firewall,admin,Fw-Pa55,ssh://10.0.0.1,\n"
)


def handover_args(out):
    return [
        "vault",
        "handover",
        "acme",
        "--recipient",
        "Dana",
        "--method",
        "USB",
        "--output",
        str(out),
    ]


def secrets(session):
    return session.scalar(select(func.count()).select_from(Secret))


def terminate(session, inventory):
    agreement = inventory.client.agreements[0]
    agreement.status, agreement.termination_date = "terminated", dt.date(2026, 10, 31)
    session.commit()


@pytest.fixture
def imported(runner, session, inventory, tmp_path):
    path = tmp_path / "bitwarden.csv"
    path.write_text(CSV, encoding="utf-8")
    result = runner.invoke(args=["vault", "import", "acme", str(path)])
    assert result.exit_code == 0, result.output
    assert "bitwarden export: 2 row(s), 2 secret(s) (2 password)" in result.output
    return inventory


def test_import_reports_bad_lines_and_imports_nothing(runner, session, inventory, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV + ",nobody,Secret-Pw,,\n", encoding="utf-8")
    result = runner.invoke(args=["vault", "import", "acme", str(path)])
    assert result.exit_code == 1
    assert "Error: 1 row(s) are not valid; nothing was imported." in result.output
    assert "line 4: name: String should have at least 1 character" in result.output
    assert "Secret-Pw" not in result.output and "Traceback" not in result.output
    assert secrets(session) == 0
    skipped = runner.invoke(args=["vault", "import", "acme", str(path), "--skip-invalid"])
    assert skipped.exit_code == 0, skipped.output
    assert "3 row(s), 2 secret(s) (2 password)" in skipped.output
    assert "skipped line 4: name: String should have at least 1 character" in skipped.output
    assert secrets(session) == 2


@pytest.mark.parametrize("option", [None, "--notes-on-secret", "--plain-notes"])
def test_import_seals_notes_as_their_own_secret_or_on_the_secret_when_asked(
    runner, session, inventory, keyring, tmp_path, option
):
    path = tmp_path / "notes.csv"
    path.write_text(CSV.replace("ssh://10.0.0.1,", "ssh://10.0.0.1,PIN 4417"), encoding="utf-8")
    result = runner.invoke(args=["vault", "import", "acme", str(path), *filter(None, [option])])
    assert result.exit_code == 0, result.output
    names = sorted(session.scalars(select(Secret.name)))
    firewall = session.scalars(select(Secret).where(Secret.name == "Firewall")).one()
    revealed = store.reveal_secret(session, keyring, firewall.ref, "check", actor=Actor.cli())
    if option is None:
        assert names == ["Domain admin", "Firewall", "Firewall (notes)"]
        assert revealed.notes is None
    else:  # --plain-notes: the former name of --notes-on-secret (notes are sealed either way)
        assert names == ["Domain admin", "Firewall"]
        assert revealed.notes == "PIN 4417"
    assert revealed.username == "admin"
    assert "PIN 4417" not in str(session.execute(text("SELECT * FROM secret")).all())


def test_handover_writes_a_private_file_and_prints_the_passphrase_last(
    runner, session, imported, tmp_path
):
    terminate(session, imported)
    out = tmp_path / "acme.kdbx"
    result = runner.invoke(args=handover_args(out))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    passphrase = result.output.strip().splitlines()[-1]
    assert len(passphrase.split("-")) == 10
    found = entries_of(open_kdbx(out.read_bytes(), passphrase)[0])
    assert {name: e["Password"] for name, e in found.items()} == {
        "Domain admin": "Dc-Pa55",
        "Firewall": "Fw-Pa55",
    }
    row = session.scalars(select(Handover)).one()
    assert f"hand-over {row.id}: 2 secret(s) of acme written to {out}" in result.output
    assert row.file_sha256 in result.output and row.exported_by == runner.actor
    again = runner.invoke(args=handover_args(out))
    assert again.exit_code == 1 and "already exists" in again.output
    nowhere = runner.invoke(args=handover_args(tmp_path / "missing" / "acme.kdbx"))
    assert nowhere.exit_code == 1 and "No such file or directory" in nowhere.output
    assert session.scalar(select(func.count()).select_from(Handover)) == 1


@pytest.mark.slow
@needs_keepassxc
def test_keepassxc_opens_the_file_the_cli_wrote(runner, session, imported, tmp_path):
    terminate(session, imported)
    out = tmp_path / "acme.kdbx"
    result = runner.invoke(args=handover_args(out))
    assert result.exit_code == 0, result.output
    passphrase = result.output.strip().splitlines()[-1]
    found = entries_of(export_xml(tmp_path, out, passphrase))
    assert (found["Domain admin"]["UserName"], found["Domain admin"]["Password"]) == (
        "ACME\\admin",
        "Dc-Pa55",
    )
    assert found["Firewall"]["URL"] == "ssh://10.0.0.1"


def test_handover_is_refused_while_the_agreement_is_active(runner, session, imported, tmp_path):
    out = tmp_path / "acme.kdbx"
    result = runner.invoke(args=handover_args(out))
    assert result.exit_code == 1 and "msa-1 is active" in result.output
    assert not out.exists()


def test_acknowledge_then_purge_dry_run_then_yes(runner, session, imported, tmp_path):
    terminate(session, imported)
    out = tmp_path / "acme.kdbx"
    assert runner.invoke(args=handover_args(out)).exit_code == 0
    handover_id = session.scalars(select(Handover.id)).one()
    blocked = runner.invoke(args=["vault", "purge", "acme", "--yes"])
    assert blocked.exit_code == 1
    assert f"hand-over {handover_id} has no recorded acknowledgement" in blocked.output
    acked = runner.invoke(
        args=["vault", "acknowledge", str(handover_id), "--by", "Dana Client",
              "--note", "signed receipt form"]
    )  # fmt: skip
    assert acked.exit_code == 0, acked.output
    row = session.get(Handover, handover_id)
    session.refresh(row)
    assert row.acknowledgement == "confirmed by Dana Client: signed receipt form"
    dry = runner.invoke(args=["vault", "purge", "acme"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run: would crypto-shred 2 secret(s) and 1 client key version(s) of acme" in (
        dry.output
    )
    assert "run again with --yes" in dry.output and secrets(session) == 2
    done = runner.invoke(args=["vault", "purge", "acme", "--yes"])
    assert done.exit_code == 0, done.output
    disposition = session.scalars(select(Disposition)).one()
    assert f"disposition {disposition.id}" in done.output
    assert secrets(session) == 0
    assert session.scalar(select(func.count()).select_from(ClientKey)) == 0
    again = runner.invoke(args=["vault", "purge", "acme", "--yes"])
    assert again.exit_code == 0 and "Nothing to purge" in again.output


def test_acknowledge_takes_a_time(runner, session, imported, tmp_path):
    terminate(session, imported)
    out = tmp_path / "acme.kdbx"
    assert runner.invoke(args=handover_args(out)).exit_code == 0
    handover_id = session.scalars(select(Handover.id)).one()
    early = runner.invoke(
        args=["vault", "acknowledge", str(handover_id), "--by", "Dana", "--at", "2020-01-01"]
    )
    assert early.exit_code == 1 and "before the file was exported" in early.output


def test_report_grant_and_revoke(runner, session, imported, keyring):
    tech = factories.user(session, role="technician", email="tech@msp.example")
    session.commit()
    granted = runner.invoke(args=["vault", "grant", "tech@msp.example", "acme"])
    assert granted.exit_code == 0 and f"user {tech.id} may use the vault of acme" in granted.output
    assert session.get(VaultGrant, {"user_id": tech.id, "organization_id": imported.client.id})
    empty = runner.invoke(args=["vault", "report", "tech@msp.example"])
    assert "no revealed secret is unchanged since" in empty.output
    ref = session.scalar(select(Secret.ref).where(Secret.name == "Firewall"))
    actor = Actor(name=f"user:{tech.id}", user_id=tech.id, role="technician")
    revealed = store.reveal_secret(session, keyring, ref, "patching", actor=actor)
    assert (revealed.value, revealed.username) == ("Fw-Pa55", "admin")  # sealed, revealed together
    session.commit()
    listed = runner.invoke(args=["vault", "report", "tech@msp.example"])
    assert listed.exit_code == 0, listed.output
    assert ref in listed.output and "Firewall" in listed.output
    assert "Domain admin" not in listed.output
    revoked = runner.invoke(args=["vault", "revoke", "tech@msp.example", "acme"])
    assert revoked.exit_code == 0 and "no longer has the vault of acme" in revoked.output
    assert session.scalar(select(func.count()).select_from(VaultGrant)) == 0
