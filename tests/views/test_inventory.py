"""Inventory CRUD through the API: validation, conflicts, R14 findings, audited changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from auditor.models import AuditEvent, System
from tests.factories import assert_problem

SYSTEM = {
    "code": "m365",
    "name": "Microsoft 365",
    "kind": "email",
    "vendor": "Microsoft",
    "hosting_country": "ca",
    "safeguards": ["MFA"],
    "certifications": ["iso27001"],
}


def events(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_create_read_update_delete_a_system(client, auth, session):
    headers = auth("privacy_officer")
    created = client.post("/api/v1/systems", headers=headers, json=SYSTEM)
    assert created.status_code == 201
    assert created.get_json()["hosting_country"] == "CA"
    assert client.get("/api/v1/systems/m365", headers=headers).get_json()["vendor"] == "Microsoft"
    patched = client.patch("/api/v1/systems/m365", headers=headers, json={"certifications": []})
    assert patched.get_json()["certifications"] == []
    change = events(session, "inventory.system.update")[-1]
    assert change.details == {"changes": {"certifications": {"from": ["iso27001"], "to": []}}}
    assert client.delete("/api/v1/systems/m365", headers=headers).status_code == 204
    gone = client.get("/api/v1/systems/m365", headers=headers)
    assert_problem(gone, 404, "not-found", title="Not found", detail="No system with that code.")
    assert [e.object_id for e in events(session, "inventory.system.delete")] == ["m365"]


def test_duplicate_code_is_a_conflict_and_changes_nothing(client, auth, session):
    headers = auth()
    client.post("/api/v1/systems", headers=headers, json=SYSTEM)
    response = client.post("/api/v1/systems", headers=headers, json={**SYSTEM, "name": "Other"})
    assert response.status_code == 409
    assert response.get_json()["title"] == "Conflict with existing data"
    assert session.scalar(select(System.name).where(System.code == "m365")) == "Microsoft 365"
    assert len(events(session, "inventory.system.create")) == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**SYSTEM, "kind": "mainframe"}, "kind", "Input should be"),
        ({**SYSTEM, "hosting_country": "Canada"}, "hosting_country", "should match pattern"),
        ({**SYSTEM, "certifications": ["soc3"]}, "certifications.0", "Input should be"),
        ({**SYSTEM, "surprise": True}, "surprise", "Extra inputs are not permitted"),
        ({**SYSTEM, "name": 42}, "name", "valid string"),
        ({k: v for k, v in SYSTEM.items() if k != "code"}, "code", "Field required"),
    ],
)
def test_invalid_system_gets_field_errors(client, auth, session, body, field, message):
    response = client.post("/api/v1/systems", headers=auth(), json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/validation-failed")
    assert any(e["field"] == field and message in e["message"] for e in problem["errors"]), problem
    assert session.scalar(select(func.count()).select_from(System)) == 0


def test_malformed_json_wrong_media_type_and_oversized_body(client, auth, app):
    headers = auth()
    bad = client.post("/api/v1/systems", headers=headers, data="{", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["detail"] == "The body is not valid JSON."
    form = client.post("/api/v1/systems", headers=headers, data="code=x")
    assert_problem(form, 415, "unsupported-media-type", detail="Send the body as application/json.")
    big = client.post(
        "/api/v1/systems",
        headers=headers,
        content_type="application/json",
        data=b'{"code": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}',
    )
    assert_problem(big, 413, "request-entity-too-large", title="Request Entity Too Large")


def test_category_lists_its_r14_findings(client, auth):
    headers = auth()
    response = client.post(
        "/api/v1/categories", headers=headers, json={"code": "hr_files", "name": "HR files"}
    )
    assert response.status_code == 201
    assert response.get_json()["findings"] == [
        "no purpose",
        "no legal or business basis",
        "no maximum retention",
        "no minimum retention",
        "no retention trigger",
    ]


def test_category_rules_are_enforced(client, auth, inventory):
    headers = auth()
    reversed_range = client.post(
        "/api/v1/categories",
        headers=headers,
        json={"code": "x", "name": "X", "min_retention_days": 400, "max_retention_days": 90},
    )
    assert "min_retention_days is greater" in reversed_range.get_json()["errors"][0]["message"]
    wrong_trigger = client.post(
        "/api/v1/categories",
        headers=headers,
        json={"code": "x", "name": "X", "trigger_type": "time", "trigger": "agreement_termination"},
    )
    assert "is a event trigger" in wrong_trigger.get_json()["errors"][0]["message"]
    no_client = client.post(
        "/api/v1/categories",
        headers=headers,
        json={"code": "x", "name": "X", "controller": "client"},
    )
    assert no_client.get_json()["errors"][0]["field"] == "controller_organization"
    unknown_purpose = client.post(
        "/api/v1/categories",
        headers=headers,
        json={"code": "x", "name": "X", "purposes": ["world_domination"]},
    )
    assert unknown_purpose.get_json()["errors"] == [
        {"field": "purposes", "message": "no purposes 'world_domination'"}
    ]
    # a patch must leave the whole object valid
    patch = client.patch(
        "/api/v1/categories/security_logs", headers=headers, json={"min_retention_days": 500}
    )
    body = assert_problem(patch, 422, "validation-failed")
    assert body["errors"] == [
        {"field": "body", "message": "min_retention_days is greater than max_retention_days"}
    ]


def test_client_controlled_category_names_its_client(client, auth, inventory):
    response = client.post(
        "/api/v1/categories",
        headers=auth(),
        json={
            "code": "client_hr",
            "name": "Client HR data",
            "controller": "client",
            "controller_organization": "acme",
            "purposes": ["service_delivery"],
        },
    )
    assert response.get_json()["controller_organization"] == "acme"


def test_deleting_a_referenced_purpose_is_refused(client, auth, inventory, session):
    response = client.delete("/api/v1/purposes/procurement", headers=auth())
    detail = (
        "The purpose conflicts with existing data (a duplicate code, or it is still referenced)."
    )
    assert_problem(response, 409, "conflict", title="Conflict with existing data", detail=detail)
    assert client.get("/api/v1/purposes/procurement", headers=auth()).status_code == 200


def test_organization_agreements_are_upserted_by_reference(client, auth, inventory):
    headers = auth()
    response = client.patch(
        "/api/v1/organizations/acme",
        headers=headers,
        json={
            "agreements": [
                {
                    "reference": "msa-1",
                    "status": "terminated",
                    "start_date": "2020-01-01",
                    "termination_date": "2026-06-30",
                },
                {
                    "reference": "dpa-1",
                    "kind": "dpa",
                    "status": "active",
                    "start_date": "2021-01-01",
                },
            ]
        },
    )
    agreements = response.get_json()["agreements"]
    assert [(a["reference"], a["status"]) for a in agreements] == [
        ("msa-1", "terminated"),
        ("dpa-1", "active"),
    ]
    bad = client.patch(
        "/api/v1/organizations/acme",
        headers=headers,
        json={
            "agreements": [
                {"reference": "msa-1", "status": "terminated", "start_date": "2020-01-01"}
            ]
        },
    )
    assert "needs a termination_date" in bad.get_json()["errors"][0]["message"]


def test_disclosures_link_category_vendor_and_purpose(client, auth, inventory):
    listed = client.get("/api/v1/disclosures", headers=auth("auditor")).get_json()["items"]
    assert {(d["category"], d["third_party"], d["purpose"]) for d in listed} == {
        ("personal_contact", "microsoft", "procurement"),
        ("personal_contact", "dell", "procurement"),
        ("payment_data", "payment_gateway", "billing"),
    }


def test_keyset_pagination_walks_every_item_once(client, auth, inventory):
    headers = auth("auditor")
    seen, cursor = [], None
    while True:
        url = "/api/v1/categories?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [c["code"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 8


def test_bad_cursor_and_unknown_query_parameter_are_refused(client, auth):
    headers = auth("auditor")
    assert client.get("/api/v1/systems?cursor=zzz", headers=headers).get_json()["errors"] == [
        {"field": "cursor", "message": "not a cursor returned by this API"}
    ]
    unknown = client.get("/api/v1/systems?colour=red", headers=headers)
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "colour"
    too_big = client.get("/api/v1/systems?limit=100000", headers=headers)
    body = assert_problem(
        too_big, 422, "validation-failed", detail="The query string is not valid."
    )
    assert [e["field"] for e in body["errors"]] == ["limit"]


def test_filter_organizations_by_kind(client, auth, inventory):
    page = client.get("/api/v1/organizations?kind=client", headers=auth("auditor")).get_json()
    assert [o["code"] for o in page["items"]] == ["acme", "qc-client"]
