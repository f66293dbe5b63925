"""Every page route with every role, and with a technician of another client: a page's
permission comes from the same role matrix as the API; a refusal is a 403 page, audited, and
shows nothing of the request."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent
from auditor.pages import PAGES, blueprints
from auditor.permissions import Permission, Role, is_allowed
from tests import factories
from tests.factories import web

ROLES = [role.value for role in Role]


@pytest.fixture
def acme_request(session, inventory):
    factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    return factories.open_request(session)


def path_of(rule: str, request) -> str:
    task = str(request.tasks[0].id)
    return (
        rule.replace("<ref>", request.reference)
        .replace("<kind>", "refusal")
        .replace("<int:task_id>", task)
    )


def visit(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    token = web.csrf_token(client.get("/account"))
    return client.post(path, data={"csrf_token": token})


def test_every_page_declares_a_permission_or_is_public_or_personal():
    blueprints()  # importing the page modules registers their pages
    signed_in_only = {page.name for page in PAGES if page.permission is None and not page.public}
    assert signed_in_only == {"auth.account", "auth.sign_out_everywhere"}
    public = {page.name for page in PAGES if page.public}
    assert public == {"auth.sign_in", "auth.second_factor", "auth.enrol", "auth.sign_out"}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_the_matrix_says(
    app, session, inventory, acme_request, role
):
    client, person = web.signed_in(app, session, role=role, moment=factories.NOW)
    if role == Role.TECHNICIAN.value:
        factories.grant(session, person, "acme")
    for entry in PAGES:
        if entry.public or entry.name == "auth.sign_out_everywhere":
            continue
        for method in entry.methods:
            answer = visit(client, method, path_of(entry.rule, acme_request))
            allowed = entry.permission is None or is_allowed(role, entry.permission)
            text = answer.get_data(as_text=True)
            if allowed:
                assert answer.status_code != 403, (entry.name, method, role, text[:300])
                assert answer.status_code < 500, (entry.name, method, role, text[:300])
            else:
                assert answer.status_code == 403, (entry.name, method, role)
                assert acme_request.requester_name not in text
                assert "Your role does not give access to this page." in text


def test_every_request_page_refuses_a_technician_of_another_client(
    app, session, inventory, acme_request
):
    client, person = web.signed_in(app, session, role="technician", moment=factories.NOW)
    factories.grant(session, person, "qc-client")
    walked = 0
    for entry in PAGES:
        if entry.public or entry.name == "auth.sign_out_everywhere":
            continue
        if not (entry.permission is None or is_allowed("technician", entry.permission)):
            continue  # refused to every technician: the walk above checks it
        for method in entry.methods:
            answer = visit(client, method, path_of(entry.rule, acme_request))
            text = answer.get_data(as_text=True)
            assert acme_request.reference not in text or "<ref>" not in entry.rule
            assert "amelie.tremblay@acme.example" not in text, entry.name
            if "<ref>" in entry.rule:
                walked += 1
                assert answer.status_code == 403, (entry.name, method)
                assert "You have no access to this client" in text
            else:
                assert answer.status_code == 200, (entry.name, method)
    assert walked >= 1


def test_a_refused_page_is_audited_with_its_permission(app, session, inventory, acme_request):
    client, person = web.signed_in(app, session, role="auditor", moment=factories.NOW)
    assert client.get("/requests/new").status_code == 403
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "access.denied").order_by(AuditEvent.seq)
    ).all()[-1]
    assert event.actor == f"user:{person.id}" and event.outcome == "denied"
    assert event.details == {
        "permission": Permission.REQUESTS_MANAGE.value,
        "page": "requests_desk.request_new",
        "via": "web",
    }


def test_a_technician_sees_only_the_requests_of_the_clients_granted_to_them(
    app, session, inventory, acme_request
):
    client, person = web.signed_in(app, session, role="technician", moment=factories.NOW)
    factories.grant(session, person, "qc-client")  # another client
    listing = client.get("/requests").get_data(as_text=True)
    assert acme_request.reference not in listing and "0 requests" in listing
    page = client.get(f"/requests/{acme_request.reference}")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "You have no access to this client" in text
    assert "amelie.tremblay@acme.example" not in text
    assert acme_request.reference not in client.get("/requests/export.csv").get_data(as_text=True)
    assert acme_request.reference not in client.get("/").get_data(as_text=True)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "access.denied").order_by(AuditEvent.seq)
    ).all()[-1]
    assert event.object_id == acme_request.reference
    factories.grant(session, person, "acme")
    page = client.get(f"/requests/{acme_request.reference}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "amelie.tremblay@acme.example" in text  # the identifiers to search for
    assert "Amélie Tremblay" not in text  # never the requester's name and contact
    assert re.search(r"What to do next", text) is None  # no officer's action


def test_the_api_reference_page_lists_every_endpoint_without_signing_in(client):
    page = client.get("/about/api")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/api/v1/requests" in text and "requests:read" in text
