"""Sales reports in SQL: every sum and count is a ``GROUP BY`` over ``orders`` joined to ``order_lines``.

The promotions report reads each order's ``discounts`` (JSON) as rows, as the choices report reads
a line's components.

Two things are written per dialect. The first day of a sale's period: PostgreSQL truncates the UTC
time (``date_trunc``; its weeks start on Monday, as ISO's do), SQLite applies ``date()`` modifiers to
the day of the stored UTC text. And reading a line's choices out of its JSON: ``jsonb_array_elements``
and ``jsonb_each_text`` on PostgreSQL, ``json_each`` on SQLite. Each statement is built once per dialect
and shape (building one costs more than running it), and answers in one statement, so from one
consistent reading of the data.

Sales are selected by ``status`` and ``paid_at``, which no index covers: a report reads through the
``orders`` table, which is fine for an admin's occasional report; a very large shop would add an index
on ``(paid_at)``.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import POSTGRESQL, Dialect, dialect_of
from customshop.application.ports import (
    ChoiceCount,
    Granularity,
    PeriodSales,
    ProductSales,
    PromotionSales,
    SalesFigures,
    SalesWindow,
)
from customshop.domain.orders import PAID_STATES

_O = t.orders.c
_L = t.order_lines.c

#: The statuses of orders whose money was received and kept: refunded orders are not among them.
_PAID = sorted(status.value for status in PAID_STATES)


def _sold(*, currency: bool) -> tuple[sa.ColumnElement[bool], ...]:
    """Orders in a paid state, paid in ``[:paid_from, :paid_before)`` (in ``:currency``)."""
    conditions = [
        _O.status.in_(_PAID),
        _O.paid_at >= sa.bindparam("paid_from"),
        _O.paid_at < sa.bindparam("paid_before"),
    ]
    if currency:
        conditions.append(_O.currency == sa.bindparam("currency"))
    return tuple(conditions)


_SOLD_LINES = t.order_lines.join(t.orders, _O.id == _L.order_id)


def _total(expression: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """A sum as a BIGINT (PostgreSQL sums BIGINTs into NUMERIC), 0 when there is nothing to sum."""
    return sa.cast(sa.func.coalesce(sa.func.sum(expression), 0), sa.BigInteger)


def _code_point_order(column: sa.ColumnElement[str], dialect: Dialect) -> sa.ColumnElement[str]:
    """``column`` compared by code points, as Python compares strings, whatever the database's
    collation (SQLite's default, BINARY, already does)."""
    return sa.collate(column, "C") if dialect == POSTGRESQL else column


# -- sales -----------------------------------------------------------------------------------------

_paid_lines = (
    sa.select(
        _L.order_id,
        _L.product_id,
        _L.product_name,
        _L.template_version,
        _L.quantity,
        (_L.unit_price * _L.quantity).label("revenue"),
    )
    .select_from(_SOLD_LINES)
    .where(*_sold(currency=True))
    .cte("paid_lines")
)
_S = _paid_lines.c
#: The orders of the window, for what is summed per order (discounts, tax, shipping).
_paid_orders = (
    sa.select(_O.discount_total, _O.tax, _O.shipping).where(*_sold(currency=True)).subquery("paid_orders")
)
_PO = _paid_orders.c
_NONE = sa.cast(sa.null(), sa.BigInteger)
#: One row per product and template version, then one totals row (its product id NULL, with the
#: orders' discounts, tax and shipping): a single statement, so the totals always add up to the rows.
_SALES = sa.union_all(
    sa.select(
        _S.product_id,
        _S.template_version,
        sa.func.max(_S.product_name).label("product_name"),
        sa.func.count(sa.distinct(_S.order_id)).label("orders"),
        _total(_S.quantity).label("units"),
        _total(_S.revenue).label("revenue"),
        _NONE.label("discounts"),
        _NONE.label("tax"),
        _NONE.label("shipping"),
    ).group_by(_S.product_id, _S.template_version),
    sa.select(
        sa.cast(sa.null(), t.ID),
        sa.cast(sa.null(), sa.Integer),
        sa.cast(sa.null(), sa.String(200)),
        sa.func.count(sa.distinct(_S.order_id)),
        _total(_S.quantity),
        _total(_S.revenue),
        sa.select(_total(_PO.discount_total)).scalar_subquery(),
        sa.select(_total(_PO.tax)).scalar_subquery(),
        sa.select(_total(_PO.shipping)).scalar_subquery(),
    ),
)


# -- promotions ------------------------------------------------------------------------------------


@cache
def _promotions(dialect: Dialect) -> sa.Select[Any]:
    """One row per promotion the window's orders used: from each order's ``discounts`` (JSON), the
    orders using it and the sum of what it took off."""
    if dialect == POSTGRESQL:
        item = sa.func.jsonb_array_elements(_O.discounts).table_valued("value", joins_implicitly=True)

        def field(name: str) -> sa.ColumnElement[str]:
            return sa.func.jsonb_extract_path_text(item.c.value, sa.literal_column(f"'{name}'"))

    else:
        item = sa.func.json_each(_O.discounts).table_valued("value", joins_implicitly=True)

        def field(name: str) -> sa.ColumnElement[str]:
            return sa.func.json_extract(item.c.value, sa.literal_column(f"'$.{name}'"), type_=sa.Text)

    used = (
        sa.select(
            _O.id.label("order_id"),
            field("promotion_id").label("promotion_id"),
            field("code").label("code"),
            field("description").label("description"),
            sa.cast(field("amount"), sa.BigInteger).label("amount"),
        )
        .select_from(t.orders)
        .join(item, sa.true())
        .where(*_sold(currency=True))
        .subquery("used")
    )
    discount = _total(used.c.amount)
    uses = sa.func.count(sa.distinct(used.c.order_id))
    return (
        sa.select(
            used.c.promotion_id,
            sa.func.max(used.c.code).label("code"),
            sa.func.max(used.c.description).label("description"),
            uses.label("uses"),
            discount.label("discount"),
        )
        .group_by(used.c.promotion_id)
        .order_by(discount.desc(), uses.desc(), _code_point_order(used.c.promotion_id, dialect))
    )


# -- revenue by period -----------------------------------------------------------------------------

#: SQLite ``date()`` modifiers taking a UTC day to the first day of its period (``weekday 0`` moves on
#: to the coming Sunday, or stays on one; six days back is that week's Monday).
_SQLITE_PERIOD: dict[Granularity, tuple[str, ...]] = {
    Granularity.DAY: (),
    Granularity.WEEK: ("weekday 0", "-6 days"),
    Granularity.MONTH: ("start of month",),
}


def _period_start(dialect: Dialect, granularity: Granularity) -> sa.ColumnElement[Any]:
    """The first day (UTC) of the period of ``orders.paid_at``. Constants are SQL literals taken from
    the enum, never from input."""
    if dialect == POSTGRESQL:
        utc = sa.func.timezone(sa.literal_column("'UTC'"), _O.paid_at)
        return sa.cast(sa.func.date_trunc(sa.literal_column(f"'{granularity.value}'"), utc), sa.Date)
    # SQLite stores timestamps as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff`` (``tables.UtcDateTime``):
    # the day is its first ten characters. (Not ``date(paid_at, ...)``: SQLite rounds times to the
    # millisecond, which takes the day's last half millisecond into the next day.)
    day = sa.func.substr(_O.paid_at, 1, 10)
    modifiers: list[sa.ColumnElement[Any]] = [
        sa.literal_column(f"'{m}'") for m in _SQLITE_PERIOD[granularity]
    ]
    return sa.func.date(day, *modifiers, type_=sa.Date)


@cache
def _by_period(dialect: Dialect, granularity: Granularity) -> sa.Select[Any]:
    lines = (
        sa.select(
            _period_start(dialect, granularity).label("period"),
            _L.order_id,
            _L.quantity,
            (_L.unit_price * _L.quantity).label("revenue"),
        )
        .select_from(_SOLD_LINES)
        .where(*_sold(currency=True))
        .subquery("paid_lines")
    )
    return (
        sa.select(
            lines.c.period,
            sa.func.count(sa.distinct(lines.c.order_id)).label("orders"),
            _total(lines.c.quantity).label("units"),
            _total(lines.c.revenue).label("revenue"),
        )
        .group_by(lines.c.period)
        .order_by(lines.c.period)
    )


# -- popular choices -------------------------------------------------------------------------------


def _made_choices(dialect: Dialect, one_product: bool) -> sa.Subquery:
    """One row per choice made in a sold line: ``product_id, zone_id, kind, value, label, quantity``.

    Options come from the line's price components that name a code; colours from the line's design
    values that are ``#rrggbb`` strings (option codes never start with ``#``; text and image values
    are objects).
    """
    conditions = _sold(currency=False)
    if one_product:
        conditions = (*conditions, _L.product_id == sa.bindparam("product_id"))
    if dialect == POSTGRESQL:
        item = sa.func.jsonb_array_elements(_L.components).table_valued("value", joins_implicitly=True)

        def field(name: str) -> sa.ColumnElement[str]:
            return sa.func.jsonb_extract_path_text(item.c.value, sa.literal_column(f"'{name}'"))

        values = sa.func.jsonb_each_text(_L.options).table_valued("key", "value", joins_implicitly=True)
        is_color: tuple[sa.ColumnElement[bool], ...] = (values.c.value.like("#%"),)
    else:
        item = sa.func.json_each(_L.components).table_valued("value", joins_implicitly=True)

        def field(name: str) -> sa.ColumnElement[str]:
            return sa.func.json_extract(item.c.value, sa.literal_column(f"'$.{name}'"), type_=sa.Text)

        values = sa.func.json_each(_L.options).table_valued("key", "value", "type", joins_implicitly=True)
        is_color = (values.c.type == "text", values.c.value.like("#%"))
    options = (
        sa.select(
            _L.product_id,
            field("zone_id").label("zone_id"),
            sa.literal_column("'option'").label("kind"),
            field("code").label("value"),
            field("label").label("label"),
            _L.quantity,
        )
        .select_from(_SOLD_LINES)
        .join(item, sa.true())
        .where(*conditions, field("code").is_not(None))
    )
    colors = (
        sa.select(
            _L.product_id,
            values.c.key,
            sa.literal_column("'color'"),
            values.c.value,
            sa.cast(sa.null(), sa.Text),
            _L.quantity,
        )
        .select_from(_SOLD_LINES)
        .join(values, sa.true())
        .where(*conditions, *is_color)
    )
    return sa.union_all(options, colors).subquery("made")


@cache
def _choices(dialect: Dialect, one_product: bool) -> sa.Select[Any]:
    made = _made_choices(dialect, one_product)
    counted = (
        sa.select(
            made.c.product_id,
            made.c.zone_id,
            made.c.kind,
            made.c.value,
            sa.func.max(made.c.label).label("label"),
            sa.func.count().label("chosen"),
            _total(made.c.quantity).label("units"),
        )
        .group_by(made.c.product_id, made.c.zone_id, made.c.kind, made.c.value)
        .subquery("counted")
    )
    ranked = sa.select(
        counted,
        sa.func.row_number()
        .over(
            partition_by=counted.c.product_id,
            order_by=(
                counted.c.chosen.desc(),
                counted.c.units.desc(),
                _code_point_order(counted.c.zone_id, dialect),
                _code_point_order(counted.c.value, dialect),
            ),
        )
        .label("place"),
    ).subquery("ranked")
    return (
        sa.select(
            ranked.c.product_id,
            ranked.c.zone_id,
            ranked.c.kind,
            ranked.c.value,
            ranked.c.label,
            ranked.c.chosen,
            ranked.c.units,
        )
        .where(ranked.c.place <= sa.bindparam("limit", type_=sa.Integer))
        .order_by(_code_point_order(ranked.c.product_id, dialect), ranked.c.place)
    )


class SqlReportRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @property
    def _dialect(self) -> Dialect:
        return dialect_of(self._conn)

    async def sales(self, window: SalesWindow) -> SalesFigures:
        rows = await self._conn.execute(_SALES, _window(window))
        orders = units = revenue = discounts = tax = shipping = 0
        by_product: list[ProductSales] = []
        for row in rows:  # named by the union's first SELECT
            if row.product_id is None:
                orders, units, revenue = row.orders, row.units, row.revenue
                discounts, tax, shipping = row.discounts, row.tax, row.shipping
            else:
                by_product.append(
                    ProductSales(
                        product_id=row.product_id,
                        product_name=row.product_name,
                        template_version=row.template_version,
                        units=row.units,
                        revenue=row.revenue,
                    )
                )
        by_product.sort(key=lambda s: (-s.revenue, s.product_id, s.template_version))
        return SalesFigures(orders, units, revenue, by_product, discounts, tax, shipping)

    async def promotions(self, window: SalesWindow) -> list[PromotionSales]:
        rows = await self._conn.execute(_promotions(self._dialect), _window(window))
        return [
            PromotionSales(
                promotion_id=row.promotion_id,
                code=row.code,
                description=row.description,
                uses=row.uses,
                discount=row.discount,
            )
            for row in rows
        ]

    async def sales_by_period(self, window: SalesWindow, granularity: Granularity) -> list[PeriodSales]:
        rows = await self._conn.execute(_by_period(self._dialect, granularity), _window(window))
        return [
            PeriodSales(period=row.period, orders=row.orders, units=row.units, revenue=row.revenue)
            for row in rows
        ]

    async def popular_choices(
        self, *, paid_from: datetime, paid_before: datetime, product_id: str | None, limit: int
    ) -> list[ChoiceCount]:
        params: dict[str, Any] = {"paid_from": paid_from, "paid_before": paid_before, "limit": limit}
        if product_id is not None:
            params["product_id"] = product_id
        rows = await self._conn.execute(_choices(self._dialect, product_id is not None), params)
        return [
            ChoiceCount(
                product_id=row.product_id,
                zone_id=row.zone_id,
                kind=row.kind,
                value=row.value,
                label=row.label,
                count=row.chosen,
                units=row.units,
            )
            for row in rows
        ]


def _window(window: SalesWindow) -> dict[str, Any]:
    return {"currency": window.currency, "paid_from": window.paid_from, "paid_before": window.paid_before}
