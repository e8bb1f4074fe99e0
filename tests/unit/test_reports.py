"""Sales reports on the in-memory adapter: the figures against ones computed the plain way
(``tests/sales_data.py``), the rules (paid orders only, refunds out, ``end`` inclusive, one
currency), the periods, the popular choices, and every bad parameter named."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.adapters.memory import MemoryStore, MemoryUnitOfWork
from customshop.application.ports import Granularity, PeriodSales
from customshop.application.reports import (
    CHOICES_MAX,
    MAX_PERIODS,
    DateRange,
    Reports,
    period_count,
    period_start,
    periods,
)
from customshop.domain.errors import InvalidInput
from tests.sales_data import (
    DAYS,
    FIRST_DAY,
    LineSpec,
    OrderSpec,
    build_order,
    expected_choices,
    expected_periods,
    expected_sales,
    random_orders,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday


async def reports_over(specs: list[OrderSpec], currency: str = "USD") -> Reports:
    store = MemoryStore()
    factory = partial(MemoryUnitOfWork, store)
    async with factory() as uow:
        for number, spec in enumerate(specs):
            await uow.orders.add(build_order(number, spec))
        await uow.commit()
    return Reports(factory, currency)


def sale(
    product: str,
    unit_price: int,
    quantity: int,
    *,
    paid_at: datetime | None = T0,
    status: str = "paid",
    version: int = 1,
    currency: str = "USD",
    codes: tuple[tuple[str, str], ...] = (),
    colors: dict[str, str] | None = None,
) -> OrderSpec:
    line = LineSpec(product, version, unit_price, quantity, codes, colors or {})
    created = (paid_at or T0) - timedelta(minutes=5)
    return OrderSpec(currency, created, paid_at, status, (line,))


def fields_of(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {v.field: v.code for v in exc.value.violations}


# -- the sales report ------------------------------------------------------------------------------


async def test_sales_count_paid_orders_only_and_never_refunded_ones() -> None:
    reports = await reports_over(
        [
            sale("tee", 2000, 2),
            sale("tee", 2000, 1, status="delivered"),
            sale("mug", 1500, 3, status="in_production", version=2),
            sale("tee", 9999, 5, status="refunded"),
            sale("tee", 9999, 5, status="created", paid_at=None),
            sale("mug", 9999, 5, status="cancelled", paid_at=None),
        ]
    )
    report = await reports.sales("2026-03-02", "2026-03-02")
    assert (report.orders, report.units, report.total_sales, report.currency) == (3, 6, 10500, "USD")
    assert [(s.product_id, s.template_version, s.units, s.revenue) for s in report.by_product] == [
        ("tee", 1, 3, 6000),
        ("mug", 2, 3, 4500),
    ]
    assert report.by_product[0].product_name == "The tee"


async def test_a_range_holds_both_of_its_days_whole_in_utc() -> None:
    first = datetime(2026, 3, 1, tzinfo=UTC)
    reports = await reports_over(
        [
            sale("tee", 100, 1, paid_at=first - timedelta(microseconds=1)),  # the day before
            sale("tee", 200, 1, paid_at=first),
            sale("tee", 400, 1, paid_at=first + timedelta(days=2, microseconds=-1)),  # end's last instant
            sale("tee", 800, 1, paid_at=first + timedelta(days=2)),  # the day after
            # 00:30 on the 3rd in Paris is still the 2nd in UTC.
            sale("tee", 1600, 1, paid_at=datetime.fromisoformat("2026-03-03T00:30:00+01:00")),
        ]
    )
    assert (await reports.sales("2026-03-01", "2026-03-02")).total_sales == 200 + 400 + 1600
    assert (await reports.sales("2026-02-28", "2026-02-28")).total_sales == 100
    assert (await reports.sales("2026-03-03", "2026-03-03")).total_sales == 800
    assert (await reports.sales("2026-03-04", "2026-12-31")).by_product == []


async def test_one_currency_per_report() -> None:
    reports = await reports_over([sale("tee", 1000, 1), sale("tee", 700, 2, currency="EUR")], currency="USD")
    usd = await reports.sales("2026-03-02", "2026-03-02")
    eur = await reports.sales("2026-03-02", "2026-03-02", currency="EUR")
    assert (usd.currency, usd.total_sales, usd.orders) == ("USD", 1000, 1)
    assert (eur.currency, eur.total_sales, eur.orders) == ("EUR", 1400, 1)


async def test_an_empty_report_is_zeros() -> None:
    report = await (await reports_over([])).sales("2026-01-01", "2026-12-31")
    assert (report.orders, report.units, report.total_sales, report.by_product) == (0, 0, 0, [])


@pytest.mark.parametrize(
    ("start", "end", "currency", "expected"),
    [
        (None, None, None, {"start": "required", "end": "required"}),
        ("", "2026-01-01", None, {"start": "required"}),
        ("2026-13-01", "yesterday", None, {"start": "invalid_format", "end": "invalid_format"}),
        ("2026-02-30", "2026-03-01", None, {"start": "invalid_format"}),
        ("20260301", "2026-W09-1", None, {"start": "invalid_format", "end": "invalid_format"}),
        ("2026-03-02", "2026-03-01", None, {"end": "out_of_range"}),
        ("2026-03-01", "2026-03-02", "usd", {"currency": "invalid_choice"}),
        (None, "2026-03-02", "XXX", {"start": "required", "currency": "invalid_choice"}),
    ],
)
async def test_bad_parameters_are_named_each(
    start: str | None, end: str | None, currency: str | None, expected: dict[str, str]
) -> None:
    reports = await reports_over([])
    with pytest.raises(InvalidInput) as sales:
        await reports.sales(start, end, currency)
    assert fields_of(sales) == expected
    with pytest.raises(InvalidInput) as revenue:
        await reports.revenue("week", start, end, currency)
    assert fields_of(revenue) == expected


# -- revenue per period ----------------------------------------------------------------------------


async def test_revenue_per_day_week_and_month_with_every_period_listed() -> None:
    reports = await reports_over(
        [
            sale("tee", 100, 1, paid_at=datetime(2026, 2, 27, 12, tzinfo=UTC)),  # Friday, week of 23 Feb
            sale("tee", 200, 2, paid_at=datetime(2026, 3, 1, 23, 59, tzinfo=UTC)),  # Sunday
            sale("mug", 1000, 1, paid_at=datetime(2026, 3, 2, tzinfo=UTC)),  # Monday: a new week
            sale("mug", 5000, 1, paid_at=datetime(2026, 3, 2, 8, tzinfo=UTC), status="refunded"),
        ]
    )
    by_day = await reports.revenue("day", "2026-02-27", "2026-03-02")
    assert [(p.period.isoformat(), p.orders, p.units, p.revenue) for p in by_day.periods] == [
        ("2026-02-27", 1, 1, 100),
        ("2026-02-28", 0, 0, 0),
        ("2026-03-01", 1, 2, 400),
        ("2026-03-02", 1, 1, 1000),
    ]
    assert by_day.total_sales == 1500
    by_week = await reports.revenue("week", "2026-02-27", "2026-03-02")
    assert [(p.period, p.revenue) for p in by_week.periods] == [
        (date(2026, 2, 23), 500),
        (date(2026, 3, 2), 1000),
    ]
    by_month = await reports.revenue("month", "2026-02-28", "2026-03-31")
    assert [(p.period, p.revenue) for p in by_month.periods] == [
        (date(2026, 2, 1), 0),  # the 27th is outside the range, though in its month
        (date(2026, 3, 1), 1400),
    ]
    assert (await reports.revenue(None, "2026-03-01", "2026-03-01")).granularity is Granularity.DAY


async def test_revenue_refuses_a_bad_granularity_and_too_many_periods() -> None:
    reports = await reports_over([])
    with pytest.raises(InvalidInput) as bad:
        await reports.revenue("year", "2026-03-02", "2026-03-01")
    assert fields_of(bad) == {"granularity": "invalid_choice", "end": "out_of_range"}
    with pytest.raises(InvalidInput) as long:
        await reports.revenue("day", "2020-01-01", "2026-12-31")
    assert fields_of(long) == {"end": "out_of_range"}
    by_month = await reports.revenue("month", "2020-01-01", "2026-12-31")
    assert len(by_month.periods) == 84


@given(st.dates(), st.sampled_from(list(Granularity)))
def test_a_period_starts_on_or_before_its_day_and_holds_it(day: date, granularity: Granularity) -> None:
    first = period_start(day, granularity)
    assert first <= day
    assert period_start(first, granularity) == first
    if granularity is Granularity.WEEK:
        assert first.isoweekday() == 1 and (day - first).days < 7
        assert first.isocalendar()[:2] == day.isocalendar()[:2]
    if granularity is Granularity.MONTH:
        assert (first.year, first.month, first.day) == (day.year, day.month, 1)


@given(st.dates(), st.integers(0, 800), st.sampled_from(list(Granularity)))
def test_periods_cover_a_range_in_order_without_gaps(
    start: date, length: int, granularity: Granularity
) -> None:
    end = start + timedelta(days=length) if date.max - start >= timedelta(days=length) else date.max
    days = DateRange(start, end)
    firsts = periods(days, granularity)
    assert len(firsts) == period_count(days, granularity)
    assert firsts[0] == period_start(start, granularity)
    assert firsts[-1] == period_start(end, granularity)
    assert firsts == sorted(set(firsts))
    assert all(period_start(first, granularity) == first for first in firsts)
    # No gaps: every day of the range falls into a listed period (sampled: ranges are long).
    for offset in range(0, (end - start).days + 1, 13):
        assert period_start(start + timedelta(days=offset), granularity) in firsts


def test_the_range_ends_hold_the_extremes_of_the_calendar() -> None:
    whole = DateRange(date.min, date.max)
    assert whole.paid_from == datetime.min.replace(tzinfo=UTC)
    assert whole.paid_before == datetime.max.replace(tzinfo=UTC)
    assert DateRange(date(2026, 3, 1), date(2026, 3, 1)).paid_before == datetime(2026, 3, 2, tzinfo=UTC)
    assert MAX_PERIODS >= 366


# -- properties over random orders -----------------------------------------------------------------

ranges = st.tuples(st.integers(-3, DAYS + 3), st.integers(0, DAYS + 6)).map(
    lambda r: (FIRST_DAY.date() + timedelta(days=r[0]), FIRST_DAY.date() + timedelta(days=r[0] + r[1]))
)


@given(st.randoms(use_true_random=False), st.integers(0, 25), ranges, st.sampled_from(["USD", "EUR"]))
async def test_sales_add_up_and_match_the_orders(
    rng: random.Random, count: int, days: tuple[date, date], currency: str
) -> None:
    specs = random_orders(rng, count)
    reports = await reports_over(specs)
    start, end = (d.isoformat() for d in days)
    report = await reports.sales(start, end, currency)
    total, by_product = expected_sales(specs, *days, currency)
    assert (report.orders, report.units, report.total_sales) == total.triple
    assert report.total_sales == sum(s.revenue for s in report.by_product)
    assert report.units == sum(s.units for s in report.by_product)
    assert {(s.product_id, s.template_version): (s.units, s.revenue) for s in report.by_product} == {
        key: (figures.units, figures.revenue) for key, figures in by_product.items()
    }
    assert [s.revenue for s in report.by_product] == sorted(
        (s.revenue for s in report.by_product), reverse=True
    )
    for granularity in Granularity:
        trend = await reports.revenue(granularity.value, start, end, currency)
        assert trend.total_sales == report.total_sales
        assert sum(p.units for p in trend.periods) == report.units
        assert [p.period for p in trend.periods] == periods(DateRange(*days), granularity)
        expected = expected_periods(specs, *days, currency, granularity.value)
        assert {p.period: (p.orders, p.units, p.revenue) for p in trend.periods if p.orders} == {
            first: figures.triple for first, figures in expected.items()
        }
        assert all(p == PeriodSales(p.period, 0, 0, 0) for p in trend.periods if p.period not in expected)


@given(
    st.randoms(use_true_random=False),
    st.integers(0, 25),
    st.sampled_from([None, "tee", "box"]),
    st.integers(1, 6),
)
async def test_popular_choices_match_the_orders(
    rng: random.Random, count: int, product_id: str | None, limit: int
) -> None:
    specs = random_orders(rng, count)
    report = await (await reports_over(specs)).choices(product_id, limit=limit)
    listed = [
        (p.product_id, c.zone_id, c.kind, c.value, c.label, c.count, c.units)
        for p in report.products
        for c in p.choices
    ]
    assert listed == expected_choices(specs, date.min, date.max, product_id, limit)
    assert all(p.product_id == product_id for p in report.products if product_id is not None)
    assert (report.start, report.end) == (None, None)


# -- popular choices -------------------------------------------------------------------------------


async def test_choices_count_options_and_colours_of_paid_orders() -> None:
    size_l, size_m = ("size", "L"), ("size", "M")
    red = {"tee_color": "#c0392b"}
    reports = await reports_over(
        [
            sale("tee", 100, 3, codes=(size_l,), colors=red),
            sale("tee", 100, 1, codes=(size_l,)),
            sale("tee", 100, 9, codes=(size_m,), colors=red),
            sale("tee", 100, 50, codes=(size_m,), status="refunded"),
            sale("tee", 100, 50, codes=(size_m,), status="created", paid_at=None),
            sale("box", 100, 2, codes=(("components", "tea"), ("components", "candle"))),
        ]
    )
    report = await reports.choices()
    assert [p.product_id for p in report.products] == ["box", "tee"]
    box, tee = report.products
    assert [(c.zone_id, c.value, c.count, c.units) for c in box.choices] == [
        ("components", "candle", 1, 2),
        ("components", "tea", 1, 2),
    ]
    assert [(c.kind, c.value, c.label, c.count, c.units) for c in tee.choices] == [
        ("color", "#c0392b", None, 2, 12),
        ("option", "L", "Large", 2, 4),
        ("option", "M", "Medium", 1, 9),  # more units than L, but chosen in fewer lines
    ]
    only_tee = await reports.choices("tee", limit=1)
    assert [(p.product_id, [c.value for c in p.choices]) for p in only_tee.products] == [("tee", ["#c0392b"])]
    assert (await reports.choices("nothing-sold")).products == []
    in_range = await reports.choices(start="2026-03-03")
    assert (in_range.start, in_range.end, in_range.products) == (date(2026, 3, 3), None, [])


async def test_choices_name_bad_parameters() -> None:
    reports = await reports_over([])
    with pytest.raises(InvalidInput) as bad:
        await reports.choices(start="2026-3-1", end="2026-02-01", limit=CHOICES_MAX + 1)
    assert fields_of(bad) == {"start": "invalid_format", "limit": "out_of_range"}
    with pytest.raises(InvalidInput) as reversed_range:
        await reports.choices(start="2026-03-01", end="2026-02-01")
    assert fields_of(reversed_range) == {"end": "out_of_range"}
