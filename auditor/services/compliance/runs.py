"""Running the checks and following each finding across runs: new (first seen, or seen again
after it was resolved), unchanged (still failing), resolved (no longer failing)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from auditor.db import utcnow
from auditor.models.compliance import ComplianceFinding, ComplianceRun
from auditor.services import audit
from auditor.services.compliance.checks import CHECKS, SEVERITIES, Context, Found
from auditor.services.context import Actor


def run_checks(
    session: Session, *, context: Context, actor: Actor, now: dt.datetime | None = None
) -> ComplianceRun:
    """Run every check; record the run and each finding's state; audited with the counts."""
    moment = now or utcnow()
    found: dict[str, Found] = {}
    for check in CHECKS:
        for item in check(session, context):
            found[item.finding_id] = item
    run = ComplianceRun(started_at=moment, actor=actor.name, counts={})
    session.add(run)
    session.flush()
    known = {f.finding_id: f for f in session.scalars(select(ComplianceFinding))}
    states: Counter[str] = Counter()
    for finding_id, item in found.items():
        row = known.get(finding_id)
        if row is None:
            row = ComplianceFinding(
                finding_id=finding_id, first_seen_at=moment, first_run_id=run.id
            )
            session.add(row)
            row.state = "new"
        elif row.resolved_at is not None:
            row.state, row.resolved_at = "new", None  # failing again
        else:
            row.state = "unchanged"
        row.check, row.rule, row.severity = item.check, item.rule, item.severity
        row.title, row.evidence, row.fix = item.title, item.evidence, item.fix
        row.last_seen_at, row.last_run_id = moment, run.id
        states[row.state] += 1
    for finding_id, row in known.items():
        if finding_id not in found and row.resolved_at is None:
            row.state, row.resolved_at, row.last_run_id = "resolved", moment, run.id
            states["resolved"] += 1
    open_by = Counter(item.severity for item in found.values())
    run.counts = {
        "new": states["new"],
        "unchanged": states["unchanged"],
        "resolved": states["resolved"],
        "open": {severity: open_by[severity] for severity in SEVERITIES},
    }
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="compliance.check",
        object_type="compliance_run",
        object_id=run.id,
        details=run.counts,
        now=moment,
    )
    return run


def findings(
    session: Session,
    *,
    include_resolved: bool = False,
    severity: str | None = None,
    check: str | None = None,
) -> list[ComplianceFinding]:
    """The findings, most severe first (open ones only unless ``include_resolved``)."""
    query = select(ComplianceFinding)
    if not include_resolved:
        query = query.where(ComplianceFinding.resolved_at.is_(None))
    if severity is not None:
        query = query.where(ComplianceFinding.severity == severity)
    if check is not None:
        query = query.where(ComplianceFinding.check == check)
    rows = list(session.scalars(query.order_by(ComplianceFinding.finding_id)))
    rows.sort(key=lambda f: (f.resolved_at is not None, SEVERITIES.index(f.severity)))
    return rows


def latest_run(session: Session) -> ComplianceRun | None:
    return session.scalar(select(ComplianceRun).order_by(ComplianceRun.id.desc()).limit(1))
