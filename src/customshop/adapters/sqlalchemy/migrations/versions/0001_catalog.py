"""Catalog: products, option sets, templates, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", ID, nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("base_price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("media", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("slug", name="uq_products_slug"),
    )
    op.create_table(
        "option_sets",
        sa.Column("id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_option_sets_product_id_products"),
        sa.PrimaryKeyConstraint("id", name="pk_option_sets"),
    )
    op.create_index("ix_option_sets_product_id", "option_sets", ["product_id"])
    op.create_table(
        "templates",
        sa.Column("id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_templates_product_id_products"),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
        sa.UniqueConstraint("product_id", "version", name="uq_templates_product_id_version"),
    )
    op.create_index(
        "uq_templates_default_per_product",
        "templates",
        ["product_id"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "template_option_sets",
        sa.Column("template_id", ID, nullable=False),
        sa.Column("option_set_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["option_set_id"], ["option_sets.id"], name="fk_template_option_sets_option_set_id_option_sets"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name="fk_template_option_sets_template_id_templates"
        ),
        sa.PrimaryKeyConstraint("template_id", "option_set_id", name="pk_template_option_sets"),
    )
    op.create_index("ix_template_option_sets_option_set_id", "template_option_sets", ["option_set_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("hint", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_template_option_sets_option_set_id", table_name="template_option_sets")
    op.drop_table("template_option_sets")
    op.drop_index("uq_templates_default_per_product", table_name="templates")
    op.drop_table("templates")
    op.drop_index("ix_option_sets_product_id", table_name="option_sets")
    op.drop_table("option_sets")
    op.drop_table("products")
