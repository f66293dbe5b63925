"""Data subjects: identifiers, consents, and finding everything held about a person."""

from __future__ import annotations

from sqlalchemy import select

from auditor.models import AuditEvent, DataSubject, SubjectIdentifier
from tests import factories
from tests.factories import assert_problem

PERSON = {
    "display_name": "Amélie Tremblay",
    "kind": "client_staff",
    "organization": "acme",
    "identifiers": [
        {"kind": "email", "value": " Amelie.Tremblay@Acme.example "},
        {"kind": "phone", "value": "(416) 555-0101"},
    ],
}


def test_create_normalises_identifiers(client, auth, inventory):
    body = client.post("/api/v1/subjects", headers=auth(), json=PERSON).get_json()
    assert body["identifiers"] == [
        {"kind": "email", "value": "amelie.tremblay@acme.example"},
        {"kind": "phone", "value": "+14165550101"},
    ]
    assert body["ref"].startswith("sub_")


def test_identifier_belongs_to_one_subject(client, auth, inventory, session):
    headers = auth()
    first = client.post("/api/v1/subjects", headers=headers, json=PERSON).get_json()
    again = client.post(
        "/api/v1/subjects",
        headers=headers,
        json={
            **PERSON,
            "identifiers": [{"kind": "email", "value": "amelie.tremblay@acme.example"}],
        },
    )
    assert_problem(
        again,
        409,
        "conflict",
        title="Conflict with existing data",
        detail="An identifier or reference already belongs to another subject.",
    )
    assert session.scalars(select(DataSubject.ref)).all() == [first["ref"]]
    stored = session.scalars(select(SubjectIdentifier.value).order_by(SubjectIdentifier.id)).all()
    assert stored == ["amelie.tremblay@acme.example", "+14165550101"]
    created = session.scalars(select(AuditEvent).where(AuditEvent.action == "subject.create"))
    assert [e.object_id for e in created] == [first["ref"]]


def test_invalid_identifier_is_refused(client, auth, inventory):
    response = client.post(
        "/api/v1/subjects",
        headers=auth(),
        json={**PERSON, "identifiers": [{"kind": "phone", "value": "call me maybe"}]},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "identifiers[0].value", "message": "not a phone number"}
    ]


def test_consent_recorded_and_withdrawn(client, auth, inventory, session):
    headers = auth()
    ref = client.post("/api/v1/subjects", headers=headers, json=PERSON).get_json()["ref"]
    consent = client.post(
        f"/api/v1/subjects/{ref}/consents",
        headers=headers,
        json={
            "purpose": "marketing",
            "given_at": "2025-01-10T10:00:00Z",
            "method": "web_form",
            "text_version": "newsletter-v3",
        },
    ).get_json()
    withdrawn = client.post(
        f"/api/v1/subjects/{ref}/consents/{consent['id']}/withdraw",
        headers=headers,
        json={"withdrawn_at": "2026-02-01T00:00:00Z", "withdrawal_method": "email"},
    )
    assert withdrawn.get_json()["withdrawn_at"] == "2026-02-01T00:00:00Z"
    twice = client.post(
        f"/api/v1/subjects/{ref}/consents/{consent['id']}/withdraw",
        headers=headers,
        json={"withdrawn_at": "2026-02-02T00:00:00Z", "withdrawal_method": "email"},
    )
    assert_problem(twice, 409, "conflict", title="Conflict with existing data")
    naive = client.post(
        f"/api/v1/subjects/{ref}/consents",
        headers=headers,
        json={
            "purpose": "marketing",
            "given_at": "2025-01-10T10:00:00",
            "method": "web_form",
            "text_version": "v",
        },
    )
    assert "time zone" in naive.get_json()["errors"][0]["message"]


def ingest(client, headers, records):
    import orjson

    body = b"\n".join(orjson.dumps(r) for r in records)
    return client.post(
        "/api/v1/records/bulk", headers=headers, data=body, content_type="application/x-ndjson"
    )


def test_lookup_by_any_identifier_pages_through_all_records(client, auth, inventory, session):
    headers = auth()
    client.post("/api/v1/subjects", headers=headers, json=PERSON)
    records = [
        factories.record(external_id=f"T-{i}", email="amelie.tremblay@acme.example")
        for i in range(7)
    ]
    records.append(factories.record(external_id="other", email="someone.else@acme.example"))
    assert ingest(client, headers, records).get_json()["inserted"] == 8
    for kind, value in (
        ("email", "AMELIE.TREMBLAY@acme.example"),
        ("phone", "+1 416 555 0101"),
        ("name", "amélie tremblay"),
    ):
        seen, cursor = [], None
        while True:
            body = {
                "kind": kind,
                "value": value,
                "limit": 3,
                **({"cursor": cursor} if cursor else {}),
            }
            page = client.post("/api/v1/subjects/lookup", headers=headers, json=body).get_json()
            assert [s["display_name"] for s in page["subjects"]] == ["Amélie Tremblay"]
            seen += [r["external_id"] for r in page["records"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == [f"T-{i}" for i in range(7)], kind
    lookups = session.scalars(select(AuditEvent).where(AuditEvent.action == "subject.lookup")).all()
    assert lookups[0].details == {"by": "email", "subjects_found": 1, "records_returned": 3}
    assert all("amelie" not in str(e.details).lower() for e in lookups)


def test_lookup_of_unknown_person_finds_nothing(client, auth, inventory):
    page = client.post(
        "/api/v1/subjects/lookup",
        headers=auth(),
        json={"kind": "email", "value": "nobody@nowhere.example"},
    ).get_json()
    assert page == {"subjects": [], "records": [], "next_cursor": None}


def test_reading_a_subject_is_audited(client, auth, inventory, session):
    headers = auth()
    ref = client.post("/api/v1/subjects", headers=headers, json=PERSON).get_json()["ref"]
    client.get(f"/api/v1/subjects/{ref}", headers=headers)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "subject.read")).one()
    assert event.object_id == ref and event.details == {}


def test_subject_with_records_cannot_be_deleted_directly(client, auth, inventory):
    headers = auth()
    ref = client.post("/api/v1/subjects", headers=headers, json=PERSON).get_json()["ref"]
    ingest(client, headers, [factories.record(email="amelie.tremblay@acme.example")])
    response = client.delete(f"/api/v1/subjects/{ref}", headers=headers)
    assert response.status_code == 409 and "deletion request" in response.get_json()["detail"]
