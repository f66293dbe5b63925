"""The audit trail: the only writer of audit events, their hash chain, Merkle tree and checkpoints.

The canonical form and hashing are specified in docs/audit-log.md; change both together.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from auditor.db import set_access, utcnow
from auditor.models import AuditCheckpoint, AuditEvent
from auditor.services.context import Actor
from auditor.services.errors import ValidationFailed
from crypto import merkle
from crypto.errors import SignatureInvalid
from crypto.note import Checkpoint, open_note, sign_note

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64
OUTCOMES = ("success", "failure", "denied")
_PG_LOCK_KEY = 0x6175646974  # "audit": serialises writers so the chain stays linear


def _check_json(value: Any, path: str = "details") -> None:
    """Details hold only strings, integers, booleans, null, lists and objects: no floats."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be strings")
            _check_json(item, f"{path}.{key}")
        return
    raise TypeError(f"{path}: {type(value).__name__} is not allowed in audit details")


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_time_or_none(moment: dt.datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 unescaped: the bytes the log's leaves and the service's
    other digests (breach reports, access-review snapshots) are taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_entry(event: AuditEvent) -> bytes:
    """The bytes hashed into the leaf: sorted-key compact JSON, UTF-8 (docs/audit-log.md)."""
    entry = {
        "v": FORMAT_VERSION,
        "seq": event.seq,
        "occurred_at": format_time(event.occurred_at),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "organization_id": event.organization_id,
        "source_ip": event.source_ip,
        "outcome": event.outcome,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return canonical_json(entry)


def compute_leaf_hash(event: AuditEvent) -> str:
    return merkle.leaf_hash(canonical_entry(event)).hex()


def lock_head(session: Session) -> None:
    """Serialise with every other audit writer until the caller's transaction ends (PostgreSQL:
    a transaction-level advisory lock; SQLite has one writer at a time anyway)."""
    _lock_head(session)


def _lock_head(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str = "success",
    object_type: str | None = None,
    object_id: str | int | None = None,
    organization_id: int | None = None,
    details: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: if this fails, the action fails with it."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    details = dict(details or {})
    if actor.via is not None:
        details.setdefault("via", actor.via)
    _check_json(details)
    _lock_head(session)
    session.flush()
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.leaf_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        occurred_at=now or utcnow(),
        actor=actor.name,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        organization_id=organization_id,
        source_ip=actor.source_ip,
        outcome=outcome,
        details=details,
        prev_hash=head.leaf_hash if head else GENESIS_HASH,
    )
    event.leaf_hash = compute_leaf_hash(event)
    session.add(event)
    session.flush()
    return event


def record_refusal(
    session: Session, *, actor: Actor, action: str, outcome: str = "denied", **event: Any
) -> AuditEvent:
    """A refused action, recorded in its own transaction: whatever the request did so far is
    rolled back, the refusal is committed, and the caller raises its error. A reading request
    becomes a writing one for it (auditor/db.py: access)."""
    session.rollback()
    set_access("write")
    found = record(session, actor=actor, action=action, outcome=outcome, **event)
    session.commit()
    return found


def iter_events(session: Session, *, batch: int = 5000) -> Iterator[AuditEvent]:
    """Every event in sequence order, in bounded memory.

    Rows with a sequence number below 1 are included: they exist only if someone tampered, and
    verify() must see them to say so.
    """
    after: int | None = None
    while True:
        query = select(AuditEvent).order_by(AuditEvent.seq).limit(batch)
        if after is not None:
            query = query.where(AuditEvent.seq > after)
        rows = session.scalars(query).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        # only our rows: expunge_all() would detach the caller's objects and lose their changes
        for row in rows:
            session.expunge(row)


@dataclass
class VerifyReport:
    ok: bool
    tree_size: int
    root_hash: str
    checkpoints_checked: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(session: Session, *, public_key: Ed25519PublicKey | None, origin: str) -> VerifyReport:
    """Recompute the chain and the tree; check every stored checkpoint against them.

    Names the first bad sequence number for an edited, removed, inserted or reordered event, and
    reports a log truncated below a checkpoint.
    """
    checkpoints = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    wanted_sizes = {cp.tree_size for cp in checkpoints}
    roots_at: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in wanted_sizes else {}
    builder = merkle.TreeBuilder()
    expected_seq, prev, before_prev = 1, GENESIS_HASH, None
    recorded: dict[str, tuple[int, dict[str, Any]]] = {}
    for event in iter_events(session):
        bad = _check_event(event, expected_seq, prev, before_prev)
        if bad:
            size, root = builder.size, builder.root()
            if 0 < bad[0] <= size:  # an event already counted was inserted: report what precedes it
                size, root = merkle.tree_head(
                    bytes.fromhex(e.leaf_hash)
                    for e in itertools.islice(iter_events(session), bad[0] - 1)
                )
            return VerifyReport(False, size, root.hex(), 0, bad[0], bad[1])
        builder.append_leaf_hash(bytes.fromhex(event.leaf_hash))
        if builder.size in wanted_sizes:
            roots_at[builder.size] = builder.root()
        expected_seq, prev, before_prev = event.seq + 1, event.leaf_hash, prev
        if event.action == "audit.checkpoint" and event.outcome == "success":
            recorded[event.object_id or ""] = (event.seq, event.details)
    size, root = builder.size, builder.root()
    for checked, cp in enumerate(checkpoints):
        problem = _check_checkpoint(cp, roots_at, size, public_key, origin)
        if problem:
            first_bad = size + 1 if cp.tree_size > size else None
            return VerifyReport(False, size, root.hex(), checked, first_bad, problem)
    missing = _check_recorded_checkpoints(recorded, checkpoints)
    if missing:
        return VerifyReport(False, size, root.hex(), len(checkpoints), None, missing)
    return VerifyReport(True, size, root.hex(), len(checkpoints))


def _check_event(
    event: AuditEvent, expected_seq: int, prev: str, before_prev: str | None
) -> tuple[int, str] | None:
    if event.seq != expected_seq:
        if event.seq > expected_seq:
            return expected_seq, f"event {expected_seq} is missing (next stored is {event.seq})"
        return event.seq, f"event {event.seq} is out of order"
    if event.prev_hash != prev:
        if event.prev_hash == before_prev:
            # this event was written right after event seq-2: the one between was slipped in later
            target = f"event {event.seq - 2}" if event.seq > 2 else "the genesis hash"
            return event.seq - 1, (
                f"event {event.seq - 1} was inserted (event {event.seq} chains to {target})"
            )
        return event.seq, f"event {event.seq} does not chain to event {event.seq - 1}"
    if compute_leaf_hash(event) != event.leaf_hash:
        return event.seq, f"event {event.seq} was altered (its hash does not match its content)"
    return None


def _check_recorded_checkpoints(
    recorded: dict[str, tuple[int, dict[str, Any]]], checkpoints: Sequence[AuditCheckpoint]
) -> str | None:
    """Every signing is itself an event: a checkpoint row deleted or swapped shows up here."""
    stored = {str(cp.id): cp for cp in checkpoints}
    for checkpoint_id, (seq, details) in recorded.items():
        cp = stored.get(checkpoint_id)
        if cp is None:
            return f"checkpoint {checkpoint_id} was deleted (event {seq} records its signing)"
        if (cp.tree_size, cp.root_hash) != (details.get("tree_size"), details.get("root_hash")):
            return f"checkpoint {checkpoint_id} differs from event {seq}, which recorded it"
    return None


def _check_checkpoint(
    cp: AuditCheckpoint,
    roots_at: dict[int, bytes],
    size: int,
    public_key: Ed25519PublicKey | None,
    origin: str,
) -> str | None:
    if public_key is not None:
        try:
            body = Checkpoint.parse(open_note(cp.note, origin, public_key))
        except SignatureInvalid as exc:
            return f"checkpoint {cp.id}: {exc}"
        if body.origin != origin:
            return f"checkpoint {cp.id}: signed for another log ({body.origin!r})"
        if body.tree_size != cp.tree_size or body.root_hash.hex() != cp.root_hash:
            return f"checkpoint {cp.id}: stored size or root differs from the signed note"
    if cp.tree_size > size:
        return f"log truncated: checkpoint {cp.id} covers {cp.tree_size} events, only {size} remain"
    if roots_at.get(cp.tree_size, b"").hex() != cp.root_hash:
        return f"checkpoint {cp.id}: the first {cp.tree_size} events no longer have its root"
    return None


def tree_head(session: Session) -> tuple[int, bytes]:
    return merkle.tree_head(bytes.fromhex(e.leaf_hash) for e in iter_events(session))


def covering_checkpoint(
    session: Session, seq: int, *, earliest: bool = False
) -> AuditCheckpoint | None:
    """A signed checkpoint whose tree includes event ``seq``: the latest one, or with
    ``earliest`` the first (the smallest tree that covers it)."""
    order = AuditCheckpoint.tree_size if earliest else AuditCheckpoint.id.desc()
    return session.scalar(
        select(AuditCheckpoint).where(AuditCheckpoint.tree_size >= seq).order_by(order).limit(1)
    )


def create_checkpoint(
    session: Session,
    *,
    signing_key: Ed25519PrivateKey,
    origin: str,
    actor: Actor,
    now: dt.datetime | None = None,
) -> AuditCheckpoint:
    """Sign the current tree head as a C2SP checkpoint, store it and audit the signing."""
    _lock_head(session)
    session.flush()
    moment = now or utcnow()
    size, root = tree_head(session)
    body = Checkpoint(origin, size, root, (f"time {format_time(moment)}",))
    checkpoint = AuditCheckpoint(
        tree_size=size,
        root_hash=root.hex(),
        created_at=moment,
        note=sign_note(body.text(), origin, signing_key),
    )
    session.add(checkpoint)
    session.flush()
    record(
        session,
        actor=actor,
        action="audit.checkpoint",
        object_type="audit_checkpoint",
        object_id=checkpoint.id,
        details={"tree_size": size, "root_hash": root.hex()},
        now=moment,
    )
    return checkpoint


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).first()


def list_events(
    session: Session,
    *,
    after: int | None,
    limit: int,
    action: str | None = None,
    organization_id: int | None = None,
    since: dt.datetime | None = None,
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.seq).limit(limit)
    if after is not None:
        query = query.where(AuditEvent.seq > after)
    if action:
        query = query.where(AuditEvent.action == action)
    if organization_id is not None:
        query = query.where(AuditEvent.organization_id == organization_id)
    if since is not None:
        if since.tzinfo is None:
            raise ValidationFailed("since must include a time zone")
        query = query.where(AuditEvent.occurred_at >= since)
    return list(session.scalars(query).all())


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def verify_and_record(
    session: Session, *, public_key: Ed25519PublicKey | None, origin: str, actor: Actor
) -> VerifyReport:
    """verify(), then record who verified and what they found (the API's verification)."""
    report = verify(session, public_key=public_key, origin=origin)
    record(
        session,
        actor=actor,
        action="audit.verify",
        outcome="success" if report.ok else "failure",
        details={"tree_size": report.tree_size, "ok": report.ok},
    )
    return report
