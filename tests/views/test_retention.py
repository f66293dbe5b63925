"""The retention API: current rules and the dry-run plan, readable by officers and auditors."""

from __future__ import annotations

from sqlalchemy import func, select

from auditor.models import Record
from auditor.services.context import Actor
from auditor.services.retention import rules as retention_rules
from tests import factories
from tests.factories import assert_denied


def test_rules_and_plan_through_the_api(client, auth, inventory, session):
    retention_rules.load_default_rules(session, actor=Actor.cli(), fiscal_year_end=(12, 31))
    headers = auth("privacy_officer")
    client.post(
        "/api/v1/records",
        headers=headers,
        json=factories.record(
            external_id="old", closed_at="2016-01-01T00:00:00Z", created_at="2015-12-30T00:00:00Z"
        ),
    )
    client.post(
        "/api/v1/records",
        headers=headers,
        json=factories.record(external_id="new", closed_at="2025-02-01T00:00:00Z"),
    )
    rules = client.get("/api/v1/retention/rules", headers=auth("auditor")).get_json()
    assert {r["code"] for r in rules} >= {"ticket_history", "billing_records", "security_logs"}
    plan = client.get("/api/v1/retention/plan?as_of=2026-11-22", headers=auth("auditor"))
    assert plan.status_code == 200
    text = plan.get_data(as_text=True)
    old_id = session.scalar(select(Record.id).where(Record.external_id == "old"))
    assert str(old_id) in text
    assert session.scalar(select(func.count()).select_from(Record)) == 2  # a plan writes nothing


def test_plan_refuses_a_bad_date(client, auth):
    response = client.get("/api/v1/retention/plan?as_of=yesterday", headers=auth("auditor"))
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "as_of"


def test_technicians_do_not_see_the_plan(client, auth):
    assert_denied(client.get("/api/v1/retention/plan", headers=auth("technician")), "technician")
