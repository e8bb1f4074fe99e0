"""Print files of order lines, and deliveries to the fulfillment endpoint.

Each order line gets its print file's progress: status, the id of its current rendering, the last
error, the renderings started and when the next one is due. Lines of orders already paid are
scheduled for rendering. Webhook deliveries may now go to the fulfillment endpoint, which is
configured rather than stored, so their endpoint id no longer refers to a stored endpoint.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)
PAID_STATES = ("paid", "in_production", "fulfilled", "shipped", "delivered")


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("print_status", sa.String(16), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("print_file_id", ID, nullable=True))
        batch.add_column(sa.Column("print_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("print_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("print_due_at", TS, nullable=True))
        batch.create_index("ix_order_lines_print_due_at", ["print_due_at"])
        batch.create_index("ix_order_lines_print_file_id", ["print_file_id"], unique=True)
    lines = sa.table(
        "order_lines",
        sa.column("id", ID),
        sa.column("order_id", ID),
        sa.column("print_file_id", ID),
        sa.column("print_due_at", TS),
    )
    orders = sa.table("orders", sa.column("id", ID), sa.column("status", sa.String(20)))
    conn = op.get_bind()
    paid = conn.execute(
        sa.select(lines.c.id)
        .join(orders, orders.c.id == lines.c.order_id)
        .where(orders.c.status.in_(PAID_STATES))
    ).scalars()
    now = datetime.now(UTC)
    for line_id in list(paid):
        conn.execute(
            lines.update()
            .where(lines.c.id == line_id)
            .values(print_file_id=str(uuid.uuid4()), print_due_at=now)
        )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_constraint("fk_webhook_deliveries_endpoint_id_webhook_endpoints", type_="foreignkey")


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text("DELETE FROM webhook_logs WHERE endpoint_id NOT IN (SELECT id FROM webhook_endpoints)")
    )
    conn.execute(
        sa.text("DELETE FROM webhook_deliveries WHERE endpoint_id NOT IN (SELECT id FROM webhook_endpoints)")
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.create_foreign_key(
            "fk_webhook_deliveries_endpoint_id_webhook_endpoints",
            "webhook_endpoints",
            ["endpoint_id"],
            ["id"],
        )
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_index("ix_order_lines_print_file_id")
        batch.drop_index("ix_order_lines_print_due_at")
        batch.drop_column("print_due_at")
        batch.drop_column("print_attempts")
        batch.drop_column("print_error")
        batch.drop_column("print_file_id")
        batch.drop_column("print_status")
