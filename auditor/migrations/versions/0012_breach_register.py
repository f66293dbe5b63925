"""The breach register (R24-R27): ``breach``, ``breach_notification`` and ``breach_report``.

- ``breach``: one row per breach of security safeguards, whether or not it poses a real risk of
  significant harm, with its assessment and the Québec register's fields; ``retain_until`` is
  when the retention purge may dispose of it (R25).
- ``breach_notification``: the notices given (OPC, CAI, individuals, organizations, public).
- ``breach_report``: the versions of a report to a regulator, each frozen with its SHA-256; the
  database refuses to change a version once it is recorded as sent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
SENT = "OLD.sent_at IS NOT NULL"


def _freeze_sent_reports() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER breach_report_sent_frozen BEFORE UPDATE ON breach_report "
            f"FOR EACH ROW WHEN ({SENT}) EXECUTE FUNCTION auditor_refuse_change()"
        )
        return
    op.execute(
        f"CREATE TRIGGER breach_report_sent_frozen BEFORE UPDATE ON breach_report WHEN {SENT} "
        "BEGIN SELECT RAISE(ABORT, 'breach_report is append-only once sent'); END"
    )


def upgrade() -> None:
    op.create_table(
        "breach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("quebec", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("occurred_from", sa.Date(), nullable=False),
        sa.Column("occurred_to", sa.Date(), nullable=True),
        sa.Column("occurred_approximate", sa.Boolean(), nullable=False),
        sa.Column("discovered_at", TIME, nullable=False),
        sa.Column("determined_at", TIME, nullable=True),
        sa.Column("circumstances", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("information", sa.Text(), nullable=False),
        sa.Column("information_unknown_reason", sa.Text(), nullable=True),
        sa.Column("categories", JSON, nullable=False),
        sa.Column("affected_count", sa.Integer(), nullable=True),
        sa.Column("affected_approximate", sa.Boolean(), nullable=False),
        sa.Column("mitigation", sa.Text(), nullable=True),
        sa.Column("notification_steps", sa.Text(), nullable=True),
        sa.Column("individual_advice", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_title", sa.String(length=200), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("contact_phone", sa.String(length=64), nullable=True),
        sa.Column("sensitivity", sa.String(length=8), nullable=True),
        sa.Column("misuse_probability", sa.String(length=8), nullable=True),
        sa.Column("consequences", sa.Text(), nullable=True),
        sa.Column("rrosh", sa.Boolean(), nullable=True),
        sa.Column("rrosh_rationale", sa.Text(), nullable=True),
        sa.Column("assessed_by", sa.String(length=200), nullable=True),
        sa.Column("assessed_at", TIME, nullable=True),
        sa.Column("public_notice_reason", sa.Text(), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "misuse_probability IS NULL OR misuse_probability IN ('low', 'medium', 'high')",
            name=op.f("ck_breach_misuse_probability"),
        ),
        sa.CheckConstraint(
            "sensitivity IS NULL OR sensitivity IN ('low', 'medium', 'high')",
            name=op.f("ck_breach_sensitivity"),
        ),
        sa.CheckConstraint(
            "affected_count IS NULL OR affected_count >= 0", name=op.f("ck_breach_affected_count")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_breach_organization_id_organization"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach")),
        sa.UniqueConstraint("reference", name=op.f("uq_breach_reference")),
    )
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_breach_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "breach_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("sent_at", TIME, nullable=False),
        sa.Column("notified_count", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.CheckConstraint(
            "recipient IN ('opc', 'cai', 'individuals', 'organization', 'public')",
            name=op.f("ck_breach_notification_recipient"),
        ),
        sa.CheckConstraint(
            "notified_count IS NULL OR notified_count >= 0",
            name=op.f("ck_breach_notification_notified_count"),
        ),
        sa.ForeignKeyConstraint(
            ["breach_id"],
            ["breach.id"],
            name=op.f("fk_breach_notification_breach_id_breach"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_notification")),
    )
    with op.batch_alter_table("breach_notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_breach_notification_breach_id"), ["breach_id"], unique=False
        )

    op.create_table(
        "breach_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("regulator", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("generated_by", sa.String(length=200), nullable=False),
        sa.Column("generated_at", TIME, nullable=False),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("sent_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("regulator IN ('opc', 'cai')", name=op.f("ck_breach_report_regulator")),
        sa.ForeignKeyConstraint(
            ["breach_id"],
            ["breach.id"],
            name=op.f("fk_breach_report_breach_id_breach"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_report")),
        sa.UniqueConstraint(
            "breach_id",
            "regulator",
            "version",
            name=op.f("uq_breach_report_breach_id_regulator_version"),
        ),
    )
    with op.batch_alter_table("breach_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_breach_report_breach_id"), ["breach_id"], unique=False)

    _freeze_sent_reports()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS breach_report_sent_frozen ON breach_report")
    else:
        op.execute("DROP TRIGGER IF EXISTS breach_report_sent_frozen")
    with op.batch_alter_table("breach_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breach_report_breach_id"))

    op.drop_table("breach_report")
    with op.batch_alter_table("breach_notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breach_notification_breach_id"))

    op.drop_table("breach_notification")
    with op.batch_alter_table("breach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_breach_organization_id"))

    op.drop_table("breach")
