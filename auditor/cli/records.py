"""``auditor records import``: streamed CSV or JSON Lines ingest with a progress bar."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import IO

import click
from flask import current_app
from sqlalchemy.orm import Session

from auditor.cli import groups
from auditor.cli.common import command, fail, report
from auditor.permissions import Permission
from auditor.services import record_files
from auditor.services.context import Actor
from auditor.services.errors import FieldError, ValidationFailed
from auditor.services.ingest import Ingestor


@command(groups.records, "import", needs=Permission.RECORDS_WRITE)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="default: from the suffix"
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="import the good rows; write the bad ones to --rejects (default: all or nothing)",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="where --skip-invalid writes rejected rows (default: FILE.rejected.<ext>)",
)
def import_(
    session: Session,
    actor: Actor,
    file: Path,
    fmt: str | None,
    skip_invalid: bool,
    rejects: Path | None,
) -> None:
    """Import records from FILE, upserting on (system, external_id).

    Rejected rows are reported with their line number and reason. Without --skip-invalid one bad
    row means nothing is imported."""
    fmt = record_files.detect_format(file, fmt)
    config = current_app.config
    rejects_path = rejects or file.with_name(
        file.name + f".rejected.{'csv' if fmt == 'csv' else 'jsonl'}"
    )
    reject_out: IO[str] | None = None
    reasons_out: IO[str] | None = None
    if skip_invalid:
        try:
            reject_out = rejects_path.open("w", encoding="utf-8", errors="surrogateescape")
            reasons_out = rejects_path.with_name(rejects_path.name + ".errors.jsonl").open(
                "w", encoding="utf-8"
            )
        except OSError as exc:
            fail(f"Cannot write the rejected rows to {rejects_path}: {exc.strerror}.")
        if fmt == "csv":
            reject_out.write(record_files.csv_header(file) + "\n")
    current: dict[str, str] = {}

    def on_rejected(line: int, errors: list[FieldError]) -> None:
        if reject_out is not None and reasons_out is not None:
            reject_out.write(current.get("raw", "") + "\n")
            reasons_out.write(
                json.dumps({"line": line, "errors": [e.as_dict() for e in errors]}) + "\n"
            )

    ingestor = Ingestor(
        session,
        actor=actor,
        pan_policy=config["PAN_POLICY"],
        skip_invalid=skip_invalid,
        batch_size=config["INGEST_BATCH_SIZE"],
        max_content_bytes=config["MAX_RECORD_CONTENT_BYTES"],
        source=f"cli:{fmt}",
        on_rejected=on_rejected,
    )
    reader = record_files.read_csv if fmt == "csv" else record_files.read_jsonl
    # What is alive now (the app, its libraries) outlives the import: frozen, the collector's
    # full passes, frequent in a long import, need not walk it again each time.
    gc.freeze()
    try:
        with (
            file.open("rb") as fh,
            click.progressbar(length=file.stat().st_size, label=f"importing {file.name}") as bar,
        ):
            for parsed in reader(fh, bar.update):
                current["raw"] = parsed.raw
                if parsed.error is not None:
                    ingestor.reject(parsed.number, [parsed.error])
                else:
                    ingestor.add(parsed.number, parsed.data)
        result = ingestor.finish()
    except ValidationFailed:
        session.rollback()
        raise
    finally:
        gc.unfreeze()
        if reject_out is not None:
            reject_out.close()
        if reasons_out is not None:
            reasons_out.close()
    session.commit()
    click.echo(
        f"received {result.received}: inserted {result.inserted}, updated {result.updated}, "
        f"unchanged {result.unchanged}, rejected {result.rejected}; "
        f"card numbers redacted {result.pan_redactions}"
    )
    if result.rejected:
        report(
            ValidationFailed(
                f"{result.rejected} rows rejected; written to {rejects_path}",
                [
                    FieldError(e.field, e.message, line)
                    for line, errs in result.rejected_lines
                    for e in errs
                ],
            )
        )
