"""The cart repository in SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.domain.cart import CartLine
from customshop.domain.pricing import PriceComponent


def _components(line: CartLine) -> list[dict[str, Any]]:
    return [
        {"zone_id": c.zone_id, "code": c.code, "label": c.label, "amount": c.amount} for c in line.components
    ]


def _line(row: sa.Row[Any]) -> CartLine:
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


class SqlCartRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lines(self, guest: str) -> list[CartLine]:
        rows = await self._conn.execute(
            sa.select(t.cart_items).where(t.cart_items.c.guest == guest).order_by(t.cart_items.c.id)
        )
        return [_line(row) for row in rows]

    async def add(self, line: CartLine) -> None:
        await self._conn.execute(
            t.cart_items.insert().values(
                id=line.id,
                guest=line.guest,
                product_id=line.product_id,
                product_name=line.product_name,
                template_id=line.template_id,
                template_version=line.template_version,
                template_snapshot=line.template_snapshot,
                options=line.options,
                components=_components(line),
                currency=line.currency,
                unit_price=line.unit_price,
                quantity=line.quantity,
                design_key=line.design_key,
                created_at=line.created_at,
                updated_at=line.updated_at,
            )
        )

    async def update(self, line: CartLine) -> None:
        await self._conn.execute(
            t.cart_items.update()
            .where(t.cart_items.c.id == line.id)
            .values(quantity=line.quantity, updated_at=line.updated_at)
        )

    async def delete(self, line_id: str) -> None:
        await self._conn.execute(t.cart_items.delete().where(t.cart_items.c.id == line_id))
