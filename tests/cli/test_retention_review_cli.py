"""``auditor retention reviews`` and ``auditor retention review open|show|decide``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from auditor.models import AuditEvent, DispositionReview
from tests.factories import ingest, old_ticket


def invoke(runner, *args):
    return runner.invoke(args=["retention", *args])


def open_one(runner, session):
    result = invoke(runner, "review", "open")
    assert result.exit_code == 0, result.output
    return session.scalars(select(DispositionReview).order_by(DispositionReview.id)).all()[-1]


def test_open_list_show_and_approve(runner, session, reviewed_rules):
    ids = ingest(
        session, old_ticket(external_id="T-1"), old_ticket(external_id="T-2", email="b@example.com")
    )
    assert "no review batches" in invoke(runner, "reviews").output
    opened = invoke(runner, "review", "open", "--as-of", "2026-11-22")
    assert opened.exit_code == 0, opened.output
    assert "1 review batch(es) opened for 2026-11-22" in opened.output
    batch = session.scalars(select(DispositionReview)).one()
    assert f"{batch.id:>6}  open      ticket_history v2  2 record(s)" in opened.output
    again = invoke(runner, "review", "open")
    assert "0 review batch(es) opened" in again.output

    listed = invoke(runner, "reviews", "--status", "open")
    assert f"{batch.id:>6}  open" in listed.output
    assert "no review batches" in invoke(runner, "reviews", "--status", "approved").output

    shown = invoke(runner, "review", "show", str(batch.id))
    assert shown.exit_code == 0, shown.output
    assert "records: 2 in the batch, 2 still held, 0 disposed citing it" in shown.output
    assert f"record ids: {ids['T-1']} {ids['T-2']}" in shown.output

    decided = invoke(
        runner, "review", "decide", str(batch.id), "--approve", "--justification", "Over 7 years"
    )
    assert decided.exit_code == 0, decided.output
    session.refresh(batch)
    assert batch.status == "approved" and batch.decided_by == runner.actor
    assert batch.justification == "Over 7 years"
    assert f"review {batch.id} approved by {batch.decided_by}: 2 record(s)" in decided.output
    assert "justification: Over 7 years" in invoke(runner, "review", "show", str(batch.id)).output


def test_extend_and_reject(runner, session, reviewed_rules):
    ingest(session, old_ticket(external_id="T-1"))
    first = open_one(runner, session)
    until = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    result = invoke(
        runner,
        "review",
        "decide",
        str(first.id),
        "--extend-until",
        until,
        "--justification",
        "Client asked",
    )
    assert result.exit_code == 0, result.output
    session.refresh(first)
    assert (first.status, str(first.extend_until)) == ("extended", until)
    ingest(session, old_ticket(external_id="T-2", email="b@example.com"))
    second = open_one(runner, session)
    result = invoke(runner, "review", "decide", str(second.id), "--reject", "--justification", "No")
    assert result.exit_code == 0, result.output
    session.refresh(second)
    assert second.status == "rejected"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--justification", "x"], "Give exactly one decision."),
        (["--approve", "--reject", "--justification", "x"], "Give exactly one decision."),
        (
            ["--approve", "--justification", "  "],
            "justification: String should have at least 1 character",
        ),
        (["--extend-until", "2020-01-01", "--justification", "x"], "extend_until: must be after"),
        (["--reject", "--transfer-reference", "Box", "--justification", "x"], "only with"),
    ],
)
def test_decide_errors_exit_1_and_write_nothing(runner, session, reviewed_rules, args, message):
    ingest(session, old_ticket(external_id="T-1"))
    batch = open_one(runner, session)
    decisions = select(AuditEvent).where(AuditEvent.action == "retention.review_decide")
    result = invoke(runner, "review", "decide", str(batch.id), *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    session.refresh(batch)
    assert batch.status == "open" and batch.decided_by is None
    assert session.scalars(decisions).all() == []


def test_unknown_or_decided_batches_exit_1(runner, session, reviewed_rules):
    missing = invoke(runner, "review", "show", "999999")
    assert missing.exit_code == 1
    assert "Error: No disposition review batch with that id." in missing.output
    ingest(session, old_ticket(external_id="T-1"))
    batch = open_one(runner, session)
    args = ["review", "decide", str(batch.id), "--reject", "--justification", "No"]
    assert invoke(runner, *args).exit_code == 0
    twice = invoke(runner, *args)
    assert twice.exit_code == 1
    assert "Error: The review batch is already decided (rejected)." in twice.output


def test_open_refuses_a_future_day(runner, reviewed_rules):
    day = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    result = invoke(runner, "review", "open", "--as-of", day)
    assert result.exit_code == 1 and "as_of: must be on or before" in result.output
