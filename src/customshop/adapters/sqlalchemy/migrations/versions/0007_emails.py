"""Emails to guests: the order confirmations and shipping updates owed, with their progress.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "emails",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_emails"),
        sa.UniqueConstraint("event_id", "kind", name="uq_emails_event_id_kind"),
    )
    op.create_index("ix_emails_status_next_attempt_at", "emails", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_emails_status_next_attempt_at", table_name="emails")
    op.drop_table("emails")
