"""Retention holds (R19) and scheduled job runs (unique per job and scheduled time).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column(
            "counts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('running', 'success', 'failure')", name=op.f("ck_job_run_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
        sa.UniqueConstraint("job", "scheduled_for", name=op.f("uq_job_run_job_scheduled_for")),
    )
    op.create_table(
        "retention_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_value", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("open_ended", sa.Boolean(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('legal', 'recourse', 'breach', 'cra_objection')",
            name=op.f("ck_retention_hold_kind"),
        ),
        sa.CheckConstraint(
            "scope IN ('subject', 'client', 'system', 'category', 'record')",
            name=op.f("ck_retention_hold_scope"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_hold")),
    )
    with op.batch_alter_table("retention_hold", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_hold_scope_value"), ["scope_value"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("retention_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_hold_scope_value"))

    op.drop_table("retention_hold")
    op.drop_table("job_run")
