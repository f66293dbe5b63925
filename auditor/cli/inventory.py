"""``auditor inventory``: policy defaults, data-map export and import."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from auditor.cli.common import handle_errors, session
from auditor.services import datamap
from auditor.services.context import Actor
from auditor.services.errors import MalformedRequest


def _print_summary(summary: dict[str, dict[str, int]]) -> None:
    for section, counts in summary.items():
        click.echo(f"{section:15} " + "  ".join(f"{k} {v}" for k, v in counts.items()))


@click.group(cls=AppGroup)
def inventory() -> None:
    """The data inventory (data map)."""


@inventory.command("load-defaults")
@click.option("--overwrite", is_flag=True, help="reset existing entries to the policy's values")
@handle_errors
def load_defaults(overwrite: bool) -> None:
    """Load the purposes, categories, third parties and retention schedule of the policy.

    Entries that already exist are kept as edited unless --overwrite is given."""
    db = session()
    summary = datamap.load_defaults(db, actor=Actor.cli(), overwrite=overwrite)
    db.commit()
    _print_summary(summary)


@inventory.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="file to write (default: standard output)",
)
@click.option("--without-subjects", is_flag=True, help="leave data subjects (personal data) out")
@handle_errors
def export(output: Path | None, without_subjects: bool) -> None:
    """Write the whole data map as JSON (the shape 'inventory import' reads)."""
    db = session()
    document = datamap.export(db, actor=Actor.cli(), include_subjects=not without_subjects)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    db.commit()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@inventory.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--keep-existing", is_flag=True, help="only add what is missing")
@handle_errors
def import_(file: Path, keep_existing: bool) -> None:
    """Read a data map written by 'inventory export': all of it, or nothing if anything is wrong."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest(f"{file} is not a JSON file ({type(exc).__name__}).") from None
    db = session()
    summary = datamap.import_document(db, data, actor=Actor.cli(), overwrite=not keep_existing)
    db.commit()
    _print_summary(summary)
