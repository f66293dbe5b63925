"""docs/disposition.md is enough to verify dispositions: recompute its worked examples with the
standard library only, and check the service computes the same values."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

from auditor.services.ingest import content_digest
from auditor.services.retention import dispositions as disposition_records
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


def test_canonical_lines_and_set_digest_example():
    lines = [line for line in DOC.splitlines() if line.startswith('{"approver"')]
    assert len(lines) == 2
    for line in lines:
        row = json.loads(line)
        assert set(row) == set(disposition_records.FIELDS)
        again = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert again == line
    digest = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()
    assert value("digest of the set") == f"`{digest}`"


def test_the_document_lists_every_field():
    for name in disposition_records.FIELDS:
        assert f"`{name}`" in DOC, name
