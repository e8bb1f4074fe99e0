"""Cart details, and orders that keep their whole price breakdown.

``cart_details``: what a guest told its cart besides the lines (address, shipping method, email,
promotion code). Orders gain their discounts, discount total, tax lines, shipping method, region
and whether their prices include tax; order lines their volume discount, discount and tax.

Orders placed before this revision had no discounts, no region and the flat rates: they get no
discounts, a discount total of 0, no shipping method, prices without tax, and, when they were
taxed, one tax line ``Tax`` of their whole tax, whose rate is read back from the order
(``round(tax × 10 000 / subtotal)`` basis points: the configured rate, for any subtotal of 100.00
or more). Their lines show 0 volume discount, discount and tax.

Revision ID: 0013
Revises: 0012 (written against 0010; chained after the merged 0011 and 0012)
Create Date: 2026-12-12
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


#: The one tax line of an order placed before this revision, built by the database.
_OLD_TAX_LINES = {
    "postgresql": (
        "CASE WHEN tax > 0 THEN jsonb_build_array(jsonb_build_object("
        "'name', 'Tax', "
        "'rate_bps', CASE WHEN subtotal > 0 THEN round(tax * 10000.0 / subtotal)::bigint ELSE 0 END, "
        "'amount', tax)) ELSE '[]'::jsonb END"
    ),
    "sqlite": (
        "CASE WHEN tax > 0 THEN json_array(json_object("
        "'name', 'Tax', "
        "'rate_bps', CASE WHEN subtotal > 0 "
        "THEN CAST(round(tax * 10000.0 / subtotal) AS INTEGER) ELSE 0 END, "
        "'amount', tax)) ELSE '[]' END"
    ),
}


def upgrade() -> None:
    op.create_table(
        "cart_details",
        sa.Column("guest", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", _json(), nullable=True),
        sa.Column("shipping_method_id", ID, nullable=True),
        sa.Column("promotion_code", sa.String(100), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("discount_total", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("discounts", _json(), nullable=True))
        batch.add_column(sa.Column("tax_lines", _json(), nullable=True))
        batch.add_column(sa.Column("shipping_method", _json(), nullable=True))
        batch.add_column(
            sa.Column("prices_include_tax", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("region_id", ID, nullable=True))
    dialect = op.get_bind().dialect.name
    empty = "'[]'::jsonb" if dialect == "postgresql" else "'[]'"
    op.execute(f"UPDATE orders SET discounts = {empty}, tax_lines = {_OLD_TAX_LINES[dialect]}")  # noqa: S608 - constants
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("discounts", existing_type=_json(), nullable=False)
        batch.alter_column("tax_lines", existing_type=_json(), nullable=False)
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("volume_discount", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("discount", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("tax", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("tax")
        batch.drop_column("discount")
        batch.drop_column("volume_discount")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("region_id")
        batch.drop_column("prices_include_tax")
        batch.drop_column("shipping_method")
        batch.drop_column("tax_lines")
        batch.drop_column("discounts")
        batch.drop_column("discount_total")
    op.drop_table("cart_details")
