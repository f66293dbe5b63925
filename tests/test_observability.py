"""Structured logs with a request id and no personal data; Prometheus metrics."""

from __future__ import annotations

import json
import logging

from tests import factories


def log_lines(caplog):
    formatter = logging.getLogger().handlers[0].formatter
    return [json.loads(formatter.format(record)) for record in caplog.records]


def test_access_log_is_json_with_request_id_and_route_not_path(client, auth, inventory, caplog):
    headers = auth()
    with caplog.at_level(logging.INFO, logger="auditor.access"):
        response = client.get(
            "/api/v1/organizations/acme", headers={**headers, "X-Request-Id": "req-123"}
        )
    assert response.headers["X-Request-Id"] == "req-123"
    entry = [e for e in log_lines(caplog) if e["logger"] == "auditor.access"][-1]
    assert entry["request_id"] == "req-123"
    assert entry["route"] == "/api/v1/organizations/<code>"
    assert entry["status"] == 200 and "acme" not in json.dumps(entry)


def test_logs_never_carry_personal_data_or_tokens(client, auth, inventory, caplog):
    token_headers = auth()
    secret = token_headers["Authorization"].split()[1]
    person = "jane.doe.private@example.com"
    with caplog.at_level(logging.DEBUG):
        client.post(
            "/api/v1/records",
            headers=token_headers,
            json=factories.record(email=person, content={"card": "4111111111111111"}),
        )
        client.post(
            "/api/v1/subjects/lookup",
            headers=token_headers,
            json={"kind": "email", "value": person},
        )
        client.post(
            "/api/v1/records",
            headers=token_headers,
            json=factories.record(email=person, client="ghost"),
        )
        client.get("/api/v1/me", headers={"Authorization": "Bearer aud_wrong" + secret[8:]})
    text = "\n".join(json.dumps(e) for e in log_lines(caplog))
    for needle in (person, secret, "4111111111111111", secret[8:]):
        assert needle not in text


def test_untrusted_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-Id": "<script>" * 20})
    assert response.headers["X-Request-Id"] != "<script>" * 20
    assert len(response.headers["X-Request-Id"]) == 32


def test_metrics_count_requests_and_records_by_category(client, auth, inventory):
    headers = auth()
    client.post("/api/v1/records", headers=headers, json=factories.record(external_id="m1"))
    client.get("/api/v1/organizations", headers=headers)
    response = client.get("/metrics")
    text = response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    assert 'auditor_records{category="ticket_history"} 1.0' in text
    assert 'auditor_records{category="security_logs"} 0.0' in text
    assert (
        'auditor_http_requests_total{endpoint="/api/v1/organizations",method="GET",'
        'status="200"} 1.0'
    ) in text
    assert "auditor_http_request_seconds_bucket" in text


def test_text_logs_for_a_terminal_carry_the_fields_but_no_exception_message():
    import sys

    from auditor.observability import TextFormatter

    record = logging.makeLogRecord(
        {
            "msg": "request",
            "levelname": "INFO",
            "name": "auditor.access",
            "route": "/healthz",
            "status": 200,
        }
    )
    assert (
        TextFormatter().format(record) == "INFO auditor.access: request route=/healthz status=200"
    )
    try:
        raise ValueError("jane@example.com")
    except ValueError:
        failing = logging.makeLogRecord(
            {"msg": "boom", "levelname": "ERROR", "name": "x", "exc_info": sys.exc_info()}
        )
    assert TextFormatter().format(failing) == "ERROR x: boom exc_type=ValueError"
