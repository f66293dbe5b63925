"""Reading disposition records back: the canonical form and digest of a set of them, a purge
run's certificate, and the disposition report for any period (R20, R22).

The canonical line of one disposition is its fields as sorted-key compact JSON (UTF-8, times as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``); the digest of a set is SHA-256 over each line followed by a
newline, in id order. docs/disposition.md specifies both so an auditor can recompute them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from auditor.models import AuditCheckpoint, Disposition, PurgeRun
from auditor.services import audit
from auditor.services.errors import FieldError, NotFound, ValidationFailed

CERTIFICATE_FORMAT = "auditor-disposition-certificate/1"
REPORT_FORMAT = "auditor-disposition-report/1"
FIELDS = (
    "id",
    "created_at",
    "subject_type",
    "subject_ref",
    "organization_id",
    "category",
    "digest",
    "rule",
    "rule_version",
    "trigger_evidence",
    "holds_checked",
    "approver",
    "executor",
    "method",
    "counts",
    "post_check",
    "audit_seq",
    "run_id",
    "review_id",
)
_FIELD_SET = frozenset(FIELDS)
_GROUP = operator.itemgetter("rule", "rule_version", "category", "subject_type", "method")
_CHUNK = 2000


def to_dict(row: Any) -> dict[str, Any]:
    """A disposition (ORM object, plain row, or the dict it was inserted from) as its canonical
    field mapping."""
    if isinstance(row, dict):
        values = dict(row) if row.keys() == _FIELD_SET else {name: row.get(name) for name in FIELDS}
    else:
        values = {name: getattr(row, name) for name in FIELDS}
    values["created_at"] = _format_time(values["created_at"])
    return values


@functools.lru_cache(maxsize=64)
def _format_time(moment: dt.datetime) -> str:
    """``audit.format_time``, once per distinct time (a purge batch's rows share theirs)."""
    return audit.format_time(moment)


def canonical_line(row: Any) -> bytes:
    return _canonical(to_dict(row))


def _canonical(values: dict[str, Any]) -> bytes:
    """Sorted-key compact JSON, UTF-8 unescaped: orjson writes the same bytes as
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` for these values
    (strings, integers, null, lists, objects; no floats), several times faster."""
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def select_rows(*where: ColumnElement[bool]) -> Select[Any]:
    """Disposition rows (plain columns, no ORM objects) matching ``where``, in id order."""
    return select(Disposition.__table__).where(*where).order_by(Disposition.id)


def _stream(session: Session, *where: ColumnElement[bool]) -> Iterator[Any]:
    """Matching rows in id order, a chunk at a time (keyset), so memory stays flat."""
    after = 0
    while True:
        rows = session.execute(select_rows(*where, Disposition.id > after).limit(_CHUNK)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id


class Summary:
    """Counts, time span and digest of a stream of dispositions, in one pass."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.count = 0
        self.by_rule: Counter[tuple[str | None, int | None, str | None, str, str]] = Counter()
        self.by_category: Counter[str] = Counter()
        self.first: Any = None
        self.last: Any = None

    def add(self, row: Any) -> None:
        self.add_many([row])

    def add_many(self, rows: Iterable[Any]) -> None:
        """Add rows in id order (a purge batch's, as written)."""
        values = [to_dict(row) for row in rows]
        if not values:
            return
        self.sha.update(b"".join([_canonical(v) + b"\n" for v in values]))
        self.count += len(values)
        self.by_rule.update(_GROUP(v) for v in values)
        self.by_category.update(v["category"] or "-" for v in values)
        if self.first is None:
            self.first = values[0]
        self.last = values[-1]

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
    summary = Summary()
    for row in _stream(session, *where):
        summary.add(row)
    return summary


# -- a run's certificate --------------------------------------------------------------------------


def get_run(session: Session, run_id: int) -> PurgeRun:
    run = session.get(PurgeRun, run_id)
    if run is None:
        raise NotFound("No purge run with that id.")
    return run


def run_certificate(
    session: Session, run: PurgeRun, *, digest_key_id: str, summary: Summary | None = None
) -> dict[str, Any]:
    """What a run disposed of, provably: counts per rule and category, its time span, the digest
    of its disposition records, and the audit positions (and checkpoint) that cover it.

    ``summary``: the run's own, accumulated as it wrote its dispositions (the same canonical
    lines in the same order); otherwise it is recomputed from the disposition rows."""
    if summary is None:
        summary = summarise(session, Disposition.run_id == run.id)
    checkpoint = None
    covering = run.counts.get("audit_seq_completed")
    if covering is not None:
        checkpoint = audit.covering_checkpoint(session, covering, earliest=True)
    return {
        "format": CERTIFICATE_FORMAT,
        "run": {
            "id": run.id,
            "as_of": run.as_of.isoformat(),
            "status": run.status,
            "trigger": run.trigger,
            "executor": run.executor,
            "started_at": audit.format_time(run.started_at),
            "finished_at": audit.format_time(run.finished_at) if run.finished_at else None,
        },
        "dispositions": summary.to_dict(),
        "blocked": run.counts.get("blocked", {}),
        "credentials": run.counts.get("credentials", []),
        "digest_key_id": digest_key_id,
        "audit": {
            "run_started_seq": run.counts.get("audit_seq_started"),
            "run_completed_seq": covering,
            "checkpoint": _checkpoint(checkpoint),
        },
    }


def _checkpoint(row: AuditCheckpoint | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"tree_size": row.tree_size, "root_hash": row.root_hash, "note": row.note}


# -- the disposition report for a period (R22) ----------------------------------------------------


def period_filter(start: dt.datetime, end: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    return (Disposition.created_at >= start, Disposition.created_at < end)


def disposition_report(
    session: Session, *, start: dt.date, end: dt.date, include_rows: bool = True
) -> dict[str, Any]:
    """Every disposition recorded from ``start`` (inclusive) to ``end`` (exclusive), UTC days, with
    the SQL that selected them so a reader can rerun it (completeness evidence, R22)."""
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
    stated = select_rows(*where).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    summary = Summary()
    rows: list[dict[str, Any]] = []
    for row in _stream(session, *where):
        summary.add(row)
        if include_rows:
            rows.append(to_dict(row))
    return {
        "format": REPORT_FORMAT,
        "period": {"start": start.isoformat(), "end_exclusive": end.isoformat()},
        "query": {
            "sql": " ".join(str(stated).split()),
            "parameters": {"start": _stored(low, dialect), "end": _stored(high, dialect)},
            "dialect": dialect.name,
        },
        "summary": summary.to_dict(),
        "dispositions": rows if include_rows else None,
    }


def _stored(moment: dt.datetime, dialect: Any) -> str:
    """A moment as the database's own text for it (the literal the stated SQL holds)."""
    render = Disposition.__table__.c.created_at.type.literal_processor(dialect)
    assert render is not None
    literal: str = render(moment)
    return literal.strip("'")
