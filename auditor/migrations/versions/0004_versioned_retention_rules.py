"""Versioned retention rules, and an optional per-record rule that replaces the category default.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("requires_review", sa.Boolean(), nullable=False),
        sa.Column(
            "definition", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('delete', 'anonymise', 'crypto_shred', 'transfer_then_delete')",
            name=op.f("ck_retention_rule_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rule")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_retention_rule_code_version")),
    )
    with op.batch_alter_table("retention_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_rule_category"), ["category"], unique=False)

    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_rule", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_column("retention_rule")

    with op.batch_alter_table("retention_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_rule_category"))

    op.drop_table("retention_rule")
