"""Products' tax class and volume pricing.

Every product gets ``tax_class`` (existing ones: ``standard``) and ``volume_pricing``, its quantity
prices as the API shows them, ``[{min_quantity, discount_bps}]`` (existing ones: none). Text zones'
per-character prices live in the template definitions (JSON) and need no column.

Revision ID: 0012
Revises: 0011 (chained after 0011 where the branches meet)
Create Date: 2026-12-06
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


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite drops columns too since 3.35): a batch copy of
    # `products` would drop the table that option sets, templates, sessions and cart lines refer to.
    op.add_column(
        "products", sa.Column("tax_class", sa.String(32), nullable=False, server_default="standard")
    )
    op.add_column("products", sa.Column("volume_pricing", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("products", "volume_pricing")
    op.drop_column("products", "tax_class")
