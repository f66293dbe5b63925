"""Compliance findings and the runs of the checks (``compliance_run``, ``compliance_finding``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "compliance_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_run")),
    )
    op.create_table(
        "compliance_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.String(length=300), nullable=False),
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "severity IN ('critical', 'high', 'medium', 'low', 'info')",
            name=op.f("ck_compliance_finding_severity"),
        ),
        sa.CheckConstraint(
            "state IN ('new', 'unchanged', 'resolved')", name=op.f("ck_compliance_finding_state")
        ),
        sa.ForeignKeyConstraint(
            ["first_run_id"],
            ["compliance_run.id"],
            name=op.f("fk_compliance_finding_first_run_id_compliance_run"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["compliance_run.id"],
            name=op.f("fk_compliance_finding_last_run_id_compliance_run"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_finding")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_compliance_finding_finding_id")),
    )
    op.create_index(op.f("ix_compliance_finding_check"), "compliance_finding", ["check"])


def downgrade() -> None:
    op.drop_index(op.f("ix_compliance_finding_check"), table_name="compliance_finding")
    op.drop_table("compliance_finding")
    op.drop_table("compliance_run")
