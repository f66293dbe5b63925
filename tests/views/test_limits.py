"""What a request may be (auditor/views/limits.py, auditor/schemas/json_input.py): numbers, NUL
characters and sizes beyond what the service can keep are refused with a problem, never a 500,
and nothing is written."""

from __future__ import annotations

import base64
import io
import json

import pytest
from sqlalchemy import func, select

from auditor.models import AuditEvent, Hold, Record
from auditor.schemas.common import parse
from auditor.schemas.requests import CorrectionIn, RejectionIn
from auditor.services.errors import ValidationFailed
from auditor.views import all_endpoints
from tests import factories
from tests.factories import assert_problem

HUGE = 99999999999999999999  # beyond 64 bits
BEYOND_ROW_IDS = 2**31  # fits 64 bits, not a row id (32-bit INTEGER keys on PostgreSQL)


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


INT_ROUTES = sorted({(ep.method, ep.rule) for ep in all_endpoints() if "<int:" in ep.rule}, key=str)


@pytest.mark.parametrize("number", [HUGE, BEYOND_ROW_IDS])
@pytest.mark.parametrize(("method", "rule"), INT_ROUTES)
def test_an_integer_path_argument_beyond_the_row_ids_names_nothing(
    client, auth, method, rule, number
):
    path = rule
    while "<" in path:  # every argument: the integers huge, the others plausible
        start, end = path.index("<"), path.index(">")
        value = str(number) if path[start:end].startswith("<int:") else "x"
        path = path[:start] + value + path[end + 1 :]
    response = client.open(path, method=method, headers=auth("admin"), json={})
    assert_problem(response, 404, "not-found")


def cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": value}).encode()).decode().rstrip("=")


@pytest.mark.parametrize("after", [10**21, -1, 2**63, 2**31, True, "3"])
def test_a_cursor_beyond_the_row_ids_is_refused(client, auth, after):
    response = client.get(f"/api/v1/records?cursor={cursor(after)}", headers=auth("admin"))
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [{"field": "cursor", "message": "not a cursor returned by this API"}]


@pytest.mark.parametrize("number", [HUGE, BEYOND_ROW_IDS])
def test_a_hold_on_a_record_id_beyond_the_row_ids_is_refused_and_nothing_placed(
    client, auth, session, inventory, number
):
    before = count(session, Hold)
    response = client.post(
        "/api/v1/holds",
        headers=auth("privacy_officer"),
        json={"scope": "record", "value": str(number), "reason": "litigation"},
    )
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [{"field": "value", "message": "no record with that id"}]
    assert count(session, Hold) == before


@pytest.mark.parametrize("number", [HUGE, BEYOND_ROW_IDS])
def test_a_query_integer_beyond_the_row_ids_is_refused(client, auth, number):
    response = client.get(f"/api/v1/audit/events?organization_id={number}", headers=auth("admin"))
    body = assert_problem(response, 422, "validation-failed")
    assert [error["field"] for error in body["errors"]] == ["organization_id"]


def test_the_audit_cursor_takes_64_bit_sequence_numbers(client, auth):
    """The audit sequence is the one BIGINT key: its cursor may go past the row ids."""
    response = client.get(f"/api/v1/audit/events?cursor={cursor(2**40)}", headers=auth("admin"))
    assert response.status_code == 200 and response.get_json()["items"] == []
    refused = client.get(f"/api/v1/audit/events?cursor={cursor(2**63)}", headers=auth("admin"))
    assert_problem(refused, 422, "validation-failed")


def test_a_nul_character_in_a_body_string_is_refused_with_its_field(
    client, auth, session, inventory
):
    headers = auth("privacy_officer")
    before = count(session, AuditEvent)
    response = client.post(
        "/api/v1/holds",
        headers=headers,
        json={"scope": "client", "value": "acme", "reason": "keep\x00this"},
    )
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [
        {"field": "reason", "message": "contains a NUL character (U+0000), which cannot be stored"}
    ]
    assert count(session, Hold) == 0
    assert count(session, AuditEvent) == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/organizations/ac%00me", "path"),
        ("/api/v1/holds?reference=x%00y", "query.reference"),
    ],
)
def test_a_nul_character_in_the_path_or_query_is_refused(client, auth, url, field):
    body = assert_problem(client.get(url, headers=auth("admin")), 422, "validation-failed")
    assert body["errors"][0]["field"] == field


def test_a_record_with_a_nul_character_or_an_integer_beyond_64_bits_is_not_stored(
    client, auth, session, inventory
):
    before = count(session, Record)
    for content, field in (({"summary": "a\x00b"}, "content.summary"), ({"n": HUGE}, "content.n")):
        record = factories.record(external_id="T-1", content=content)
        response = client.post(
            "/api/v1/records",
            headers={**auth("admin"), "Content-Type": "application/json"},
            data=json.dumps(record),
        )
        body = assert_problem(response, 422, "validation-failed")
        assert [e["field"] for e in body["errors"]] == [field]
    assert count(session, Record) == before


def test_an_integer_that_fits_and_a_decimal_are_kept_exactly(client, auth, session, inventory):
    record = factories.record(external_id="T-2", content={"n": 2**63 - 1, "amount": 12.5})
    response = client.post("/api/v1/records", headers=auth("admin"), json=record)
    assert response.status_code == 201 or response.status_code == 200, response.get_data()
    stored = session.scalar(select(Record).where(Record.external_id == "T-2"))
    assert stored.content["n"] == 2**63 - 1 and stored.content["amount"] == 12.5


def test_a_bulk_line_with_an_integer_beyond_64_bits_is_rejected_with_its_line(
    client, auth, session, inventory
):
    lines = [
        json.dumps(factories.record(external_id="B-1")),
        '{"external_id": "B-2", "content": {"n": 99999999999999999999}}',
    ]
    response = client.post(
        "/api/v1/records/bulk?skip_invalid=true",
        headers={**auth("admin"), "Content-Type": "application/x-ndjson"},
        data="\n".join(lines),
    )
    body = response.get_json()
    assert body["rejected"] == 1 and body["rejected_lines"][0]["line"] == 2
    assert body["rejected_lines"][0]["errors"][0]["field"] == "content.n"


def chunked(client, path, body: bytes, headers):
    """A request whose body has no Content-Length: sent chunked, as a client streaming it."""
    return client.post(
        path,
        headers={**headers, "Content-Type": "application/json"},
        input_stream=io.BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_of_valid_json_followed_by_more_bytes_is_refused_not_truncated(
    app, client, auth, session, inventory
):
    limit = app.config["MAX_CONTENT_LENGTH"]
    hold = json.dumps({"scope": "client", "value": "acme", "reason": "r"}).encode()
    body = hold + b" " * (limit - len(hold)) + b"and then more bytes"
    response = chunked(client, "/api/v1/holds", body, auth("privacy_officer"))
    assert_problem(response, 413, "request-entity-too-large")
    assert count(session, Hold) == 0


def test_a_chunked_body_within_the_limit_is_read_whole(client, auth, session, inventory):
    hold = json.dumps({"scope": "client", "value": "acme", "reason": "r"}).encode()
    response = chunked(client, "/api/v1/holds", hold, auth("privacy_officer"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert count(session, Hold) == 1


def test_a_long_query_string_gets_a_414_problem(client, auth):
    response = client.get("/api/v1/holds?reference=" + "x" * 5000, headers=auth("admin"))
    assert_problem(response, 414, "request-uri-too-long")


def test_large_headers_get_a_431_problem(client, auth):
    response = client.get("/api/v1/holds", headers={**auth("admin"), "X-Big": "x" * 16 * 1024})
    assert_problem(response, 431, "request-header-fields-too-large")


def test_an_unknown_method_gets_a_405_problem_saying_what_is_allowed(client, auth):
    response = client.open("/api/v1/holds", method="PURGE", headers=auth("admin"))
    assert_problem(response, 405, "method-not-allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_every_operation_documents_every_error_it_can_answer(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "414", "431", "500"} <= codes, (method, path)
            if "security" in operation:
                assert {"401", "403", "429"} <= codes, (method, path)
                assert "Retry-After" in operation["responses"]["429"]["headers"]
            if "requestBody" in operation:
                assert "413" in codes, (method, path)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (CorrectionIn, {"field": "summary", "new_value": "x"}),
        (RejectionIn, {"field": "summary", "reason": "accurate", "statement": "it is not"}),
    ],
)
def test_a_record_id_in_a_body_beyond_the_row_ids_is_a_field_error(model, body):
    assert parse(model, body | {"record_id": BEYOND_ROW_IDS - 1}).record_id == BEYOND_ROW_IDS - 1
    with pytest.raises(ValidationFailed) as refused:
        parse(model, body | {"record_id": BEYOND_ROW_IDS})
    assert [error.field for error in refused.value.errors] == ["record_id"]
