"""Reading disposition records back: the digest of a set of them, a purge run's certificate, and
the disposition report for any period (R20, R22). The canonical lines are ``lines``'s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
from collections import Counter
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from auditor.models import AuditCheckpoint, DispositionBatch, PurgeRun
from auditor.services import audit
from auditor.services.errors import FieldError, NotFound, ValidationFailed
from auditor.services.retention import lines as canonical

CERTIFICATE_FORMAT = "auditor-disposition-certificate/2"
CERTIFICATE_FORMAT_V1 = "auditor-disposition-certificate/1"
REPORT_FORMAT = "auditor-disposition-report/2"
FIELDS = canonical.FIELDS
CSV_FIELDS = FIELDS + tuple(f for f in canonical.FIELDS_V1 if f not in FIELDS)
_GROUP = operator.itemgetter("rule", "rule_version", "category", "subject_type", "method")


class Summary:
    """Counts, time span and digest of a stream of dispositions, in one pass."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.count = 0
        self.by_rule: Counter[tuple[str | None, int | None, str | None, str, str]] = Counter()
        self.by_category: Counter[str] = Counter()
        self.first: Any = None
        self.last: Any = None

    def add_many(self, values: list[dict[str, Any]]) -> None:
        """Add canonical lines in id order (a purge batch's, as written)."""
        if not values:
            return
        self.sha.update(b"".join([canonical.encode(v) + b"\n" for v in values]))
        self.count += len(values)
        self.by_rule.update(_GROUP(v) for v in values)
        self.by_category.update(v["category"] or "-" for v in values)
        if self.first is None:
            self.first = values[0]
        self.last = values[-1]

    def add_encoded(
        self,
        encoded: bytes,
        count: int,
        group: tuple[str | None, int | None, str | None, str, str],
        first: dict[str, Any],
        last: dict[str, Any],
    ) -> None:
        """Add ``count`` lines already encoded (each followed by a newline), in id order, all of
        one rule, version, category, kind and method; ``first`` and ``last``: the first and last
        line's ``id`` and ``created_at``."""
        if not count:
            return
        self.sha.update(encoded)
        self.count += count
        self.by_rule[group] += count
        self.by_category[group[2] or "-"] += count
        if self.first is None:
            self.first = first
        self.last = last

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "digest": self.sha.hexdigest(),
            "digest_algorithm": "sha256 of canonical lines in id order (docs/disposition.md)",
            "first_id": self.first["id"] if self.first else None,
            "last_id": self.last["id"] if self.last else None,
            "first_at": self.first["created_at"] if self.first else None,
            "last_at": self.last["created_at"] if self.last else None,
            "by_rule": [
                {
                    "rule": rule,
                    "version": version,
                    "category": category,
                    "subject_type": kind,
                    "method": method,
                    "count": count,
                }
                for (rule, version, category, kind, method), count in sorted(
                    self.by_rule.items(), key=str
                )
            ],
            "by_category": dict(sorted(self.by_category.items())),
        }


def summarise(session: Session, *where: ColumnElement[bool]) -> Summary:
    """The summary of the lines of the batches matching ``where``."""
    summary = Summary()
    for _batch, found in canonical.lines_of(session, *where):
        summary.add_many(found)
    return summary


# -- a run's certificate --------------------------------------------------------------------------


def get_run(session: Session, run_id: int) -> PurgeRun:
    run = session.get(PurgeRun, run_id)
    if run is None:
        raise NotFound("No purge run with that id.")
    return run


def certificate_body(
    session: Session,
    run: PurgeRun,
    *,
    digest_key_id: str,
    summary: Summary | None = None,
    status: str | None = None,
    finished_at: dt.datetime | None = None,
    counts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A run's certificate without its ``audit`` member: what the run's completion event commits
    to (``certificate_digest``). ``summary``: the run's own, accumulated as it wrote its lines;
    otherwise it is recomputed from the disposition records. ``status``, ``finished_at`` and
    ``counts``: the run's as it is being closed (the row is written once, after)."""
    if summary is None:
        summary = summarise(session, DispositionBatch.run_id == run.id)
    status = status or run.status
    finished_at = finished_at or run.finished_at
    counts = run.counts if counts is None else counts
    return {
        "format": CERTIFICATE_FORMAT,
        "run": {
            "id": run.id,
            "as_of": run.as_of.isoformat(),
            "status": status,
            "trigger": run.trigger,
            "executor": run.executor,
            "started_at": audit.format_time(run.started_at),
            "finished_at": audit.format_time(finished_at) if finished_at else None,
        },
        "dispositions": summary.to_dict(),
        "blocked": counts.get("blocked", {}),
        "credentials": counts.get("credentials", []),
        "digest_key_id": digest_key_id,
    }


def certificate_digest(certificate: dict[str, Any]) -> str:
    """SHA-256 of a certificate's canonical JSON without its ``audit`` member."""
    body = {k: v for k, v in certificate.items() if k != "audit"}
    return hashlib.sha256(canonical.encode(body)).hexdigest()


def run_certificate(
    session: Session, run: PurgeRun, *, digest_key_id: str, summary: Summary | None = None
) -> dict[str, Any]:
    """What a run disposed of, provably: counts per rule and category, its time span, the digest
    of its disposition lines, and the audit positions (and checkpoint) that cover it; recomputed
    from the disposition records (in the format of the certificate the run stored)."""
    cert = certificate_body(session, run, digest_key_id=digest_key_id, summary=summary)
    if (run.certificate or {}).get("format") == CERTIFICATE_FORMAT_V1:
        cert["format"] = CERTIFICATE_FORMAT_V1
    covering = run.counts.get("audit_seq_completed")
    checkpoint = None
    if covering is not None:
        checkpoint = audit.covering_checkpoint(session, covering, earliest=True)
    cert["audit"] = {
        "run_started_seq": run.counts.get("audit_seq_started"),
        "run_completed_seq": covering,
        "checkpoint": _checkpoint(checkpoint),
    }
    return cert


def stored_certificate(session: Session, run: PurgeRun) -> dict[str, Any]:
    """The certificate the run stored when it completed, with the checkpoint that covers it."""
    assert run.certificate is not None
    cert = dict(run.certificate)
    covering = cert["audit"]["run_completed_seq"]
    checkpoint = audit.covering_checkpoint(session, covering, earliest=True)
    cert["audit"] = {**cert["audit"], "checkpoint": _checkpoint(checkpoint)}
    return cert


def _checkpoint(row: AuditCheckpoint | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"tree_size": row.tree_size, "root_hash": row.root_hash, "note": row.note}


# -- the disposition report for a period (R22) ----------------------------------------------------


def period_filter(start: dt.datetime, end: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    return (DispositionBatch.created_at >= start, DispositionBatch.created_at < end)


def disposition_report(
    session: Session, *, start: dt.date, end: dt.date, include_rows: bool = True
) -> dict[str, Any]:
    """Every disposition recorded from ``start`` (inclusive) to ``end`` (exclusive), UTC days, with
    the SQL that selects them so a reader can rerun it (completeness evidence, R22), and the
    batches they belong to with the audit events that commit to them."""
    if end <= start:
        raise ValidationFailed(
            "The period is empty.", [FieldError("end", "must be after the start date")]
        )
    low = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    high = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    where = period_filter(low, high)
    dialect = session.get_bind().dialect
    # the values written as the database stores them (SQLite: '2026-12-01 00:00:00.000000'), so
    # the stated SQL, pasted into sqlite3 or psql, selects exactly these rows
    stated = canonical.joined(*where).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    summary = Summary()
    rows: list[dict[str, Any]] = []
    batches = []
    for batch, found in canonical.lines_of(session, *where):
        summary.add_many(found)
        batches.append(batch_entry(batch))
        if include_rows:
            rows += found
    return {
        "format": REPORT_FORMAT,
        "period": {"start": start.isoformat(), "end_exclusive": end.isoformat()},
        "query": {
            "sql": " ".join(str(stated).split()),
            "parameters": {"start": _stored(low, dialect), "end": _stored(high, dialect)},
            "dialect": dialect.name,
        },
        "summary": summary.to_dict(),
        "batches": batches,
        "dispositions": rows if include_rows else None,
    }


def batch_entry(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch as a report lists it: where its lines are and what commits to them."""
    return {
        "id": batch["id"],
        "run_id": batch["run_id"],
        "first_id": batch["first_id"],
        "lines": batch["lines"],
        "digest": batch["digest"],
        "line_format": batch["line_format"],
        "audit_seq": batch["audit_seq"],
    }


def dispositions_of(session: Session, record_id: int) -> list[dict[str, Any]]:
    """The dispositions of one record, by its id (an auditor's look-up of a single record)."""
    return canonical.find(session, "record", str(record_id))


def _stored(moment: dt.datetime, dialect: Any) -> str:
    """A moment as the database's own text for it (the literal the stated SQL holds)."""
    render = DispositionBatch.__table__.c.created_at.type.literal_processor(dialect)
    assert render is not None
    literal: str = render(moment)
    return literal.strip("'")
