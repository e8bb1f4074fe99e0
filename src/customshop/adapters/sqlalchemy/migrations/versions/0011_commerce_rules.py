"""Commerce rules: regions (their countries one row each, a country in at most one region; their tax
rates as JSON), shipping methods, promotions (codes unique, ``times_used``) and the uses orders hold.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prices_include_tax", sa.Boolean, nullable=False),
        sa.Column("tax_shipping", sa.Boolean, nullable=False),
        sa.Column("tax_rates", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_regions"),
    )
    op.create_table(
        "region_countries",
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("country", name="pk_region_countries"),
        sa.ForeignKeyConstraint(
            ["region_id"], ["regions.id"], name="fk_region_countries_region_id_regions", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_region_countries_region_id", "region_countries", ["region_id"])
    op.create_table(
        "shipping_methods",
        sa.Column("id", ID, nullable=False),
        sa.Column("region_id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("rate", JSON, nullable=False),
        sa.Column("free_over", sa.BigInteger, nullable=True),
        sa.Column("min_days", sa.Integer, nullable=True),
        sa.Column("max_days", sa.Integer, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shipping_methods"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name="fk_shipping_methods_region_id_regions"),
    )
    op.create_index("ix_shipping_methods_region_id", "shipping_methods", ["region_id"])
    op.create_table(
        "promotions",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(32), nullable=True),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=True),
        sa.Column("product_ids", JSON, nullable=False),
        sa.Column("min_subtotal", sa.BigInteger, nullable=True),
        sa.Column("starts_at", TS, nullable=True),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("usage_limit", sa.Integer, nullable=True),
        sa.Column("per_email_limit", sa.Integer, nullable=True),
        sa.Column("buy_quantity", sa.Integer, nullable=True),
        sa.Column("get_quantity", sa.Integer, nullable=True),
        sa.Column("combinable", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("times_used", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_promotions"),
        sa.UniqueConstraint("code", name="uq_promotions_code"),
        sa.CheckConstraint("times_used >= 0", name="ck_promotions_times_used_not_negative"),
    )
    op.create_table(
        "promotion_uses",
        sa.Column("promotion_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.PrimaryKeyConstraint("promotion_id", "order_id", name="pk_promotion_uses"),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["promotions.id"], name="fk_promotion_uses_promotion_id_promotions"
        ),
    )
    op.create_index("ix_promotion_uses_order_id", "promotion_uses", ["order_id"])
    op.create_index("ix_promotion_uses_promotion_id_email", "promotion_uses", ["promotion_id", "email"])


def downgrade() -> None:
    op.drop_index("ix_promotion_uses_promotion_id_email", table_name="promotion_uses")
    op.drop_index("ix_promotion_uses_order_id", table_name="promotion_uses")
    op.drop_table("promotion_uses")
    op.drop_table("promotions")
    op.drop_index("ix_shipping_methods_region_id", table_name="shipping_methods")
    op.drop_table("shipping_methods")
    op.drop_index("ix_region_countries_region_id", table_name="region_countries")
    op.drop_table("region_countries")
    op.drop_table("regions")
