"""An independent verifier of the audit log, written from docs/audit-log.md alone.

The verifier (the first half of this module) uses hashlib, json, base64, binascii, re, datetime and
``cryptography`` only: nothing from auditor/ or crypto/. It even serialises JSON by hand, following
section 2.2 of the document rule by rule, so the document's rules themselves are tested. The tests
feed it the log as an outside auditor would get it (the API's event pages and latest checkpoint,
or the database rows) and require it to agree with ``auditor audit verify`` on intact and tampered
logs.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# the log under test is set up with the project's fixtures and SQL tampering helpers
from tests.factories.audit_log import (
    CHECKPOINT_TAMPERS,
    TAMPERS,
    build_log,
    doc_block,
    doc_line,
    doc_row,
    drop_append_only_triggers,
    execute,
    stored_rows,
)

# --- the verifier, from the document ------------------------------------------------------------

GENESIS = "0" * 64
EM_DASH = "\u2014"
ENTRY_FIELDS = (  # section 2.1; "v" is added, "leaf_hash" is not part of the entry
    "seq",
    "occurred_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "organization_id",
    "source_ip",
    "outcome",
    "details",
    "prev_hash",
)
SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def json_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in SHORT_ESCAPES:
            out.append(SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_value(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(json_value(item) for item in value) + "]"
    if isinstance(value, dict):
        members = (json_string(key) + ":" + json_value(value[key]) for key in sorted(value))
        return "{" + ",".join(members) + "}"
    raise TypeError(f"{type(value).__name__} cannot appear in an audit entry")


def canonical_time(value: str) -> str:
    """The API's RFC 3339 time (maybe without a fraction) in the entry's fixed form."""
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(event: dict[str, Any]) -> bytes:
    entry = {name: event[name] for name in ENTRY_FIELDS} | {"v": 1}
    entry["occurred_at"] = canonical_time(entry["occurred_at"])
    return json_value(entry).encode("utf-8")


def leaf_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(b"\x00" + canonical_entry(event)).hexdigest()


def tree_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH, straight from its recursive definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + tree_root(leaves[:k]) + tree_root(leaves[k:])).digest()


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    key: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        name, hex_id, encoded = vkey.split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        assert raw[0] == 0x01 and len(raw) == 33, "not an Ed25519 verifier key"
        key = Ed25519PublicKey.from_public_bytes(raw[1:])
        key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
        assert key_id.hex() == hex_id, "the verifier key's ID does not match its key"
        return cls(name, key_id, key)


class NoteError(Exception):
    pass


def open_note(note: str, verifier: VerifierKey) -> str:
    """Section 5, "Verifying a note": the signed body, or NoteError."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    body, signatures = note[: split + 1], note[split + 2 : -1]
    verified = False
    for line in signatures.split("\n"):
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != EM_DASH:
            raise NoteError("malformed note: bad signature line")
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except binascii.Error:
            raise NoteError("malformed note: signature is not base64") from None
        if fields[1] != verifier.name or blob[:4] != verifier.key_id:
            continue
        try:
            verifier.key.verify(blob[4:], body.encode("utf-8"))
        except InvalidSignature:
            raise NoteError("note signature does not verify") from None
        verified = True
    if not verified:
        raise NoteError("note carries no signature by the expected key")
    return body


def parse_checkpoint(body: str) -> tuple[str, int, bytes]:
    lines = body.split("\n")[:-1]
    if len(lines) < 3 or "" in lines or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        raise NoteError("malformed checkpoint body")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error:
        raise NoteError("malformed checkpoint root") from None
    if len(root) != 32:
        raise NoteError("malformed checkpoint root")
    return lines[0], int(lines[1]), root


@dataclass(frozen=True)
class Result:
    ok: bool
    tree_size: int
    root_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


def check_event(event: dict[str, Any], position: int, prev: str, before: str | None) -> Any:
    """Section 6, steps 1-3: (first bad sequence number, problem) or None."""
    seq = event["seq"]
    if seq > position:
        return position, f"event {position} is missing (next stored is {seq})"
    if seq < position:
        return seq, f"event {seq} is out of order"
    if event["prev_hash"] != prev:
        if event["prev_hash"] == before:
            target = f"event {seq - 2}" if seq > 2 else "the genesis hash"
            return seq - 1, f"event {seq - 1} was inserted (event {seq} chains to {target})"
        return seq, f"event {seq} does not chain to event {seq - 1}"
    if leaf_hash(event) != event["leaf_hash"]:
        return seq, f"event {seq} was altered (its hash does not match its content)"
    return None


def verify_log(
    events: list[dict[str, Any]], checkpoints: list[dict[str, Any]], vkey: str, origin: str
) -> Result:
    """Events in seq order; checkpoints as stored (id, tree_size, root_hash, note), oldest first."""
    verifier = VerifierKey.parse(vkey)
    leaves: list[bytes] = []
    prev, before = GENESIS, None
    for position, event in enumerate(events, start=1):
        bad = check_event(event, position, prev, before)
        if bad:
            trusted = leaves[: max(bad[0] - 1, 0)]
            return Result(False, len(trusted), tree_root(trusted).hex(), *bad)
        leaves.append(bytes.fromhex(event["leaf_hash"]))
        prev, before = event["leaf_hash"], prev
    size, root = len(leaves), tree_root(leaves).hex()
    for checkpoint in checkpoints:
        first_bad, problem = None, None
        try:
            signed_origin, signed_size, signed_root = parse_checkpoint(
                open_note(checkpoint["note"], verifier)
            )
        except NoteError as exc:
            problem = str(exc)
        else:
            if signed_origin != origin:
                problem = f"signed for another log ({signed_origin!r})"
            elif (signed_size, signed_root.hex()) != (
                checkpoint["tree_size"],
                checkpoint["root_hash"],
            ):
                problem = "stored size or root differs from the signed note"
            elif signed_size > size:
                first_bad = size + 1
                problem = f"covers {signed_size} events, only {size} remain"
            elif tree_root(leaves[:signed_size]) != signed_root:
                problem = f"the first {signed_size} events no longer have its root"
        if problem:
            if first_bad is not None:
                problem = f"log truncated: checkpoint {checkpoint['id']} {problem}"
            else:
                problem = f"checkpoint {checkpoint['id']}: {problem}"
            return Result(False, size, root, first_bad, problem)
    return Result(True, size, root)


# --- feeding it: the API, the database, the CLI ---------------------------------------------

ORIGIN = "auditor.local/audit-log"


def api_log(client: Any, headers: dict[str, str], page: int = 3) -> tuple[list[Any], list[Any]]:
    """Every event, page by page, and the latest checkpoint (if any) from the API."""
    events: list[Any] = []
    cursor = None
    while True:
        query = f"limit={page}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"/api/v1/audit/events?{query}", headers=headers).get_json()
        events.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    response = client.get("/api/v1/audit/checkpoints/latest", headers=headers)
    checkpoints = [response.get_json()] if response.status_code == 200 else []
    return events, checkpoints


def db_log(connection: Any) -> tuple[list[Any], list[Any]]:
    checkpoints = connection.exec_driver_sql(
        "SELECT id, tree_size, root_hash, note FROM audit_checkpoint ORDER BY id"
    )
    return stored_rows(connection), [dict(row._mapping) for row in checkpoints]


def cli_result(runner: Any) -> Result:
    """``auditor audit verify`` as a Result, parsed from its documented output."""
    run = runner.invoke(args=["audit", "verify"])
    if run.exit_code == 0:
        match = re.fullmatch(
            r"audit trail intact: (\d+) events, root ([0-9a-f]{64}), \d+ checkpoints verified\n"
            r"disposition records intact: .*\n",
            run.stdout,
        )
        assert match, run.stdout
        return Result(True, int(match[1]), match[2])
    assert run.exit_code == 1
    match = re.fullmatch(
        r"Error: audit trail verification FAILED"
        r"(?: \(first bad sequence number: (-?\d+)\))?: (.*)\n",
        run.stderr,
    )
    assert match, run.stderr
    return Result(False, -1, "", None if match[1] is None else int(match[1]), match[2])


def service_vkey(runner: Any) -> str:
    return str(runner.invoke(args=["audit", "public-key", "--format", "vkey"]).stdout.strip())


def verdict(result: Result) -> tuple[bool, int | None, str | None]:
    return result.ok, result.first_bad_seq, result.problem


def independent_leaf(row: dict[str, Any]) -> str:
    return leaf_hash(row)


# --- the document's example ----------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_independent_canonical_form_reproduces_the_doc_example(n):
    row = doc_row(n)
    assert canonical_entry(row) == doc_line(f"event-{n}-canonical").encode("utf-8")
    assert leaf_hash(row) == row["leaf_hash"]


def test_independent_verifier_accepts_the_doc_example_log_and_checkpoint():
    rows = [doc_row(n) for n in (1, 2, 3)]
    note = doc_block("checkpoint-note")
    seed = bytes.fromhex(doc_line("key-seed"))
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    vkey = doc_line("vkey")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert vkey.split("+", 2)[2] == base64.b64encode(b"\x01" + raw).decode()
    root = doc_line("root-3")
    checkpoint = {"id": 1, "tree_size": 3, "root_hash": root, "note": note}
    assert verify_log(rows, [checkpoint], vkey, ORIGIN) == Result(True, 3, root)
    assert open_note(note, VerifierKey.parse(vkey)).endswith("time 2026-11-22T12:00:03.000000Z\n")


def test_independent_verifier_rejects_the_doc_example_under_another_key():
    rows = [doc_row(n) for n in (1, 2, 3)]
    other = Ed25519PrivateKey.generate().public_key()
    raw = b"\x01" + other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(ORIGIN.encode() + b"\n" + raw).digest()[:4]
    vkey = f"{ORIGIN}+{key_id.hex()}+{base64.b64encode(raw).decode()}"
    checkpoint = {"id": 1, "tree_size": 3, "root_hash": doc_line("root-3")}
    checkpoint["note"] = doc_block("checkpoint-note")
    result = verify_log(rows, [checkpoint], vkey, ORIGIN)
    assert verdict(result) == (
        False,
        None,
        "checkpoint 1: note carries no signature by the expected key",
    )


# --- the hand-written serialisation is the documented one -----------------------------------


def details(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    values = st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=12,
    )
    return st.dictionaries(text, values, max_size=6)


# PostgreSQL's JSONB refuses U+0000 (docs/audit-log.md, section 2.2)
STORABLE_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))


@given(details(st.text()))
def test_section_2_2_rules_equal_the_reference_serialisation(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert json_value(value) == expected


def test_section_2_2_escapes_and_key_order_by_example():
    value = {"b": '\x00\x1f\x7f\u2028/é😀"\\\n', "a": [-12, 0, True, None], "\uffff": 1, "😀": 2}
    assert json_value(value) == (
        '{"a":[-12,0,true,null],"b":"\\u0000\\u001f\x7f\u2028/é😀\\"\\\\\\n","\uffff":1,"😀":2}'
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=details(STORABLE_TEXT))
def test_service_leaf_hashes_match_the_independent_ones_for_any_details(session, value):
    from auditor.services import audit  # the system under test: only to write the event
    from auditor.services.context import Actor

    event = audit.record(session, actor=Actor(name="cli:tester"), action="x", details=value)
    session.flush()
    (row,) = stored_rows(session.connection(), f"WHERE seq = {event.seq}")
    assert leaf_hash(row) == row["leaf_hash"]


# --- agreement with `auditor audit verify` --------------------------------------------------


def test_independent_verifier_agrees_on_an_intact_log(session, runner, client, auth, connection):
    headers = auth("auditor")
    build_log(session, 4)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    build_log(session, 1)
    vkey = service_vkey(runner)

    expected = cli_result(runner)
    assert expected.ok and expected.tree_size == 2 + 4 + 1 + 3 + 1 + 1
    assert verify_log(*db_log(connection), vkey, ORIGIN) == expected
    assert verify_log(*api_log(client, headers), vkey, ORIGIN) == expected


def test_independent_verifier_reads_paged_api_times_in_canonical_form(session, client, auth):
    headers = auth("auditor")
    build_log(session, 2)
    events, _ = api_log(client, headers, page=1)
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert events[2]["occurred_at"] == "2026-11-22T12:00:00Z"  # the API drops a zero fraction
    assert canonical_time(events[2]["occurred_at"]) == "2026-11-22T12:00:00.000000Z"


@pytest.mark.parametrize("tamper", TAMPERS)
def test_independent_verifier_agrees_on_each_tampered_event(
    session, connection, runner, client, auth, tamper
):
    headers = auth("auditor")
    build_log(session, 6)
    vkey = service_vkey(runner)
    drop_append_only_triggers(connection)
    # forged rows are hashed by this module's code: if it disagreed with the service, the
    # service would call a forged event "altered" instead of what the tamper expects
    first_bad, problem = TAMPERS[tamper](connection, 5, independent_leaf)

    from_db = verify_log(*db_log(connection), vkey, ORIGIN)
    from_api = verify_log(*api_log(client, headers), vkey, ORIGIN)
    assert verdict(cli_result(runner)) == (False, first_bad, problem)
    assert verdict(from_db) == verdict(from_api) == (False, first_bad, problem)
    assert from_db.tree_size == from_api.tree_size == max(first_bad - 1, 0)


def test_independent_verifier_agrees_on_a_truncated_tail(session, connection, runner, client, auth):
    headers = auth("auditor")
    build_log(session, 6)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    vkey = service_vkey(runner)
    drop_append_only_triggers(connection)
    execute(connection, "DELETE FROM audit_event WHERE seq > 4")

    expected = verdict(cli_result(runner))
    assert expected[:2] == (False, 5)
    assert expected[2] is not None and expected[2].endswith("covers 8 events, only 4 remain")
    assert verdict(verify_log(*db_log(connection), vkey, ORIGIN)) == expected
    assert verdict(verify_log(*api_log(client, headers), vkey, ORIGIN)) == expected


@pytest.mark.parametrize("tamper", CHECKPOINT_TAMPERS)
def test_independent_verifier_agrees_on_each_altered_checkpoint(
    session, connection, runner, client, auth, tamper
):
    headers = auth("auditor")
    build_log(session, 3)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    vkey = service_vkey(runner)
    _, (checkpoint,) = db_log(connection)
    statement, mangle, message = CHECKPOINT_TAMPERS[tamper]
    drop_append_only_triggers(connection)
    params: dict[str, Any] = {"id": checkpoint["id"], "root": "ab" * 32}
    if mangle is not None:
        params["note"] = mangle(checkpoint["note"])
    execute(connection, statement, **params)

    expected = (False, None, f"checkpoint {checkpoint['id']}: {message}")
    assert verdict(cli_result(runner)) == expected
    assert verdict(verify_log(*db_log(connection), vkey, ORIGIN)) == expected
    assert verdict(verify_log(*api_log(client, headers), vkey, ORIGIN)) == expected


def test_independent_verifier_catches_a_rechained_rewrite_through_the_checkpoint(
    session, connection, runner, client, auth
):
    headers = auth("auditor")
    build_log(session, 6)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    vkey = service_vkey(runner)
    drop_append_only_triggers(connection)
    prev = stored_rows(connection, "WHERE seq = 3")[0]["leaf_hash"]
    for row in stored_rows(connection, "WHERE seq >= 4"):
        row = row | {"prev_hash": prev} | ({"details": {"i": 99}} if row["seq"] == 4 else {})
        prev = leaf_hash(row)
        execute(
            connection,
            "UPDATE audit_event SET details = :details, prev_hash = :prev_hash, "
            "leaf_hash = :leaf WHERE seq = :seq",
            details=json.dumps(row["details"]),
            prev_hash=row["prev_hash"],
            leaf=prev,
            seq=row["seq"],
        )

    expected = verdict(cli_result(runner))
    assert expected[:2] == (False, None)
    assert expected[2] is not None and expected[2].endswith(
        "the first 8 events no longer have its root"
    )
    assert verdict(verify_log(*db_log(connection), vkey, ORIGIN)) == expected
    assert verdict(verify_log(*api_log(client, headers), vkey, ORIGIN)) == expected
