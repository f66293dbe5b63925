"""Hardening: the throttle of failed authentication, job runs that survive a crash, and the
officer's override of open searches on a privacy request.

- ``auth_throttle``: failed authentications per source and interval (429 past a limit; the
  audit trail gets the first failure and one count per interval, not one row per attempt).
- ``job_run``: the process (pid, host) and its last heartbeat, so a run whose process is gone
  is marked ``interrupted`` and run again; ``skipped`` for a run that found a purge running.
- ``privacy_request.searches_override_*``: final documents and the deletion need every search
  task closed, or this override with the officer's reason.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OUTCOMES_BEFORE = "outcome IN ('running', 'success', 'failure')"
OUTCOMES_AFTER = "outcome IN ('running', 'success', 'failure', 'interrupted', 'skipped')"


def upgrade() -> None:
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("audited", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttle")),
    )
    with op.batch_alter_table("job_run") as batch:
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_job_run_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_job_run_outcome"), OUTCOMES_AFTER)
    with op.batch_alter_table("privacy_request") as batch:
        batch.add_column(sa.Column("searches_override_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("searches_override_by", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("searches_override_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("privacy_request") as batch:
        batch.drop_column("searches_override_at")
        batch.drop_column("searches_override_by")
        batch.drop_column("searches_override_reason")
    op.execute("UPDATE job_run SET outcome = 'failure' WHERE outcome IN ('interrupted', 'skipped')")
    with op.batch_alter_table("job_run") as batch:
        batch.drop_constraint(op.f("ck_job_run_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_job_run_outcome"), OUTCOMES_BEFORE)
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
    op.drop_table("auth_throttle")
