"""One contract for the ``ReportRepository`` port, through the ``Reports`` use case, run against the
in-memory adapter, SQLite and PostgreSQL: the same random orders, stored through the order
repository, must give the figures computed the plain way (``tests/sales_data.py``), for every
range edge, granularity and currency. This is what proves the SQL (its ``GROUP BY``s, the date
bucketing of each dialect, the JSON reading of choices) right."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from customshop.application.ports import Granularity, UnitOfWorkFactory
from customshop.application.reports import DateRange, Reports, periods
from tests.sales_data import (
    DAYS,
    FIRST_DAY,
    OrderSpec,
    build_order,
    expected_choices,
    expected_order_sums,
    expected_periods,
    expected_promotions,
    expected_sales,
    random_orders,
)

pytestmark = pytest.mark.parametrize(
    "backend", ["memory", "sqlite", "postgresql"], indirect=True, scope="session"
)


async def stored(uow_factory: UnitOfWorkFactory, specs: list[OrderSpec]) -> Reports:
    async with uow_factory() as uow:
        for number, spec in enumerate(specs):
            await uow.orders.add(build_order(number, spec))
        await uow.commit()
    return Reports(uow_factory, "USD")


def some_ranges(rng: random.Random) -> list[tuple[date, date]]:
    first = FIRST_DAY.date()
    ranges = [(first - timedelta(days=5), first + timedelta(days=DAYS + 5)), (first, first)]
    for _ in range(6):
        start = first + timedelta(days=rng.randrange(-2, DAYS))
        ranges.append((start, start + timedelta(days=rng.randrange(0, 20))))
    return ranges


@pytest.mark.parametrize("seed", [1, 2])
async def test_reports_give_the_figures_of_the_orders(uow_factory: UnitOfWorkFactory, seed: int) -> None:
    rng = random.Random(seed)
    specs = random_orders(rng, 60)
    reports = await stored(uow_factory, specs)
    for start, end in some_ranges(rng):
        for currency in ("USD", "EUR"):
            report = await reports.sales(start.isoformat(), end.isoformat(), currency)
            total, by_product = expected_sales(specs, start, end, currency)
            assert (report.orders, report.units, report.total_sales) == total.triple, (start, end)
            assert report.total_sales == sum(s.revenue for s in report.by_product)
            assert [
                (s.product_id, s.template_version, s.units, s.revenue) for s in report.by_product
            ] == sorted(
                ((p, v, f.units, f.revenue) for (p, v), f in by_product.items()),
                key=lambda row: (-row[3], row[0], row[1]),
            )
            assert all(s.product_name == f"The {s.product_id}" for s in report.by_product)
            assert (report.discounts, report.tax, report.shipping) == expected_order_sums(
                specs, start, end, currency
            )
            promotions = await reports.promotions(start.isoformat(), end.isoformat(), currency)
            assert [
                (p.promotion_id, p.code, p.description, p.uses, p.discount) for p in promotions.promotions
            ] == expected_promotions(specs, start, end, currency)
            assert promotions.discounts == report.discounts
            for granularity in Granularity:
                trend = await reports.revenue(granularity.value, start.isoformat(), end.isoformat(), currency)
                expected = expected_periods(specs, start, end, currency, granularity.value)
                assert [p.period for p in trend.periods] == periods(DateRange(start, end), granularity)
                assert {p.period: (p.orders, p.units, p.revenue) for p in trend.periods if p.orders} == {
                    first: figures.triple for first, figures in expected.items()
                }, (granularity, start, end)
                assert trend.total_sales == report.total_sales


@pytest.mark.parametrize("seed", [3])
async def test_popular_choices_are_those_of_the_orders(uow_factory: UnitOfWorkFactory, seed: int) -> None:
    rng = random.Random(seed)
    specs = random_orders(rng, 60)
    reports = await stored(uow_factory, specs)
    first = FIRST_DAY.date()
    cases = [
        (None, None, None, 20),
        ("tee", None, None, 20),
        ("box", None, None, 2),
        (None, first + timedelta(days=10), first + timedelta(days=20), 3),
        (None, first + timedelta(days=15), None, 1),
    ]
    for product_id, start, end, limit in cases:
        report = await reports.choices(
            product_id, start.isoformat() if start else None, end.isoformat() if end else None, limit
        )
        listed = [
            (p.product_id, c.zone_id, c.kind, c.value, c.label, c.count, c.units)
            for p in report.products
            for c in p.choices
        ]
        expected = expected_choices(specs, start or date.min, end or date.max, product_id, limit)
        assert listed == expected, (product_id, start, end, limit)
        assert listed, "the data makes choices in every case"
