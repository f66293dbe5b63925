"""``auditor requests access-report`` and ``auditor requests portability``: what a verified
privacy request discloses, written to files (R6, R8, R30). Exports are audited and committed
before the files are written; the terminal shows counts, never personal data."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor import keys
from auditor.cli import groups
from auditor.cli.common import command
from auditor.permissions import Permission
from auditor.services.context import Actor
from auditor.services.requests.access import portability as request_portability
from auditor.services.requests.access import report as request_pdf

FILE = click.Path(dir_okay=False, writable=True, path_type=Path)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    click.echo(f"  {path} ({len(data):,} bytes)")


@command(groups.requests, "access-report", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("-o", "--output", type=FILE, required=True, help="the PDF to write")
@click.option("--json", "json_path", type=FILE, help="also write the package as JSON")
def access_report(
    session: Session, actor: Actor, reference: str, output: Path, json_path: Path | None
) -> None:
    """The access report of request REFERENCE as PDF/A-3b, its JSON package attached."""
    pdf, package = request_pdf.export_access_report(
        session,
        reference,
        actor=actor,
        signing_key=keys.audit_signing_key(),
        origin=keys.audit_origin(),
        settings=current_app.config,
    )
    session.commit()  # the export's audit event, severings and checkpoint
    summary, trail = package.head["records_summary"], package.head["audit"]
    checkpoint = trail["checkpoint"]
    click.echo(
        f"access report of {package.reference}: {summary['records']} record(s), "
        f"{summary['redactions']} severing(s); checkpoint {checkpoint['id']} "
        f"(tree size {checkpoint['tree_size']})"
    )
    _write(output, pdf)
    if json_path is not None:
        _write(json_path, package.to_json())


@command(groups.requests, "portability", needs=Permission.REQUESTS_MANAGE)
@click.argument("reference")
@click.option("--json", "json_path", type=FILE, help="write the JSON export here")
@click.option("--csv", "csv_path", type=FILE, help="write the CSV export here")
def portability(
    session: Session, actor: Actor, reference: str, json_path: Path | None, csv_path: Path | None
) -> None:
    """The portability export (R30, Québec) of request REFERENCE as JSON and/or CSV."""
    if json_path is None and csv_path is None:
        raise click.UsageError("give --json FILE, --csv FILE or both")
    form = "both" if json_path and csv_path else ("json" if json_path else "csv")
    json_data, csv_data = request_portability.export_portability(
        session, reference, actor=actor, form=form
    )
    session.commit()
    click.echo(f"portability export of {reference.strip()}:")
    if json_path is not None:
        _write(json_path, json_data)
    if csv_path is not None:
        _write(csv_path, csv_data)
