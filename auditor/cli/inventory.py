"""``auditor inventory``: policy defaults, data-map export and import, the record of processing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import command, fail
from auditor.permissions import Permission
from auditor.services import datamap, processing_record
from auditor.services.context import Actor
from auditor.services.errors import MalformedRequest


def _print_summary(summary: dict[str, dict[str, int]]) -> None:
    for section, counts in summary.items():
        click.echo(f"{section:15} " + "  ".join(f"{k} {v}" for k, v in counts.items()))


@command(groups.inventory, "load-defaults", needs=Permission.INVENTORY_WRITE)
@click.option("--overwrite", is_flag=True, help="reset existing entries to the policy's values")
def load_defaults(session: Session, actor: Actor, overwrite: bool) -> None:
    """Load the purposes, categories, third parties and retention schedule of the policy.

    Entries that already exist are kept as edited unless --overwrite is given."""
    summary = datamap.load_defaults(session, actor=actor, overwrite=overwrite)
    session.commit()
    _print_summary(summary)


@command(groups.inventory, "export", reads=Permission.INVENTORY_READ)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="file to write (default: standard output)",
)
@click.option("--without-subjects", is_flag=True, help="leave data subjects (personal data) out")
def export(session: Session, actor: Actor, output: Path | None, without_subjects: bool) -> None:
    """Write the whole data map as JSON (the shape 'inventory import' reads)."""
    document = datamap.export(session, actor=actor, include_subjects=not without_subjects)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    session.commit()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@command(groups.inventory, "report", reads=Permission.INVENTORY_READ)
@click.option("--client", help="one client's record: what is held about their people")
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "json"]), default="pdf", show_default=True
)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def report(session: Session, client: str | None, fmt: str, output: Path) -> None:
    """The record of processing (R14): the data map as a document, for the MSP or a client."""
    if output.exists():
        fail(f"{output} exists: not overwritten")
    settings = current_app.config
    if fmt == "pdf":
        data = processing_record.render(session, client=client, settings=settings)
    else:
        found = processing_record.data(session, client=client, settings=settings)
        data = (json.dumps(found, indent=2, ensure_ascii=False) + "\n").encode()
    output.write_bytes(data)
    click.echo(f"wrote {output}")


@command(groups.inventory, "import", needs=Permission.INVENTORY_WRITE)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--keep-existing", is_flag=True, help="only add what is missing")
def import_(session: Session, actor: Actor, file: Path, keep_existing: bool) -> None:
    """Read a data map written by 'inventory export': all of it, or nothing if anything is wrong."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest(f"{file} is not a JSON file ({type(exc).__name__}).") from None
    summary = datamap.import_document(session, data, actor=actor, overwrite=not keep_existing)
    session.commit()
    _print_summary(summary)
