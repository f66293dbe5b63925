"""Compliance findings: the checks, each finding's state across runs, and the OCSF and SARIF
outputs validated with packages that carry those standards' models."""

from __future__ import annotations

import datetime as dt
import json

from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding as OcsfFinding
from sarif_pydantic import Sarif
from sqlalchemy import select

from auditor.models import AuditEvent, System
from auditor.services import compliance
from auditor.services.compliance import checks
from auditor.services.context import Actor
from tests import factories
from tests.factories import audit_log

JOB = Actor.system("compliance.check")


def _run(session, app, *, now=factories.NOW, origin=None):
    context = compliance.Context(now, None, origin or app.config["AUDIT_LOG_ORIGIN"])
    return compliance.run_checks(session, context=context, actor=JOB, now=now)


def _ids(session, **filters):
    return {f.finding_id for f in compliance.findings(session, **filters)}


def test_findings_are_followed_across_runs(session, app, inventory):
    late = factories.open_request(session, now=factories.NOW - dt.timedelta(days=45))
    tech = factories.user(session, role="technician")
    first = _run(session, app)
    found = _ids(session)
    assert f"requests.overdue:{late.reference}" in found
    assert "inventory.system_incomplete:psa" in found
    assert f"access.not_reviewed:user-{tech.id}" in found
    assert first.counts["new"] == len(found) and first.counts["resolved"] == 0
    assert all(f.state == "new" for f in compliance.findings(session))

    psa = session.scalar(select(System).where(System.code == "psa"))
    psa.hosting_country, psa.safeguards = "CA", ["encryption at rest"]
    second = _run(session, app, now=factories.NOW + dt.timedelta(days=1))
    assert second.counts["resolved"] == 1
    assert second.counts["unchanged"] == len(found) - 1
    assert "inventory.system_incomplete:psa" not in _ids(session)
    [row] = [
        f
        for f in compliance.findings(session, include_resolved=True)
        if f.finding_id == "inventory.system_incomplete:psa"
    ]
    assert row.state == "resolved" and row.resolved_at is not None
    assert row.first_seen_at == factories.NOW

    psa.safeguards = []  # failing again: new once more, first seen kept
    _run(session, app, now=factories.NOW + dt.timedelta(days=2))
    [row] = [
        f
        for f in compliance.findings(session, check="inventory.system_incomplete")
        if f.finding_id.endswith(":psa")
    ]
    assert row.state == "new" and row.resolved_at is None and row.first_seen_at == factories.NOW
    events = session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "compliance.check")
    ).all()
    assert len(events) == 3 and events[1]["resolved"] == 1


def test_a_log_that_fails_verification_is_critical(session, app, inventory):
    audit_log.build_log(session)
    connection = session.connection()
    audit_log.drop_append_only_triggers(connection)  # rolled back with the test
    audit_log.execute(connection, "UPDATE audit_event SET actor = 'user:666' WHERE seq = 3")
    _run(session, app)
    [row] = compliance.findings(session, severity="critical")
    assert row.finding_id == "audit.verification_failed:log"
    assert row.evidence["first_bad_seq"] == 3
    assert compliance.findings(session)[0].severity == "critical"  # most severe first


def test_ocsf_and_sarif_validate_against_the_standards_models(session, app, inventory):
    factories.open_request(session, now=factories.NOW - dt.timedelta(days=45))
    _run(session, app)
    rows = compliance.findings(session)
    lines = compliance.ocsf_lines(rows).splitlines()
    assert len(lines) == len(rows)
    for line in lines:
        event = OcsfFinding.model_validate(json.loads(line))
        assert event.class_uid == 2003 and event.type_uid == 200301
        assert event.compliance.status_id == 3  # Fail
    sarif = compliance.as_sarif(rows)
    parsed = Sarif.model_validate(sarif)
    [run] = parsed.runs
    assert run.tool.driver.name == "auditor"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {r.check for r in rows if r.severity != "info"}
    overdue = next(r for r in results if r["ruleId"] == "requests.overdue")
    assert overdue["level"] == "error"
    assert sarif["runs"][0]["tool"]["driver"]["rules"][overdue["ruleIndex"]]["id"] == (
        "requests.overdue"
    )


def test_every_check_has_a_rule_and_a_fix(session, app, inventory):
    _run(session, app)
    for row in compliance.findings(session):
        assert row.rule.startswith("R") and row.fix.strip() and row.severity in checks.SEVERITIES
