"""``auditor retention schedule``: the table, JSON, and PDF (to a file or a pipe, never a terminal)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from auditor.cli.retention import schedule as retention_schedule
from auditor.models import AuditEvent
from auditor.schemas.holds import HoldIn
from auditor.services import holds
from auditor.services.retention import forecast as retention_forecast
from auditor.services.retention import rules as retention_rules
from tests.factories import AS_OF as START
from tests.factories import (
    OFFICER,
    at,
    attached_json,
    closed_ticket,
    flat_text,
    old_record,
    pdf_text,
    review,
    sealed_secret,
    terminated_client,
)

ARGS = ["retention", "schedule", "--start", "2026-11-22"]


@pytest.fixture
def records(session, rules):
    closed_ticket(session, closed=dt.date(2010, 1, 2))
    closed_ticket(session, closed=dt.date(2019, 12, 10))
    closed_ticket(session, closed=dt.date(2024, 1, 1))
    session.commit()


def test_schedule_table_lists_every_period_and_its_breakdown(runner, records):
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "Disposition schedule from 2026-11-22, 12 month(s) to 2027-10-31: 3 record(s) checked"
    )
    assert lines[2].split() == ["Period", "Due", "Held", "Review", "Other"]
    rows = {line.split("  ")[0].strip(): line.split()[-4:] for line in lines[3:] if line[:1] != " "}
    assert rows["Due now (on or before 22 November 2026)"] == ["1", "0", "0", "0"]
    assert rows["November 2026 (from 2026-11-23)"] == ["0", "0", "0", "0"]
    assert rows["December 2026"] == ["1", "0", "0", "0"]
    assert rows["March 2027"] == ["0", "0", "0", "0"]
    assert rows["After October 2027"] == ["1", "0", "0", "0"]
    assert rows["Total"] == ["3", "0", "0", "0"]
    assert "    rules: ticket_history v1 (delete) 1" in lines
    assert "    clients: acme 1" in lines
    assert sum(1 for line in lines if line.endswith(" 2027") or " 2027 " in line) >= 10
    assert "Due date not computable:\n  none" in result.output
    assert "Credentials of terminated clients:\n  none" in result.output


def test_schedule_json_is_the_forecast(runner, session, records):
    result = runner.invoke(args=[*ARGS, "--months", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == retention_forecast.forecast_schedule(session, start=START, months=3).to_dict()
    assert [b["key"] for b in data["by_month"]] == ["2026-11", "2026-12", "2027-01"]


def test_schedule_pdf_to_a_file_is_audited(runner, session, records, tmp_path):
    out = tmp_path / "schedule.pdf"
    result = runner.invoke(args=[*ARGS, "--format", "pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    pdf = out.read_bytes()
    text = pdf_text(pdf)
    assert "Disposition schedule: the next 12 months" in text and "December 2026" in text
    data = attached_json(pdf, "disposition-schedule.json")
    assert data["totals"]["due_now"] == 1
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "retention.report_export"
    assert event.actor == runner.actor  # a read names its user when one is given


def test_schedule_pdf_goes_to_a_pipe_but_not_to_a_terminal(runner, session, records, monkeypatch):
    piped = runner.invoke(args=[*ARGS, "--format", "pdf"])
    assert piped.exit_code == 0, piped.output
    text = flat_text(piped.stdout_bytes)
    assert "Disposition schedule: the next 12 months" in text
    assert "Due now (on or before 22 November 2026)" in text
    assert "December 2026" in text and "ticket_history v1 (delete): 1" in text
    attached = attached_json(piped.stdout_bytes, "disposition-schedule.json")
    assert attached == retention_forecast.forecast_schedule(session, start=START).to_dict()
    monkeypatch.setattr(retention_schedule, "stdout_is_terminal", lambda: True)
    refused = runner.invoke(args=[*ARGS, "--format", "pdf"])
    assert refused.exit_code == 2
    assert "write it with -o FILE" in refused.output
    assert not refused.stdout_bytes.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("option", "value"), [("--months", "0"), ("--months", "37"), ("--start", "soon")]
)
def test_schedule_refuses_bad_options(runner, option, value):
    result = runner.invoke(args=["retention", "schedule", option, value])
    assert result.exit_code == 2
    assert option in result.output


def test_schedule_table_names_holds_reviews_and_what_cannot_be_computed(
    runner, session, inventory, records
):
    held = closed_ticket(session, closed=dt.date(2019, 12, 20))
    hold = holds.place(
        session,
        HoldIn(scope="record", value=str(held.id), reason="Audit"),  # type: ignore[call-arg]
        actor=OFFICER,
        now=at(2026, 11, 1),
    )
    rejected = closed_ticket(session, closed=dt.date(2011, 5, 5))
    retention_rules.revise_rule(session, "ticket_history", {"requires_review": True}, actor=OFFICER)
    review(session, record_ids=[rejected.id], status="rejected", decided_by="user:7")
    old_record(session, category="business_technical")
    sealed_secret(session, organization=terminated_client(session))
    session.commit()
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    december = lines.index(next(line for line in lines if line.startswith("December 2026")))
    assert lines[december].split()[-4:] == ["0", "1", "1", "0"]
    assert lines[3].split()[-4:] == ["0", "0", "1", "1"]  # due now: one waits, one rejected
    assert f"    held by hold(s): {hold.id}" in lines[december : december + 5]
    assert "    other: review rejected 1" in lines
    assert (
        "Due date not computable:\n"
        "  rule business_technical v1: event agreement_terminated not recorded: 1"
    ) in result.output
    assert (
        "Credentials of terminated clients:\n"
        "  harbour: 1 secret(s), due 2026-10-30: blocked (hand-over missing)"
    ) in result.output
