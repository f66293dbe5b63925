"""Reading record files (CSV or JSON Lines) as a stream of (line number, raw text, record dict)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from auditor.schemas import json_input
from auditor.services.errors import FieldError, MalformedRequest, ValidationFailed

CSV_FIELDS = (
    "system",
    "external_id",
    "category",
    "client",
    "created_at",
    "closed_at",
    "document_date",
    "event_at",
)
CSV_SUBJECT_COLUMNS = {"subject_emails": "email", "subject_phones": "phone"}
CSV_IGNORED = {"_error"}
REQUIRED_CSV_COLUMNS = {"system", "external_id", "category", "client", "created_at"}


def detect_format(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise ValidationFailed(
        "Cannot tell the file's format from its name; pass --format csv or jsonl."
    )


class ParsedLine:
    __slots__ = ("data", "error", "number", "raw")

    def __init__(self, number: int, raw: str, data: Any = None, error: FieldError | None = None):
        self.number, self.raw, self.data, self.error = number, raw, data, error


def read_jsonl(fh: IO[bytes], progress: Callable[[int], None]) -> Iterator[ParsedLine]:
    for number, line in enumerate(fh, start=1):
        progress(len(line))
        if not line.strip():
            continue
        raw = line.decode("utf-8", errors="replace").rstrip("\r\n")
        try:
            data = json_input.loads(line)
        except MalformedRequest:
            yield ParsedLine(number, raw, error=FieldError("line", "not valid JSON"))
            continue
        except ValidationFailed as exc:
            yield ParsedLine(number, raw, error=exc.errors[0])
            continue
        yield ParsedLine(number, raw, data)


def csv_row_to_record(row: dict[str, str]) -> dict[str, Any]:
    """Known columns become record fields; subject_emails / subject_phones are ';'-separated;
    a 'content' column holds JSON; any other non-empty column becomes a content field."""
    record: dict[str, Any] = {}
    content: dict[str, Any] = {}
    subjects: list[dict[str, str]] = []
    for key, value in row.items():
        if key is None or key in CSV_IGNORED:
            continue
        value = (value or "").strip()
        if key in CSV_FIELDS:
            if value:
                record[key] = value
        elif key in CSV_SUBJECT_COLUMNS:
            subjects.extend(
                {"kind": CSV_SUBJECT_COLUMNS[key], "value": v.strip()}
                for v in value.split(";")
                if v.strip()
            )
        elif key == "content":
            if value:
                try:
                    parsed = json_input.loads(value, where="content")
                except MalformedRequest:
                    raise ValidationFailed(
                        "bad content", [FieldError("content", "not valid JSON")]
                    ) from None
                if not isinstance(parsed, dict):
                    raise ValidationFailed(
                        "bad content", [FieldError("content", "not a JSON object")]
                    )
                content.update(parsed)
        elif value:
            content[key] = value
    record["subjects"] = subjects
    record["content"] = content
    return record


def read_csv(fh: IO[bytes], progress: Callable[[int], None]) -> Iterator[ParsedLine]:
    raw_lines: list[str] = []

    def lines() -> Iterator[str]:
        for line in fh:
            progress(len(line))
            text = line.decode("utf-8-sig", errors="replace")
            raw_lines.append(text.rstrip("\r\n"))
            yield text

    reader = csv.DictReader(lines())
    header = reader.fieldnames or []
    raw_lines.clear()  # the header is not a row
    missing = REQUIRED_CSV_COLUMNS - set(header)
    if missing:
        raise ValidationFailed(
            "The CSV header lacks required columns.",
            [FieldError(name, "missing column", 1) for name in sorted(missing)],
        )
    for row in reader:
        number = reader.line_num
        raw = "\n".join(raw_lines)
        raw_lines.clear()
        if None in row:
            yield ParsedLine(number, raw, error=FieldError("line", "more fields than the header"))
            continue
        try:
            yield ParsedLine(number, raw, csv_row_to_record(row))
        except ValidationFailed as exc:
            yield ParsedLine(number, raw, error=exc.errors[0])


def csv_header(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.readline().decode("utf-8-sig").rstrip("\r\n")
