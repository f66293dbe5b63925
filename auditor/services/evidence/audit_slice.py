"""The audit-log slice of an evidence bundle: its events, the checkpoints covering them, and the
proofs tying them together (docs/evidence.md, "The audit slice").

The slice is the contiguous run of events from the first on or after the period's start to the
last before the day after its end. Each line of ``audit/events.jsonl`` is the canonical entry
hashed into the Merkle leaf (docs/audit-log.md), byte for byte, so SHA-256(0x00 || line) is the
leaf hash. In a bundle for one client, the events of other organizations are replaced by their
sequence number and leaf hash: the tree and the chain still verify, their content is not given.

With it, in ``audit/``:

- ``checkpoint-<size>.txt``: the signed checkpoints (C2SP tlog-checkpoint notes): the latest one
  before the slice (if any), those within it, and the first one covering its last event (signed
  now when none does yet, so later exports find the same one);
- ``first.tlog-proof``, ``last.tlog-proof``: the inclusion proofs of the slice's first and last
  events in the covering checkpoint (C2SP tlog-proof); the leaves between them and these two
  proofs give the covering root again, so no event of the slice can be edited, removed, added
  or moved without the root changing;
- ``consistency-<old>-<new>.txt``: between each two consecutive checkpoints, the RFC 9162
  consistency proof, in the body C2SP tlog-witness sends a witness (``old <size>``, the proof's
  hashes, a blank line, the newer checkpoint).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import AuditCheckpoint, AuditEvent
from auditor.services import audit
from auditor.services.context import Actor
from auditor.services.errors import Conflict
from auditor.services.evidence.bag import BagWriter
from crypto import merkle, proofs

PROOF_HEADER = "c2sp.org/tlog-proof@v1"
READ = 5000


@dataclasses.dataclass
class Slice:
    """What the slice holds: first and last sequence numbers (None: no event in the period),
    the covering checkpoint's size, and what ``write`` counted."""

    first: int | None
    last: int | None
    covering: AuditCheckpoint | None = None
    events: int = 0
    redacted: int = 0
    actors: set[str] = dataclasses.field(default_factory=set)


def find(session: Session, start: dt.datetime, end: dt.datetime) -> Slice:
    """The slice of events with ``start`` <= occurred_at < ``end`` (first and last by time; the
    slice is every event between them)."""
    first = session.scalar(
        select(func.min(AuditEvent.seq)).where(
            AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end
        )
    )
    last = session.scalar(
        select(func.max(AuditEvent.seq)).where(
            AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end
        )
    )
    return Slice(first, last)


def ensure_covered(
    session: Session, found: Slice, *, key: Ed25519PrivateKey, origin: str, actor: Actor
) -> None:
    """The earliest checkpoint covering the slice's last event; signed now if none does."""
    if found.last is None:
        return
    covering = audit.covering_checkpoint(session, found.last, earliest=True)
    if covering is None:
        covering = audit.create_checkpoint(session, signing_key=key, origin=origin, actor=actor)
    found.covering = covering


def checkpoints(session: Session, found: Slice) -> list[AuditCheckpoint]:
    """The latest checkpoint before the slice, those within it, and the covering one: by size,
    one per size."""
    assert found.first is not None
    assert found.covering is not None
    before = session.scalar(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.tree_size < found.first, AuditCheckpoint.tree_size > 0)
        .order_by(AuditCheckpoint.tree_size.desc(), AuditCheckpoint.id)
        .limit(1)
    )
    within = session.scalars(
        select(AuditCheckpoint)
        .where(
            AuditCheckpoint.tree_size >= found.first,
            AuditCheckpoint.tree_size < found.covering.tree_size,
        )
        .order_by(AuditCheckpoint.tree_size, AuditCheckpoint.id)
    ).all()
    chosen: dict[int, AuditCheckpoint] = {}
    for cp in [*([before] if before else []), *within, found.covering]:
        chosen.setdefault(cp.tree_size, cp)
    return [chosen[size] for size in sorted(chosen)]


def write(session: Session, bag: BagWriter, found: Slice, organization_id: int | None) -> None:
    """Write the slice's files into ``bag`` (see the module docstring)."""
    if found.first is None or found.last is None or found.covering is None:
        with bag.payload("audit/events.jsonl"):
            pass
        return
    chain = checkpoints(session, found)
    size = found.covering.tree_size
    first, last = found.first - 1, found.last - 1  # leaf indices
    wanted = proofs.inclusion_ranges(first, size) + proofs.inclusion_ranges(last, size)
    pairs = list(itertools.pairwise(chain))
    for old, new in pairs:
        wanted += proofs.consistency_ranges(old.tree_size, new.tree_size)
    hasher = proofs.RangeHasher(wanted)
    for leaf in _leaf_hashes(session, 1, found.first - 1):
        hasher.add(leaf)
    with bag.payload("audit/events.jsonl") as out:
        for line, leaf in _events(session, found, organization_id):
            out.write(line)
            hasher.add(leaf)
    for leaf in _leaf_hashes(session, found.last + 1, size):
        hasher.add(leaf)
    for cp in chain:
        with bag.payload(f"audit/checkpoint-{cp.tree_size}.txt") as out:
            out.write(cp.note.encode())
    for name, index in (("first", first), ("last", last)):
        hashes = hasher.hashes(proofs.inclusion_ranges(index, size))
        body = [PROOF_HEADER, f"index {index}", *map(_b64, hashes), "", found.covering.note]
        with bag.payload(f"audit/{name}.tlog-proof") as out:
            out.write("\n".join(body).encode())
    for old, new in pairs:
        hashes = hasher.hashes(proofs.consistency_ranges(old.tree_size, new.tree_size))
        body = [f"old {old.tree_size}", *map(_b64, hashes), "", new.note]
        with bag.payload(f"audit/consistency-{old.tree_size}-{new.tree_size}.txt") as out:
            out.write("\n".join(body).encode())


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _leaf_hashes(session: Session, first: int, last: int) -> Iterator[bytes]:
    """The stored leaf hashes of events ``first``..``last``, in order (their content is not
    needed: it is the slice's that is checked)."""
    after = first - 1
    while after < last:
        rows = session.scalars(
            select(AuditEvent.leaf_hash)
            .where(AuditEvent.seq > after, AuditEvent.seq <= last)
            .order_by(AuditEvent.seq)
            .limit(READ * 4)
        ).all()
        if not rows:
            raise Conflict(f"the audit log has no event {after + 1}")
        for value in rows:
            yield bytes.fromhex(value)
        after += len(rows)


_EVENTS_SQL = (
    "SELECT seq, occurred_at, actor, action, object_type, object_id, organization_id, "
    "source_ip, outcome, details, prev_hash, leaf_hash FROM audit_event "
    "WHERE seq > {p} AND seq <= {p} ORDER BY seq LIMIT {p}"
)


def _events(
    session: Session, found: Slice, organization_id: int | None
) -> Iterator[tuple[bytes, bytes]]:
    """(line, leaf hash) of each event of the slice, in order. A line is the event's canonical
    entry, checked against its stored leaf hash (audit verification finds edited rows; this
    refuses to export one silently). Read with the driver's own rows: a million events are
    too many to go through the ORM's row objects and type conversions."""
    assert found.first is not None
    assert found.last is not None
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = _EVENTS_SQL.format(p=mark)
    after, expected, actors = found.first - 1, found.first, found.actors
    while after < found.last:
        rows = connection.exec_driver_sql(sql, (after, found.last, READ)).fetchall()
        if not rows:
            raise Conflict(f"the audit log has no event {after + 1}")
        for row in rows:
            seq = row[0]
            if seq != expected:
                raise Conflict(f"the audit log has no event {expected}")
            expected += 1
            leaf = bytes.fromhex(row[11])
            if organization_id is not None and row[6] != organization_id:
                found.redacted += 1
                line = {"leaf_hash": row[11], "redacted": True, "seq": seq}
                yield orjson.dumps(line) + b"\n", leaf
                continue
            entry = canonical(row, leaf)
            if entry is None:
                raise Conflict(f"audit event {seq} does not match its hash: run audit verify")
            found.events += 1
            actors.add(row[2])
            yield entry + b"\n", leaf
        after = rows[-1][0]


def _time(value: Any) -> str:
    """``audit.format_time`` of a stored timestamp: SQLite's text (UTC, microseconds) turned
    around as text, a datetime formatted."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}Z"
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return audit.format_time(value)


def canonical(row: tuple[Any, ...], leaf: bytes) -> bytes | None:
    """``audit.canonical_entry`` of a row (as ``_EVENTS_SQL`` selects it, timestamps and JSON
    as text on SQLite) if it has the leaf hash ``leaf``, else None. orjson writes the same bytes
    as the standard library for what the audit trail stores; the leaf hash says so for each
    event, and the standard library is asked when it does not match."""
    seq, occurred_at, actor, action, object_type, object_id, org, ip, outcome, details, prev = row[
        :11
    ]
    entry = {
        "action": action,
        "actor": actor,
        "details": orjson.loads(details) if isinstance(details, str) else details,
        "object_id": object_id,
        "object_type": object_type,
        "occurred_at": _time(occurred_at),
        "organization_id": org,
        "outcome": outcome,
        "prev_hash": prev,
        "seq": seq,
        "source_ip": ip,
        "v": audit.FORMAT_VERSION,
    }
    fast = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
    if merkle.leaf_hash(fast) == leaf:
        return fast
    slow = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return slow if merkle.leaf_hash(slow) == leaf else None
