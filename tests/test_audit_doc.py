"""The worked example of docs/audit-log.md, checked against the code (doc and code cannot drift)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.services import audit
from auditor.services.context import Actor
from crypto import merkle
from crypto.note import Checkpoint, sign_note, verifier_key
from tests.factories import ORIGIN
from tests.factories.audit_log import (
    DOC,
    doc_block,
    doc_line,
    doc_row,
    event_from_row,
    service_leaf,
    stored_rows,
)

# --- the document's worked example ------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_doc_example_canonical_form_and_leaf_hash_match_the_code(n):
    row = doc_row(n)
    event = event_from_row(row)
    assert audit.canonical_entry(event) == doc_line(f"event-{n}-canonical").encode("utf-8")
    assert audit.compute_leaf_hash(event) == row["leaf_hash"]
    previous = doc_row(n - 1)["leaf_hash"] if n > 1 else audit.GENESIS_HASH
    assert row["prev_hash"] == previous


def test_doc_example_event_1_leaf_and_length():
    entry = doc_line("event-1-canonical").encode("utf-8")
    assert doc_line("event-1-leaf") == doc_row(1)["leaf_hash"]
    assert doc_line("event-1-leaf") == merkle.leaf_hash(entry).hex()
    stated = re.search(r"(\d+) bytes in UTF-8", DOC.read_text(encoding="utf-8"))
    assert stated and int(stated.group(1)) == len(entry)
    assert "é".encode() in entry and b"\\u00e9" not in entry


def test_doc_example_tree_root_matches_the_code():
    leaves = [bytes.fromhex(doc_row(n)["leaf_hash"]) for n in (1, 2, 3)]
    assert merkle.node_hash(leaves[0], leaves[1]).hex() == doc_line("node-1-2")
    assert merkle.tree_head(leaves) == (3, bytes.fromhex(doc_line("root-3")))


def test_doc_example_checkpoint_matches_the_code():
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(doc_line("key-seed")))
    root = bytes.fromhex(doc_line("root-3"))
    body = Checkpoint(ORIGIN, 3, root, ("time 2026-11-22T12:00:03.000000Z",))
    assert sign_note(body.text(), ORIGIN, key) == doc_block("checkpoint-note")
    assert verifier_key(ORIGIN, key.public_key()) == doc_line("vkey")


def test_doc_example_events_recorded_by_the_service_get_the_documented_hashes(session):
    for n in (1, 2, 3):
        row = doc_row(n)
        event = audit.record(
            session,
            actor=Actor(name=row["actor"], source_ip=row["source_ip"]),
            action=row["action"],
            outcome=row["outcome"],
            object_type=row["object_type"],
            object_id=row["object_id"],
            organization_id=row["organization_id"],
            details=row["details"],
            now=dt.datetime.fromisoformat(row["occurred_at"]),
        )
        assert (event.seq, event.prev_hash, event.leaf_hash) == (
            n,
            row["prev_hash"],
            row["leaf_hash"],
        )
    session.commit()
    # and after a round trip through the database (JSONB on PostgreSQL)
    assert [row["leaf_hash"] for row in stored_rows(session.connection())] == [
        doc_row(n)["leaf_hash"] for n in (1, 2, 3)
    ]
    assert [service_leaf(row) for row in stored_rows(session.connection())] == [
        doc_row(n)["leaf_hash"] for n in (1, 2, 3)
    ]
    assert audit.tree_head(session)[1].hex() == doc_line("root-3")
