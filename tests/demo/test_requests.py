"""The demo MSP's privacy requests: every stage of the workflow, one overdue, loaded once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from auditor import demo
from auditor.demo import requests as demo_requests
from auditor.models import Hold, PrivacyRequest
from auditor.services.context import Actor
from auditor.services.requests import intake


def test_demo_requests_cover_every_stage_and_load_once(session):
    actor = Actor.cli()
    demo.load(session, actor=actor)  # the whole demo, which ends with its requests
    by_key = {
        r.external_reference: r
        for r in session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id))
    }
    assert sorted(by_key) == [f"DEMO-{n}" for n in range(1, 9)]
    statuses = {key: r.status for key, r in by_key.items()}
    assert statuses == {
        "DEMO-1": "received",
        "DEMO-2": "verifying",
        "DEMO-3": "in_progress",
        "DEMO-4": "extended",
        "DEMO-5": "received",
        "DEMO-6": "completed",
        "DEMO-7": "received",
        "DEMO-8": "verifying",
    }
    now = dt.datetime.now(dt.UTC)
    overdue = [k for k, r in by_key.items() if intake.request_out(r, now=now).overdue]
    assert overdue == ["DEMO-8"]
    assert by_key["DEMO-1"].subject is None  # someone not on file
    assert by_key["DEMO-5"].respond_to == "client" and by_key["DEMO-5"].forwarded_by
    assert intake.request_out(by_key["DEMO-7"], now=now).is_quebec
    assert by_key["DEMO-4"].extension_opc_statement
    assert by_key["DEMO-6"].file_retention_until is not None
    assert any(t.holds_records for t in by_key["DEMO-6"].tasks)
    holds = session.scalar(select(func.count()).select_from(Hold).where(Hold.kind == "recourse"))
    assert holds == 7
    assert demo_requests.load(session, now=now, actor=actor) == 0
    assert session.scalar(select(func.count()).select_from(PrivacyRequest)) == 8
