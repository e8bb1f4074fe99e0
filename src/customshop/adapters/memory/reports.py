"""In-memory sales reports: the same figures as the SQL adapter, summed in Python over the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from customshop.application.ports import (
    ChoiceCount,
    Granularity,
    PeriodSales,
    ProductSales,
    PromotionSales,
    SalesFigures,
    SalesWindow,
)
from customshop.application.reports import period_start
from customshop.domain.orders import PAID_STATES, Order, OrderLine

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore


@dataclass
class _Tally:
    orders: set[str] = field(default_factory=set)
    units: int = 0
    revenue: int = 0
    name: str = ""

    def add(self, order: Order, line: OrderLine) -> None:
        self.orders.add(order.id)
        self.units += line.quantity
        self.revenue += line.unit_price * line.quantity
        self.name = max(self.name, line.product_name)


@dataclass
class _Choice:
    label: str | None = None
    count: int = 0
    units: int = 0


class MemoryReportRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    def _sold(
        self, paid_from: datetime, paid_before: datetime, currency: str | None
    ) -> Iterator[tuple[Order, OrderLine, datetime]]:
        """The lines of orders in a paid state paid in ``[paid_from, paid_before)``, with when."""
        for order in self._state.orders.values():
            paid_at = order.paid_at
            if (
                order.status in PAID_STATES
                and paid_at is not None
                and paid_from <= paid_at < paid_before
                and (currency is None or order.currency == currency)
            ):
                for line in order.lines:
                    yield order, line, paid_at

    async def sales(self, window: SalesWindow) -> SalesFigures:
        total = _Tally()
        groups: dict[tuple[str, int], _Tally] = {}
        for order, line, _ in self._sold(window.paid_from, window.paid_before, window.currency):
            total.add(order, line)
            groups.setdefault((line.product_id, line.template_version), _Tally()).add(order, line)
        by_product = [
            ProductSales(product_id, tally.name, version, tally.units, tally.revenue)
            for (product_id, version), tally in groups.items()
        ]
        by_product.sort(key=lambda s: (-s.revenue, s.product_id, s.template_version))
        orders = self._paid_orders(window)
        return SalesFigures(
            len(total.orders),
            total.units,
            total.revenue,
            by_product,
            discounts=sum(o.discount_total.amount for o in orders),
            tax=sum(o.tax.amount for o in orders),
            shipping=sum(o.shipping.amount for o in orders),
        )

    def _paid_orders(self, window: SalesWindow) -> list[Order]:
        return [
            order
            for order in self._state.orders.values()
            if order.status in PAID_STATES
            and order.paid_at is not None
            and window.paid_from <= order.paid_at < window.paid_before
            and order.currency == window.currency
        ]

    async def promotions(self, window: SalesWindow) -> list[PromotionSales]:
        used: dict[str, PromotionSales] = {}
        for order in self._paid_orders(window):
            for d in order.discounts:
                seen = used.get(d.promotion_id)
                if seen is None:
                    used[d.promotion_id] = PromotionSales(d.promotion_id, d.code, d.description, 1, d.amount)
                    continue
                codes = [c for c in (seen.code, d.code) if c is not None]
                used[d.promotion_id] = PromotionSales(
                    d.promotion_id,
                    max(codes) if codes else None,
                    max(seen.description, d.description),
                    seen.uses + 1,
                    seen.discount + d.amount,
                )
        return sorted(used.values(), key=lambda p: (-p.discount, -p.uses, p.promotion_id))

    async def sales_by_period(self, window: SalesWindow, granularity: Granularity) -> list[PeriodSales]:
        groups: dict[date, _Tally] = {}
        for order, line, paid_at in self._sold(window.paid_from, window.paid_before, window.currency):
            first = period_start(paid_at.astimezone(UTC).date(), granularity)
            groups.setdefault(first, _Tally()).add(order, line)
        return [
            PeriodSales(first, len(tally.orders), tally.units, tally.revenue)
            for first, tally in sorted(groups.items())
        ]

    async def popular_choices(
        self, *, paid_from: datetime, paid_before: datetime, product_id: str | None, limit: int
    ) -> list[ChoiceCount]:
        counted: dict[tuple[str, str, str, str], _Choice] = {}
        for _, line, _ in self._sold(paid_from, paid_before, None):
            if product_id is not None and line.product_id != product_id:
                continue
            made: list[tuple[str, str, str, str | None]] = [
                (c.zone_id, "option", c.code, c.label) for c in line.components if c.code is not None
            ]
            made += [
                (zone_id, "color", value, None)
                for zone_id, value in line.options.items()
                if isinstance(value, str) and value.startswith("#")
            ]
            for zone_id, kind, value, label in made:
                choice = counted.setdefault((line.product_id, zone_id, kind, value), _Choice())
                choice.count += 1
                choice.units += line.quantity
                if label is not None:
                    choice.label = label if choice.label is None else max(choice.label, label)
        ranked = sorted(
            (
                ChoiceCount(product, zone_id, kind, value, choice.label, choice.count, choice.units)
                for (product, zone_id, kind, value), choice in counted.items()
            ),
            key=lambda c: (c.product_id, -c.count, -c.units, c.zone_id, c.value),
        )
        kept: dict[str, int] = {}
        top: list[ChoiceCount] = []
        for entry in ranked:
            if kept.get(entry.product_id, 0) < limit:
                kept[entry.product_id] = kept.get(entry.product_id, 0) + 1
                top.append(entry)
        return top
