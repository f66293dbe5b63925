"""The holds API: place, read, list with filters, release once, audited, by role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from auditor.models import AuditEvent, Hold
from auditor.services import holds
from auditor.services.context import Actor
from tests import factories
from tests.factories import assert_denied, assert_problem

HOLD = {"scope": "client", "value": "acme", "reason": "Litigation", "reference": "matter-12"}


def test_place_read_and_release_a_hold(client, auth, inventory, session):
    headers = auth("privacy_officer")
    created = client.post("/api/v1/holds", headers=headers, json=HOLD)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert {k: body[k] for k in ("kind", "scope", "value", "reason", "reference", "status")} == {
        "kind": "legal",
        "scope": "client",
        "value": "acme",
        "reason": "Litigation",
        "reference": "matter-12",
        "status": "active",
    }
    assert body["created_by"].startswith("user:")
    assert body["released_at"] is None and body["until"] is None

    read = client.get(f"/api/v1/holds/{body['id']}", headers=auth("auditor")).get_json()
    assert read == body

    released = client.post(
        f"/api/v1/holds/{body['id']}/release", headers=headers, json={"reason": "Settled"}
    )
    assert released.status_code == 200
    out = released.get_json()
    assert out["status"] == "released"
    assert out["released_by"] == body["created_by"]
    assert out["release_reason"] == "Settled"
    assert out["released_at"] is not None

    again = client.post(
        f"/api/v1/holds/{body['id']}/release", headers=headers, json={"reason": "Twice"}
    )
    assert again.status_code == 409
    assert again.get_json()["detail"] == "The hold is already released."
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("hold.%")).order_by(AuditEvent.seq)
    ).all()
    assert actions == ["hold.place", "hold.release"]


def test_unknown_scope_value_is_a_422_with_field_errors(client, auth, inventory):
    response = client.post("/api/v1/holds", headers=auth(), json={**HOLD, "value": "nobody"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] == [{"field": "value", "message": "no organization with that code"}]
    assert "nobody" not in body["detail"]


def test_missing_reason_and_manual_recourse_hold_are_refused(client, auth, inventory):
    headers = auth()
    no_reason = client.post("/api/v1/holds", headers=headers, json={**HOLD, "reason": "  "})
    assert no_reason.status_code == 422
    assert [e["field"] for e in no_reason.get_json()["errors"]] == ["reason"]
    recourse = client.post("/api/v1/holds", headers=headers, json={**HOLD, "kind": "recourse"})
    assert recourse.status_code == 422
    assert [e["field"] for e in recourse.get_json()["errors"]] == ["kind"]
    no_release_reason = client.post("/api/v1/holds/1/release", headers=headers, json={})
    body = assert_problem(no_release_reason, 422, "validation-failed")
    assert body["errors"] == [{"field": "reason", "message": "Field required"}]


def test_list_filters_active_and_released(client, auth, inventory):
    headers = auth()
    first = client.post("/api/v1/holds", headers=headers, json=HOLD).get_json()
    second = client.post(
        "/api/v1/holds",
        headers=headers,
        json={"kind": "breach", "scope": "system", "value": "siem", "reason": "Logs of BR-1"},
    ).get_json()
    client.post(f"/api/v1/holds/{first['id']}/release", headers=headers, json={"reason": "Done"})

    def ids(query):
        page = client.get(f"/api/v1/holds?{query}", headers=headers).get_json()
        return [h["id"] for h in page["items"]]

    assert ids("status=active") == [second["id"]]
    assert ids("status=released") == [first["id"]]
    assert ids("kind=breach&scope=system&value=siem") == [second["id"]]
    assert ids("") == [first["id"], second["id"]]
    page = client.get("/api/v1/holds?limit=1", headers=headers).get_json()
    assert page["next_cursor"] and [h["id"] for h in page["items"]] == [first["id"]]
    bad = client.get("/api/v1/holds?status=expired", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "status"


def test_recourse_hold_placed_by_a_request_shows_its_minimum(client, auth, inventory, session):
    subject = factories.subject(session)
    hold = holds.place_recourse_hold(
        session,
        subject_ref=subject.ref,
        request_reference="REQ-9",
        due_at=dt.date(2026, 12, 22),
        responded_at=dt.date(2026, 12, 1),
        actor=Actor.system("requests"),
    )
    session.commit()
    body = client.get(f"/api/v1/holds/{hold.id}", headers=auth("auditor")).get_json()
    assert (body["kind"], body["value"], body["until"]) == ("recourse", subject.ref, "2027-06-22")


def test_unknown_hold_is_404(client, auth):
    response = client.get("/api/v1/holds/999999", headers=auth())
    assert_problem(response, 404, "not-found", title="Not found", detail="No hold with that id.")


def test_technicians_and_auditors_may_not_place_holds(client, auth, inventory, session):
    for role in ("technician", "auditor"):
        assert_denied(client.post("/api/v1/holds", headers=auth(role), json=HOLD), role)
    assert_denied(client.get("/api/v1/holds", headers=auth("technician")), "technician")
    assert session.scalars(select(Hold)).all() == []
