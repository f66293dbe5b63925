"""Checking the disposition records against the audit log (docs/disposition.md section 6).

What is checked, and what each problem is called:

- every batch's lines, rebuilt from its row and its dispositions, hash to the digest the audit
  event ``audit_seq`` recorded for it (and to the batch's own): a disposition or a batch edited;
- a batch's id range holds exactly its lines: a disposition deleted, or added to the table;
- every batch an audit event lists exists: a batch deleted with its lines;
- every completed run's stored certificate matches what its dispositions give, and hashes to the
  ``certificate_digest`` its completion event recorded: a certificate patched, or deleted.

Batches converted from the one-row shape (line format 1, before migration 0011) were written
before their events carried digests: they are checked against their own digest and their runs'
certificates only, and counted apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditor.models import AuditEvent, Disposition, DispositionBatch, PurgeRun
from auditor.services.retention import dispositions as records
from auditor.services.retention import lines as canonical

COMMITTING = ("retention.dispose", "vault.purge")
_CHUNK = 5000


@dataclasses.dataclass
class Check:
    """What ``verify`` looked at and every problem it found, each in a sentence."""

    batches: int = 0
    lines: int = 0
    runs: int = 0
    legacy_batches: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok}


def verify(session: Session) -> Check:
    check = Check()
    committed = _committed(session)
    for batch in canonical.batches(session):
        check.batches += 1
        check.legacy_batches += batch["line_format"] == 1
        check.lines += _check_batch(session, batch, committed.pop(batch["id"], None), check)
    for batch_id, (seq, _lines, _digest) in sorted(committed.items()):
        check.problems.append(
            f"batch {batch_id} was deleted: audit event {seq} commits to it, and it is not stored"
        )
    stored = session.scalar(select(func.count()).select_from(Disposition)) or 0
    if stored != check.lines:
        check.problems += _strays(session)
    check.runs = _check_runs(session, check)
    return check


def _committed(session: Session) -> dict[int, tuple[int, int, str]]:
    """Batch id -> (the audit event's seq, its line count, its digest), from every event that
    commits to batches."""
    found: dict[int, tuple[int, int, str]] = {}
    query = select(AuditEvent.seq, AuditEvent.details).where(AuditEvent.action.in_(COMMITTING))
    for seq, details in session.execute(query.order_by(AuditEvent.seq)):
        for entry in (details or {}).get("batches", []):
            found[int(entry["batch"])] = (seq, int(entry["lines"]), str(entry["digest"]))
    return found


def _check_batch(
    session: Session,
    batch: dict[str, Any],
    commitment: tuple[int, int, str] | None,
    check: Check,
) -> int:
    """Check one batch; returns how many of its lines are stored."""
    name = _name(batch)
    rows = canonical.rows_of(session, batch)
    own = [r for r in rows if r["batch_id"] == batch["id"]]
    ids = {r["id"] for r in own}
    first, count = batch["first_id"], batch["lines"]
    missing = [i for i in range(first, first + count) if i not in ids]
    if missing:
        check.problems.append(
            f"{name}: disposition {_ids(missing)} deleted ({len(own)} of {count} lines stored)"
        )
    for row in rows:
        if row["batch_id"] != batch["id"]:
            check.problems.append(
                f"{name}: disposition {row['id']} names batch {row['batch_id']} instead"
            )
    digest = canonical.digest_of(canonical.line(batch, row) for row in own)
    changed = f"ids {first}-{first + count - 1}"
    if batch["line_format"] == 1:
        if digest != batch["digest"] and not missing:
            check.problems.append(f"{name}: a disposition in {changed} was edited")
        return len(own)
    if commitment is None:
        check.problems.append(
            f"{name}: no audit event commits to it (audit event {batch['audit_seq']} does not "
            "list it): the batch was added or renumbered"
        )
        return len(own)
    seq, lines, recorded = commitment
    if seq != batch["audit_seq"]:
        check.problems.append(
            f"{name}: it names audit event {batch['audit_seq']}, event {seq} commits to it"
        )
    if lines != count:
        check.problems.append(
            f"{name}: audit event {seq} recorded {lines} lines, the batch says {count}"
        )
    if digest != recorded and not missing:
        what = "the batch or a disposition in " + changed
        check.problems.append(
            f"{name}: {what} was edited (its lines hash to {digest[:16]}..., audit event {seq} "
            f"recorded {recorded[:16]}...)"
        )
    return len(own)


def _strays(session: Session) -> list[str]:
    """Dispositions in no batch's id range (or naming a batch that does not exist)."""
    ranges = sorted(
        (first, first + lines, batch_id)
        for batch_id, first, lines in session.execute(
            select(DispositionBatch.id, DispositionBatch.first_id, DispositionBatch.lines)
        )
    )
    problems = []
    at = 0
    for row_id, batch_id in _all_ids(session):
        while at < len(ranges) and ranges[at][1] <= row_id:
            at += 1
        inside = at < len(ranges) and ranges[at][0] <= row_id < ranges[at][1]
        if not inside:
            problems.append(f"disposition {row_id} (batch {batch_id}) is in no batch: it was added")
    return problems


def _all_ids(session: Session) -> Iterator[tuple[int, int]]:
    after = 0
    while True:
        rows = session.execute(
            select(Disposition.id, Disposition.batch_id)
            .where(Disposition.id > after)
            .order_by(Disposition.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        yield from ((r.id, r.batch_id) for r in rows)
        after = rows[-1].id


def _check_runs(session: Session, check: Check) -> int:
    """Each completed run's stored certificate against its dispositions and its event."""
    recorded = {
        str(object_id): (seq, (details or {}).get("certificate_digest"))
        for seq, object_id, details in session.execute(
            select(AuditEvent.seq, AuditEvent.object_id, AuditEvent.details).where(
                AuditEvent.action == "retention.run_complete"
            )
        )
    }
    count = 0
    for run in session.scalars(
        select(PurgeRun).where(PurgeRun.status == "completed").order_by(PurgeRun.id)
    ):
        count += 1
        seq, digest = recorded.pop(str(run.id), (None, None))
        stored = run.certificate
        if stored is None:
            if digest is not None:
                check.problems.append(
                    f"purge run {run.id}: its certificate was deleted (audit event {seq} "
                    "recorded its digest)"
                )
            continue
        fresh = records.run_certificate(session, run, digest_key_id=stored.get("digest_key_id", ""))
        for field in _differences(stored, fresh):
            check.problems.append(
                f"purge run {run.id}: its stored certificate's {field} differs from what its "
                "dispositions give"
            )
        if stored.get("format") == records.CERTIFICATE_FORMAT_V1:
            continue
        if digest is None:
            check.problems.append(
                f"purge run {run.id}: no completion event records its certificate's digest"
            )
        elif records.certificate_digest(stored) != digest:
            check.problems.append(
                f"purge run {run.id}: its stored certificate was changed (it no longer hashes to "
                f"the digest audit event {seq} recorded)"
            )
    for object_id, (seq, digest) in sorted(recorded.items()):
        if digest is not None:
            check.problems.append(
                f"purge run {object_id} was deleted or reopened: audit event {seq} recorded its "
                "completion"
            )
    return count


def _differences(stored: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """The fields of a stored certificate that its dispositions no longer give (v1 certificates:
    the dispositions' summary only)."""
    if stored.get("format") == records.CERTIFICATE_FORMAT_V1:
        keys = ["dispositions"]
    else:
        keys = sorted((set(stored) | set(fresh)) - {"audit"})
    found = []
    for key in keys:
        a, b = stored.get(key), fresh.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += [f"{key}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            found.append(key)
    return found


def _name(batch: dict[str, Any]) -> str:
    run = f"run {batch['run_id']}" if batch["run_id"] is not None else "no run"
    rule = f", rule {batch['rule']} v{batch['rule_version']}" if batch["rule"] else ""
    return f"batch {batch['id']} ({run}{rule}, {batch['subject_type']})"


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
