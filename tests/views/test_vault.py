"""The vault through the API: sealed storage of values, usernames and notes, metadata-only
listings, search by blind index, scoped and audited reveals."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text

from auditor.models import AuditEvent, Secret
from auditor.services.context import Actor
from auditor.services.vault import keys as vault_keys
from auditor.services.vault.keys import KeyCheckFailed
from crypto.keys import new_key_ring
from tests import factories
from tests.factories import MASTER_KEY, app_settings, assert_problem

PASSWORD = "S3cr3t-Pa$$w0rd-ÄÖ"
SECRET = {
    "name": "Domain admin",
    "kind": "password",
    "username": "ACME\\administrator",
    "url": "https://dc01.acme.example",
    "system": "psa",
    "value": PASSWORD,
}


def create(client, headers, body=None, code="acme"):
    response = client.post(f"/api/v1/clients/{code}/secrets", headers=headers, json=body or SECRET)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def reveal(client, headers, ref, reason="Patch Tuesday maintenance"):
    return client.post(f"/api/v1/secrets/{ref}/reveal", headers=headers, json={"reason": reason})


def test_secret_is_stored_sealed_and_listed_without_its_value(client, auth, inventory, session):
    headers = auth("privacy_officer")
    body = create(client, headers)
    assert "value" not in body and body["client_key_version"] == 1
    stored = session.scalar(select(Secret.value).where(Secret.ref == body["ref"]))
    assert stored[:4] == b"AUS\x01" and PASSWORD.encode() not in stored
    listed = client.get("/api/v1/clients/acme/secrets", headers=headers).get_json()
    assert [s["name"] for s in listed["items"]] == ["Domain admin"]
    assert PASSWORD not in str(listed)


def test_reveal_returns_the_value_and_is_audited_with_reason_and_ip(
    client, auth, inventory, session
):
    headers = auth("privacy_officer")
    ref = create(client, headers)["ref"]
    response = reveal(client, headers, ref)
    assert response.status_code == 200
    assert response.get_json()["value"] == PASSWORD
    assert response.headers["Cache-Control"] == "no-store"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "vault.reveal")).one()
    assert event.details == {"reason": "Patch Tuesday maintenance", "kind": "password"}
    assert event.object_id == ref and event.source_ip == "127.0.0.1"
    assert event.actor.startswith("user:")
    assert PASSWORD not in str(session.execute(text("SELECT * FROM audit_event")).all())
    secret = session.scalar(select(Secret).where(Secret.ref == ref))
    session.refresh(secret)
    assert secret.last_revealed_at is not None


def test_reveal_needs_a_reason(client, auth, inventory):
    headers = auth()
    ref = create(client, headers)["ref"]
    response = client.post(f"/api/v1/secrets/{ref}/reveal", headers=headers, json={})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "reason"


def test_technician_reaches_only_granted_clients_and_denials_are_audited(
    client, auth, inventory, session
):
    officer = auth("privacy_officer")
    ref = create(client, officer)["ref"]
    tech = factories.user(session, role="technician")
    token = factories.token(session, user_obj=tech)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    denied = reveal(client, headers, ref)
    assert denied.status_code == 403
    assert denied.get_json()["type"].endswith("/client-forbidden")
    assert PASSWORD not in denied.get_data(as_text=True)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vault.access_denied")
    ).one()
    assert event.outcome == "denied" and event.details == {"attempted": "reveal"}
    listing = client.get("/api/v1/clients/acme/secrets", headers=headers)
    assert_problem(listing, 403, "client-forbidden", title="No access to this client")
    granted = client.post(
        f"/api/v1/users/{tech.id}/grants", headers=auth("admin"), json={"client": "acme"}
    )
    assert granted.status_code == 201
    assert reveal(client, headers, ref).get_json()["value"] == PASSWORD
    other = create(client, officer, code="qc-client")["ref"]
    elsewhere = reveal(client, headers, other)
    assert_problem(elsewhere, 403, "client-forbidden", title="No access to this client")
    assert PASSWORD not in elsewhere.get_data(as_text=True)


def test_auditor_cannot_reveal(client, auth, inventory):
    ref = create(client, auth())["ref"]
    response = reveal(client, auth("auditor"), ref)
    assert (
        response.status_code == 403 and response.get_json()["title"] == "Not allowed for this role"
    )


def test_reveal_fails_when_its_audit_write_fails(client, auth, inventory, session, connection):
    headers = auth()
    ref = create(client, headers)["ref"]
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit down'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON audit_event "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )
        )
    else:
        connection.execute(
            text(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit down'); END"
            )
        )
    response = reveal(client, headers, ref)
    assert_problem(response, 500, "internal-error", detail="An unexpected error occurred.")
    assert PASSWORD not in response.get_data(as_text=True)
    secret = session.scalar(select(Secret).where(Secret.ref == ref))
    session.refresh(secret)
    assert secret.last_revealed_at is None


def test_changing_the_value_reseals_it(client, auth, inventory, session):
    headers = auth()
    ref = create(client, headers)["ref"]
    before = session.scalar(select(Secret.value).where(Secret.ref == ref))
    patched = client.patch(
        f"/api/v1/secrets/{ref}", headers=headers, json={"value": "n3w-value", "url": None}
    )
    assert patched.status_code == 200 and patched.get_json()["url"] is None
    session.expire_all()
    after = session.scalar(select(Secret.value).where(Secret.ref == ref))
    assert after != before
    assert reveal(client, headers, ref).get_json()["value"] == "n3w-value"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vault.secret_update")
    ).one()
    assert event.details == {"fields": ["url", "value"]} and "n3w" not in str(event.details)


def test_search_matches_metadata_only(client, auth, inventory):
    headers = auth()
    create(client, headers)
    create(
        client,
        headers,
        {
            **SECRET,
            "name": "Firewall",
            "username": "admin",
            "url": None,
            "value": "needle-in-value",
        },
    )
    found = client.get("/api/v1/clients/acme/secrets?q=FIRE", headers=headers).get_json()
    assert [s["name"] for s in found["items"]] == ["Firewall"]
    assert (
        client.get("/api/v1/clients/acme/secrets?q=needle", headers=headers).get_json()["items"]
        == []
    )
    percent = client.get("/api/v1/clients/acme/secrets?q=%25", headers=headers).get_json()
    assert percent["items"] == []


def test_one_clients_key_cannot_open_another_clients_secret(
    client, auth, inventory, session, keyring
):
    from crypto import envelope
    from crypto.errors import DecryptionFailed

    headers = auth()
    ref = create(client, headers)["ref"]
    create(client, headers, code="qc-client")
    secret = session.scalar(select(Secret).where(Secret.ref == ref))
    other_key = vault_keys.current_key(session, keyring, inventory.quebec_client.id)
    with pytest.raises(DecryptionFailed):
        envelope.unseal(other_key, secret.value, secret_id=ref, field="value")


def test_plaintext_never_reaches_logs(client, auth, inventory, caplog):
    headers = auth()
    with caplog.at_level(logging.DEBUG):
        ref = create(client, headers)["ref"]
        reveal(client, headers, ref)
        client.post(
            "/api/v1/clients/acme/secrets", headers=headers, json={**SECRET, "kind": "bogus"}
        )
    formatter = logging.getLogger().handlers[0].formatter
    assert all(PASSWORD not in formatter.format(r) for r in caplog.records)


def test_invalid_secret_is_refused_without_echoing_the_value(client, auth, inventory):
    response = client.post(
        "/api/v1/clients/acme/secrets", headers=auth(), json={**SECRET, "kind": "bogus"}
    )
    assert response.status_code == 422 and PASSWORD not in response.get_data(as_text=True)


def test_master_key_check_accepts_the_right_key_and_refuses_a_wrong_one(
    session, inventory, keyring
):
    assert vault_keys.check_master_keys(session, keyring) in ([1], [])
    vault_keys.current_key(session, keyring, inventory.client.id)
    with pytest.raises(KeyCheckFailed) as exc:
        vault_keys.check_master_keys(session, new_key_ring())
    assert "master key" in str(exc.value) and MASTER_KEY not in str(exc.value)


def test_service_refuses_to_start_with_a_wrong_or_missing_master_key(app, session, inventory):
    from auditor.config import ConfigError
    from auditor.keys import refuse_wrong_master_keys

    refuse_wrong_master_keys(session, app.config)  # the right key: stores the canary
    with pytest.raises(ConfigError, match="vault master key check failed") as exc:
        refuse_wrong_master_keys(
            session, {"MASTER_KEY": "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE="}
        )
    assert "version 1" in str(exc.value)
    with pytest.raises(ConfigError, match="No vault master key"):
        refuse_wrong_master_keys(session, {})


def test_started_app_checks_keys_on_a_migrated_database(database_url, engine, tmp_path):
    from auditor import create_app
    from auditor.config import ConfigError

    db_url = f"sqlite:///{tmp_path / 'k.db'}"
    from auditor import migrate
    from auditor.db import make_engine

    migrate.upgrade(make_engine(db_url))
    create_app(app_settings(db_url, CHECK_KEYS_AT_START=True))
    with pytest.raises(ConfigError, match="vault master key check failed"):
        create_app(
            app_settings(
                db_url,
                CHECK_KEYS_AT_START=True,
                MASTER_KEY="b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE=",
            )
        )


def test_cli_actor_has_operator_access(session, inventory):
    from auditor.services.vault import store as vault

    assert vault.has_access(session, Actor.cli(), inventory.client.id)


def test_a_version_in_use_without_a_canary_is_not_trusted(session, inventory, keyring):
    from auditor.models import MasterKeyCanary

    vault_keys.current_key(session, keyring, inventory.client.id)  # a client key under version 1
    session.query(MasterKeyCanary).delete()
    with pytest.raises(KeyCheckFailed, match="have no canary"):
        vault_keys.check_master_keys(session, keyring)


def test_running_service_rereads_a_changed_key_ring_file(app, tmp_path):
    import os

    from crypto.keys import new_key_ring, write_key_ring_file

    path = tmp_path / "ring"
    ring = new_key_ring()
    write_key_ring_file(path, ring)
    app.config.update(MASTER_KEY=None, MASTER_KEY_FILE=str(path))
    from auditor.keys import master_key_ring

    with app.app_context():
        assert master_key_ring().current == 1
        write_key_ring_file(path, ring.add_version())
        os.utime(path, ns=(1, 1))  # a different stamp even within the clock's resolution
        assert master_key_ring().current == 2


def test_secret_values_are_kept_exactly_with_their_spaces(client, auth, inventory):
    headers = auth()
    ref = create(client, headers, {**SECRET, "value": "  spaced out  ", "username": " admin "})[
        "ref"
    ]
    assert reveal(client, headers, ref).get_json()["value"] == "  spaced out  "
    assert reveal(client, headers, ref).get_json()["username"] == "admin"


# -- usernames and notes are sealed too ---------------------------------------------------------

NOTES = "Recovery codes: 7731-0094, 5512-8830"


def test_usernames_and_notes_are_sealed_and_listings_only_say_they_exist(
    client, auth, inventory, session
):
    headers = auth("privacy_officer")
    body = create(client, headers, {**SECRET, "notes": NOTES})
    bare = create(client, headers, {"name": "Bare", "value": "v-bare"})
    assert (body["has_username"], body["has_notes"]) == (True, True)
    assert (bare["has_username"], bare["has_notes"]) == (False, False)
    assert "username" not in body and "notes" not in body
    listed = client.get("/api/v1/clients/acme/secrets", headers=headers).get_json()
    read = client.get(f"/api/v1/secrets/{body['ref']}", headers=headers).get_json()
    for shown in (str(listed), str(read)):
        assert "administrator" not in shown and "Recovery" not in shown
    assert [(s["has_username"], s["has_notes"]) for s in listed["items"]] == [
        (True, True),
        (False, False),
    ]
    rows = str(session.execute(text("SELECT * FROM secret")).all())
    for plain in ("administrator", "Recovery codes", "7731-0094", PASSWORD):
        assert plain not in rows
    row = session.scalars(select(Secret).where(Secret.ref == body["ref"])).one()
    assert bytes(row.username_sealed)[:4] == bytes(row.notes_sealed)[:4] == b"AUS\x01"
    assert len(row.username_index) == 64


def test_reveal_returns_the_username_and_notes_with_the_value(client, auth, inventory, session):
    headers = auth("privacy_officer")
    ref = create(client, headers, {**SECRET, "notes": NOTES})["ref"]
    response = reveal(client, headers, ref)
    assert response.get_json() == {
        "ref": ref,
        "value": PASSWORD,
        "username": "ACME\\administrator",
        "notes": NOTES,
        "revealed_at": response.get_json()["revealed_at"],
    }
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "vault.reveal")).one()
    assert event.details == {"reason": "Patch Tuesday maintenance", "kind": "password"}
    assert "administrator" not in str(session.execute(text("SELECT * FROM audit_event")).all())
    bare = create(client, headers, {"name": "Bare", "value": "v-bare"})["ref"]
    assert reveal(client, headers, bare).get_json()["username"] is None


def test_search_finds_a_username_whole_in_any_case_never_a_part(client, auth, inventory):
    headers = auth()
    domain = create(client, headers)["ref"]
    firewall = {**SECRET, "name": "Firewall", "username": "Admin", "url": "ssh://10.0.0.1"}
    firewall = create(client, headers, firewall)["ref"]
    create(client, headers, {**SECRET, "name": "Other", "username": "admin2"}, code="qc-client")

    def found(q):
        page = client.get("/api/v1/clients/acme/secrets", headers=headers, query_string={"q": q})
        return [s["ref"] for s in page.get_json()["items"]]

    assert found("acme\\ADMINISTRATOR") == [domain]
    assert found("administrator") == []  # a part of a username finds nothing
    assert found("ADMIN") == [domain, firewall]  # the name "Domain admin", the username "Admin"
    assert found("dc01.acme") == [domain]  # the URL stays plain: found by a part


def test_changing_the_username_and_notes_reseals_them(client, auth, inventory, session):
    headers = auth()
    ref = create(client, headers, {**SECRET, "notes": NOTES})["ref"]
    before = session.execute(
        select(Secret.value, Secret.username_index).where(Secret.ref == ref)
    ).one()
    patched = client.patch(
        f"/api/v1/secrets/{ref}", headers=headers, json={"username": "svc-backup", "notes": None}
    )
    assert patched.status_code == 200, patched.get_json()
    assert (patched.get_json()["has_username"], patched.get_json()["has_notes"]) == (True, False)
    session.expire_all()
    after = session.execute(select(Secret.value, Secret.username_index).where(Secret.ref == ref))
    value, index = after.one()
    assert bytes(value) == bytes(before.value) and index != before.username_index
    revealed = reveal(client, headers, ref).get_json()
    assert (revealed["value"], revealed["username"], revealed["notes"]) == (
        PASSWORD,
        "svc-backup",
        None,
    )
    page = client.get("/api/v1/clients/acme/secrets?q=SVC-BACKUP", headers=headers).get_json()
    assert [s["ref"] for s in page["items"]] == [ref]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vault.secret_update")
    ).one()
    assert event.details == {"fields": ["notes", "username"]}


def test_a_sealed_username_moved_to_another_field_or_secret_does_not_open(
    client, auth, inventory, session, keyring
):
    from auditor.services.vault import store
    from crypto.errors import DecryptionFailed

    headers = auth()
    ref = create(client, headers)["ref"]
    other = create(client, headers, {**SECRET, "name": "Other"})["ref"]
    row = session.scalars(select(Secret).where(Secret.ref == ref)).one()
    target = session.scalars(select(Secret).where(Secret.ref == other)).one()
    for moved_to, column in ((row, "notes_sealed"), (target, "username_sealed")):
        original = getattr(moved_to, column)
        setattr(moved_to, column, row.username_sealed)
        session.flush()
        with pytest.raises(DecryptionFailed):
            store.reveal_secret(session, keyring, moved_to.ref, "tamper check", actor=Actor.cli())
        setattr(moved_to, column, original)
        session.flush()
