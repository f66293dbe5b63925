"""Disposition batches: what a batch's dispositions share is stored once (docs/disposition.md).

- ``disposition_batch``: run, rule and version, review and approver, executor, method, post-check,
  holds in force, the shared trigger evidence, the audit event committing to the batch, its
  first line id, line count and digest.
- ``disposition``: one narrow row per disposed thing (batch, subject ref, client, category, the
  keyed digest as 32 bytes, due and start dates, other varying evidence).
- The rows of the one-wide-row shape are converted with nothing lost: consecutive rows sharing
  every batch field become one batch of line format 1, whose lines rebuild the old canonical
  lines byte for byte (their ids kept), so earlier certificates and reports still verify.
- Append-only: the database refuses UPDATE and DELETE on both tables, and on a completed
  ``purge_run`` (its certificate included).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
V1_COLUMNS = (
    "id", "created_at", "subject_type", "subject_ref", "organization_id", "category", "digest",
    "rule", "rule_version", "trigger_evidence", "holds_checked", "approver", "executor",
    "method", "counts", "post_check", "audit_seq", "run_id", "review_id",
)  # fmt: skip
BATCH_KEY = (
    "run_id", "created_at", "subject_type", "rule", "rule_version", "review_id", "approver",
    "executor", "method", "post_check", "audit_seq",
)  # fmt: skip
_TYPES: dict[str, Any] = {
    "created_at": TIME,
    "trigger_evidence": JSON,
    "holds_checked": JSON,
    "counts": JSON,
    "evidence": JSON,
    "legacy": JSON,
    "due_on": sa.Date(),
    "started_on": sa.Date(),
}
_CHUNK = 5000


def _table(name: str, columns: tuple[str, ...], **types: Any) -> sa.TableClause:
    found = _TYPES | types
    return sa.table(name, *(sa.column(c, found.get(c)) for c in columns))


V1 = _table("disposition_v1", V1_COLUMNS)
BATCH_COLUMNS = (
    "id", "created_at", "run_id", "subject_type", "rule", "rule_version", "review_id",
    "approver", "executor", "method", "post_check", "holds_in_force", "evidence", "start_field",
    "audit_seq", "first_id", "lines", "digest", "line_format", "legacy",
)  # fmt: skip
_BATCH_TYPES: dict[str, Any] = {"evidence": JSON, "legacy": JSON, "created_at": TIME}
BATCH = sa.table(
    "disposition_batch", *(sa.column(c, _BATCH_TYPES.get(c)) for c in BATCH_COLUMNS)
)  # the batch's digest is hex text, not bytes
LINE_COLUMNS = (
    "id", "batch_id", "subject_ref", "organization_id", "category", "digest", "due_on",
    "started_on", "evidence", "legacy",
)  # fmt: skip
LINE = _table("disposition", LINE_COLUMNS, digest=sa.LargeBinary())


def _refuse_changes(table: str, when: str | None = None) -> None:
    """UPDATE and DELETE on ``table`` (on rows matching ``when``) refused by the database."""
    if op.get_bind().dialect.name == "postgresql":
        condition = f"WHEN ({when}) " if when else ""
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW {condition}EXECUTE FUNCTION auditor_refuse_change()"
        )
        return
    condition = f"WHEN {when} " if when else ""
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} {condition}"
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _allow_changes(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _create_tables() -> None:
    op.create_table(
        "disposition_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("approver", sa.String(length=200), nullable=True),
        sa.Column("executor", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("post_check", sa.String(length=200), nullable=False),
        sa.Column("holds_in_force", sa.Integer(), nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("start_field", sa.String(length=64), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("first_id", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("line_format", sa.Integer(), nullable=False),
        sa.Column("legacy", JSON, nullable=True),
        sa.CheckConstraint(
            "method IN ('delete', 'anonymise', 'crypto_shred', 'transfer_then_delete')",
            name=op.f("ck_disposition_batch_method"),
        ),
        sa.CheckConstraint("line_format IN (1, 2)", name=op.f("ck_disposition_batch_line_format")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_batch")),
    )
    for column in ("created_at", "run_id", "audit_seq"):
        op.create_index(
            op.f(f"ix_disposition_batch_{column}"), "disposition_batch", [column], unique=False
        )
    op.create_table(
        "disposition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("subject_ref", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.LargeBinary(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("evidence", JSON, nullable=True),
        sa.Column("legacy", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition")),
    )
    op.create_index(op.f("ix_disposition_subject_ref"), "disposition", ["subject_ref"])


def _set_sequence(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )


def _old_rows(connection: Any) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        rows = connection.execute(
            sa.select(V1).where(V1.c.id > after).order_by(V1.c.id).limit(_CHUNK)
        ).all()
        if not rows:
            return
        for row in rows:
            yield dict(row._mapping)
        after = rows[-1].id


def _v1_line(row: dict[str, Any], created_at: str) -> bytes:
    values = {name: row[name] for name in V1_COLUMNS}
    values["created_at"] = created_at
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _format_time(moment: Any) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return str(moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (*(row[k] for k in BATCH_KEY), json.dumps(row["holds_checked"], sort_keys=True))


def _convert(connection: Any) -> None:
    """Old rows to batches of line format 1, consecutive rows sharing every batch field."""
    batches: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    count = 0

    def close() -> None:
        nonlocal count
        if not current:
            return
        count += 1
        batches.append(_batch(count, current))
        lines.extend(_line(count, row) for row in current)
        current.clear()

    for row in _old_rows(connection):
        # a batch's lines are consecutive: a gap in the ids starts a new batch
        if current and (_key(row) != _key(current[-1]) or row["id"] != current[-1]["id"] + 1):
            close()
        current.append(row)
        if len(lines) >= _CHUNK:
            _flush(connection, batches, lines)
    close()
    _flush(connection, batches, lines)


def _batch(batch_id: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    first = rows[0]
    moment = _format_time(first["created_at"])
    sha = hashlib.sha256(b"".join(_v1_line(r, moment) + b"\n" for r in rows))
    checked = first["holds_checked"] or []
    in_force = (
        checked[0].get("holds_in_force") if checked and isinstance(checked[0], dict) else None
    )
    return {
        **{k: first[k] for k in BATCH_KEY},
        "id": batch_id,
        "holds_in_force": in_force if isinstance(in_force, int) else None,
        "evidence": {},
        "start_field": None,
        "first_id": first["id"],
        "lines": len(rows),
        "digest": sha.hexdigest(),
        "line_format": 1,
        "legacy": {"holds_checked": first["holds_checked"]},
    }


def _line(batch_id: int, row: dict[str, Any]) -> dict[str, Any]:
    digest, legacy = row["digest"], {"counts": row["counts"]}
    raw = None
    if digest is not None:
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raw = None
        if raw is None or raw.hex() != digest:
            raw, legacy["digest"] = None, digest  # kept as it was written
    return {
        "id": row["id"],
        "batch_id": batch_id,
        "subject_ref": row["subject_ref"],
        "organization_id": row["organization_id"],
        "category": row["category"],
        "digest": raw,
        "due_on": None,
        "started_on": None,
        "evidence": row["trigger_evidence"],
        "legacy": legacy,
    }


def _flush(connection: Any, batches: list[dict[str, Any]], lines: list[dict[str, Any]]) -> None:
    """Write the batches and lines gathered so far (no foreign key: in any order)."""
    if batches:
        connection.execute(sa.insert(BATCH), batches)
        batches.clear()
    if lines:
        connection.execute(sa.insert(LINE), lines)
        lines.clear()


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    _allow_changes("disposition")
    for name in ("created_at", "run_id", "subject_type_subject_ref"):
        op.drop_index(f"ix_disposition_{name}", table_name="disposition")
    op.rename_table("disposition", "disposition_v1")
    if postgres:
        op.execute("ALTER SEQUENCE disposition_id_seq RENAME TO disposition_v1_id_seq")
        op.execute("ALTER TABLE disposition_v1 RENAME CONSTRAINT pk_disposition TO pk_v1")
    _create_tables()
    _convert(connection)
    op.drop_table("disposition_v1")
    _set_sequence("disposition")
    _set_sequence("disposition_batch")
    _refuse_changes("disposition")
    _refuse_changes("disposition_batch")
    _refuse_changes("purge_run", "OLD.status = 'completed'")


def downgrade() -> None:
    """Back to one wide row per disposition: format-1 lines exactly as they were; format-2
    lines with their batch's fields (their holds as ``holds_checked``, no per-line counts)."""
    connection = op.get_bind()
    for table in ("purge_run", "disposition_batch", "disposition"):
        _allow_changes(table)
    rows = connection.execute(
        sa.text(
            "SELECT d.id, d.subject_ref, d.organization_id, d.category, d.digest, d.due_on, "
            "d.started_on, d.evidence, d.legacy, b.created_at, b.subject_type, b.rule, "
            "b.rule_version, b.review_id, b.approver, b.executor, b.method, b.post_check, "
            "b.holds_in_force, b.evidence AS batch_evidence, b.start_field, b.audit_seq, "
            "b.run_id, b.line_format, b.legacy AS batch_legacy "
            "FROM disposition d JOIN disposition_batch b ON b.id = d.batch_id ORDER BY d.id"
        ).columns(
            digest=sa.LargeBinary(),
            due_on=sa.Date(),
            started_on=sa.Date(),
            evidence=JSON,
            legacy=JSON,
            created_at=TIME,
            batch_evidence=JSON,
            batch_legacy=JSON,
        )
    ).all()
    old = [_downgraded(dict(r._mapping)) for r in rows]
    op.drop_table("disposition")
    op.drop_table("disposition_batch")
    op.create_table(
        "disposition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_ref", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("trigger_evidence", JSON, nullable=False),
        sa.Column("holds_checked", JSON, nullable=False),
        sa.Column("approver", sa.String(length=200), nullable=True),
        sa.Column("executor", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("post_check", sa.String(length=200), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "method IN ('delete', 'anonymise', 'crypto_shred', 'transfer_then_delete')",
            name=op.f("ck_disposition_method"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition")),
    )
    op.create_index("ix_disposition_created_at", "disposition", ["created_at"])
    op.create_index("ix_disposition_run_id", "disposition", ["run_id"])
    op.create_index(
        "ix_disposition_subject_type_subject_ref", "disposition", ["subject_type", "subject_ref"]
    )
    if old:
        connection.execute(sa.insert(_table("disposition", V1_COLUMNS)), old)
    _set_sequence("disposition")
    _refuse_changes("disposition")


def _downgraded(row: dict[str, Any]) -> dict[str, Any]:
    legacy, batch_legacy = row["legacy"] or {}, row["batch_legacy"] or {}
    digest = row["digest"].hex() if row["digest"] is not None else legacy.get("digest")
    if row["line_format"] == 1:
        evidence, checked, counts = (
            row["evidence"] or {},
            batch_legacy.get("holds_checked", []),
            legacy.get("counts", {}),
        )
    else:
        evidence = dict(row["batch_evidence"] or {})
        if row["due_on"] is not None:
            evidence["due_on"] = row["due_on"].isoformat()
        if row["started_on"] is not None and row["start_field"]:
            evidence[row["start_field"]] = row["started_on"].isoformat()
        evidence.update(row["evidence"] or {})
        checked = [
            {"holds_in_force": row["holds_in_force"], "listed_in_audit_seq": row["audit_seq"]}
        ]
        counts = {}
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "subject_type": row["subject_type"],
        "subject_ref": row["subject_ref"],
        "organization_id": row["organization_id"],
        "category": row["category"],
        "digest": digest,
        "rule": row["rule"],
        "rule_version": row["rule_version"],
        "trigger_evidence": evidence,
        "holds_checked": checked,
        "approver": row["approver"],
        "executor": row["executor"],
        "method": row["method"],
        "counts": counts,
        "post_check": row["post_check"],
        "audit_seq": row["audit_seq"],
        "run_id": row["run_id"],
        "review_id": row["review_id"],
    }
