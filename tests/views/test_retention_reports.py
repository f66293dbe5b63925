"""The retention reports API: the schedule as JSON and PDF, a run's certificate as PDF, errors as
problem+json, and who may read them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent
from auditor.services.context import Actor
from auditor.services.retention import dispositions as disposition_records
from crypto.digest import key_id
from tests.factories import (
    DIGEST_KEY,
    assert_denied,
    assert_problem,
    attached_json,
    closed_ticket,
    flat_text,
    pdf_text,
    run_purge,
)


@pytest.fixture
def records(session, rules):
    closed_ticket(session, closed=dt.date(2010, 1, 2))
    closed_ticket(session, closed=dt.date(2019, 12, 10))
    session.commit()


def test_schedule_json_by_month(client, auth, records):
    response = client.get(
        "/api/v1/retention/schedule?start=2026-11-22&months=3", headers=auth("auditor")
    )
    assert response.status_code == 200 and response.content_type == "application/json"
    data = response.get_json()
    assert data["start"] == "2026-11-22" and data["months"] == 3
    assert [b["key"] for b in data["by_month"]] == ["2026-11", "2026-12", "2027-01"]
    assert data["due_now"]["due"] == 1
    assert data["by_month"][1]["by_rule"] == [
        {"rule": "ticket_history", "version": 1, "action": "delete", "count": 1}
    ]


def test_schedule_defaults_to_today_and_twelve_months(client, auth, records):
    data = client.get("/api/v1/retention/schedule", headers=auth("auditor")).get_json()
    assert data["start"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert len(data["by_month"]) == 12


@pytest.mark.parametrize(
    ("query", "field"),
    [("months=0", "months"), ("months=37", "months"), ("start=soon", "start"), ("x=1", "x")],
)
@pytest.mark.parametrize("path", ["/api/v1/retention/schedule", "/api/v1/retention/schedule.pdf"])
def test_schedule_refuses_bad_query_parameters(client, auth, path, query, field):
    response = client.get(f"{path}?{query}", headers=auth("auditor"))
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == field


def test_schedule_pdf_is_a_download_with_the_json_attached(client, auth, session, records):
    headers = auth("privacy_officer")
    response = client.get("/api/v1/retention/schedule.pdf?start=2026-11-22", headers=headers)
    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="disposition-schedule-2026-11-22.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    pdf = response.get_data()
    text = flat_text(pdf)
    assert "Disposition schedule: the next 12 months" in text
    assert "December 2026" in text and "Msp" in text
    assert "Due now (on or before 22 November 2026)" in text
    assert "ticket_history v1 (delete): 1" in text and "acme: 1" in text
    same = client.get("/api/v1/retention/schedule?start=2026-11-22", headers=headers).get_json()
    assert attached_json(pdf, "disposition-schedule.json") == same
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "retention.report_export"
    assert event.details["report"] == "disposition_schedule"


def test_certificate_pdf_of_a_run(client, auth, session, records):
    result = run_purge(session, actor=Actor.cli())
    response = client.get(
        f"/api/v1/retention/runs/{result.run_id}/certificate.pdf", headers=auth("auditor")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="disposition-certificate-{result.run_id}.pdf"'
    )
    pdf = response.get_data()
    run = disposition_records.get_run(session, result.run_id)
    cert = disposition_records.run_certificate(session, run, digest_key_id=key_id(DIGEST_KEY))
    assert attached_json(pdf, f"disposition-certificate-{result.run_id}.json") == cert
    text = pdf_text(pdf)
    assert f"purge run {result.run_id}" in text
    assert cert["dispositions"]["digest"] in text


def test_certificate_pdf_of_an_unknown_run_is_a_problem(client, auth):
    response = client.get("/api/v1/retention/runs/999999/certificate.pdf", headers=auth("auditor"))
    assert_problem(
        response, 404, "not-found", title="Not found", detail="No purge run with that id."
    )


def test_technicians_get_neither_the_schedule_nor_certificates(client, auth):
    headers = auth("technician")
    for path in (
        "/api/v1/retention/schedule",
        "/api/v1/retention/schedule.pdf",
        "/api/v1/retention/runs/1/certificate.pdf",
    ):
        assert_denied(client.get(path, headers=headers), "technician")


def test_openapi_lists_the_report_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/retention/schedule"]
    assert "get" in paths["/api/v1/retention/schedule.pdf"]
    operation = paths["/api/v1/retention/runs/{run_id}/certificate.pdf"]["get"]
    assert "404" in operation["responses"]
