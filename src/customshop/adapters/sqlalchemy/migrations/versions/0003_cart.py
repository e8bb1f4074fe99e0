"""Cart: guests' configured lines with their template and price snapshots.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "cart_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("guest", sa.String(64), nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("template_id", ID, nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("template_snapshot", JSON, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("components", JSON, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("design_key", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_cart_items_product_id_products"),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name="fk_cart_items_template_id_templates"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cart_items"),
    )
    op.create_index("ix_cart_items_guest", "cart_items", ["guest"])


def downgrade() -> None:
    op.drop_index("ix_cart_items_guest", table_name="cart_items")
    op.drop_table("cart_items")
