"""Privacy requests (R1-R9, R29, R30): the request, its documents and its search tasks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "privacy_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_reference", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("requester_contact", sa.String(length=320), nullable=False),
        sa.Column("subject_identifiers", JSON, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("forwarded_by_id", sa.Integer(), nullable=True),
        sa.Column("client_instructions", sa.Text(), nullable=True),
        sa.Column("respond_to", sa.String(length=16), nullable=False),
        sa.Column("verification_method", sa.String(length=32), nullable=True),
        sa.Column("verified_by", sa.String(length=200), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification_note", sa.Text(), nullable=True),
        sa.Column("extension_reason", sa.String(length=40), nullable=True),
        sa.Column("extension_notice_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension_notice_text", sa.Text(), nullable=True),
        sa.Column("extension_opc_statement", sa.Boolean(), nullable=False),
        sa.Column("extended_by", sa.String(length=200), nullable=True),
        sa.Column("extended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fee_estimate_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fee_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fee_amount_cents", sa.Integer(), nullable=True),
        sa.Column("refusal_grounds", JSON, nullable=False),
        sa.Column("refusal_reasons", sa.Text(), nullable=True),
        sa.Column("closing_note", sa.Text(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("complaint_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("complaint_note", sa.Text(), nullable=True),
        sa.Column("deemed_refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_retention_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'web_form', 'mail', 'phone', 'in_person', 'client_forwarded')",
            name=op.f("ck_privacy_request_channel"),
        ),
        sa.CheckConstraint(
            "respond_to IN ('individual', 'client')", name=op.f("ck_privacy_request_respond_to")
        ),
        sa.CheckConstraint(
            "status IN ('received', 'verifying', 'in_progress', 'extended', 'completed', 'partially_refused', 'refused', 'withdrawn')",
            name=op.f("ck_privacy_request_status"),
        ),
        sa.CheckConstraint(
            "type IN ('access', 'correction', 'deletion', 'consent_withdrawal', 'portability')",
            name=op.f("ck_privacy_request_type"),
        ),
        sa.ForeignKeyConstraint(
            ["forwarded_by_id"],
            ["organization.id"],
            name=op.f("fk_privacy_request_forwarded_by_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subject.id"],
            name=op.f("fk_privacy_request_subject_id_data_subject"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_request")),
        sa.UniqueConstraint("reference", name=op.f("uq_privacy_request_reference")),
    )
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_request_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_privacy_request_external_reference"),
            ["external_reference"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_privacy_request_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_privacy_request_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "request_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('written_request', 'correspondence', 'identity_evidence', 'extension_notice', 'fee_estimate', 'response', 'refusal_letter', 'other')",
            name=op.f("ck_request_document_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_request.id"],
            name=op.f("fk_request_document_request_id_privacy_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_document")),
    )
    with op.batch_alter_table("request_document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_document_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "request_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("holds_records", sa.Boolean(), nullable=False),
        sa.Column("searched", sa.Boolean(), nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("found", sa.Boolean(), nullable=True),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["privacy_request.id"],
            name=op.f("fk_request_task_request_id_privacy_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["system.id"],
            name=op.f("fk_request_task_system_id_system"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_task")),
        sa.UniqueConstraint(
            "request_id", "system_id", name=op.f("uq_request_task_request_id_system_id")
        ),
    )
    with op.batch_alter_table("request_task", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_task_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_task_request_id"))

    op.drop_table("request_task")
    with op.batch_alter_table("request_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_document_request_id"))

    op.drop_table("request_document")
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_request_subject_id"))
        batch_op.drop_index(batch_op.f("ix_privacy_request_status"))
        batch_op.drop_index(batch_op.f("ix_privacy_request_external_reference"))
        batch_op.drop_index(batch_op.f("ix_privacy_request_due_at"))

    op.drop_table("privacy_request")
