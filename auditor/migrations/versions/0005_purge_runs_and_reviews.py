"""Purge runs, disposition review batches, dispositions citing their run, anonymised records.

Columns are added to ``disposition`` with plain ADD COLUMN (never a batch table rebuild, which on
SQLite would drop its append-only triggers).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "disposition_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("extend_until", sa.Date(), nullable=True),
        sa.Column("transfer_reference", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'approved', 'extended', 'rejected')",
            name=op.f("ck_disposition_review_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_review")),
    )
    op.create_table(
        "purge_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("executor", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("last_record_id", sa.BigInteger(), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("certificate", JSON, nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'interrupted')",
            name=op.f("ck_purge_run_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_run")),
    )
    op.create_table(
        "disposition_review_item",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["disposition_review.id"],
            name=op.f("fk_disposition_review_item_review_id_disposition_review"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("review_id", "record_id", name=op.f("pk_disposition_review_item")),
    )
    op.create_index(
        op.f("ix_disposition_review_item_record_id"),
        "disposition_review_item",
        ["record_id"],
        unique=False,
    )
    op.add_column("disposition", sa.Column("run_id", sa.Integer(), nullable=True))
    op.add_column("disposition", sa.Column("review_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_disposition_run_id"), "disposition", ["run_id"], unique=False)
    op.create_index(
        "ix_disposition_subject_type_subject_ref",
        "disposition",
        ["subject_type", "subject_ref"],
        unique=False,
    )
    op.add_column("record", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_column("anonymised_at")
    op.drop_index("ix_disposition_subject_type_subject_ref", table_name="disposition")
    op.drop_index(op.f("ix_disposition_run_id"), table_name="disposition")
    # SQLite >= 3.35 drops a column in place, keeping the table and its triggers
    op.drop_column("disposition", "review_id")
    op.drop_column("disposition", "run_id")
    op.drop_index(
        op.f("ix_disposition_review_item_record_id"), table_name="disposition_review_item"
    )
    op.drop_table("disposition_review_item")
    op.drop_table("purge_run")
    op.drop_table("disposition_review")
