"""The audit-trail tests' kit: a log of ordinary events, its stored rows read back in the form of
docs/audit-log.md, and tampering with them (and with checkpoints) in SQL.

Tampering drops the append-only triggers inside the test's transaction and edits rows with SQL;
DDL is transactional on SQLite and PostgreSQL, so the rollback at the end restores the triggers.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from auditor.models import AuditCheckpoint, AuditEvent
from auditor.services import audit
from auditor.services.context import Actor
from crypto.note import load_private_key, sign_note
from tests.factories.clock import NOW
from tests.factories.keys import ORIGIN, SIGNING_KEY_PEM

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-log.md"
T0 = NOW  # the first event of build_log
COLUMNS = (
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
    "leaf_hash",
)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

Row = dict[str, Any]
LeafOf = Callable[[Row], str]


# --- shared SQL helpers ----------------------------------------------------------------------


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def drop_append_only_triggers(connection: Connection) -> None:
    """What an attacker with the database does first (trigger names: migration 0001)."""
    for table in ("audit_event", "audit_checkpoint"):
        if is_postgres(connection):
            connection.exec_driver_sql(f"DROP TRIGGER {table}_append_only ON {table}")
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_truncate ON {table}")
        else:
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
            connection.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")


def stored_rows(connection: Connection, where: str = "") -> list[Row]:
    """audit_event rows in the document's form: occurred_at canonical text, details a dict."""
    result = connection.execute(
        text(f"SELECT {', '.join(COLUMNS)} FROM audit_event {where} ORDER BY seq")
    )
    rows = []
    for values in result:
        row = dict(zip(COLUMNS, values, strict=True))
        moment = row["occurred_at"]
        if isinstance(moment, str):  # SQLite keeps naive UTC text
            moment = dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)
        row["occurred_at"] = moment.astimezone(dt.UTC).strftime(TIME_FORMAT)
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
        rows.append(row)
    return rows


def stored_row(connection: Connection, seq: int) -> Row:
    (row,) = stored_rows(connection, f"WHERE seq = {int(seq)}")
    return row


def execute(connection: Connection, sql: str, **params: Any) -> None:
    connection.execute(text(sql), params)


def build_log(session: Session, count: int = 6) -> None:
    """Append ``count`` ordinary events and commit (a savepoint release in tests)."""
    for i in range(count):
        audit.record(
            session,
            actor=Actor(name=f"user:{i + 1}", source_ip="192.0.2.10"),
            action="test.action",
            object_type="thing",
            object_id=i,
            details={"i": i, "note": "Montréal", "flags": [True, None]},
            now=T0 + dt.timedelta(seconds=i, microseconds=1000 * i),
        )
    session.commit()


# Each tamper edits the log around event k (2 < k < size) and returns what verify must report:
# (first bad sequence number, problem). ``leaf_of`` computes a forged row's leaf hash, so the
# same tampering can be done with the service's hashing or an independent implementation.


def _edit_details(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    execute(connection, "UPDATE audit_event SET details = :d WHERE seq = :k", d='{"i": 99}', k=k)
    return k, f"event {k} was altered (its hash does not match its content)"


def _edit_actor(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    execute(connection, "UPDATE audit_event SET actor = 'user:666' WHERE seq = :k", k=k)
    return k, f"event {k} was altered (its hash does not match its content)"


def _edit_time(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    execute(
        connection,
        "UPDATE audit_event SET occurred_at = "
        "(SELECT occurred_at FROM audit_event WHERE seq = 1) WHERE seq = :k",
        k=k,
    )
    return k, f"event {k} was altered (its hash does not match its content)"


def _edit_and_rehash(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    row = stored_row(connection, k) | {"actor": "user:666"}
    execute(
        connection,
        "UPDATE audit_event SET actor = :actor, leaf_hash = :leaf WHERE seq = :k",
        actor=row["actor"],
        leaf=leaf_of(row),
        k=k,
    )
    return k + 1, f"event {k + 1} does not chain to event {k}"


def _delete(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    execute(connection, "DELETE FROM audit_event WHERE seq = :k", k=k)
    return k, f"event {k} is missing (next stored is {k + 1})"


def _insert(connection: Connection, k: int, leaf_of: LeafOf, *, chained: bool) -> None:
    """Renumber k.. up by one and slip a forged copy of event k-1 in as event k."""
    previous = stored_row(connection, k - 1)
    # through negative numbers: the primary key is checked row by row on PostgreSQL
    execute(connection, "UPDATE audit_event SET seq = -seq WHERE seq >= :k", k=k)
    execute(connection, "UPDATE audit_event SET seq = 1 - seq WHERE seq < 0")
    forged = previous | {
        "seq": k,
        "actor": "user:666",
        "prev_hash": previous["leaf_hash"] if chained else "f" * 64,
    }
    execute(
        connection,
        "INSERT INTO audit_event (seq, occurred_at, actor, action, object_type, object_id, "
        "organization_id, source_ip, outcome, details, prev_hash, leaf_hash) "
        "SELECT :k, occurred_at, :actor, action, object_type, object_id, organization_id, "
        "source_ip, outcome, details, :prev, :leaf FROM audit_event WHERE seq = :source",
        k=k,
        actor=forged["actor"],
        prev=forged["prev_hash"],
        leaf=leaf_of(forged),
        source=k - 1,
    )


def _insert_chained(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    _insert(connection, k, leaf_of, chained=True)
    return k, f"event {k} was inserted (event {k + 1} chains to event {k - 1})"


def _insert_unchained(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    _insert(connection, k, leaf_of, chained=False)
    return k, f"event {k} does not chain to event {k - 1}"


def _swap(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    execute(connection, "UPDATE audit_event SET seq = -1 WHERE seq = :k", k=k)
    execute(connection, "UPDATE audit_event SET seq = :k WHERE seq = :next", k=k, next=k + 1)
    execute(connection, "UPDATE audit_event SET seq = :next WHERE seq = -1", next=k + 1)
    return k, f"event {k} does not chain to event {k - 1}"


def _renumber_first_to_zero(connection: Connection, k: int, leaf_of: LeafOf) -> tuple[int, str]:
    execute(connection, "UPDATE audit_event SET seq = 0 WHERE seq = 1")
    return 0, "event 0 is out of order"


TAMPERS: dict[str, Callable[[Connection, int, LeafOf], tuple[int, str]]] = {
    "edited-details": _edit_details,
    "edited-actor": _edit_actor,
    "edited-time": _edit_time,
    "edited-and-rehashed": _edit_and_rehash,
    "deleted-from-middle": _delete,
    "inserted": _insert_chained,
    "inserted-unchained": _insert_unchained,
    "reordered": _swap,
    "renumbered-to-zero": _renumber_first_to_zero,
}


def rechain_from(connection: Connection, k: int, leaf_of: LeafOf) -> None:
    """Rewrite event k and recompute every later hash: only a checkpoint can catch this."""
    prev = stored_row(connection, k - 1)["leaf_hash"]
    for row in stored_rows(connection, f"WHERE seq >= {int(k)}"):
        row = row | {"prev_hash": prev} | ({"actor": "user:666"} if row["seq"] == k else {})
        prev = leaf_of(row)
        execute(
            connection,
            "UPDATE audit_event SET actor = :actor, prev_hash = :prev_hash, leaf_hash = :leaf "
            "WHERE seq = :seq",
            actor=row["actor"],
            prev_hash=row["prev_hash"],
            leaf=prev,
            seq=row["seq"],
        )


# --- helpers of this module -------------------------------------------------------------------


def event_from_row(row: Row) -> AuditEvent:
    values = {key: row[key] for key in COLUMNS if key in row}
    values["occurred_at"] = dt.datetime.fromisoformat(row["occurred_at"])
    return AuditEvent(**values)


def service_leaf(row: Row) -> str:
    return audit.compute_leaf_hash(event_from_row(row))


def doc_block(name: str) -> str:
    """The fenced block after ``<!-- example:name -->`` in docs/audit-log.md, fences removed."""
    pattern = rf"<!-- example:{re.escape(name)} -->\n```[a-z]*\n(.*?)```"
    match = re.search(pattern, DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"docs/audit-log.md has no example block {name!r}"
    return match.group(1)


def doc_line(name: str) -> str:
    block = doc_block(name)
    assert block.count("\n") == 1 and block.endswith("\n"), name
    return block[:-1]


def doc_row(n: int) -> Row:
    row: Row = json.loads(doc_block(f"event-{n}-row"))
    return row


def verify_cli(runner: Any, *args: str) -> Any:
    return runner.invoke(args=["audit", "verify", *args])


def failure_text(first_bad: int | None, problem: str) -> str:
    where = "" if first_bad is None else f" (first bad sequence number: {first_bad})"
    return f"Error: audit trail verification FAILED{where}: {problem}\n"


def latest_checkpoint_id(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.max(AuditCheckpoint.id))) or 0


# --- checkpoint tampering: (statement, how the note is mangled, what verify reports) ---------


def _flip_signature(note: str) -> str:
    cut = len(note) - 20  # inside the signature, past the key ID
    return note[:cut] + ("A" if note[cut] != "A" else "B") + note[cut + 1 :]


def _other_root_in_text(note: str) -> str:
    lines = note.split("\n")
    lines[2] = base64.b64encode(b"\x00" * 32).decode()
    return "\n".join(lines)


def _resigned_by_another_key(note: str) -> str:
    return sign_note(note.split("\n\n")[0] + "\n", ORIGIN, Ed25519PrivateKey.generate())


def _signed_for_another_origin(note: str) -> str:
    body = "other.example/log\n" + note.split("\n", 1)[1].split("\n\n")[0] + "\n"
    return sign_note(body, ORIGIN, load_private_key(SIGNING_KEY_PEM))


CHECKPOINT_TAMPERS = {
    "signature-flipped": (
        "UPDATE audit_checkpoint SET note = :note WHERE id = :id",
        _flip_signature,
        "note signature does not verify",
    ),
    "root-in-note-changed": (
        "UPDATE audit_checkpoint SET note = :note WHERE id = :id",
        _other_root_in_text,
        "note signature does not verify",
    ),
    "resigned-by-another-key": (
        "UPDATE audit_checkpoint SET note = :note WHERE id = :id",
        _resigned_by_another_key,
        "note carries no signature by the expected key",
    ),
    "signed-for-another-origin": (
        "UPDATE audit_checkpoint SET note = :note WHERE id = :id",
        _signed_for_another_origin,
        "signed for another log ('other.example/log')",
    ),
    "root-column-changed": (
        "UPDATE audit_checkpoint SET root_hash = :root WHERE id = :id",
        None,
        "stored size or root differs from the signed note",
    ),
    "size-column-changed": (
        "UPDATE audit_checkpoint SET tree_size = 2 WHERE id = :id",
        None,
        "stored size or root differs from the signed note",
    ),
}
