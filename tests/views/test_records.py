"""Record ingest through the API: idempotent upserts, bulk NDJSON, bad lines, card numbers."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from auditor.models import AuditEvent, DataSubject, Record, record_subject
from tests import factories
from tests.factories import assert_problem


def bulk(client, headers, lines, query=""):
    body = b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines)
    return client.post(
        f"/api/v1/records/bulk{query}",
        headers=headers,
        data=body,
        content_type="application/x-ndjson",
    )


def count(session, table=Record):
    return session.scalar(select(func.count()).select_from(table))


def test_single_upsert_is_idempotent(client, auth, inventory, session):
    headers = auth("technician")
    record = factories.record(external_id="T-1")
    first = client.post("/api/v1/records", headers=headers, json=record).get_json()
    assert first["outcome"] == "inserted"
    assert first["record"]["content_digest"] and first["record"]["client"] == "acme"
    again = client.post("/api/v1/records", headers=headers, json=record).get_json()
    assert again["outcome"] == "unchanged"
    assert again["record"]["id"] == first["record"]["id"]
    changed = client.post(
        "/api/v1/records", headers=headers, json={**record, "closed_at": "2025-02-01T00:00:00Z"}
    ).get_json()
    assert changed["outcome"] == "updated"
    assert changed["record"]["closed_at"] == "2025-02-01T00:00:00Z"
    assert count(session) == 1 and count(session, record_subject) == 1


def test_bulk_reimport_changes_nothing(client, auth, inventory, session):
    headers = auth("technician")
    lines = [
        factories.record(external_id=f"T-{i}", email=f"p{i % 3}@example.com") for i in range(25)
    ]
    first = bulk(client, headers, lines).get_json()
    assert (first["received"], first["inserted"], first["rejected"]) == (25, 25, 0)
    assert count(session, DataSubject) == 3
    again = bulk(client, headers, lines).get_json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 25)
    assert count(session) == 25 and count(session, record_subject) == 25
    lines[4]["subjects"] = [{"kind": "email", "value": "p9@example.com"}]
    third = bulk(client, headers, lines).get_json()
    assert (third["updated"], third["unchanged"]) == (1, 24)
    refs = session.execute(select(func.count()).select_from(record_subject)).scalar()
    assert refs == 25 and count(session, DataSubject) == 4


def test_bulk_is_all_or_nothing_and_reports_every_bad_line(client, auth, inventory, session):
    lines = [
        factories.record(external_id="ok-1"),
        b"{not json",
        factories.record(external_id="ok-2", system="nonexistent"),
        factories.record(external_id="ok-3", created_at="yesterday"),
        factories.record(external_id="ok-4"),
    ]
    response = bulk(client, auth(), lines)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["detail"] == "3 of 5 records are invalid; nothing was imported."
    assert problem["errors"][:2] == [
        {"field": "line", "message": "not valid JSON", "line": 2},
        {"field": "system", "message": "unknown system code 'nonexistent'", "line": 3},
    ]
    assert problem["errors"][2]["field"] == "created_at" and problem["errors"][2]["line"] == 4
    assert problem["errors"][2]["message"].startswith("Input should be a valid datetime")
    assert len(problem["errors"]) == 3
    assert count(session) == 0
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "records.ingest")
        )
        == 0
    )


def test_bulk_skip_invalid_imports_the_good_lines(client, auth, inventory, session):
    lines = [
        factories.record(external_id="a"),
        factories.record(external_id="b", client="ghost"),
        factories.record(external_id="c"),
    ]
    body = bulk(client, auth(), lines, "?skip_invalid=true").get_json()
    assert (body["inserted"], body["rejected"]) == (2, 1)
    assert body["rejected_lines"] == [
        {"line": 2, "errors": [{"field": "client", "message": "unknown client code 'ghost'"}]}
    ]
    assert sorted(session.scalars(select(Record.external_id))) == ["a", "c"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"created_at": "2025-01-15T10:00:00"}, "created_at", "must include a time zone"),
        ({"closed_at": "2024-01-01T00:00:00Z"}, "body", "closed_at is before created_at"),
        ({"content": ["not", "an", "object"]}, "content", "valid dictionary"),
        ({"subjects": [{"kind": "email", "value": "nope"}]}, "subjects.0.value", "not an email"),
        ({"category": "secret_stuff"}, "category", "unknown category code"),
        ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_invalid_record_is_refused_with_its_field(
    client, auth, inventory, session, change, field, message
):
    response = client.post("/api/v1/records", headers=auth(), json={**factories.record(), **change})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    assert count(session) == 0


def test_card_numbers_are_redacted_and_counted(client, auth, inventory, session):
    content = {
        "memo": "paid with 4111-1111-1111-1111 thanks",
        "ref": "ts 1732300000000",
        "nested": [{"card": 5555555555554444}],
    }
    body = client.post(
        "/api/v1/records",
        headers=auth(),
        json=factories.record(category="billing_records", content=content),
    ).get_json()
    stored = body["record"]["content"]
    assert stored["memo"] == "paid with [card number removed, ending 1111] thanks"
    assert stored["nested"][0]["card"] == "[card number removed, ending 4444]"
    assert stored["ref"] == "ts 1732300000000"  # a millisecond timestamp is not a card number
    assert body["record"]["pan_redactions"] == 2
    raw = session.scalar(select(Record.content))
    assert "4111" not in orjson.dumps(raw).decode().replace("ending 1111", "")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "records.ingest")).one()
    assert event.details["pan_redactions"] == 2


def test_card_numbers_can_be_refused_instead(app, client, auth, inventory, session):
    app.config["PAN_POLICY"] = "reject"
    response = client.post(
        "/api/v1/records",
        headers=auth(),
        json=factories.record(content={"memo": "card 4111 1111 1111 1111"}),
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "content", "message": "contains a payment card number; remove it"}
    ]
    assert "4111" not in response.get_data(as_text=True)
    assert count(session) == 0


def test_oversized_content_is_refused(app, client, auth, inventory):
    app.config["MAX_RECORD_CONTENT_BYTES"] = 100
    response = client.post(
        "/api/v1/records", headers=auth(), json=factories.record(content={"text": "x" * 200})
    )
    assert response.get_json()["errors"] == [
        {"field": "content", "message": "larger than 100 bytes"}
    ]


def test_bulk_needs_ndjson_and_respects_its_size_limit(app, client, auth, inventory):
    headers = auth()
    wrong = client.post("/api/v1/records/bulk", headers=headers, json=factories.record())
    assert_problem(
        wrong, 415, "unsupported-media-type", detail="Send the body as application/x-ndjson."
    )
    app.config["BULK_MAX_CONTENT_LENGTH"] = 200
    big = bulk(client, headers, [factories.record(external_id=f"x{i}") for i in range(5)])
    assert_problem(big, 413, "request-entity-too-large", title="Request Entity Too Large")


def test_list_filters_and_read_are_audited(client, auth, inventory, session):
    headers = auth("privacy_officer")
    bulk(
        client,
        headers,
        [
            factories.record(external_id="t1"),
            factories.record(
                external_id="inv1",
                system="billing",
                category="billing_records",
                document_date="2025-01-15",
            ),
            factories.record(
                external_id="q1", client="qc-client", created_at="2026-03-01T00:00:00Z"
            ),
        ],
    )
    by_category = client.get("/api/v1/records?category=billing_records", headers=headers).get_json()
    assert [r["external_id"] for r in by_category["items"]] == ["inv1"]
    assert by_category["items"][0]["document_date"] == "2025-01-15"
    by_client = client.get("/api/v1/records?client=qc-client", headers=headers).get_json()
    assert [r["external_id"] for r in by_client["items"]] == ["q1"]
    by_date = client.get("/api/v1/records?created_from=2026-01-01T00:00:00Z", headers=headers)
    assert [r["external_id"] for r in by_date.get_json()["items"]] == ["q1"]
    record_id = by_client["items"][0]["id"]
    assert client.get(f"/api/v1/records/{record_id}", headers=headers).get_json()["subjects"]
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-1] == "record.read" and "record.list" in actions
    missing = client.get("/api/v1/records/999999", headers=headers)
    assert_problem(
        missing, 404, "not-found", title="Not found", detail="Record 999999 does not exist."
    )
    unknown = client.get("/api/v1/records?client=ghost", headers=headers)
    body = assert_problem(unknown, 422, "validation-failed", detail="Unknown client code.")
    assert body["errors"] == [{"field": "client", "message": "no client 'ghost'"}]
