"""docs/disposition.md is enough to verify dispositions: recompute its worked examples with the
standard library only, and check the service computes the same values."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

from auditor.services.ingest import content_digest
from auditor.services.retention import dispositions as disposition_records
from auditor.services.retention import lines as canonical
from auditor.services.retention.batch import record_digest, subject_digest
from crypto.digest import key_id

DOC = (Path(__file__).parents[1] / "docs" / "disposition.md").read_text(encoding="utf-8")
KEY = bytes(range(32))


def value(label: str) -> str:
    match = re.search(rf"^{re.escape(label)}:\s+(.+?)\s*$", DOC, re.MULTILINE)
    assert match, label
    return match.group(1)


def hmac_digest(domain: str, *parts: str) -> str:
    """Section 2, written from the document: 4-byte big-endian length + UTF-8 for each field."""
    data = b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in (domain, *parts))
    return hmac.new(KEY, data, hashlib.sha256).hexdigest()


def test_key_id_example():
    expected = hashlib.sha256(b"auditor disposition key id\x00" + KEY).hexdigest()[:16]
    assert value("key id") == expected == key_id(KEY)


def test_record_digest_example():
    content = json.loads(value("content"))
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sha = hashlib.sha256(canonical.encode()).hexdigest()
    assert value("content sha256") == sha == content_digest(content)
    expected = hmac_digest("auditor.record.v1", "psa", "T-1001", sha)
    assert value("record digest") == expected == record_digest(KEY, "psa", "T-1001", sha)


def test_subject_digest_example():
    identifiers = sorted(["phone:+15145550123", "email:pat@example.com"])
    expected = hmac_digest("auditor.subject.v1", *identifiers, "Pat Example")
    assert value("subject digest") == expected
    assert subject_digest(KEY, ["phone:+15145550123", "email:pat@example.com"], "Pat Example") == (
        expected
    )


def example_lines() -> list[str]:
    lines = [line for line in DOC.splitlines() if line.startswith('{"approver"')]
    assert len(lines) == 2
    return lines


def test_canonical_lines_and_set_digest_example():
    lines = example_lines()
    for line in lines:
        row = json.loads(line)
        assert set(row) == set(disposition_records.FIELDS)
        again = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert again == line
    digest = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()
    assert value("digest of the set") == f"`{digest}`"


def test_the_service_builds_the_example_lines_from_a_batch_and_its_rows():
    # section 1's split: what the batch shares, what each line has of its own
    first, second = (json.loads(line) for line in example_lines())
    batch = {
        "id": 12, "created_at": dt.datetime(2026, 11, 22, 3, 0, 4, 512000, tzinfo=dt.UTC),
        "run_id": 7, "subject_type": "record", "rule": "ticket_history", "rule_version": 1,
        "review_id": None, "approver": None, "executor": "system:retention.purge",
        "method": "delete", "post_check": "record absent after delete", "holds_in_force": 2,
        "evidence": {"as_of": "2026-11-22"}, "start_field": "closed_at", "line_format": 2,
        "legacy": None,
    }  # fmt: skip
    rows = [
        {"id": 41, "batch_id": 12, "subject_ref": "1187", "organization_id": 3,
         "category": "ticket_history", "digest": bytes.fromhex(first["digest"]),
         "due_on": dt.date(2026, 5, 2), "started_on": dt.date(2019, 5, 2), "evidence": None,
         "legacy": None},
        {"id": 42, "batch_id": 12, "subject_ref": "1188", "organization_id": 3,
         "category": "ticket_history", "digest": bytes.fromhex(second["digest"]),
         "due_on": dt.date(2026, 6, 30), "started_on": dt.date(2019, 6, 30),
         "evidence": {"retained_by": "ticket_history v2"}, "legacy": None},
    ]  # fmt: skip
    built = [canonical.encode(canonical.line(batch, row)).decode() for row in rows]
    assert built == example_lines()


def test_the_document_lists_every_field():
    for name in disposition_records.FIELDS:
        assert f"`{name}`" in DOC, name
