"""The credentials vault (canaries, client keys, secrets, grants, hand-overs) and dispositions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _protect_dispositions() -> None:
    """Disposition records are evidence kept at least 7 years (R23): never updated or deleted."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER disposition_append_only BEFORE UPDATE OR DELETE ON disposition "
            "FOR EACH ROW EXECUTE FUNCTION auditor_refuse_change()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER disposition_no_{verb.lower()} BEFORE {verb} ON disposition "
                "BEGIN SELECT RAISE(ABORT, 'disposition is append-only'); END"
            )


def upgrade() -> None:
    op.create_table(
        "disposition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_ref", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column(
            "trigger_evidence",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "holds_checked",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("approver", sa.String(length=200), nullable=True),
        sa.Column("executor", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column(
            "counts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("post_check", sa.String(length=200), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "method IN ('delete', 'anonymise', 'crypto_shred', 'transfer_then_delete')",
            name=op.f("ck_disposition_method"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition")),
    )
    with op.batch_alter_table("disposition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposition_created_at"), ["created_at"], unique=False)

    op.create_table(
        "master_key_canary",
        sa.Column("master_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("canary", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("master_version", name=op.f("pk_master_key_canary")),
    )
    op.create_table(
        "client_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_client_key_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_key")),
        sa.UniqueConstraint(
            "organization_id", "version", name=op.f("uq_client_key_organization_id_version")
        ),
    )
    with op.batch_alter_table("client_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_key_master_version"), ["master_version"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_client_key_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("secrets_count", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("exported_by", sa.String(length=200), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledgement", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_handover_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover")),
    )
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handover_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("client_key_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('password', 'api_key', 'totp_seed', 'note')", name=op.f("ck_secret_kind")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_secret_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["system.id"],
            name=op.f("fk_secret_system_id_system"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret")),
        sa.UniqueConstraint("ref", name=op.f("uq_secret_ref")),
    )
    with op.batch_alter_table("secret", schema=None) as batch_op:
        batch_op.create_index(
            "ix_secret_organization_id_client_key_version",
            ["organization_id", "client_key_version"],
            unique=False,
        )

    op.create_table(
        "vault_grant",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_vault_grant_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_vault_grant_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "organization_id", name=op.f("pk_vault_grant")),
    )

    _protect_dispositions()


def downgrade() -> None:
    op.drop_table("vault_grant")
    with op.batch_alter_table("secret", schema=None) as batch_op:
        batch_op.drop_index("ix_secret_organization_id_client_key_version")

    op.drop_table("secret")
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_organization_id"))

    op.drop_table("handover")
    with op.batch_alter_table("client_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_key_organization_id"))
        batch_op.drop_index(batch_op.f("ix_client_key_master_version"))

    op.drop_table("client_key")
    op.drop_table("master_key_canary")
    with op.batch_alter_table("disposition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposition_created_at"))

    op.drop_table("disposition")
