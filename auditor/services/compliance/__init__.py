"""Compliance findings (the "audit" in auditor): checks of the promises the policy makes, run
daily and on demand, each failure followed across runs, in JSON, OCSF and SARIF."""

from __future__ import annotations

from auditor.services.compliance.checks import CHECKS, SEVERITIES, Context, Found
from auditor.services.compliance.formats import as_json, as_sarif, ocsf_lines
from auditor.services.compliance.runs import findings, latest_run, run_checks

__all__ = [
    "CHECKS",
    "SEVERITIES",
    "Context",
    "Found",
    "as_json",
    "as_sarif",
    "findings",
    "latest_run",
    "ocsf_lines",
    "run_checks",
]
