"""The privacy requests API: intake, visibility by role, the workflow's problem+json refusals,
listing with filters and pages, tasks, documents; no personal data in audit events or logs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent, Hold, PrivacyRequest, RequestDocument
from tests import factories
from tests.factories import assert_problem

EMAIL = "amelie.tremblay@acme.example"


def ago(days: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


def body(**overrides):
    data = {
        "type": "access",
        "channel": "email",
        "received_at": ago(3),
        "requester_name": "Amélie Tremblay",
        "requester_contact": "amelie@home.example",
        "identifiers": [{"kind": "email", "value": EMAIL}],
        "request_text": "Send me what you hold about me. Amélie",
    }
    data.update(overrides)
    return data


@pytest.fixture
def subject(session, inventory):
    return factories.subject(session, email=EMAIL, name="Amélie Tremblay", organization="acme")


@pytest.fixture
def officer_headers(auth):
    return auth("privacy_officer")


def create(client, headers, **overrides):
    response = client.post("/api/v1/requests", headers=headers, json=body(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_open_a_request(client, officer_headers, session, subject, caplog):
    with caplog.at_level(logging.DEBUG):
        out = create(client, officer_headers)
    assert out["reference"].startswith(f"PR-{dt.datetime.now(dt.UTC).year}-")
    assert {k: out[k] for k in ("type", "status", "channel", "subject", "respond_to")} == {
        "type": "access",
        "status": "received",
        "channel": "email",
        "subject": subject.ref,
        "respond_to": "individual",
    }
    assert (out["overdue"], out["deemed_refused"], out["days_left"]) == (False, False, 27)
    assert out["requester"] == {"name": "Amélie Tremblay", "contact": "amelie@home.example"}
    assert out["identifiers"] == [{"kind": "email", "value": EMAIL}]
    assert out["tasks_summary"] == {"total": 3, "open": 3, "closed": 0, "holding_records": 0}
    assert [t["system"] for t in out["tasks"]] == ["billing", "psa", "siem"]
    [document] = out["documents"]
    text = "Send me what you hold about me. Amélie".encode()
    assert (document["kind"], document["sha256"]) == (
        "written_request",
        hashlib.sha256(text).hexdigest(),
    )
    row = session.scalars(select(PrivacyRequest)).one()
    assert (row.reference, row.requester_name, row.subject_id) == (
        out["reference"],
        "Amélie Tremblay",
        subject.id,
    )
    assert session.scalars(select(Hold)).one().reference == out["reference"]
    details = " ".join(str(e.details) for e in session.scalars(select(AuditEvent)))
    assert "Amélie" not in details and "home.example" not in details and EMAIL not in details
    assert caplog.records  # the access log wrote something, and none of it is personal
    logged = " ".join(logging.getLogger().handlers[0].format(r) for r in caplog.records)
    assert "Amélie" not in logged and "home.example" not in logged and EMAIL not in logged


def test_invalid_intake_is_a_422_and_writes_nothing(client, officer_headers, session, inventory):
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    response = client.post(
        "/api/v1/requests", headers=officer_headers, json=body(received_at=future)
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert response.content_type == "application/problem+json"
    assert problem["errors"] == [{"field": "received_at", "message": "is in the future"}]
    unknown = client.post("/api/v1/requests", headers=officer_headers, json=body(colour="blue"))
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "colour"
    assert session.scalars(select(PrivacyRequest)).all() == []


def test_portability_outside_quebec_is_a_clear_422(client, officer_headers, session, subject):
    response = client.post(
        "/api/v1/requests", headers=officer_headers, json=body(type="portability")
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["detail"] == (
        "Portability (R30) is available only for a Québec-flagged subject or client."
    )
    assert problem["errors"] == [
        {"field": "type", "message": "portability needs a Québec-flagged subject or client"}
    ]
    assert session.scalars(select(PrivacyRequest)).all() == []
    quebec = create(
        client,
        officer_headers,
        type="portability",
        channel="client_forwarded",
        forwarded_by="qc-client",
    )
    assert quebec["is_quebec"] and quebec["respond_to"] == "client"


@pytest.mark.parametrize(
    ("role", "requester", "identifiers"),
    [("privacy_officer", True, True), ("technician", False, True), ("auditor", False, False)],
)
def test_what_each_role_sees(
    client, auth, officer_headers, session, subject, role, requester, identifiers
):
    scan = {"media_type": "image/png", "content_base64": "iVBORw==", "filename": "amelie-id.png"}
    ref = create(client, officer_headers, channel="client_forwarded", forwarded_by="acme",
                 client_instructions="PSA only", document=scan)["reference"]  # fmt: skip
    user = factories.user(session, role=role)
    if role == "technician":
        factories.grant(session, user, "acme")  # a technician sees their clients' requests
    headers = {"Authorization": f"Bearer {factories.token(session, user_obj=user)}"}
    session.commit()
    out = client.get(f"/api/v1/requests/{ref}", headers=headers).get_json()
    assert (out["requester"] is not None) == requester
    names = [d["filename"] for d in out["documents"] if d["filename"]]
    assert names == (["amelie-id.png"] if requester else [])
    assert len(out["documents"]) == 2
    assert (out["identifiers"] is not None) == identifiers
    assert (out["client_instructions"] == "PSA only") == identifiers
    assert out["tasks_summary"]["total"] == 3 and out["due_at"]
    listed = client.get("/api/v1/requests", headers=headers).get_json()["items"]
    assert "requester" not in listed[0] and "identifiers" not in listed[0]
    read = session.scalars(select(AuditEvent).where(AuditEvent.action == "request.read")).all()
    assert read[-1].details == {"requester": requester, "identifiers": identifiers}


def test_workflow_refusals_are_problem_json(client, auth, officer_headers, session, subject):
    ref = create(client, officer_headers)["reference"]
    url = f"/api/v1/requests/{ref}"
    unverified = client.post(f"{url}/transition", headers=officer_headers, json={"to": "completed"})
    assert unverified.status_code == 409
    problem = unverified.get_json()
    assert problem["type"].endswith("/conflict")  # received -> completed is not in the table
    client.post(f"{url}/transition", headers=officer_headers, json={"to": "in_progress"})
    guarded = client.post(f"{url}/transition", headers=officer_headers, json={"to": "completed"})
    assert guarded.status_code == 409
    assert guarded.get_json()["type"].endswith("/identity-not-verified")
    assert "not verified" in guarded.get_json()["detail"]
    verified = client.post(
        f"{url}/verification", headers=officer_headers, json={"method": "matched_known_contact"}
    )
    assert verified.status_code == 200 and verified.get_json()["verified"]
    blocked = client.post(f"{url}/transition", headers=officer_headers, json={"to": "completed"})
    assert blocked.status_code == 409
    assert blocked.get_json()["type"].endswith("/tasks-open")
    assert blocked.get_json()["open_tasks"] == 3
    technician = factories.user(session, role="technician")
    factories.grant(session, technician, "acme")
    tech = {"Authorization": f"Bearer {factories.token(session, user_obj=technician)}"}
    session.commit()
    for task in verified.get_json()["tasks"]:
        patched = client.patch(
            f"{url}/tasks/{task['id']}",
            headers=tech,
            json={"searched": True, "found": False, "closed": True},
        )
        assert patched.status_code == 200, patched.get_json()
        assert patched.get_json()["closed_by"].startswith("user:")
    done = client.post(f"{url}/transition", headers=officer_headers, json={"to": "completed"})
    assert done.status_code == 200, done.get_json()
    out = done.get_json()
    assert (out["status"], out["deadline_met"]) == ("completed", True)
    assert out["file_retention_until"] is not None
    assert session.scalars(select(Hold)).one().until is not None
    refused = client.post(
        f"{url}/transition", headers=officer_headers, json={"to": "refused", "grounds": []}
    )
    assert_problem(refused, 409, "conflict", title="Conflict with existing data")


def test_refusal_without_grounds_is_a_422(client, officer_headers, subject):
    ref = create(client, officer_headers)["reference"]
    response = client.post(
        f"/api/v1/requests/{ref}/transition", headers=officer_headers, json={"to": "refused"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["grounds", "reasons"]


def test_extension_rules_over_the_api(client, officer_headers, session, inventory):
    ref = create(client, officer_headers, received_at=ago(35))["reference"]
    row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == ref))
    notice = {
        "reason": "unreasonable_interference",
        "new_due_at": (row.original_due_at + dt.timedelta(days=20)).isoformat(),
        "notice_sent_at": ago(1),
        "notice_text": "We need more time; you may complain to the Privacy Commissioner.",
        "opc_statement": True,
    }
    late = client.post(f"/api/v1/requests/{ref}/extension", headers=officer_headers, json=notice)
    assert late.status_code == 422
    assert late.get_json()["errors"] == [
        {
            "field": "notice_sent_at",
            "message": "sent after day 30 (the original due date): too late",
        }
    ]
    listed = client.get("/api/v1/requests?overdue=true", headers=officer_headers).get_json()[
        "items"
    ]
    assert [(i["reference"], i["deemed_refused"]) for i in listed] == [(ref, True)]
    in_time = {**notice, "notice_sent_at": (row.original_due_at - dt.timedelta(1)).isoformat()}
    ok = client.post(f"/api/v1/requests/{ref}/extension", headers=officer_headers, json=in_time)
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["status"] == "extended" and not ok.get_json()["overdue"]
    assert ok.get_json()["extension"]["reason"] == "unreasonable_interference"
    assert (
        client.get("/api/v1/requests?overdue=true", headers=officer_headers).get_json()["items"]
        == []
    )
    quebec = create(client, officer_headers, channel="client_forwarded", forwarded_by="qc-client")
    refused = client.post(
        f"/api/v1/requests/{quebec['reference']}/extension", headers=officer_headers, json=in_time
    )
    assert refused.status_code == 409 and "R29" in refused.get_json()["detail"]


def test_fee_and_complaint(client, officer_headers, session, subject):
    ref = create(client, officer_headers)["reference"]
    url = f"/api/v1/requests/{ref}"
    no_estimate = client.post(f"{url}/fee", headers=officer_headers, json={"amount": "20.00"})
    assert no_estimate.status_code == 422
    assert "(R5)" in no_estimate.get_json()["detail"]
    fee = client.post(
        f"{url}/fee",
        headers=officer_headers,
        json={"amount": "20", "estimate_sent_at": ago(2), "confirmed_at": ago(1)},
    )
    assert fee.status_code == 200 and fee.get_json()["fee"]["amount"] == "20.00"
    complaint = client.post(
        f"{url}/complaint",
        headers=officer_headers,
        json={"complaint_at": ago(0.1), "note": "Too slow"},
    )
    assert complaint.status_code == 200
    assert complaint.get_json()["complaint_note"] == "Too slow"
    assert session.scalars(select(Hold)).one().open_ended


def test_link_subject_later(client, officer_headers, session, subject):
    ref = create(client, officer_headers, identifiers=[])["reference"]
    assert session.scalars(select(Hold)).all() == []
    linked = client.post(
        f"/api/v1/requests/{ref}/subject", headers=officer_headers, json={"subject": subject.ref}
    )
    assert linked.status_code == 200 and linked.get_json()["subject"] == subject.ref
    assert session.scalars(select(Hold)).one().scope_value == subject.ref
    again = client.post(
        f"/api/v1/requests/{ref}/subject", headers=officer_headers, json={"subject": subject.ref}
    )
    assert_problem(again, 409, "conflict", title="Conflict with existing data")
    assert session.scalars(select(Hold)).one().scope_value == subject.ref  # still one hold


def test_list_filters_and_pages(client, officer_headers, inventory):
    first = create(client, officer_headers)["reference"]
    second = create(client, officer_headers, type="deletion", received_at=ago(40))["reference"]
    third = create(client, officer_headers, type="correction")["reference"]

    def refs(query):
        items = client.get(f"/api/v1/requests{query}", headers=officer_headers).get_json()["items"]
        return [item["reference"] for item in items]

    assert refs("") == [first, second, third]
    assert refs("?type=deletion") == [second]
    assert refs("?overdue=false") == [first, third]
    assert refs("?status=received&type=correction") == [third]
    page = client.get("/api/v1/requests?limit=2", headers=officer_headers).get_json()
    assert [i["reference"] for i in page["items"]] == [first, second]
    rest = client.get(
        f"/api/v1/requests?limit=2&cursor={page['next_cursor']}", headers=officer_headers
    )
    assert [i["reference"] for i in rest.get_json()["items"]] == [third]
    assert rest.get_json()["next_cursor"] is None
    bad = client.get("/api/v1/requests?status=lost", headers=officer_headers)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "status"


def test_documents_are_attached_and_downloaded(client, officer_headers, session, inventory):
    ref = create(client, officer_headers)["reference"]
    pdf = b"%PDF-1.7 the response letter"
    added = client.post(
        f"/api/v1/requests/{ref}/documents",
        headers=officer_headers,
        json={
            "kind": "response",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(pdf).decode(),
            "filename": "response.pdf",
        },
    )
    assert added.status_code == 201, added.get_json()
    out = added.get_json()
    assert (out["kind"], out["size"], out["sha256"]) == (
        "response",
        len(pdf),
        hashlib.sha256(pdf).hexdigest(),
    )
    got = client.get(f"/api/v1/requests/{ref}/documents/{out['id']}", headers=officer_headers)
    assert got.status_code == 200 and got.data == pdf
    assert got.mimetype == "application/pdf" and got.headers["Cache-Control"] == "no-store"
    row = session.get(RequestDocument, out["id"])
    assert row.content == pdf
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == ref).order_by(AuditEvent.seq)
    ).all()
    assert actions[-2:] == ["request.document_add", "request.document_read"]
    missing = client.get(f"/api/v1/requests/{ref}/documents/999999", headers=officer_headers)
    assert_problem(
        missing,
        404,
        "not-found",
        title="Not found",
        detail="The request has no document with that id.",
    )
    not_base64 = client.post(
        f"/api/v1/requests/{ref}/documents",
        headers=officer_headers,
        json={"media_type": "text/plain", "content_base64": "***"},
    )
    (error,) = assert_problem(not_base64, 422, "validation-failed")["errors"]
    assert error["message"] == "not valid base64" and error["field"].endswith("content_base64")


def test_unknown_reference_is_404(client, officer_headers):
    response = client.get("/api/v1/requests/PR-1999-00001", headers=officer_headers)
    detail = "No privacy request with that reference."
    assert_problem(response, 404, "not-found", title="Not found", detail=detail)


def test_an_officer_overrides_open_searches_through_the_api(client, auth, session, inventory):
    from tests.factories import scenario

    request = scenario(session, searched=False).request
    session.commit()
    url = f"/api/v1/requests/{request.reference}/searches-override"
    short = client.post(url, headers=auth("privacy_officer"), json={"reason": "because"})
    body = assert_problem(short, 422, "validation-failed")
    assert body["errors"][0]["field"] == "reason"
    assert assert_problem(
        client.post(url, headers=auth("technician"), json={"reason": "x" * 30}), 403, "forbidden"
    )
    reason = "Systems without personal data: see the data map, 2026 review."
    done = client.post(url, headers=auth("privacy_officer"), json={"reason": reason})
    assert done.status_code == 200, done.get_data(as_text=True)
    override = done.get_json()["searches_override"]
    assert override["reason"] == reason and override["by"].startswith("user:")
    again = client.post(url, headers=auth("privacy_officer"), json={"reason": reason})
    assert_problem(again, 409, "conflict")


def test_a_technician_reaches_only_the_requests_of_their_clients(
    client, session, officer_headers, subject
):
    ref = create(client, officer_headers)["reference"]  # about acme's Amélie Tremblay
    technician = factories.user(session, role="technician")
    factories.grant(session, technician, "qc-client")
    headers = {"Authorization": f"Bearer {factories.token(session, user_obj=technician)}"}
    session.commit()
    assert client.get("/api/v1/requests", headers=headers).get_json()["items"] == []
    refused = client.get(f"/api/v1/requests/{ref}", headers=headers)
    assert_problem(refused, 403, "client-forbidden")
    assert "Tremblay" not in refused.get_data(as_text=True)
    task = client.get(f"/api/v1/requests/{ref}", headers=officer_headers).get_json()["tasks"][0]
    patched = client.patch(
        f"/api/v1/requests/{ref}/tasks/{task['id']}", headers=headers, json={"searched": True}
    )
    assert_problem(patched, 403, "client-forbidden")
    denied = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "access.denied").order_by(AuditEvent.seq)
    ).all()
    assert [event.object_id for event in denied[-2:]] == [ref, ref]
    factories.grant(session, technician, "acme")
    session.commit()
    listed = client.get("/api/v1/requests", headers=headers).get_json()["items"]
    assert [item["reference"] for item in listed] == [ref]
