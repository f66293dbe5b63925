"""The role matrix, endpoint by endpoint: every endpoint denies the roles that must not use it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent
from auditor.permissions import ROLE_PERMISSIONS, Role
from auditor.services.vault import store as vault_store
from auditor.views import all_endpoints
from tests import factories

PROTECTED = [ep for ep in all_endpoints() if ep.tag != "system"]
SAMPLE_ARGS = {
    "code": "acme",
    "ref": "sub_nobody",
    "record_id": "1",
    "user_id": "1",
    "token_id": "999999",
    "consent_id": "1",
    "handover_id": "1",
    "hold_id": "1",
    "review_id": "1",
    "run_id": "1",
    "task_id": "1",
    "document_id": "1",
    "kind": "refusal",
    "regulator": "opc",
    "version": "1",
}


def concrete(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLE_ARGS[m.group(1)], rule)


def call(client, ep, headers):
    return client.open(concrete(ep.rule), method=ep.method, headers=headers, json={})


def test_every_api_endpoint_is_registered_with_a_permission_or_public():
    assert len(PROTECTED) > 30
    for ep in PROTECTED:
        assert ep.permission is not None or ep.name == "me", ep.name


DENIALS = [
    (ep, role)
    for ep in PROTECTED
    if ep.permission is not None
    for role in Role
    if ep.permission not in ROLE_PERMISSIONS[role]
]


@pytest.mark.parametrize(("ep", "role"), DENIALS, ids=[f"{e.name}-{r.value}" for e, r in DENIALS])
def test_endpoint_denies_roles_without_its_permission(client, auth, session, ep, role):
    response = call(client, ep, auth(role.value))
    assert response.status_code == 403, response.get_data(as_text=True)
    body = response.get_json()
    assert response.content_type == "application/problem+json"
    assert body["type"].endswith("/forbidden") and body["status"] == 403, body
    assert body["title"] == "Not allowed for this role"
    assert body["detail"] == f"The role '{role.value}' may not {ep.summary.lower()}."
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert denied[-1].details == {"permission": ep.permission.value, "endpoint": ep.name}
    assert denied[-1].outcome == "denied"


ALLOWED = [
    (ep, role)
    for ep in PROTECTED
    for role in Role
    if ep.permission is None or ep.permission in ROLE_PERMISSIONS[role]
]


@pytest.mark.parametrize(("ep", "role"), ALLOWED, ids=[f"{e.name}-{r.value}" for e, r in ALLOWED])
def test_endpoint_admits_roles_with_its_permission(client, session, inventory, ep, role):
    """The role lets the request through (the body may still be refused: 404, 409, 422, ...);
    the user holds a grant to acme's vault, so the role alone decides."""
    user = factories.user(session, role=role.value)
    vault_store.grant(session, user.id, "acme", actor=factories.ACTOR)
    token = factories.token(session, user_obj=user)
    session.commit()
    response = call(client, ep, {"Authorization": f"Bearer {token}"})
    assert response.status_code not in (401, 403), response.get_data(as_text=True)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:  # refused for what was sent, in a problem+json body
        assert response.content_type == "application/problem+json"
        assert response.get_json()["status"] == response.status_code


@pytest.mark.parametrize("ep", PROTECTED, ids=[e.name for e in PROTECTED])
def test_endpoint_requires_a_token(client, ep):
    response = call(client, ep, {})
    assert response.status_code == 401
    assert response.get_json()["title"] == "Authentication required"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
