"""Findings in the formats others read: JSON (ours), OCSF Compliance Finding events (class 2003,
JSON Lines) and SARIF 2.1.0 (failures only), so they flow into the security tools MSPs run."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from auditor.models.compliance import ComplianceFinding, ComplianceRun
from auditor.services import audit
from auditor.services.compliance.checks import SEVERITIES
from auditor.version import __version__

OCSF_VERSION = "1.3.0"
OCSF_CLASS = 2003  # Compliance Finding
OCSF_CATEGORY = 2  # Findings
OCSF_SEVERITY = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
OCSF_ACTIVITY = {"new": 1, "unchanged": 2, "resolved": 3}  # Create, Update, Close
OCSF_STATUS = {"new": 1, "unchanged": 2, "resolved": 4}  # New, In Progress, Resolved
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
STANDARD = "PIPEDA and the MSP's published privacy policy (docs/requirements.md)"


def finding_out(row: ComplianceFinding) -> dict[str, Any]:
    return {
        "finding_id": row.finding_id,
        "check": row.check,
        "rule": row.rule,
        "severity": row.severity,
        "title": row.title,
        "evidence": row.evidence,
        "fix": row.fix,
        "state": row.state,
        "first_seen_at": audit.format_time(row.first_seen_at),
        "last_seen_at": audit.format_time(row.last_seen_at),
        "resolved_at": audit.format_time(row.resolved_at) if row.resolved_at else None,
    }


def run_out(run: ComplianceRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "started_at": audit.format_time(run.started_at),
        "actor": run.actor,
        "counts": run.counts,
    }


def as_json(run: ComplianceRun | None, rows: Iterable[ComplianceFinding]) -> dict[str, Any]:
    found = [finding_out(row) for row in rows]
    return {
        "run": run_out(run),
        "severities": list(SEVERITIES),
        "findings": found,
    }


def _millis(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def as_ocsf(rows: Iterable[ComplianceFinding]) -> Iterator[dict[str, Any]]:
    """One OCSF Compliance Finding event per finding (its latest state)."""
    for row in rows:
        activity = OCSF_ACTIVITY[row.state]
        when = row.resolved_at or row.last_seen_at
        yield {
            "activity_id": activity,
            "category_uid": OCSF_CATEGORY,
            "class_uid": OCSF_CLASS,
            "type_uid": OCSF_CLASS * 100 + activity,
            "time": _millis(when),
            "severity_id": OCSF_SEVERITY[row.severity],
            "severity": row.severity.capitalize(),
            "status_id": OCSF_STATUS[row.state],
            "message": row.title,
            "metadata": {
                "version": OCSF_VERSION,
                "product": {"name": "auditor", "vendor_name": "auditor", "version": __version__},
                "uid": f"{row.finding_id}@{row.last_run_id}",
            },
            "finding_info": {
                "uid": row.finding_id,
                "title": row.title,
                "desc": row.fix,
                "types": [row.check],
                "first_seen_time": _millis(row.first_seen_at),
                "last_seen_time": _millis(row.last_seen_at),
            },
            "compliance": {
                "standards": [STANDARD],
                "control": row.rule,
                "requirements": [row.rule],
                "status_id": 1 if row.state == "resolved" else 3,  # Pass, Fail
            },
            "remediation": {"desc": row.fix},
            "unmapped": {"evidence": row.evidence},
        }


def ocsf_lines(rows: Iterable[ComplianceFinding]) -> str:
    return "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in as_ocsf(rows))


def as_sarif(rows: Iterable[ComplianceFinding]) -> dict[str, Any]:
    """SARIF 2.1.0: one run of the tool ``auditor``, a rule per check, a result per open failure
    (resolved findings and those of severity info are left out)."""
    failing = [r for r in rows if r.resolved_at is None and r.severity in SARIF_LEVEL]
    checks = sorted({r.check for r in failing})
    rules = []
    for check in checks:
        sample = next(r for r in failing if r.check == check)
        rules.append(
            {
                "id": check,
                "name": check.replace(".", "_"),
                "shortDescription": {"text": check},
                "help": {"text": sample.fix},
                "properties": {"rule": sample.rule},
            }
        )
    results = [
        {
            "ruleId": row.check,
            "ruleIndex": checks.index(row.check),
            "level": SARIF_LEVEL[row.severity],
            "message": {"text": row.title},
            "locations": [
                {"logicalLocations": [{"name": row.finding_id.split(":", 1)[1], "kind": "object"}]}
            ],
            "partialFingerprints": {"findingId": row.finding_id},
            "properties": {
                "severity": row.severity,
                "first_seen_at": audit.format_time(row.first_seen_at),
                "evidence": row.evidence,
            },
        }
        for row in failing
    ]
    return {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "auditor", "version": __version__, "rules": rules}},
                "results": results,
            }
        ],
    }
