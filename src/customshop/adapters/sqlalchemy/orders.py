"""Orders and their lines, in SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.cart import components_json
from customshop.adapters.sqlalchemy.sql import Row
from customshop.application.ports import Page
from customshop.domain.inventory import StockKey
from customshop.domain.money import Money
from customshop.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PrintFile,
    PrintStatus,
    ShippingAddress,
    StockHold,
    StockState,
    TimelineEntry,
)
from customshop.domain.pricing import PriceComponent
from customshop.domain.quote import AppliedDiscount, ShippingOption, TaxLine

_O = t.orders.c
_L = t.order_lines.c
_P = t.payments.c


def _timeline(entries: Iterable[TimelineEntry]) -> list[dict[str, Any]]:
    return [
        {"status": e.status.value, "at": e.at.astimezone(UTC).isoformat(), "note": e.note} for e in entries
    ]


def _holds(holds: Iterable[StockHold]) -> list[dict[str, Any]]:
    return [
        {"product_id": h.key.product_id, "option_code": h.key.option_code, "units": h.units} for h in holds
    ]


def _discounts(discounts: Iterable[AppliedDiscount]) -> list[dict[str, Any]]:
    return [
        {"promotion_id": d.promotion_id, "code": d.code, "description": d.description, "amount": d.amount}
        for d in discounts
    ]


def _tax_lines(lines: Iterable[TaxLine]) -> list[dict[str, Any]]:
    return [{"name": t.name, "rate_bps": t.rate_bps, "amount": t.amount} for t in lines]


def _shipping_method(method: ShippingOption | None) -> dict[str, Any] | None:
    if method is None:
        return None
    return {
        "id": method.id,
        "name": method.name,
        "amount": method.amount,
        "min_days": method.min_days,
        "max_days": method.max_days,
    }


def _order_values(order: Order) -> dict[str, Any]:
    """The columns ``update`` writes: everything that changes after checkout (the aggregate's moves,
    the token set once the payment started, the provider a retry may switch to)."""
    return {
        "token_hash": order.token_hash or "",  # the column's "not placed yet" is the empty string
        "status": order.status.value,
        "timeline": _timeline(order.timeline),
        "stock": _holds(order.stock),
        "stock_state": order.stock_state.value,
        "reserved_until": order.reserved_until,
        "payment_provider": order.payment_provider,
        "payment_id": order.payment_id,
        "paid_amount": order.paid_amount.amount,
        "refunded_amount": order.refunded_amount.amount,
        "payment_failure": order.payment_failure,
        "tracking_url": order.tracking_url,
        "paid_at": order.paid_at,
        "updated_at": order.updated_at,
    }


def _line_values(order_id: str, position: int, line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "order_id": order_id,
        "position": position,
        "product_id": line.product_id,
        "product_name": line.product_name,
        "template_id": line.template_id,
        "template_version": line.template_version,
        "template_snapshot": line.template_snapshot,
        "options": line.options,
        "components": components_json(line.components),
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "volume_discount": line.volume_discount,
        "discount": line.discount,
        "tax": line.tax,
        "print_status": line.print_file.status.value,
        "print_file_id": line.print_file.id,
        "print_error": line.print_file.error,
    }


def _line(row: Row) -> OrderLine:
    return OrderLine(
        id=row.id,
        product_id=row.product_id,
        product_name=row.product_name,
        template_id=row.template_id,
        template_version=row.template_version,
        template_snapshot=row.template_snapshot,
        options=row.options,
        components=tuple(PriceComponent(**c) for c in row.components),
        unit_price=row.unit_price,
        quantity=row.quantity,
        print_file=PrintFile(PrintStatus(row.print_status), row.print_file_id, row.print_error),
        volume_discount=row.volume_discount,
        discount=row.discount,
        tax=row.tax,
    )


def _order(row: Row, lines: tuple[OrderLine, ...]) -> Order:
    currency = row.currency
    method = row.shipping_method
    return Order(
        id=row.id,
        guest=row.guest,
        token_hash=row.token_hash or None,
        email=row.email,
        shipping_address=ShippingAddress(
            name=row.shipping_address["name"],
            line1=row.shipping_address["line1"],
            city=row.shipping_address["city"],
            postal_code=row.shipping_address["postal_code"],
            country=row.shipping_address["country"],
            line2=row.shipping_address.get("line2"),
            subdivision=row.shipping_address.get("subdivision"),
        ),
        lines=lines,
        subtotal=Money(row.subtotal, currency),
        discount_total=Money(row.discount_total, currency),
        shipping=Money(row.shipping, currency),
        tax=Money(row.tax, currency),
        total=Money(row.total, currency),
        status=OrderStatus(row.status),
        timeline=tuple(
            TimelineEntry(OrderStatus(e["status"]), datetime.fromisoformat(e["at"]), e.get("note"))
            for e in row.timeline
        ),
        stock=tuple(
            StockHold(StockKey(h["product_id"], h.get("option_code")), h["units"]) for h in row.stock
        ),
        stock_state=StockState(row.stock_state),
        reserved_until=row.reserved_until,
        payment_provider=row.payment_provider,
        payment_id=row.payment_id,
        paid_amount=Money(row.paid_amount, currency),
        refunded_amount=Money(row.refunded_amount, currency),
        payment_failure=row.payment_failure,
        tracking_url=row.tracking_url,
        created_at=row.created_at,
        updated_at=row.updated_at,
        discounts=tuple(AppliedDiscount(**d) for d in row.discounts),
        tax_lines=tuple(TaxLine(**t) for t in row.tax_lines),
        shipping_method=None if method is None else ShippingOption(**method),
        prices_include_tax=row.prices_include_tax,
        region_id=row.region_id,
        paid_at=row.paid_at,
    )


#: Statements built once (building one costs more than running it).
_LINE_COLUMNS = (
    _L.id,
    _L.product_id,
    _L.product_name,
    _L.template_id,
    _L.template_version,
    _L.template_snapshot,
    _L.options,
    _L.components,
    _L.unit_price,
    _L.quantity,
    _L.volume_discount,
    _L.discount,
    _L.tax,
    _L.print_status,
    _L.print_file_id,
    _L.print_error,
)
_GET_ORDER = sa.select(t.orders).where(_O.id == sa.bindparam("order_id"))
_GET_ORDER_FOR_UPDATE = _GET_ORDER.with_for_update()  # SQLite has no row locks and ignores it
_LOCK_ORDER = sa.select(_O.status).where(_O.id == sa.bindparam("order_id")).with_for_update()
_ORDER_LINES = sa.select(*_LINE_COLUMNS).where(_L.order_id == sa.bindparam("order_id")).order_by(_L.position)
_LINES_OF_ORDERS = (
    sa.select(_L.order_id, *_LINE_COLUMNS)
    .where(_L.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(_L.order_id, _L.position)
)
_INSERT_ORDER = t.orders.insert()
_INSERT_LINES = t.order_lines.insert()
_UPDATE_ORDER = t.orders.update().where(_O.id == sa.bindparam("order_id"))
_UPDATE_ORDER_IF = _UPDATE_ORDER.where(_O.status == sa.bindparam("if_status"))
_DELETE_ORDER_PAYMENTS = t.payments.delete().where(_P.order_id == sa.bindparam("order_id"))
_DELETE_ORDER_LINES = t.order_lines.delete().where(_L.order_id == sa.bindparam("order_id"))
_DELETE_ORDER = t.orders.delete().where(_O.id == sa.bindparam("order_id"))
_EXPIRED = (
    sa.select(_O.id)
    .where(_O.status == OrderStatus.CREATED.value, _O.reserved_until < sa.bindparam("now"))
    .order_by(_O.id)
    .limit(sa.bindparam("limit"))
)


@cache
def _order_page(status: bool, created_from: bool, created_to: bool, before: bool) -> sa.Select[Any]:
    """The listing for one combination of filters (sixteen shapes at most, each built once)."""
    query = sa.select(t.orders).order_by(_O.id.desc()).limit(sa.bindparam("limit"))
    if status:
        query = query.where(_O.status == sa.bindparam("status"))
    if created_from:
        query = query.where(_O.created_at >= sa.bindparam("created_from"))
    if created_to:
        query = query.where(_O.created_at < sa.bindparam("created_to"))
    if before:
        query = query.where(_O.id < sa.bindparam("before"))
    return query


class SqlOrderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        #: The orders stored by ``add`` and ``update``, whose events the unit of work takes at commit.
        self.seen: list[Order] = []

    async def add(self, order: Order) -> None:
        await self._conn.execute(
            _INSERT_ORDER,
            {
                "id": order.id,
                "guest": order.guest,
                "email": order.email,
                "shipping_address": order.shipping_address.to_dict(),
                "currency": order.currency,
                "subtotal": order.subtotal.amount,
                "tax": order.tax.amount,
                "shipping": order.shipping.amount,
                "total": order.total.amount,
                "discount_total": order.discount_total.amount,
                "discounts": _discounts(order.discounts),
                "tax_lines": _tax_lines(order.tax_lines),
                "shipping_method": _shipping_method(order.shipping_method),
                "prices_include_tax": order.prices_include_tax,
                "region_id": order.region_id,
                "created_at": order.created_at,
                **_order_values(order),
            },
        )
        if order.lines:
            await self._conn.execute(
                _INSERT_LINES, [_line_values(order.id, n, line) for n, line in enumerate(order.lines)]
            )
        self.seen.append(order)

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        query = _GET_ORDER_FOR_UPDATE if for_update else _GET_ORDER
        row = (await self._conn.execute(query, {"order_id": order_id})).first()
        if row is None:
            return None
        lines = await self._conn.execute(_ORDER_LINES, {"order_id": order_id})
        return _order(row, tuple(_line(line) for line in lines))

    async def lock(self, order_id: str) -> OrderStatus | None:
        status = await self._conn.scalar(_LOCK_ORDER, {"order_id": order_id})
        return None if status is None else OrderStatus(status)

    async def update(self, order: Order, *, if_status: OrderStatus | None = None) -> bool:
        params = {"order_id": order.id, **_order_values(order)}
        if if_status is None:
            changed = await self._conn.execute(_UPDATE_ORDER, params)
        else:
            changed = await self._conn.execute(_UPDATE_ORDER_IF, {**params, "if_status": if_status.value})
        if changed.rowcount:
            self.seen.append(order)
        return bool(changed.rowcount)

    async def delete(self, order_id: str) -> None:
        params = {"order_id": order_id}
        await self._conn.execute(_DELETE_ORDER_PAYMENTS, params)
        await self._conn.execute(_DELETE_ORDER_LINES, params)
        await self._conn.execute(_DELETE_ORDER, params)
        self.seen = [o for o in self.seen if o.id != order_id]

    async def expired(self, now: datetime, limit: int) -> list[str]:
        return list(await self._conn.scalars(_EXPIRED, {"now": now, "limit": limit}))

    async def list(
        self,
        *,
        status: OrderStatus | None,
        created_from: datetime | None,
        created_to: datetime | None,
        before: str | None,
        limit: int,
    ) -> Page[Order]:
        query = _order_page(
            status is not None, created_from is not None, created_to is not None, before is not None
        )
        params: dict[str, Any] = {"limit": limit + 1}
        if status is not None:
            params["status"] = status.value
        if created_from is not None:
            params["created_from"] = created_from
        if created_to is not None:
            params["created_to"] = created_to
        if before is not None:
            params["before"] = before
        rows = list(await self._conn.execute(query, params))
        next_after = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_after = rows[-1].id if rows else None
        if not rows:
            return Page([], next_after)
        lines: dict[str, list[OrderLine]] = {row.id: [] for row in rows}
        for line in await self._conn.execute(_LINES_OF_ORDERS, {"order_ids": list(lines)}):
            lines[line.order_id].append(_line(line))
        return Page([_order(row, tuple(lines[row.id])) for row in rows], next_after)
