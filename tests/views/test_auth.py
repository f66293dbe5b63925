"""Bearer tokens: missing, unknown, expired, revoked and deactivated users; failures audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import ApiToken, AuditEvent
from auditor.schemas.users import UserUpdate
from auditor.services import users
from auditor.services.errors import AuthenticationFailed, ValidationFailed
from tests import factories
from tests.factories import assert_problem


def last_event(session, action):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
    ).first()


def test_valid_token_identifies_the_user(client, session):
    user = factories.user(session, role="privacy_officer", email="po@msp.example")
    token = factories.token(session, user_obj=user)
    session.commit()
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["user"]["email"] == "po@msp.example"
    assert "records:read" in body["permissions"] and "users:manage" not in body["permissions"]
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    session.refresh(row)
    assert row.last_used_at is not None


def test_token_is_stored_only_as_its_hash(session):
    token = factories.token(session)
    row = session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    assert token.startswith("aud_") and len(token) > 40
    assert row.token_hash != token and token not in row.token_hash
    assert row.prefix == token[:10]


def refused(response, detail):
    """The 401 problem every failed authentication gets, with its reason as the detail."""
    assert_problem(response, 401, "unauthenticated", title="Authentication required", detail=detail)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="auditor"'


def test_unknown_token_is_refused_and_audited(client, session):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer aud_notarealtoken"})
    refused(response, "The token is not valid.")
    event = last_event(session, "auth.token")
    assert event.outcome == "failure" and event.details["reason"] == "The token is not valid."
    assert "aud_notarealtoken" not in str(event.details)


def test_missing_token_is_audited_as_missing(client, session):
    refused(client.get("/api/v1/organizations"), "A valid bearer token is required.")
    assert last_event(session, "auth.token").details == {
        "reason": "missing",
        "route": "/api/v1/organizations",
    }


def test_expired_token_is_refused(client, session):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    token = factories.token(session, days=1, now=past)
    session.commit()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    refused(response, "The token has expired.")


def test_revoked_token_is_refused(client, session):
    token = factories.token(session)
    row = session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    users.revoke_token(session, row.id, actor=factories.ACTOR)
    session.commit()
    assert row.revoked_at is not None
    revoke = last_event(session, "token.revoke")
    assert (revoke.object_id, revoke.actor) == (str(row.id), factories.ACTOR.name)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    refused(response, "The token has been revoked.")
    failure = last_event(session, "auth.token")
    assert failure.outcome == "failure"
    assert failure.details == {"reason": "The token has been revoked.", "route": "/api/v1/me"}


def test_deactivating_a_user_revokes_their_tokens(client, session):
    user = factories.user(session, role="technician")
    token = factories.token(session, user_obj=user)
    users.update_user(session, user.id, UserUpdate(is_active=False), actor=factories.ACTOR)
    session.commit()
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].revoked_at is not None
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    refused(response, "The token has been revoked.")


def test_admin_creates_token_through_the_api_shown_once(client, auth, session):
    user = factories.user(session, role="auditor")
    session.commit()
    response = client.post(
        f"/api/v1/users/{user.id}/tokens",
        headers=auth("admin"),
        json={"name": "evidence export", "expires_in_days": 7},
    )
    assert response.status_code == 201
    body = response.get_json()
    token = body["token"]
    assert body["info"]["name"] == "evidence export" and "token_hash" not in body["info"]
    listed = client.get(f"/api/v1/users/{user.id}/tokens", headers=auth("admin")).get_json()
    assert token not in str(listed) and listed[0]["prefix"] == token[:10]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["user"]["role"] == "auditor"
    deleted = client.delete(f"/api/v1/tokens/{body['info']['id']}", headers=auth("admin"))
    assert deleted.status_code == 204 and deleted.get_data() == b""
    row = session.get(ApiToken, body["info"]["id"])
    session.refresh(row)
    assert row.revoked_at is not None and row.user_id == user.id
    assert last_event(session, "token.revoke").object_id == str(row.id)
    refused(
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
        "The token has been revoked.",
    )


def test_role_change_is_audited_with_old_and_new_role(client, auth, session):
    user = factories.user(session, role="technician")
    session.commit()
    response = client.patch(
        f"/api/v1/users/{user.id}", headers=auth("admin"), json={"role": "privacy_officer"}
    )
    assert response.get_json()["role"] == "privacy_officer"
    event = last_event(session, "user.role_change")
    assert event.details["role"] == {"from": "technician", "to": "privacy_officer"}


def test_password_is_hashed_with_argon2_and_login_audited(session):
    user = factories.user(session, role="privacy_officer", email="login@msp.example")
    users.set_password(session, user.id, "correct horse battery", actor=factories.ACTOR)
    assert user.password_hash.startswith("$argon2id$")
    assert users.check_password(session, "login@msp.example", "correct horse battery").id == user.id
    assert last_event(session, "auth.login").outcome == "success"
    with pytest.raises(AuthenticationFailed, match=r"Wrong email or password\."):
        users.check_password(session, "login@msp.example", "wrong password!")
    assert last_event(session, "auth.login").outcome == "failure"


def test_short_password_is_refused(session):
    user = factories.user(session)
    with pytest.raises(ValidationFailed) as exc:
        users.set_password(session, user.id, "short", actor=factories.ACTOR)
    assert exc.value.errors[0].field == "password"
    assert user.password_hash is None
