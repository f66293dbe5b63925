"""The breach register API (R24-R27): record, assess, notify, report versions, the registers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from auditor.models import AuditEvent, Breach, BreachReport
from tests.factories import assert_denied, assert_problem
from tests.factories.pdf import attached_json, flat_text

NOW = dt.datetime.now(dt.UTC)


def _at(days_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).isoformat()


BREACH = {
    "title": "Stolen technician laptop",
    "occurred_from": (NOW - dt.timedelta(days=10)).date().isoformat(),
    "discovered_at": _at(9),
    "determined_at": _at(8),
    "circumstances": "A laptop with a synchronized ticket cache was stolen from a car.",
    "information": "Names, work email addresses and ticket summaries of the client's staff.",
    "categories": ["personal_contact", "ticket_history"],
    "client": "acme",
}
COMPLETE = {
    "affected_count": 42,
    "mitigation": "Device wiped remotely; cached sessions revoked; passwords reset.",
    "notification_steps": "Email to each person affected, with what to watch for.",
    "contact_name": "Dana Officer",
    "contact_title": "Privacy officer",
    "contact_email": "privacy@msp.example",
}
ASSESSMENT = {
    "sensitivity": "medium",
    "misuse_probability": "high",
    "rrosh": True,
    "rationale": "Contact details with ticket context enable targeted phishing of the staff.",
}


def _record(http, auth, **extra):
    response = http.post("/api/v1/breaches", headers=auth("privacy_officer"), json=BREACH | extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_breach_is_recorded_with_its_retention_and_what_it_lacks(client, auth, inventory):
    body = _record(client, auth)
    assert body["reference"] == f"BR-{NOW.year}-0001"
    assert body["client"] == "acme" and body["quebec"] is False
    assert body["categories"] == ["personal_contact", "ticket_history"]
    determined = dt.datetime.fromisoformat(BREACH["determined_at"]).date()
    until = dt.date.fromisoformat(body["retain_until"])
    assert (until.year - determined.year) * 12 + until.month - determined.month == 24  # R25
    assert body["report_missing"] == [
        "individuals_affected",
        "steps_to_reduce_harm",
        "steps_to_notify_individuals",
        "contact_person",
    ]
    assert body["outstanding"] == ["assess whether it poses a real risk of significant harm (R24)"]
    read = client.get(f"/api/v1/breaches/{body['reference']}", headers=auth("auditor"))
    assert read.get_json() == body
    second = _record(client, auth, title="Misdirected invoice email")
    assert second["reference"] == f"BR-{NOW.year}-0002"


def test_a_quebec_client_keeps_its_breaches_five_years_and_has_the_register(
    client, auth, inventory
):
    body = _record(client, auth, client="qc-client")
    assert body["quebec"] is True
    determined = dt.datetime.fromisoformat(BREACH["determined_at"]).date()
    assert dt.date.fromisoformat(body["retain_until"]).year == determined.year + 5
    assert "risk_assessment" in body["register_missing"]
    assert "notices" in body["register_missing"]


def test_the_report_is_refused_until_its_seven_fields_are_filled(client, auth, inventory, session):
    headers = auth("privacy_officer")
    ref = _record(client, auth)["reference"]
    refused = client.post(f"/api/v1/breaches/{ref}/reports", headers=headers, json={})
    body = assert_problem(refused, 422, "validation-failed")
    assert [e["field"] for e in body["errors"]] == [
        "individuals_affected",
        "steps_to_reduce_harm",
        "steps_to_notify_individuals",
        "contact_person",
    ]
    assert session.scalar(select(BreachReport.id)) is None  # nothing written

    patched = client.patch(f"/api/v1/breaches/{ref}", headers=headers, json=COMPLETE)
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["report_missing"] == []
    first = client.post(f"/api/v1/breaches/{ref}/reports", headers=headers, json={})
    assert first.status_code == 201, first.get_json()
    report = first.get_json()
    assert (report["version"], report["kind"], report["sent_at"]) == (1, "initial", None)
    fields = report["content"]["fields"]
    assert fields["individuals_affected"] == {"count": 42, "approximate": False}
    assert fields["contact_person"]["name"] == "Dana Officer"
    assert report["content"]["regulator"] == "Office of the Privacy Commissioner of Canada"

    sent = client.post(
        f"/api/v1/breaches/{ref}/reports/opc/1/sent", headers=headers, json={"sent_at": _at(0)}
    )
    assert sent.status_code == 200, sent.get_json()
    again = client.post(
        f"/api/v1/breaches/{ref}/reports/opc/1/sent", headers=headers, json={"sent_at": _at(0)}
    )
    assert_problem(again, 409, "conflict")
    update = client.post(f"/api/v1/breaches/{ref}/reports", headers=headers, json={}).get_json()
    assert (update["version"], update["kind"]) == (2, "update")

    breach = client.get(f"/api/v1/breaches/{ref}", headers=headers).get_json()
    assert [n["recipient"] for n in breach["notifications"]] == ["opc"]
    assert [(r["version"], r["sent_at"] is not None) for r in breach["reports"]] == [
        (1, True),
        (2, False),
    ]


def test_a_sent_report_cannot_be_changed_in_the_database(client, auth, inventory, session):
    headers = auth("privacy_officer")
    ref = _record(client, auth, **COMPLETE)["reference"]
    client.post(f"/api/v1/breaches/{ref}/reports", headers=headers, json={})
    client.post(
        f"/api/v1/breaches/{ref}/reports/opc/1/sent", headers=headers, json={"sent_at": _at(0)}
    )
    report_id = session.scalar(select(BreachReport.id))
    update = text("UPDATE breach_report SET content_sha256 = 'x' WHERE id = :id")
    refused = pytest.raises(DBAPIError, match="breach_report is append-only")
    with refused, session.begin_nested():
        session.execute(update, {"id": report_id})


def test_assessment_and_notices_clear_what_is_outstanding(client, auth, inventory, session):
    headers = auth("privacy_officer")
    ref = _record(client, auth, **COMPLETE)["reference"]
    assessed = client.put(f"/api/v1/breaches/{ref}/assessment", headers=headers, json=ASSESSMENT)
    assert assessed.status_code == 200, assessed.get_json()
    body = assessed.get_json()
    assert body["rrosh"] is True and body["assessed_by"].startswith("user:")
    assert body["outstanding"] == [
        "report it to the Office of the Privacy Commissioner of Canada (R26)",
        "notify the individuals affected",
    ]
    told = client.post(
        f"/api/v1/breaches/{ref}/notifications",
        headers=headers,
        json={
            "recipient": "individuals",
            "method": "email",
            "sent_at": _at(1),
            "notified_count": 42,
        },
    )
    assert told.status_code == 201, told.get_json()
    body = client.get(f"/api/v1/breaches/{ref}", headers=headers).get_json()
    assert body["outstanding"] == [
        "report it to the Office of the Privacy Commissioner of Canada (R26)"
    ]
    events = session.execute(
        select(AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.object_type == "breach")
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.action for e in events] == [
        "breach.record",
        "breach.assess",
        "breach.notify",
    ]
    # the audit trail names fields and conclusions, never the breach's free text
    for _, details in events:
        assert "laptop" not in str(details) and "phishing" not in str(details)


def test_a_no_risk_conclusion_is_kept_and_requires_nothing_more(client, auth, inventory):
    headers = auth("privacy_officer")
    ref = _record(client, auth)["reference"]
    verdict = ASSESSMENT | {
        "rrosh": False,
        "sensitivity": "low",
        "rationale": "The disk was encrypted and the key was not with the laptop.",
    }
    body = client.put(f"/api/v1/breaches/{ref}/assessment", headers=headers, json=verdict).json
    assert body["rrosh"] is False and body["outstanding"] == []
    listed = client.get("/api/v1/breaches?rrosh=no", headers=auth("auditor")).get_json()
    assert [b["reference"] for b in listed["items"]] == [ref]
    assert client.get("/api/v1/breaches?rrosh=yes", headers=headers).get_json()["items"] == []


def test_bad_input_is_refused_with_field_errors_and_nothing_written(
    client, auth, inventory, session
):
    headers = auth("privacy_officer")
    cases = [
        ({**BREACH, "client": "nobody"}, "client"),
        ({**BREACH, "categories": ["no_such_category"]}, "categories"),
        ({**BREACH, "discovered_at": (NOW + dt.timedelta(days=2)).isoformat()}, "discovered_at"),
        ({**BREACH, "discovered_at": "2026-01-01T00:00:00"}, "discovered_at"),
        ({**BREACH, "affected_count": -1}, "affected_count"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/breaches", headers=headers, json=body)
        problem = assert_problem(response, 422, "validation-failed")
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert session.scalar(select(Breach.id)) is None
    ref = _record(client, auth)["reference"]
    short = {**ASSESSMENT, "rationale": "risky"}
    response = client.put(f"/api/v1/breaches/{ref}/assessment", headers=headers, json=short)
    assert_problem(response, 422, "validation-failed")
    cleared = client.patch(f"/api/v1/breaches/{ref}", headers=headers, json={"title": None})
    assert_problem(cleared, 422, "validation-failed")
    organization = {"recipient": "organization", "method": "email", "sent_at": _at(1)}
    unnamed = client.post(
        f"/api/v1/breaches/{ref}/notifications", headers=headers, json=organization
    )
    assert_problem(unnamed, 422, "validation-failed")
    missing = client.get("/api/v1/breaches/BR-1999-0001", headers=headers)
    assert_problem(missing, 404, "not-found")


def test_the_registers(client, auth, inventory):
    headers = auth("privacy_officer")
    plain = _record(client, auth, **COMPLETE)["reference"]
    quebec = _record(client, auth, client="qc-client", **COMPLETE)["reference"]
    client.put(
        f"/api/v1/breaches/{quebec}/assessment",
        headers=headers,
        json=ASSESSMENT | {"rrosh": False, "consequences": "None expected: data was encrypted."},
    )
    general = client.get("/api/v1/breach-register", headers=auth("auditor")).get_json()
    assert general["kind"] == "breaches"
    assert [row["reference"] for row in general["items"]] == [plain, quebec]
    assert general["items"][0]["assessment"]["real_risk_of_significant_harm"] is None
    qc = client.get("/api/v1/breach-register?quebec=true", headers=headers).get_json()
    assert qc["kind"] == "quebec_incidents"
    assert qc["fields"][2:] == [
        "information_involved",
        "circumstances",
        "date_or_period",
        "became_aware",
        "persons_concerned",
        "risk_assessment",
        "notices",
        "measures_taken",
    ]
    [row] = qc["items"]
    assert row["reference"] == quebec
    assert row["risk_assessment"]["risk_of_serious_injury"] is False
    assert row["notices"]["commission"] is None  # no serious-injury risk: no notice owed


def test_roles(client, auth, inventory):
    for role in ("technician",):
        assert_denied(client.get("/api/v1/breaches", headers=auth(role)), role)
    assert_denied(client.post("/api/v1/breaches", headers=auth("auditor"), json=BREACH), "auditor")
    assert client.get("/api/v1/breaches", headers=auth("auditor")).status_code == 200


def test_the_notification_letter_says_what_the_regulations_ask(client, auth, inventory, session):
    headers = auth("privacy_officer")
    ref = _record(client, auth, **COMPLETE)["reference"]
    refused = client.post(f"/api/v1/breaches/{ref}/letter", headers=headers, json={})
    problem = assert_problem(refused, 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["individual_advice"]
    advice = "Watch for emails that mention your tickets and ask you to sign in."
    client.patch(f"/api/v1/breaches/{ref}", headers=headers, json={"individual_advice": advice})
    response = client.post(
        f"/api/v1/breaches/{ref}/letter", headers=headers, json={"to": "Karen Smith"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = flat_text(response.data)
    for expected in (
        "About a breach of security safeguards affecting your personal information",
        f"Our reference: {ref}",
        "Dear Karen Smith,",
        BREACH["circumstances"],
        BREACH["information"],
        COMPLETE["mitigation"],
        advice,
        "Please contact Dana Officer, Privacy officer",
        "Email: privacy@msp.example",
        "Office of the Privacy Commissioner of Canada",
        "1-800-282-1376",
    ):
        assert expected in text, expected
    data = attached_json(response.data, f"{ref}-notification.json")
    assert data["breach"]["advice"] == advice and data["addressee"] == "Karen Smith"
    event = session.execute(
        select(AuditEvent.details).where(AuditEvent.action == "breach.letter")
    ).scalar_one()
    assert event["addressed"] is True and "Karen" not in str(event)
    assert (
        client.post(f"/api/v1/breaches/{ref}/letter", headers=auth("auditor"), json={}).status_code
        == 403
    )
