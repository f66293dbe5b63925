"""Access reviews and deprovisioning (R35, R36).

- ``access_review``: a review's frozen snapshot of every account (roles, grants, tokens) with its
  SHA-256, who started and completed it.
- ``access_review_decision``: keep or revoke per account, with the reason, and the
  deprovisioning a revocation caused.
- ``deprovisioning``: when an account was deactivated and its tokens, web sessions and vault
  grants removed. Deactivations before this release have none (their times were not kept).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("snapshot", JSON, nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.Column("completed_at", TIME, nullable=True),
        sa.CheckConstraint("status IN ('open', 'completed')", name=op.f("ck_access_review_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_review")),
    )
    op.create_table(
        "deprovisioning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("deactivated_at", TIME, nullable=False),
        sa.Column("deactivated_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("tokens_revoked", sa.Integer(), nullable=False),
        sa.Column("tokens_revoked_at", TIME, nullable=True),
        sa.Column("sessions_ended", sa.Integer(), nullable=False),
        sa.Column("grants_removed", JSON, nullable=False),
        sa.Column("grants_removed_at", TIME, nullable=True),
        sa.Column("completed_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_deprovisioning_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deprovisioning")),
    )
    op.create_index(op.f("ix_deprovisioning_user_id"), "deprovisioning", ["user_id"])
    op.create_table(
        "access_review_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("deprovisioning_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "decision IN ('keep', 'revoke')", name=op.f("ck_access_review_decision_decision")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["access_review.id"],
            name=op.f("fk_access_review_decision_review_id_access_review"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_access_review_decision_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["deprovisioning_id"],
            ["deprovisioning.id"],
            name=op.f("fk_access_review_decision_deprovisioning_id_deprovisioning"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_review_decision")),
        sa.UniqueConstraint(
            "review_id", "user_id", name=op.f("uq_access_review_decision_review_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_access_review_decision_review_id"), "access_review_decision", ["review_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_access_review_decision_review_id"), table_name="access_review_decision")
    op.drop_table("access_review_decision")
    op.drop_index(op.f("ix_deprovisioning_user_id"), table_name="deprovisioning")
    op.drop_table("deprovisioning")
    op.drop_table("access_review")
