"""The cart repositories (lines and details) in SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import Row, dialect_of
from customshop.domain.cart import CartAddress, CartDetails, CartLine
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


_D = t.cart_details.c
_ADDRESS_FIELDS = ("country", "subdivision", "postal_code", "name", "line1", "line2", "city")


def _address_json(address: CartAddress | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {name: getattr(address, name) for name in _ADDRESS_FIELDS}


def _details(row: Row) -> CartDetails:
    address = row.address
    return CartDetails(
        guest=row.guest,
        updated_at=row.updated_at,
        email=row.email,
        address=None if address is None else CartAddress(**{n: address.get(n) for n in _ADDRESS_FIELDS}),
        shipping_method_id=row.shipping_method_id,
        promotion_code=row.promotion_code,
    )


_GET_DETAILS = sa.select(t.cart_details).where(_D.guest == sa.bindparam("guest"))
_DETAIL_COLUMNS = ("email", "address", "shipping_method_id", "promotion_code", "updated_at")


def _upsert(insert: postgresql.Insert | sqlite.Insert) -> sa.Executable:
    return insert.on_conflict_do_update(
        index_elements=[_D.guest], set_={name: insert.excluded[name] for name in _DETAIL_COLUMNS}
    )


#: One statement, so two writers racing on a guest's first details never collide on the key.
_SAVE_DETAILS = {
    "postgresql": _upsert(postgresql.insert(t.cart_details)),
    "sqlite": _upsert(sqlite.insert(t.cart_details)),
}


class SqlCartDetailsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, guest: str) -> CartDetails | None:
        row = (await self._conn.execute(_GET_DETAILS, {"guest": guest})).first()
        return None if row is None else _details(row)

    async def save(self, details: CartDetails) -> None:
        await self._conn.execute(
            _SAVE_DETAILS[dialect_of(self._conn)],
            {
                "guest": details.guest,
                "email": details.email,
                "address": _address_json(details.address),
                "shipping_method_id": details.shipping_method_id,
                "promotion_code": details.promotion_code,
                "updated_at": details.updated_at,
            },
        )
