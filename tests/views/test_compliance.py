"""The compliance API: run the checks now, read the findings as JSON, OCSF and SARIF."""

from __future__ import annotations

import datetime as dt
import json

from tests import factories
from tests.factories import assert_denied


def test_run_and_read_the_findings(client, auth, inventory, session):
    factories.open_request(session, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=45))
    session.commit()
    run = client.post("/api/v1/compliance/runs", headers=auth("privacy_officer"))
    assert run.status_code == 201, run.get_json()
    counts = run.get_json()["counts"]
    assert counts["new"] > 0 and counts["open"]["high"] >= 1
    body = client.get("/api/v1/compliance/findings", headers=auth("auditor")).get_json()
    assert body["run"]["id"] == run.get_json()["id"]
    first = body["findings"][0]
    assert first["severity"] in ("critical", "high") and first["state"] == "new"
    assert any(f["check"] == "requests.overdue" for f in body["findings"])
    medium = client.get("/api/v1/compliance/findings?severity=medium", headers=auth("auditor"))
    assert {f["severity"] for f in medium.get_json()["findings"]} == {"medium"}
    ocsf = client.get("/api/v1/compliance/findings/ocsf", headers=auth("auditor"))
    assert ocsf.headers["Content-Type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in ocsf.get_data(as_text=True).splitlines()]
    assert len(events) == len(body["findings"]) and events[0]["class_uid"] == 2003
    sarif = client.get("/api/v1/compliance/findings/sarif", headers=auth("auditor"))
    assert sarif.headers["Content-Type"].startswith("application/sarif+json")
    assert sarif.get_json()["version"] == "2.1.0"


def test_roles(client, auth, inventory):
    assert_denied(client.post("/api/v1/compliance/runs", headers=auth("auditor")), "auditor")
    assert_denied(
        client.get("/api/v1/compliance/findings", headers=auth("technician")), "technician"
    )
    empty = client.get("/api/v1/compliance/findings", headers=auth("auditor")).get_json()
    assert empty == {"run": None, "severities": ["critical", "high", "medium", "low", "info"],
                     "findings": []}  # fmt: skip
