"""The disclosure endpoints of a privacy request: the access package (JSON), the access report
(PDF, the package attached), the Québec portability export (JSON, CSV); problem+json refusals
before verification, for unknown requests and outside Québec; officers only; audited."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent
from tests.factories import (
    EMAIL,
    OTHER_EMAIL,
    assert_denied,
    assert_problem,
    attached_json,
    pdf_text,
    scenario,
)

BASE = "/api/v1/requests"


@pytest.fixture
def officer_headers(auth):
    return auth("privacy_officer")


@pytest.fixture
def verified(session, inventory):
    s = scenario(session)
    session.commit()
    return s


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_access_package_is_json(client, officer_headers, session, verified):
    ref = verified.request.reference
    response = client.get(f"{BASE}/{ref}/access-package", headers=officer_headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["request"]["reference"] == ref
    assert len(body["records"]) == 6 and body["records_summary"]["redactions"] == 5
    assert body["audit"]["checkpoint"]["tree_size"] >= body["audit"]["last_seq"]
    text = response.get_data(as_text=True)
    assert EMAIL in text and OTHER_EMAIL not in text
    assert "request.access_package" in actions(session)


def test_access_report_is_a_pdf_with_the_package_attached(
    client, officer_headers, session, verified
):
    ref = verified.request.reference
    response = client.get(f"{BASE}/{ref}/access-report.pdf", headers=officer_headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="access-report-{ref}.pdf"'
    )
    pdf = response.data
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "1. The information we hold about you" in text and ref in text
    package = attached_json(pdf, f"access-package-{ref}.json")
    assert package["request"]["reference"] == ref and len(package["records"]) == 6
    assert "request.access_report" in actions(session)


@pytest.mark.parametrize(
    "path", ["access-package", "access-report.pdf", "portability.json", "portability.csv"]
)
def test_nothing_is_disclosed_before_verification(
    client, officer_headers, session, inventory, path
):
    s = scenario(session, verified=False, organization="qc-client", type="portability")
    session.commit()
    response = client.get(f"{BASE}/{s.request.reference}/{path}", headers=officer_headers)
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["type"].endswith("/identity-not-verified")
    assert body["title"] == "Identity not verified"
    assert not [a for a in actions(session) if a.startswith(("request.access", "request.port"))]


@pytest.mark.parametrize(
    "path", ["access-package", "access-report.pdf", "portability.json", "portability.csv"]
)
def test_unknown_request_is_404(client, officer_headers, inventory, path):
    response = client.get(f"{BASE}/PR-2026-99999/{path}", headers=officer_headers)
    detail = "No privacy request with that reference."
    assert_problem(response, 404, "not-found", title="Not found", detail=detail)


def test_portability_json_and_csv(client, officer_headers, session, inventory):
    s = scenario(session, organization="qc-client", type="portability")
    session.commit()
    ref = s.request.reference
    as_json = client.get(f"{BASE}/{ref}/portability.json", headers=officer_headers)
    assert as_json.status_code == 200 and as_json.content_type == "application/json"
    assert as_json.headers["Content-Disposition"] == (
        f'attachment; filename="portability-{ref}.json"'
    )
    assert len(as_json.get_json()["records"]) == 6
    as_csv = client.get(f"{BASE}/{ref}/portability.csv", headers=officer_headers)
    assert as_csv.status_code == 200
    assert as_csv.content_type == "text/csv; charset=utf-8"
    table = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert {row["external_id"] for row in table if row["section"] == "record"} == {
        "T-100",
        "INV-7",
        "C-1",
        "EV-0",
        "EV-1",
        "EV-2",
    }
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "request.portability_export")
    ).all()
    assert [e.details["format"] for e in events] == ["json", "csv"]


def test_portability_outside_quebec_is_a_conflict(client, officer_headers, verified):
    response = client.get(
        f"{BASE}/{verified.request.reference}/portability.json", headers=officer_headers
    )
    assert response.status_code == 409
    assert response.get_json()["type"].endswith("/conflict")


@pytest.mark.parametrize("role", ["technician", "auditor"])
def test_only_officers_may_fetch_disclosures(client, auth, verified, role):
    response = client.get(
        f"{BASE}/{verified.request.reference}/access-report.pdf", headers=auth(role)
    )
    assert_denied(response, role)
