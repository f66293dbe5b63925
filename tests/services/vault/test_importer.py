"""CSV import of existing credentials: each password manager's shape, sealed values, usernames and
notes, line-numbered errors with nothing imported, and one audit event without values or
usernames."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from auditor.models import AuditEvent, Secret
from auditor.services.errors import ValidationFailed
from auditor.services.vault import importer
from auditor.services.vault import keys as vault_keys
from auditor.services.vault import store as vault_store
from auditor.services.vault.fields import open_fields
from tests.factories import OPERATOR, database_text, keyring

BITWARDEN = (
    "folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,"
    "login_totp\r\n"
    'Servers,,login,Domain admin,"Recovery codes:\r\n1111 2222",,0,https://dc01.acme.example,'
    "ACME\\administrator,Pa55-w0rd;x,\r\n"
    ",,login,Firewall,,,0,ssh://10.0.0.1,admin, padded ,JBSWY3DPEHPK3PXP\r\n"
    ",,note,Alarm code,1234-5678,,0,,,,\r\n"
)
LASTPASS = (
    "url,username,password,totp,extra,name,grouping,fav\n"
    "https://portal.example,ops@acme.example,Lp-Secret-1,,,Vendor portal,Vendors,0\n"
    "http://sn,,,,Door code 4321,Alarm code,Site,0\n"
)
GENERIC = (
    "Name,Username,Password,URL,Notes\n"
    "Backup NAS,backup,Nas-Pass-9,https://nas.acme.example,\n"
    "Wi-Fi,,Wifi-Pass-0,,guest network\n"
)


def run(session, data: str | bytes, **kwargs):
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return importer.import_csv(
        session, keyring(), kwargs.pop("client", "acme"), io.BytesIO(raw), actor=OPERATOR, **kwargs
    )


def stored(session, organization_id):
    """name -> (kind, username, url, notes, plaintext value), read back through the envelope."""
    keys = vault_keys.all_keys(session, keyring(), organization_id)
    rows = session.scalars(select(Secret).where(Secret.organization_id == organization_id))
    found = {}
    for s in rows:
        opened = open_fields(keys, s)
        found[s.name] = (s.kind, opened.username, s.url, opened.notes, opened.value)
    return found


def count(session):
    return session.scalar(select(func.count()).select_from(Secret))


def test_import_reads_a_bitwarden_export_with_totp_seeds_notes_and_secure_notes(session, inventory):
    result = run(session, BITWARDEN)
    assert (result.shape, result.rows, result.imported, result.rejected) == ("bitwarden", 3, 5, 0)
    assert stored(session, inventory.client.id) == {
        "Domain admin": (
            "password",
            "ACME\\administrator",
            "https://dc01.acme.example",
            None,
            "Pa55-w0rd;x",
        ),
        "Domain admin (notes)": (
            "note",
            "ACME\\administrator",
            "https://dc01.acme.example",
            None,
            "Recovery codes:\r\n1111 2222",
        ),
        "Firewall": ("password", "admin", "ssh://10.0.0.1", None, " padded "),
        "Firewall (TOTP)": ("totp_seed", "admin", "ssh://10.0.0.1", None, "JBSWY3DPEHPK3PXP"),
        "Alarm code": ("note", None, None, None, "1234-5678"),
    }
    values = session.scalars(select(Secret.value)).all()
    assert all(v[:4] == b"AUS\x01" and b"Pa55" not in v for v in values)


def test_imported_usernames_and_notes_are_sealed_and_usernames_found_exactly(session, inventory):
    run(session, BITWARDEN)
    dump = database_text(session)
    username = repr("ACME\\administrator")[1:-1]  # as a dump of the rows shows it
    for plain in (username, "Recovery codes", "1111 2222", "1234-5678", "Pa55-w0rd"):
        assert plain not in dump
    usernames = session.scalars(select(Secret.username_sealed).where(Secret.name == "Firewall"))
    assert [bytes(blob)[:4] for blob in usernames] == [b"AUS\x01"]
    found = vault_store.list_secrets(
        session, keyring(), "acme", actor=OPERATOR, after=None, limit=10, q="acme\\ADMINISTRATOR"
    )
    assert sorted(s.name for s in found) == ["Domain admin", "Domain admin (notes)"]
    part = vault_store.list_secrets(
        session, keyring(), "acme", actor=OPERATOR, after=None, limit=10, q="administrator"
    )
    assert part == []  # a username is found whole, never by a part of it


def test_import_reads_a_lastpass_export_and_its_secure_notes(session, inventory):
    result = run(session, LASTPASS)
    assert (result.shape, result.imported) == ("lastpass", 2)
    assert stored(session, inventory.client.id) == {
        "Vendor portal": (
            "password",
            "ops@acme.example",
            "https://portal.example",
            None,
            "Lp-Secret-1",
        ),
        "Alarm code": ("note", None, None, None, "Door code 4321"),
    }


def test_import_reads_a_generic_export_with_a_mixed_case_header_and_a_bom(session, inventory):
    result = run(session, "\ufeff" + GENERIC)
    assert (result.shape, result.imported) == ("generic", 3)
    assert stored(session, inventory.client.id) == {
        "Backup NAS": ("password", "backup", "https://nas.acme.example", None, "Nas-Pass-9"),
        "Wi-Fi": ("password", None, None, None, "Wifi-Pass-0"),
        "Wi-Fi (notes)": ("note", None, None, None, "guest network"),
    }


def test_notes_on_secret_keeps_notes_with_their_password_sealed(session, inventory):
    run(session, GENERIC, notes_on_secret=True)
    assert stored(session, inventory.client.id)["Wi-Fi"] == (
        "password",
        None,
        None,
        "guest network",
        "Wifi-Pass-0",
    )
    assert count(session) == 2
    notes = session.scalar(select(Secret.notes_sealed).where(Secret.name == "Wi-Fi"))
    assert bytes(notes)[:4] == b"AUS\x01" and "guest network" not in database_text(session)


def test_import_is_audited_once_with_counts_and_no_values_or_usernames(session, inventory):
    run(session, BITWARDEN)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "vault.import")).one()
    assert (event.actor, event.object_id, event.organization_id) == (
        "cli:ops",
        "acme",
        inventory.client.id,
    )
    assert event.details == {
        "shape": "bitwarden",
        "rows": 3,
        "imported": 5,
        "rejected": 0,
        "kinds": {"note": 2, "password": 2, "totp_seed": 1},
    }
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "vault.secret_create")) == 0  # fmt: skip
    everything = str([(e.details, e.object_id) for e in session.scalars(select(AuditEvent))])
    for leaked in ("Pa55-w0rd", "administrator", "JBSWY3DP", "Recovery codes", "1234-5678"):
        assert leaked not in everything


BAD = (
    "name,username,password,url,notes\n"
    "Good one,u1,pw-good-1,,\n"
    '"",u2,pw-secret-2,,\n'  # line 3: no name
    'Multi,u3,pw-3,,"line one\nline two"\n'  # lines 4-5
    "No password,u4,,,\n"  # line 6
    f"Too long,{'u' * 400},pw-5,,\n"  # line 7
)


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_imported(session, inventory):
    with pytest.raises(ValidationFailed) as caught:
        run(session, BAD)
    assert caught.value.detail == "3 row(s) are not valid; nothing was imported."
    found = [(e.line, e.field, e.message) for e in caught.value.errors]
    assert found == [
        (3, "name", "String should have at least 1 character"),
        (6, "password", "the row has neither a password nor a TOTP seed"),
        (7, "username", "String should have at most 320 characters"),
    ]
    assert "pw-secret-2" not in str(found) and "u2" not in str(found)
    assert count(session) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "vault.import")) == 0  # fmt: skip


def test_skip_invalid_imports_the_good_rows_and_lists_the_bad_ones(session, inventory):
    result = run(session, BAD, skip_invalid=True)
    assert (result.rows, result.imported, result.rejected) == (5, 3, 3)
    assert [line for line, _ in result.rejected_lines] == [3, 6, 7]
    assert sorted(stored(session, inventory.client.id)) == ["Good one", "Multi", "Multi (notes)"]


def test_an_unknown_header_lists_the_accepted_columns(session, inventory):
    with pytest.raises(ValidationFailed) as caught:
        run(session, "title,login,secret\nA,b,c\n")
    assert caught.value.detail == "The CSV header matches no supported export."
    error = caught.value.errors[0]
    assert (error.line, error.field) == (1, "header")
    for column in ("login_password", "login_username", "extra", "password", "url", "notes"):
        assert column in error.message


def test_cards_and_identities_are_refused_and_not_stored(session, inventory):
    card = BITWARDEN + ",,card,Company Visa,,,0,,,,\r\n"
    with pytest.raises(ValidationFailed) as caught:
        run(session, card)
    assert [(e.line, e.field) for e in caught.value.errors] == [(6, "type")]
    assert count(session) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"name,password\nok,pw\nbad,\xff\xfe\n", "The file is not UTF-8 text."),
    ],
)
def test_unreadable_files_are_refused(session, inventory, data, message):
    with pytest.raises(ValidationFailed, match=message):
        run(session, data)
    assert count(session) == 0


def test_import_into_an_unknown_client_is_not_found(session, inventory):
    from auditor.services.errors import NotFound

    with pytest.raises(NotFound):
        run(session, GENERIC, client="nobody")


def test_import_streams_in_batches(session, inventory, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 7)
    rows = "".join(f"Entry {i},user{i},pw-{i},,\n" for i in range(50))
    result = run(session, "name,username,password,url,notes\n" + rows)
    assert result.imported == 50 and count(session) == 50


def test_a_nul_character_in_a_row_is_refused_with_its_line_on_every_database(session, inventory):
    with pytest.raises(ValidationFailed) as caught:
        run(session, GENERIC.replace("Backup NAS", "Backup\x00NAS"))
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, "name")]
    assert "NUL" in caught.value.errors[0].message
    assert session.scalar(select(func.count()).select_from(Secret)) == 0
