"""The cart repository in SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import Row
from customshop.domain.cart import CartLine
from customshop.domain.pricing import PriceComponent


def components_json(components: Iterable[PriceComponent]) -> list[dict[str, Any]]:
    """A line's price breakdown as stored (JSON), for cart and order lines alike."""
    return [{"zone_id": c.zone_id, "code": c.code, "label": c.label, "amount": c.amount} for c in components]


def _line(row: Row) -> CartLine:
    return CartLine(
        id=row.id,
        guest=row.guest,
        product_id=row.product_id,
        product_name=row.product_name,
        template_id=row.template_id,
        template_version=row.template_version,
        template_snapshot=row.template_snapshot,
        options=row.options,
        components=tuple(PriceComponent(**c) for c in row.components),
        currency=row.currency,
        unit_price=row.unit_price,
        quantity=row.quantity,
        design_key=row.design_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


#: Statements built once: building one costs more than running it on this hot path.
_LINES = (
    sa.select(t.cart_items).where(t.cart_items.c.guest == sa.bindparam("guest")).order_by(t.cart_items.c.id)
)
_LINES_FOR_UPDATE = _LINES.with_for_update()
_INSERT = t.cart_items.insert()
_UPDATE = (
    t.cart_items.update()
    .where(t.cart_items.c.id == sa.bindparam("line_id"))
    .values(quantity=sa.bindparam("new_quantity"), updated_at=sa.bindparam("new_updated_at"))
)
_REPRICE = (
    t.cart_items.update()
    .where(t.cart_items.c.id == sa.bindparam("line_id"))
    .values(
        unit_price=sa.bindparam("new_unit_price"),
        components=sa.bindparam("new_components"),
        currency=sa.bindparam("new_currency"),
        updated_at=sa.bindparam("new_updated_at"),
    )
)
_DELETE = t.cart_items.delete().where(t.cart_items.c.id == sa.bindparam("line_id"))


class SqlCartRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lines(self, guest: str, *, for_update: bool = False) -> list[CartLine]:
        statement = _LINES_FOR_UPDATE if for_update else _LINES
        return [_line(row) for row in await self._conn.execute(statement, {"guest": guest})]

    async def add(self, line: CartLine) -> None:
        await self._conn.execute(
            _INSERT,
            {
                "id": line.id,
                "guest": line.guest,
                "product_id": line.product_id,
                "product_name": line.product_name,
                "template_id": line.template_id,
                "template_version": line.template_version,
                "template_snapshot": line.template_snapshot,
                "options": line.options,
                "components": components_json(line.components),
                "currency": line.currency,
                "unit_price": line.unit_price,
                "quantity": line.quantity,
                "design_key": line.design_key,
                "created_at": line.created_at,
                "updated_at": line.updated_at,
            },
        )

    async def update(self, line: CartLine) -> None:
        await self._conn.execute(
            _UPDATE, {"line_id": line.id, "new_quantity": line.quantity, "new_updated_at": line.updated_at}
        )

    async def reprice(self, line: CartLine) -> None:
        await self._conn.execute(
            _REPRICE,
            {
                "line_id": line.id,
                "new_unit_price": line.unit_price,
                "new_components": components_json(line.components),
                "new_currency": line.currency,
                "new_updated_at": line.updated_at,
            },
        )

    async def delete(self, line_id: str) -> None:
        await self._conn.execute(_DELETE, {"line_id": line_id})
