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
        "jsonb_build_array(jsonb_build_object("
        "'name', 'Tax', "
        "'rate_bps', CASE WHEN subtotal > 0 THEN round(tax * 10000.0 / subtotal)::bigint ELSE 0 END, "
        "'amount', tax))"
    ),
    "sqlite": (
        "json_array(json_object("
        "'name', 'Tax', "
        "'rate_bps', CASE WHEN subtotal > 0 "
        "THEN CAST(round(tax * 10000.0 / subtotal) AS INTEGER) ELSE 0 END, "
        "'amount', tax))"
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
    # Columns added in place, never by copying the table (SQLite's batch mode would: ``orders`` is
    # the parent of ``order_lines`` and ``payments``, whose foreign keys forbid dropping it).
    op.add_column("orders", sa.Column("discount_total", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("orders", sa.Column("discounts", _json(), nullable=False, server_default="[]"))
    op.add_column("orders", sa.Column("tax_lines", _json(), nullable=False, server_default="[]"))
    op.add_column("orders", sa.Column("shipping_method", _json(), nullable=True))
    op.add_column(
        "orders", sa.Column("prices_include_tax", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("orders", sa.Column("region_id", ID, nullable=True))
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE orders SET tax_lines = {_OLD_TAX_LINES[dialect]} WHERE tax > 0")  # noqa: S608
    for name in ("volume_discount", "discount", "tax"):
        op.add_column("order_lines", sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    for name in ("tax", "discount", "volume_discount"):
        op.drop_column("order_lines", name)
    for name in (
        "region_id",
        "prices_include_tax",
        "shipping_method",
        "tax_lines",
        "discounts",
        "discount_total",
    ):
        op.drop_column("orders", name)
    op.drop_table("cart_details")
