"""The dashboard: what is overdue (deemed refused), due soon, awaiting verification, extension
decisions due, coming dispositions (as the daily purge forecast them), review batches, holds, and
requests answered on time per month; each as the role may see it."""

from __future__ import annotations

import datetime as dt

from auditor.models import JobRun
from auditor.schemas.requests import TransitionIn
from auditor.services import jobs
from auditor.services.requests import workflow
from tests import factories
from tests.factories import NOW, OFFICER, web


def section(text: str, title: str) -> str:
    """The text of the dashboard card whose heading starts with ``title``."""
    start = text.index(title)
    return text[start : text.find("</section>", start)]


def test_the_dashboard_says_what_is_due_and_overdue(app, session, inventory):
    factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    late = factories.open_request(session, received_at=NOW - dt.timedelta(days=40))
    soon = factories.open_request(session, received_at=NOW - dt.timedelta(days=26))
    fresh = factories.open_request(session, received_at=NOW - dt.timedelta(days=1))
    factories.verify(session, fresh)
    answered = factories.open_request(session, received_at=NOW - dt.timedelta(days=10))
    factories.verify(session, answered)
    factories.close_tasks(session, answered)
    workflow.transition(
        session, answered.reference, TransitionIn(to="completed"), actor=OFFICER, now=NOW
    )
    client, _ = web.signed_in(app, session, moment=NOW)
    text = client.get("/").get_data(as_text=True)
    assert "Today is 22 November 2026. 3 privacy requests open." in text
    overdue = section(text, "Overdue: deemed refused")
    assert late.reference in overdue and "deemed refused: 10 days overdue" in overdue
    assert soon.reference not in overdue
    due_soon = section(text, "Due within 7 days")
    assert soon.reference in due_soon and "4 days left" in due_soon
    waiting = section(text, "Awaiting identity verification")
    assert late.reference in waiting and fresh.reference not in waiting
    extension = section(text, "Extension decisions due")
    assert soon.reference in extension and "decide by 26 November 2026" in extension
    assert late.reference not in extension  # day 30 has passed: too late to extend
    holds = section(text, "Active holds")
    assert "Recourse hold" in holds
    chart = text[text.index("Requests answered per month") :]
    assert "<svg" in chart
    assert '<th scope="row">November 2026</th><td class="num">1</td><td class="num">0</td>' in chart


def test_coming_dispositions_are_what_the_daily_purge_forecast(app, session, inventory):
    client, _ = web.signed_in(app, session, moment=NOW)
    before = section(client.get("/").get_data(as_text=True), "Dispositions coming due")
    assert "Forecast now: no daily purge has run yet." in before
    forecast = {
        "start": "2026-11-22",
        "buckets": [
            {"label": "Due now (on or before 22 November 2026)", "due": 0, "held": 4,
             "pending_review": 2},
            {"label": "November 2026", "due": 17, "held": 0, "pending_review": 0},
            {"label": "December 2026", "due": 31, "held": 1, "pending_review": 0},
        ],
    }  # fmt: skip
    session.add(
        JobRun(
            job=jobs.PURGE,
            scheduled_for=NOW - dt.timedelta(hours=9),
            started_at=NOW - dt.timedelta(hours=9),
            finished_at=NOW - dt.timedelta(hours=9),
            outcome="success",
            counts={"disposed": 3, "forecast": forecast},
            host="test:1",
        )
    )
    session.flush()
    card = section(client.get("/").get_data(as_text=True), "Dispositions coming due")
    assert "As forecast after the daily purge, 2026-11-21 22:00 EST." in card
    assert '<td>December 2026</td><td class="num">31</td>' in card


def test_a_technician_sees_their_clients_requests_and_no_retention(app, session, inventory):
    factories.subject(session, email="amelie.tremblay@acme.example", organization="acme")
    late = factories.open_request(session, received_at=NOW - dt.timedelta(days=40))
    client, person = web.signed_in(app, session, role="technician", moment=NOW)
    text = client.get("/").get_data(as_text=True)
    assert late.reference not in text and "0 privacy requests open" in text
    assert "Dispositions coming due" not in text and "Active holds" not in text
    factories.grant(session, person, "acme")
    assert late.reference in client.get("/").get_data(as_text=True)
    auditor_client, _ = web.signed_in(app, session, role="auditor", moment=NOW)
    seen = auditor_client.get("/").get_data(as_text=True)
    assert "Dispositions coming due" in seen and "Active holds" in seen
