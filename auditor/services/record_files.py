"""Reading record files (CSV or JSON Lines) as a stream of (line number, raw text, record dict)."""

from __future__ import annotations

import csv
import re
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
            # bytes that are not UTF-8 stay visible as lone surrogates, so the row that holds
            # them is refused with its line number instead of imported with U+FFFD in it
            text = line.decode("utf-8-sig", errors="surrogateescape")
            raw_lines.append(text.rstrip("\r\n"))
            yield text

    reader = csv.DictReader(lines())
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        problem = [FieldError("line", _csv_problem(exc), 1)]
        raise ValidationFailed("The CSV header cannot be read.", problem) from None
    raw_lines.clear()  # the header is not a row
    missing = REQUIRED_CSV_COLUMNS - set(header)
    if missing:
        raise ValidationFailed(
            "The CSV header lacks required columns.",
            [FieldError(name, "missing column", 1) for name in sorted(missing)],
        )
    while True:
        last = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit(): the row is refused
            number = last + max(1, len(raw_lines))
            raw_lines.clear()
            yield ParsedLine(number, "", error=FieldError("line", _csv_problem(exc)))
            continue
        number = reader.line_num
        raw = "\n".join(raw_lines)
        raw_lines.clear()
        if _NOT_UTF8.search(raw):
            yield ParsedLine(number, "", error=FieldError("line", "not valid UTF-8"))
            continue
        if None in row:
            yield ParsedLine(number, raw, error=FieldError("line", "more fields than the header"))
            continue
        try:
            yield ParsedLine(number, raw, csv_row_to_record(row))
        except ValidationFailed as exc:
            yield ParsedLine(number, raw, error=exc.errors[0])


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape made of bytes not UTF-8


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is larger than the CSV limit of {csv.field_size_limit()} characters"
    return f"not valid CSV ({text})"


def csv_header(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.readline().decode("utf-8-sig").rstrip("\r\n")
