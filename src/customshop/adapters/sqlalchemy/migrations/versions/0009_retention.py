"""Indexes for the retention purge: finished outbox messages, webhook deliveries, their logs and
emails, each found by when it finished (so a batch of the purge reads only what it deletes).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: (index, table, columns)
INDEXES = (
    ("ix_outbox_relayed_at", "outbox", ["relayed_at"]),
    ("ix_webhook_deliveries_status_updated_at", "webhook_deliveries", ["status", "updated_at"]),
    ("ix_webhook_logs_sent_at", "webhook_logs", ["sent_at"]),
    ("ix_emails_status_updated_at", "emails", ["status", "updated_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
