"""``auditor compliance``: run the checks, and report the findings (JSON, OCSF, SARIF, PDF)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import command, fail
from auditor.db import utcnow
from auditor.keys import audit_origin, audit_public_key
from auditor.models.compliance import ComplianceFinding, ComplianceRun
from auditor.permissions import Permission
from auditor.services import compliance
from auditor.services.compliance import pdf
from auditor.services.context import Actor

READ, RUN = Permission.COMPLIANCE_READ, Permission.COMPLIANCE_RUN


@command(groups.compliance, "check", needs=RUN)
def check(session: Session, actor: Actor) -> list[str]:
    """Run every compliance check now (the scheduler runs them daily)."""
    context = compliance.Context(utcnow(), audit_public_key(), audit_origin())
    run = compliance.run_checks(session, context=context, actor=actor)
    counts = run.counts
    open_by = ", ".join(f"{n} {s}" for s, n in counts["open"].items() if n) or "none"
    return [
        f"compliance run {run.id}: {counts['new']} new, {counts['unchanged']} unchanged, "
        f"{counts['resolved']} resolved",
        f"open findings: {open_by}",
    ]


@command(groups.compliance, "report", reads=READ)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "ocsf", "sarif", "pdf"]), default="text"
)
@click.option("--resolved", is_flag=True, help="include the resolved findings")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="write it here")
def report(session: Session, fmt: str, resolved: bool, output: Path | None) -> None:
    """The findings of the latest run, most severe first."""
    rows = compliance.findings(session, include_resolved=resolved)
    run = compliance.latest_run(session)
    if fmt == "pdf":
        if output is None:
            fail("--format pdf needs --output FILE")
        data = pdf.render(session, run, rows)
    elif fmt == "json":
        data = json.dumps(compliance.as_json(run, rows), indent=2, ensure_ascii=False).encode()
    elif fmt == "ocsf":
        data = compliance.ocsf_lines(rows).encode()
    elif fmt == "sarif":
        data = json.dumps(compliance.as_sarif(rows), indent=2, ensure_ascii=False).encode()
    else:
        data = _text(run, rows).encode()
    if output is not None:
        if output.exists():
            fail(f"{output} exists: not overwritten")
        output.write_bytes(data)
        click.echo(f"written to {output}")
    else:
        click.echo(data.decode().rstrip("\n"))


def _text(run: ComplianceRun | None, rows: list[ComplianceFinding]) -> str:
    if run is None:
        return "no compliance run yet: auditor compliance check"
    lines = []
    for row in rows:
        state = "resolved" if row.resolved_at else row.state
        lines.append(f"{row.severity:8} {state:9} {row.finding_id}: {row.title}")
    return "\n".join(lines) or "no open findings"
