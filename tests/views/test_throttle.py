"""Failed authentication is throttled per source (auditor/services/throttle.py): 429 with
Retry-After past the limit, and the audit trail gets the first failure of each interval and
then one event with the count, however many attempts there were."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from auditor.models import AuditEvent, AuthThrottle
from auditor.services import throttle
from auditor.services.context import Actor
from tests import factories
from tests.factories import assert_problem

BAD = {"Authorization": "Bearer aud_not-a-token"}


def events(session, action):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    ).all()


def attempt(client, source="203.0.113.7", headers=BAD, path="/api/v1/me"):
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": source})


def test_fifty_bad_tokens_get_429_after_the_limit_and_one_audit_event(app, client, session):
    limit = app.config["AUTH_FAILURE_LIMIT"]
    responses = [attempt(client) for _ in range(50)]
    assert [r.status_code for r in responses] == [401] * limit + [429] * (50 - limit)
    body = assert_problem(responses[-1], 429, "too-many-failures")
    assert body["title"] == "Too many failed authentications"
    assert (
        1 <= int(responses[-1].headers["Retry-After"]) <= app.config["AUTH_FAILURE_WINDOW_SECONDS"]
    )
    assert len(events(session, "auth.token")) == 1  # not 50 rows in the append-only log
    row = session.get(AuthThrottle, "token:203.0.113.7")
    assert (row.failures, row.audited) == (50, 1)


def test_other_sources_and_valid_tokens_are_not_held_back(client, session):
    for _ in range(20):
        attempt(client)
    assert attempt(client, source="198.51.100.9").status_code == 401
    token = factories.token(session, role="auditor")
    session.commit()
    ok = attempt(client, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200, ok.get_data(as_text=True)


def test_the_next_interval_records_the_count_of_the_last_one(client, session):
    for _ in range(30):
        attempt(client)
    row = session.get(AuthThrottle, "token:203.0.113.7")
    started = row.window_started_at
    row.window_started_at = started - dt.timedelta(minutes=5)  # the interval is over
    session.commit()
    assert attempt(client).status_code == 401  # counted afresh
    summary = events(session, "auth.failures")
    assert len(summary) == 1
    assert summary[0].details["failures"] == 29 and summary[0].details["key"] == "token"
    assert len(events(session, "auth.token")) == 2  # the first failure of each interval


def test_a_burst_that_stops_is_still_counted_by_the_scheduled_summary(app, client, session, now):
    for _ in range(12):
        attempt(client)
    limit = throttle.Limit.from_settings(app.config)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    written = throttle.summarise_closed(session, limit=limit, now=later, actor=Actor.system("t"))
    session.commit()
    assert written == 1
    assert events(session, "auth.failures")[0].details["failures"] == 11
    again = throttle.summarise_closed(session, limit=limit, now=later, actor=Actor.system("t"))
    assert again == 0  # counted once


def test_the_trail_holds_the_route_pattern_never_the_path(client, session):
    response = attempt(client, path="/api/v1/organizations/jane.doe@example.com")
    assert response.status_code == 401
    event = events(session, "auth.token")[-1]
    assert event.details["route"] == "/api/v1/organizations/<code>"
    rows = session.scalars(select(AuditEvent.details)).all()
    assert not any("jane.doe" in str(details) for details in rows)
    assert session.scalar(select(func.count()).select_from(AuditEvent)) >= 1
