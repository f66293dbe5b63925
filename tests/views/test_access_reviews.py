"""Access reviews and deprovisioning (R35, R36): a frozen snapshot, a decision per account,
revocations that take effect at once and are timed."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from auditor.models import ApiToken, AuditEvent, User, VaultGrant
from auditor.schemas.users import UserUpdate
from auditor.services import deprovisioning, users
from auditor.services.vault import store
from tests import factories
from tests.factories import assert_denied, assert_problem

ACTOR = factories.OPERATOR


def _people(session, inventory):
    tech = factories.user(session, role="technician")
    store.grant(session, tech.id, "acme", actor=ACTOR)
    factories.token(session, user_obj=tech)
    session.commit()
    return tech


def test_a_review_freezes_access_decides_each_account_and_revokes_at_once(
    client, auth, inventory, session
):
    tech = _people(session, inventory)
    headers = auth("privacy_officer")
    started = client.post("/api/v1/access-reviews", headers=headers)
    assert started.status_code == 201, started.get_json()
    review = started.get_json()
    accounts = {a["user_id"]: a for a in review["snapshot"]["accounts"]}
    assert review["accounts"] == len(accounts) >= 2
    frozen = json.dumps(review["snapshot"], sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(frozen.encode()).hexdigest() == review["snapshot_sha256"]
    assert accounts[tech.id]["role"] == "technician"
    assert [g["client"] for g in accounts[tech.id]["grants"]] == ["acme"]
    assert len(accounts[tech.id]["tokens"]) == 1
    again = client.post("/api/v1/access-reviews", headers=headers)
    assert_problem(again, 409, "conflict")

    url = f"/api/v1/access-reviews/{review['id']}"
    unexplained = client.post(
        f"{url}/decisions", headers=headers, json={"user_id": tech.id, "decision": "revoke"}
    )
    assert_problem(unexplained, 422, "validation-failed")
    revoked = client.post(
        f"{url}/decisions",
        headers=headers,
        json={"user_id": tech.id, "decision": "revoke", "reason": "Left the company in June."},
    )
    assert revoked.status_code == 201, revoked.get_json()
    revocation = revoked.get_json()["revocation"]
    assert revocation["tokens_revoked"] == 1 and revocation["grants_removed"] == ["acme"]
    assert revocation["seconds_to_complete"] == 0.0
    session.expire_all()
    assert session.get(User, tech.id).is_active is False
    assert session.scalar(select(VaultGrant).where(VaultGrant.user_id == tech.id)) is None
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == tech.id)).all()
    assert all(t.revoked_at is not None for t in tokens)
    twice = client.post(
        f"{url}/decisions", headers=headers, json={"user_id": tech.id, "decision": "keep"}
    )
    assert_problem(twice, 409, "conflict")

    early = client.post(f"{url}/complete", headers=headers)
    body = assert_problem(early, 409, "conflict")
    assert "have no decision yet" in body["detail"]
    for user_id in accounts:
        if user_id != tech.id:
            reason = "Still in the role; reviewed against the staff list."
            client.post(
                f"{url}/decisions",
                headers=headers,
                json={"user_id": user_id, "decision": "keep", "reason": reason},
            )
    done = client.post(f"{url}/complete", headers=headers)
    assert done.status_code == 200, done.get_json()
    summary = done.get_json()
    assert summary["status"] == "completed" and summary["revoked"] == 1
    assert summary["kept"] == len(accounts) - 1
    late = client.post(
        f"{url}/decisions", headers=headers, json={"user_id": tech.id, "decision": "keep"}
    )
    assert_problem(late, 409, "conflict")

    listed = client.get("/api/v1/deprovisioning", headers=auth("auditor")).get_json()
    assert [(r["user_id"], r["grants_removed"]) for r in listed] == [(tech.id, ["acme"])]
    actions = session.scalars(
        select(AuditEvent.action)
        .where(
            AuditEvent.action.like("access_review.%") | (AuditEvent.action == "user.deprovision")
        )
        .order_by(AuditEvent.seq)
    ).all()
    assert actions[:3] == ["access_review.start", "user.deprovision", "access_review.decide"]
    assert actions[-1] == "access_review.complete"


def test_deciding_ones_own_account_needs_a_reason(client, auth, inventory, session):
    officer = factories.user(session, role="privacy_officer")
    token = factories.token(session, user_obj=officer)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    review = client.post("/api/v1/access-reviews", headers=headers).get_json()
    url = f"/api/v1/access-reviews/{review['id']}/decisions"
    bare = client.post(url, headers=headers, json={"user_id": officer.id, "decision": "keep"})
    problem = assert_problem(bare, 422, "validation-failed")
    assert problem["errors"][0]["field"] == "reason"
    kept = client.post(
        url,
        headers=headers,
        json={"user_id": officer.id, "decision": "keep", "reason": "Approved by the CEO by email."},
    )
    assert kept.status_code == 201
    event = session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "access_review.decide")
    ).one()
    assert event["self_review"] is True


def test_an_account_outside_the_snapshot_and_the_last_admin(client, auth, inventory, session):
    headers = auth("admin")
    review = client.post("/api/v1/access-reviews", headers=headers).get_json()
    url = f"/api/v1/access-reviews/{review['id']}/decisions"
    newcomer = factories.user(session, role="auditor")
    session.commit()
    outside = client.post(url, headers=headers, json={"user_id": newcomer.id, "decision": "keep"})
    assert_problem(outside, 422, "validation-failed")
    admins = [a for a in review["snapshot"]["accounts"] if a["role"] == "admin" and a["active"]]
    for account in admins[:-1]:
        client.post(
            url,
            headers=headers,
            json={"user_id": account["user_id"], "decision": "revoke", "reason": "Not needed."},
        )
    last = client.post(
        url,
        headers=headers,
        json={"user_id": admins[-1]["user_id"], "decision": "revoke", "reason": "Not needed."},
    )
    assert_problem(last, 409, "conflict")


def test_deactivating_a_user_is_a_timed_deprovisioning(session, inventory):
    tech = _people(session, inventory)
    users.update_user(session, tech.id, UserUpdate(is_active=False), actor=ACTOR)
    session.commit()
    [row] = deprovisioning.list_rows(session)
    assert row["user_id"] == tech.id and row["tokens_revoked"] == 1
    assert row["grants_removed"] == ["acme"] and row["deactivated_by"] == ACTOR.name


def test_roles(client, auth, inventory):
    assert_denied(client.post("/api/v1/access-reviews", headers=auth("auditor")), "auditor")
    assert_denied(client.get("/api/v1/access-reviews", headers=auth("technician")), "technician")
    assert client.get("/api/v1/access-reviews", headers=auth("auditor")).get_json() == []
