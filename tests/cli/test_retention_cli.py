"""``auditor retention``: rules listing, load-defaults and the plan in table, JSON and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from auditor.services.retention import rules as retention_rules
from tests.factories import OFFICER, old_record


def test_rules_load_defaults_then_list(runner, session, inventory):
    empty = runner.invoke(args=["retention", "rules"])
    assert empty.exit_code == 0 and "no retention rules" in empty.output
    loaded = runner.invoke(args=["retention", "rules", "load-defaults"])
    assert loaded.exit_code == 0, loaded.output
    assert "8 rule(s) created" in loaded.output
    again = runner.invoke(args=["retention", "rules", "load-defaults"])
    assert "0 rule(s) created" in again.output
    retention_rules.revise_rule(session, "ticket_history", {"period": {"years": 8}}, actor=OFFICER)
    listed = runner.invoke(args=["retention", "rules"]).output
    assert "ticket_history       v2   delete        closed_at + 8 y" in listed
    assert "credentials          v1   crypto_shred  event agreement_terminated + 30 d" in listed
    assert "fiscal year-end 12-31 of the last transaction + 6 y" in listed


def _setup(session):
    due = old_record(session)
    later = old_record(session, closed_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    return due, later


def test_plan_json(runner, session, rules):
    due, _ = _setup(session)
    result = runner.invoke(args=["retention", "plan", "--as-of", "2026-11-22", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["as_of"] == "2026-11-22"
    assert data["due_by_rule"][0]["rule"] == "ticket_history"
    assert data["due_by_rule"][0]["record_ids"] == [due.id]
    assert data["due_by_client"][0]["client"] == "acme"
    assert data["not_yet_due"] == {"count": 1, "next_due_on": "2032-03-01"}


def test_plan_csv(runner, session, rules):
    due, _ = _setup(session)
    result = runner.invoke(args=["retention", "plan", "--as-of", "2026-11-22", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    by_section = {row["section"]: row for row in rows}
    assert by_section["due_by_rule"]["rule"] == "ticket_history"
    assert by_section["due_by_rule"]["version"] == "1"
    assert by_section["due_by_rule"]["record_ids"] == str(due.id)
    assert by_section["due_by_client"]["client"] == "acme"
    assert by_section["not_yet_due"]["count"] == "1"
    assert by_section["not_yet_due"]["reason"] == "2032-03-01"


def test_plan_table(runner, session, rules):
    due, _ = _setup(session)
    result = runner.invoke(args=["retention", "plan", "--as-of", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert (
        "Disposition plan as of 2026-11-22 (dry run): 2 record(s) checked, 1 due" in result.output
    )
    assert "ticket_history v1 (delete): 1" in result.output
    assert f"acme: 1  records: {due.id}" in result.output
    assert "Not yet due: 1 (next due on 2032-03-01)" in result.output


def test_demo_plan_shows_due_dispositions_and_the_terminated_client(runner):
    assert runner.invoke(args=["demo", "load", "--no-token"]).exit_code == 0
    result = runner.invoke(args=["retention", "plan", "--as-of", "2026-11-22", "--format", "json"])
    data = json.loads(result.output)
    rules = {group["rule"] for group in data["due_by_rule"]}
    assert {"ticket_history", "security_logs"} <= rules
    # the demo's invoices wait for an officer's review before disposal
    pending = [g for g in data["blocked"] if g["reason"] == "pending review"]
    assert {g["rule"] for g in pending} == {"billing_records"}
    assert [c["client"] for c in data["credentials"]] == ["harbourview-realty"]
    assert data["credentials"][0]["status"] == "blocked"
    assert data["credentials"][0]["reason"] == "hand-over missing"


def test_empty_plan_sections_say_none():
    from auditor.cli.retention.rules import _none_when_empty

    lines = ["Blocked:", "", "Not computable:", "  rule x v1: missing: 2", "Credentials:"]
    assert _none_when_empty(lines) == [
        "Blocked:",
        "  none",
        "",
        "Not computable:",
        "  rule x v1: missing: 2",
        "Credentials:",
        "  none",
    ]
