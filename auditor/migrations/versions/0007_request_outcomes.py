"""Request outcomes: corrections with their old values (R10), dispute notes (R11), and the items
a response lists (deleted with its disposition, kept with its basis and disposal date, ...).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "dispute_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_request.id"],
            name=op.f("fk_dispute_note_request_id_privacy_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subject.id"],
            name=op.f("fk_dispute_note_subject_id_data_subject"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_note")),
    )
    op.create_index(
        op.f("ix_dispute_note_subject_id"), "dispute_note", ["subject_id"], unique=False
    )
    op.create_table(
        "request_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("third_parties", JSON, nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('applied', 'rejected')", name=op.f("ck_request_correction_status")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_request.id"],
            name=op.f("fk_request_correction_request_id_privacy_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subject.id"],
            name=op.f("fk_request_correction_subject_id_data_subject"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_correction")),
    )
    op.create_index(
        op.f("ix_request_correction_request_id"), "request_correction", ["request_id"], unique=False
    )
    op.create_index(
        op.f("ix_request_correction_subject_id"), "request_correction", ["subject_id"], unique=False
    )
    op.create_table(
        "request_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("system", sa.String(length=64), nullable=True),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("dispose_on", sa.Date(), nullable=True),
        sa.Column("disposition_id", sa.Integer(), nullable=True),
        sa.Column("hold_ids", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('deleted', 'kept', 'corrected', 'redacted', 'exported', 'withdrawn')",
            name=op.f("ck_request_item_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_request.id"],
            name=op.f("fk_request_item_request_id_privacy_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_item")),
    )
    op.create_index(
        "ix_request_item_request_id_kind", "request_item", ["request_id", "kind"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_request_item_request_id_kind", table_name="request_item")
    op.drop_table("request_item")
    op.drop_index(op.f("ix_request_correction_subject_id"), table_name="request_correction")
    op.drop_index(op.f("ix_request_correction_request_id"), table_name="request_correction")
    op.drop_table("request_correction")
    op.drop_index(op.f("ix_dispute_note_subject_id"), table_name="dispute_note")
    op.drop_table("dispute_note")
