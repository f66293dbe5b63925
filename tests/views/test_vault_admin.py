"""Hand-over, acknowledgement, purge and the revealed-and-unchanged report through the API."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging

from sqlalchemy import func, select, text

from auditor.models import AuditEvent, Secret
from tests import factories
from tests.factories import assert_problem
from tests.factories.kdbx import entries_of, open_kdbx

PASSWORDS = {"Domain admin": "Dc-Pa$$-1", "Firewall": "Fw-Pa$$-2"}


def terminate(client, headers, code="acme", on="2026-10-31"):
    agreement = {
        "reference": "msa-1",
        "status": "terminated",
        "start_date": "2020-01-01",
        "termination_date": on,
    }
    response = client.patch(
        f"/api/v1/organizations/{code}", headers=headers, json={"agreements": [agreement]}
    )
    assert response.status_code == 200, response.get_json()


def store(client, headers, name, value, code="acme"):
    body = {"name": name, "username": "admin", "url": "https://x.example", "value": value}
    response = client.post(f"/api/v1/clients/{code}/secrets", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["ref"]


def export(client, headers, code="acme"):
    body = {"recipient": "Dana Client, IT lead", "method": "USB key in person"}
    return client.post(f"/api/v1/clients/{code}/handover", headers=headers, json=body)


def acknowledge(client, headers, handover_id, at=None):
    body = {
        "acknowledged_at": at or dt.datetime.now(dt.UTC).isoformat(),
        "acknowledgement": "Dana signed the receipt form",
    }
    return client.post(
        f"/api/v1/handovers/{handover_id}/acknowledgement", headers=headers, json=body
    )


def purge(client, headers, **body):
    return client.post("/api/v1/clients/acme/vault/purge", headers=headers, json=body)


def test_handover_returns_the_file_and_its_passphrase_once(
    client, auth, inventory, session, caplog
):
    officer = auth("privacy_officer")
    for name, value in PASSWORDS.items():
        store(client, officer, name, value)
    terminate(client, officer)
    with caplog.at_level(logging.DEBUG):
        response = export(client, officer)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    data = base64.b64decode(body["file_base64"])
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["file_name"] == f"acme-handover-{dt.date.today():%Y%m%d}.kdbx"
    assert (body["client"], body["secrets_count"]) == ("acme", 2)
    root, _ = open_kdbx(data, body["passphrase"])  # the hand-over KDF, as sent
    found = entries_of(root)
    assert {name: found[name]["Password"] for name in found} == PASSWORDS
    stored = str(session.execute(text("SELECT * FROM handover")).all())
    events = str(session.execute(text("SELECT * FROM audit_event")).all())
    assert body["sha256"] in stored and body["passphrase"] not in stored + events
    assert caplog.records  # the request was logged
    for leaked in (body["passphrase"], *PASSWORDS.values()):
        assert leaked not in caplog.text and leaked not in events


def test_handover_is_refused_while_the_agreement_is_active(client, auth, inventory):
    response = export(client, auth("privacy_officer"))
    assert response.status_code == 409
    assert "msa-1 is active" in response.get_json()["detail"]


def test_acknowledgement_is_recorded_and_validated(client, auth, inventory):
    officer = auth("privacy_officer")
    terminate(client, officer)
    handover_id = export(client, officer).get_json()["handover_id"]
    future = acknowledge(client, officer, handover_id, at="2999-01-01T00:00:00Z")
    assert future.status_code == 422
    assert future.get_json()["errors"][0]["field"] == "acknowledged_at"
    naive = acknowledge(client, officer, handover_id, at="2026-11-01T10:00:00")
    body = assert_problem(naive, 422, "validation-failed")
    assert [e["field"] for e in body["errors"]] == ["acknowledged_at"]
    done = acknowledge(client, officer, handover_id)
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (body["id"], body["client"], body["recipient"]) == (
        handover_id,
        "acme",
        "Dana Client, IT lead",
    )
    assert body["acknowledgement"] == "Dana signed the receipt form"
    assert body["recorded_by"].startswith("user:") and body["acknowledged_at"]
    again = acknowledge(client, officer, handover_id)
    assert again.status_code == 409 and "already acknowledged" in again.get_json()["detail"]
    unknown = acknowledge(client, officer, 999_999)
    assert_problem(
        unknown, 404, "not-found", title="Not found", detail="Hand-over 999999 does not exist."
    )


def test_purge_is_blocked_without_a_handover_then_dry_run_then_done(
    client, auth, inventory, session
):
    officer = auth("privacy_officer")
    for name, value in PASSWORDS.items():
        store(client, officer, name, value)
    terminate(client, officer)
    blocked = purge(client, officer, dry_run=False)
    assert blocked.status_code == 409
    problem = blocked.get_json()
    assert problem["type"].endswith("/handover-required")
    assert "no hand-over of this client's credentials" in problem["detail"]
    handover_id = export(client, officer).get_json()["handover_id"]
    unacknowledged = purge(client, officer, dry_run=False)
    body = assert_problem(unacknowledged, 409, "handover-required")
    assert f"hand-over {handover_id} has no recorded acknowledgement" in body["detail"]
    assert acknowledge(client, officer, handover_id).status_code == 200
    dry = purge(client, officer)  # dry run unless told otherwise
    assert dry.status_code == 200
    assert dry.get_json() == {
        "client": "acme",
        "dry_run": True,
        "secrets": 2,
        "client_key_versions": 1,
        "handover_id": handover_id,
        "disposition_id": None,
        "audit_seq": None,
        "run_id": None,
        "previous_disposition_id": None,
        "message": "Dry run: would crypto-shred 2 secret(s) and 1 client key version(s) of acme "
        f"(hand-over {handover_id}).",
    }
    assert session.scalar(select(func.count()).select_from(Secret)) == 2
    done = purge(client, officer, dry_run=False).get_json()
    assert (done["dry_run"], done["secrets"], done["client_key_versions"]) == (False, 2, 1)
    assert session.scalar(select(func.count()).select_from(Secret)) == 0
    (disposition,) = factories.dispositions(session, id=done["disposition_id"])
    assert disposition.audit_seq == done["audit_seq"] and disposition.run_id == done["run_id"]
    assert disposition.executor.startswith("user:")
    again = purge(client, officer, dry_run=False).get_json()
    assert again["message"] == (
        "Nothing to purge: acme holds no secret and no client key "
        f"(purged before: disposition {done['disposition_id']})."
    )


def reveal(client, headers, ref):
    response = client.post(
        f"/api/v1/secrets/{ref}/reveal", headers=headers, json={"reason": "monthly patching"}
    )
    assert response.status_code == 200, response.get_json()


def test_report_lists_what_a_user_revealed_and_drops_it_once_changed(
    client, auth, inventory, session
):
    officer = auth("privacy_officer")
    router = store(client, officer, "Router", "r-1")
    switch = store(client, officer, "Switch", "s-1")
    store(client, officer, "Never revealed", "n-1")
    tech = factories.user(session, role="technician")
    token = factories.token(session, user_obj=tech)
    session.commit()
    tech_headers = {"Authorization": f"Bearer {token}"}
    assert client.post(
        f"/api/v1/users/{tech.id}/grants", headers=auth("admin"), json={"client": "acme"}
    ).status_code == 201  # fmt: skip
    reveal(client, tech_headers, router)
    reveal(client, tech_headers, switch)
    reveal(client, officer, store(client, officer, "Officer only", "o-1"))
    auditor = auth("auditor")
    report = client.get(f"/api/v1/users/{tech.id}/vault-report", headers=auditor)
    assert report.status_code == 200, report.get_json()
    rows = report.get_json()
    assert [(r["ref"], r["client"], r["name"], r["kind"]) for r in rows] == [
        (router, "acme", "Router", "password"),
        (switch, "acme", "Switch", "password"),
    ]
    assert rows[0]["last_revealed_by_user_at"] >= rows[0]["value_changed_at"]
    assert rows[0]["last_revealed_by_user_at"].endswith("Z")  # aware UTC on every backend
    patched = client.patch(f"/api/v1/secrets/{router}", headers=officer, json={"value": "r-2"})
    assert patched.status_code == 200
    renamed = client.patch(f"/api/v1/secrets/{switch}", headers=officer, json={"username": "root"})
    assert renamed.status_code == 200  # a new (sealed) username: the revealed password still works
    after = client.get(f"/api/v1/users/{tech.id}/vault-report", headers=auditor).get_json()
    assert [r["name"] for r in after] == ["Switch"]
    reveal(client, tech_headers, router)  # the new value revealed: listed again
    again = client.get(f"/api/v1/users/{tech.id}/vault-report", headers=auditor).get_json()
    assert [r["name"] for r in again] == ["Router", "Switch"]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "vault.report")).all()
    assert [e.details for e in events][-1] == {"report": "revealed_unchanged", "rows": 2}
    assert events[-1].object_id == str(tech.id)
    nobody = client.get("/api/v1/users/999999/vault-report", headers=auditor)
    assert_problem(
        nobody, 404, "not-found", title="Not found", detail="User 999999 does not exist."
    )
