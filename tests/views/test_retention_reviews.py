"""The disposition review, purge run, certificate and disposition report endpoints: bodies, rows
written, problem+json errors, and the end-to-end path from a reviewed rule to a disposition."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.db import utcnow
from auditor.models import AuditEvent, DispositionReview, Record
from auditor.schemas.retention import CertificateOut, DispositionOut, DispositionReportOut
from auditor.services.retention import dispositions as disposition_records
from auditor.services.retention import purge
from crypto.digest import key_id
from tests.factories import (
    DIGEST_KEY,
    OFFICER,
    assert_denied,
    assert_problem,
    dispositions,
    ingest,
    old_ticket,
)

REVIEWS = "/api/v1/retention/reviews"
PROBLEM = "application/problem+json"


def today():
    return utcnow().date()


def purge_on(session, days_later=0):
    moment = utcnow() + dt.timedelta(days=days_later)
    return purge.execute_purge(
        session,
        as_of=moment.date(),
        actor=OFFICER,
        digest_key=DIGEST_KEY,
        now=lambda: moment,
    )


def open_reviews(client, headers):
    response = client.post(REVIEWS, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def decide(client, headers, review_id, **body):
    return client.post(
        f"{REVIEWS}/{review_id}/decision",
        headers=headers,
        json={"justification": "Retention period over", **body},
    )


def test_review_path_from_a_reviewed_rule_to_dispositions(client, auth, session, reviewed_rules):
    officer = auth("privacy_officer")
    first = ingest(session, old_ticket(external_id="T-1"))["T-1"]
    assert purge_on(session).blocked == {"pending review": 1}
    opened = open_reviews(client, officer)
    assert opened["as_of"] == today().isoformat()
    (approve,) = opened["opened"]
    assert (approve["rule"], approve["rule_version"], approve["status"]) == (
        "ticket_history",
        2,
        "open",
    )
    assert approve["item_count"] == 1 and approve["created_by"].startswith("user:")
    # one batch per call: the record already batched is not batched again
    second = ingest(session, old_ticket(external_id="T-2", email="b@example.com"))["T-2"]
    (extend,) = open_reviews(client, officer)["opened"]
    third = ingest(session, old_ticket(external_id="T-3", email="c@example.com"))["T-3"]
    (reject,) = open_reviews(client, officer)["opened"]
    assert open_reviews(client, officer)["opened"] == []

    detail = client.get(f"{REVIEWS}/{approve['id']}", headers=auth("auditor")).get_json()
    assert detail["record_ids"] == [first] and detail["record_ids_truncated"] is False
    assert detail["counts"] == {"items": 1, "remaining": 1, "disposed": 0}

    approved = decide(client, officer, approve["id"], decision="approve")
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "approved" and body["justification"] == "Retention period over"
    assert body["decided_by"].startswith("user:") and body["decided_at"] is not None
    until = today() + dt.timedelta(days=10)
    extended = decide(
        client, officer, extend["id"], decision="extend", extend_until=until.isoformat()
    )
    assert extended.get_json()["extend_until"] == until.isoformat()
    rejected = decide(client, officer, reject["id"], decision="reject")
    assert rejected.get_json()["status"] == "rejected"
    row = session.get(DispositionReview, reject["id"])
    session.refresh(row)
    assert (row.status, row.decided_by) == ("rejected", body["decided_by"])

    result = purge_on(session)
    assert result.disposed == 1 and result.blocked == {"review rejected": 1}
    assert session.get(Record, first) is None
    (disposed,) = dispositions(session, subject_type="record")
    assert int(disposed.subject_ref) == first
    assert (disposed.approver, disposed.review_id) == (body["decided_by"], approve["id"])
    assert disposed.trigger_evidence["review_id"] == approve["id"]
    detail = client.get(f"{REVIEWS}/{approve['id']}", headers=officer).get_json()
    assert detail["counts"] == {"items": 1, "remaining": 0, "disposed": 1}

    # the extension holds until its day, then the record needs a new decision
    later = purge_on(session, days_later=11)
    assert later.disposed == 0
    assert later.blocked == {"pending review": 1, "review rejected": 1}
    assert session.get(Record, second) is not None and session.get(Record, third) is not None
    events = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.like("retention.review_%"))
        .order_by(AuditEvent.seq)
    ).all()
    assert events == ["retention.review_open"] * 3 + ["retention.review_decide"] * 3


def test_reviews_list_filters_and_pages(client, auth, session, reviewed_rules):
    officer = auth("privacy_officer")
    ingest(session, old_ticket(external_id="T-1"))
    (first,) = open_reviews(client, officer)["opened"]
    ingest(session, old_ticket(external_id="T-2", email="b@example.com"))
    (second,) = open_reviews(client, officer)["opened"]
    decide(client, officer, first["id"], decision="reject")

    def ids(query):
        page = client.get(f"{REVIEWS}?{query}", headers=auth("auditor")).get_json()
        return [r["id"] for r in page["items"]], page["next_cursor"]

    assert ids("status=open") == ([second["id"]], None)
    assert ids("status=rejected") == ([first["id"]], None)
    page, cursor = ids("limit=1")
    assert page == [first["id"]] and cursor
    assert ids(f"limit=1&cursor={cursor}")[0] == [second["id"]]
    bad = client.get(f"{REVIEWS}?status=closed", headers=officer)
    assert assert_problem(bad, 422, "validation-failed")["errors"][0]["field"] == "status"


def test_decision_errors_are_problems(client, auth, session, reviewed_rules):
    officer = auth("privacy_officer")
    ingest(session, old_ticket(external_id="T-1"))
    (batch,) = open_reviews(client, officer)["opened"]
    missing = assert_problem(
        client.post(f"{REVIEWS}/{batch['id']}/decision", headers=officer, json={"decision": "x"}),
        422,
        "validation-failed",
    )
    assert {e["field"] for e in missing["errors"]} == {"decision", "justification"}
    no_date = assert_problem(
        decide(client, officer, batch["id"], decision="extend"), 422, "validation-failed"
    )
    assert no_date["errors"] == [{"field": "extend_until", "message": "is required to extend"}]
    past = assert_problem(
        decide(client, officer, batch["id"], decision="extend", extend_until="2020-01-01"),
        422,
        "validation-failed",
    )
    assert past["errors"][0]["field"] == "extend_until"
    unknown = assert_problem(decide(client, officer, 999_999, decision="approve"), 404, "not-found")
    assert unknown["detail"] == "No disposition review batch with that id."
    assert session.get(DispositionReview, batch["id"]).status == "open"
    assert decide(client, officer, batch["id"], decision="approve").status_code == 200
    twice = assert_problem(decide(client, officer, batch["id"], decision="reject"), 409, "conflict")
    assert twice["detail"] == "The review batch is already decided (approved)."
    denied = decide(client, auth("auditor"), batch["id"], decision="reject")
    assert_problem(denied, 403, "forbidden")
    assert_problem(client.get(f"{REVIEWS}/999999", headers=officer), 404, "not-found")


def test_runs_certificate_and_disposition_report(client, auth, session, rules):
    ingest(
        session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2", email="b@example.com")
    )
    result = purge_on(session)
    headers = auth("auditor")
    runs = client.get("/api/v1/retention/runs?limit=5", headers=headers).get_json()
    assert [r["id"] for r in runs] == [result.run_id]
    run = client.get(f"/api/v1/retention/runs/{result.run_id}", headers=headers).get_json()
    assert (run["status"], run["trigger"], run["executor"]) == ("completed", "cli", "user:7")
    assert run["counts"]["disposed"] == 2 and run["error"] is None
    response = client.get(f"/api/v1/retention/runs/{result.run_id}/certificate", headers=headers)
    assert response.status_code == 200
    cert = response.get_json()
    expected = disposition_records.run_certificate(
        session,
        disposition_records.get_run(session, result.run_id),
        digest_key_id=key_id(DIGEST_KEY),
    )
    assert cert == expected
    assert cert["dispositions"]["count"] == 4  # two records and their two subjects
    assert set(cert) == set(CertificateOut.model_fields)
    CertificateOut.model_validate(cert)

    start, end = today(), today() + dt.timedelta(days=1)
    report = client.get(
        f"/api/v1/retention/dispositions?from={start}&to={end}", headers=headers
    ).get_json()
    assert set(report) == set(DispositionReportOut.model_fields)
    assert report["period"] == {"start": start.isoformat(), "end_exclusive": end.isoformat()}
    assert report["summary"]["count"] == 4
    assert report["summary"]["digest"] == cert["dispositions"]["digest"]
    assert "FROM disposition" in report["query"]["sql"]
    assert {row["run_id"] for row in report["dispositions"]} == {result.run_id}
    assert set(report["dispositions"][0]) == set(DispositionOut.model_fields)
    DispositionReportOut.model_validate(report)
    (batch, subjects) = report["batches"]
    assert (batch["run_id"], batch["lines"], batch["line_format"]) == (result.run_id, 2, 2)
    assert subjects["first_id"] == batch["first_id"] + 2

    # one record's disposition, found by its id
    record_id = int(report["dispositions"][0]["subject_ref"])
    found = client.get(f"/api/v1/retention/dispositions?record={record_id}", headers=headers)
    assert found.get_json() == {"record": record_id, "dispositions": [report["dispositions"][0]]}
    none = client.get("/api/v1/retention/dispositions?record=999999", headers=headers)
    assert none.get_json() == {"record": 999999, "dispositions": []}
    both = client.get(
        f"/api/v1/retention/dispositions?record=1&from={start}&to={end}", headers=headers
    )
    assert [e["field"] for e in assert_problem(both, 422, "validation-failed")["errors"]] == [
        "record"
    ]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", ["from", "to"]),
        ("from=2026-01-01", ["to"]),
        ("from=2026-01-02&to=2026-01-02", ["to"]),
        ("from=2026-01-02&to=2026-01-01", ["to"]),
        ("from=yesterday&to=2026-01-01", ["from"]),
    ],
)
def test_disposition_report_needs_a_period(client, auth, query, fields):
    response = client.get(f"/api/v1/retention/dispositions?{query}", headers=auth("auditor"))
    body = assert_problem(response, 422, "validation-failed")
    assert sorted(e["field"] for e in body["errors"]) == fields


def test_unknown_runs_are_404_and_technicians_see_none(client, auth):
    headers = auth("auditor")
    assert_problem(client.get("/api/v1/retention/runs/999999", headers=headers), 404, "not-found")
    certificate = client.get("/api/v1/retention/runs/999999/certificate", headers=headers)
    assert_problem(certificate, 404, "not-found")
    for path in ("/runs", "/reviews", "/dispositions?from=2026-01-01&to=2026-02-01"):
        denied = client.get("/api/v1/retention" + path, headers=auth("technician"))
        assert_denied(denied, "technician")


def test_opening_reviews_needs_the_review_permission(client, auth, session, reviewed_rules):
    ingest(session, old_ticket(external_id="T-1"))
    assert_problem(client.post(REVIEWS, headers=auth("auditor")), 403, "forbidden")
    assert session.scalar(select(DispositionReview.id)) is None
    assert len(open_reviews(client, auth("admin"))["opened"]) == 1


def test_openapi_documents_the_review_and_report_schemas(client):
    document = client.get("/api/v1/openapi.json").get_json()
    decision = document["paths"]["/api/v1/retention/reviews/{review_id}/decision"]["post"]
    ref = decision["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"decision", "justification"}
    assert schema["properties"]["decision"]["enum"] == ["approve", "extend", "reject"]
    report = document["paths"]["/api/v1/retention/dispositions"]["get"]
    assert {p["name"]: p["required"] for p in report["parameters"]} == {
        "from": False,
        "to": False,
        "record": False,
    }
    assert "CertificateOut" in document["components"]["schemas"]
    assert "post" not in document["paths"]["/api/v1/retention/runs"]
