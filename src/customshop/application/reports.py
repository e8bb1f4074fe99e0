"""Sales reports for admins: what sold, which choices are popular, how revenue moves over time.

Every report follows the same rules:

* **A sale** is an order in a paid state (``PAID_STATES``: ``paid``, ``in_production``,
  ``fulfilled``, ``shipped``, ``delivered``), counted on the day it was paid (``paid_at``). Refunded
  orders never count, whenever they were paid: their money went back, so a past period's report
  shrinks when one of its orders is refunded later. Cancelled and unpaid orders received no money.
* **Revenue** is what the goods sold for: Σ ``unit_price × quantity`` of the sold lines (unit prices
  after volume discounts), which is the sum of the orders' subtotals (tax and shipping are not
  sales). ``total_sales`` is that same sum, so it always equals the sum of the ``by_product``
  revenues, and of the revenue periods. Beside it, the sales report gives the orders' ``discounts``
  (promotions: what the guests did not pay of it), ``tax`` and ``shipping``; what the orders paid
  in all is ``total_sales − discounts + shipping + tax`` (without ``+ tax`` for orders whose
  prices include it, whose tax is inside ``total_sales``).
* **Promotions**: the promotions report counts, per promotion, the sold orders that used it and
  what it took off them, by the same rules.
* **Dates** are calendar days in UTC written ``YYYY-MM-DD``, and a range includes both ends: from
  ``start`` 00:00 UTC to the end of ``end``.
* **One currency** per money report: the shop's (``CUSTOMSHOP_CURRENCY``) unless another is asked
  for; orders in other currencies are left out, never converted.

The summing happens in the ``ReportRepository`` (in SQL on a database); the use cases check the
input, naming every bad field at once, and shape the answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from customshop.application.ports import (
    ChoiceCount,
    Granularity,
    PeriodSales,
    ProductSales,
    PromotionSales,
    SalesWindow,
    UnitOfWorkFactory,
)
from customshop.domain.errors import InvalidInput, Violation
from customshop.domain.money import is_currency

#: The most periods one revenue report holds (a day report spans at most about 2¾ years).
MAX_PERIODS = 1000
#: Choices listed per product by default, and at most.
CHOICES_DEFAULT = 20
CHOICES_MAX = 100

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_GRANULARITIES = ", ".join(g.value for g in Granularity)


@dataclass(frozen=True, slots=True)
class DateRange:
    """Calendar days in UTC, ``start`` and ``end`` included."""

    start: date
    end: date

    @property
    def paid_from(self) -> datetime:
        """The range's first instant: ``start`` 00:00 UTC."""
        return datetime.combine(self.start, time(), UTC)

    @property
    def paid_before(self) -> datetime:
        """The instant after the range: midnight UTC after ``end``. For the last day there is (year
        9999) it is that day's last microsecond, the latest instant a ``datetime`` holds."""
        if self.end == date.max:
            return datetime.max.replace(tzinfo=UTC)
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)


@dataclass(frozen=True, slots=True)
class SalesReport:
    """``total_sales`` = Σ ``by_product`` revenue; ``units`` = Σ their units; ``orders`` the orders;
    ``discounts``, ``tax`` and ``shipping`` the sums of those orders' own."""

    days: DateRange
    currency: str
    total_sales: int
    orders: int
    units: int
    by_product: list[ProductSales]
    discounts: int = 0
    tax: int = 0
    shipping: int = 0


@dataclass(frozen=True, slots=True)
class PromotionsReport:
    """Per promotion used by sold orders, most discount first; ``discounts`` = Σ their discount.
    ``start``/``end`` as asked (``None``: unbounded)."""

    start: date | None
    end: date | None
    currency: str
    discounts: int
    promotions: list[PromotionSales]


@dataclass(frozen=True, slots=True)
class RevenueReport:
    """Every period the range touches, oldest first, zeros included; ``total_sales`` = Σ their
    revenue. The first and last periods may reach beyond the range: only the range's days count."""

    days: DateRange
    granularity: Granularity
    currency: str
    total_sales: int
    periods: list[PeriodSales]


@dataclass(frozen=True, slots=True)
class ProductChoices:
    """One product's most made choices, most chosen first."""

    product_id: str
    choices: list[ChoiceCount]


@dataclass(frozen=True, slots=True)
class ChoicesReport:
    """Popular choices by product id; ``start``/``end`` as asked (``None``: unbounded)."""

    start: date | None
    end: date | None
    products: list[ProductChoices]


def period_start(day: date, granularity: Granularity) -> date:
    """The first day of the period holding ``day``: itself, its week's Monday, its month's 1st."""
    match granularity:
        case Granularity.DAY:
            return day
        case Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        case Granularity.MONTH:
            return day.replace(day=1)


def period_count(days: DateRange, granularity: Granularity) -> int:
    """How many periods ``days`` touches."""
    first, last = period_start(days.start, granularity), period_start(days.end, granularity)
    match granularity:
        case Granularity.DAY:
            return (last - first).days + 1
        case Granularity.WEEK:
            return (last - first).days // 7 + 1
        case Granularity.MONTH:
            return (last.year - first.year) * 12 + last.month - first.month + 1


def periods(days: DateRange, granularity: Granularity) -> list[date]:
    """The first days of the periods ``days`` touches, oldest first."""
    first = period_start(days.start, granularity)
    count = period_count(days, granularity)
    match granularity:
        case Granularity.DAY:
            return [first + timedelta(days=n) for n in range(count)]
        case Granularity.WEEK:
            return [first + timedelta(weeks=n) for n in range(count)]
        case Granularity.MONTH:
            months = first.year * 12 + first.month - 1
            return [date((months + n) // 12, (months + n) % 12 + 1, 1) for n in range(count)]


# -- reading the parameters ------------------------------------------------------------------------


def _day(value: str | None, field: str, problems: list[Violation], *, required: bool) -> date | None:
    if value is None or value == "":
        if required:
            problems.append(Violation(field, "required", "a date is required here, such as 2026-01-31"))
        return None
    if not _DAY.fullmatch(value):
        problems.append(Violation(field, "invalid_format", "write the date as YYYY-MM-DD (2026-01-31)"))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(Violation(field, "invalid_format", f"{value} is not a day of the calendar"))
        return None


def _bounds(
    start: str | None, end: str | None, problems: list[Violation], *, required: bool
) -> tuple[date | None, date | None]:
    """The first and last day asked for (``None`` where left out or bad; ``problems`` says which)."""
    first = _day(start, "start", problems, required=required)
    last = _day(end, "end", problems, required=required)
    if first is not None and last is not None and first > last:
        problems.append(Violation("end", "out_of_range", "end is before start"))
    return first, last


def _granularity(value: str | None, problems: list[Violation]) -> Granularity:
    if value is None or value == "":
        return Granularity.DAY
    try:
        return Granularity(value)
    except ValueError:
        problems.append(Violation("granularity", "invalid_choice", f"granularity is one of {_GRANULARITIES}"))
        return Granularity.DAY


class Reports:
    """Sales reports over paid orders. Read-only: nothing here changes any data."""

    def __init__(self, uow: UnitOfWorkFactory, currency: str) -> None:
        """``currency``: the shop's currency, that of money reports not asking for another."""
        self._uow = uow
        self._currency = currency

    async def sales(self, start: str | None, end: str | None, currency: str | None = None) -> SalesReport:
        """Sales of the days ``start`` to ``end`` (``YYYY-MM-DD``, UTC, both included): totals, and
        per product and template version.

        Raises:
            InvalidInput: naming each bad field: ``start``/``end`` missing or not a date, ``end``
                before ``start``, ``currency`` not an ISO 4217 code.
        """
        problems: list[Violation] = []
        first, last = _bounds(start, end, problems, required=True)
        money = self._currency_of(currency, problems)
        if first is None or last is None or problems:
            raise InvalidInput(problems, "The report's parameters are invalid.")
        days = DateRange(first, last)
        async with self._uow(read_only=True) as uow:
            figures = await uow.reports.sales(SalesWindow(money, days.paid_from, days.paid_before))
        return SalesReport(
            days,
            money,
            figures.revenue,
            figures.orders,
            figures.units,
            figures.by_product,
            figures.discounts,
            figures.tax,
            figures.shipping,
        )

    async def promotions(
        self, start: str | None = None, end: str | None = None, currency: str | None = None
    ) -> PromotionsReport:
        """The uses and discount totals per promotion of the orders paid from ``start`` to ``end``
        (``YYYY-MM-DD``, UTC, both included, each optional) that are sold (as :meth:`sales` counts
        them), in the shop's currency or ``currency``.

        Raises:
            InvalidInput: naming each bad field: a date that is not one, ``end`` before ``start``,
                ``currency`` not an ISO 4217 code.
        """
        problems: list[Violation] = []
        first, last = _bounds(start, end, problems, required=False)
        money = self._currency_of(currency, problems)
        if problems:
            raise InvalidInput(problems, "The report's parameters are invalid.")
        days = DateRange(first or date.min, last or date.max)
        async with self._uow(read_only=True) as uow:
            found = await uow.reports.promotions(SalesWindow(money, days.paid_from, days.paid_before))
        return PromotionsReport(first, last, money, sum(p.discount for p in found), found)

    async def revenue(
        self, granularity: str | None, start: str | None, end: str | None, currency: str | None = None
    ) -> RevenueReport:
        """Revenue per day, ISO week (from Monday) or month (``granularity``, ``day`` when left out)
        of the days ``start`` to ``end``: every period the range touches, zeros included.

        Raises:
            InvalidInput: naming each bad field: as :meth:`sales`, plus a ``granularity`` that is not
                ``day``, ``week`` or ``month``, and a range of more than ``MAX_PERIODS`` periods
                (``end``).
        """
        problems: list[Violation] = []
        period = _granularity(granularity, problems)
        first, last = _bounds(start, end, problems, required=True)
        money = self._currency_of(currency, problems)
        if first is None or last is None or problems:
            raise InvalidInput(problems, "The report's parameters are invalid.")
        days = DateRange(first, last)
        if period_count(days, period) > MAX_PERIODS:
            raise InvalidInput(
                [
                    Violation(
                        "end",
                        "out_of_range",
                        f"a report by {period} covers at most {MAX_PERIODS} periods: "
                        "ask for fewer days or longer periods",
                    )
                ],
                "The report's parameters are invalid.",
            )
        async with self._uow(read_only=True) as uow:
            found = await uow.reports.sales_by_period(
                SalesWindow(money, days.paid_from, days.paid_before), period
            )
        every = {day: PeriodSales(day, 0, 0, 0) for day in periods(days, period)}
        for sales in found:
            if sales.period not in every:  # a defect of the repository, never a figure to drop
                raise RuntimeError(f"sales were put in a period {sales.period} outside {days}")
            every[sales.period] = sales
        rows = list(every.values())
        return RevenueReport(days, period, money, sum(p.revenue for p in rows), rows)

    async def choices(
        self,
        product_id: str | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int = CHOICES_DEFAULT,
    ) -> ChoicesReport:
        """The ``limit`` most made choices per product (option codes and colours) in paid orders,
        of one product when ``product_id`` is given, paid from ``start`` to ``end`` (each optional).

        Raises:
            InvalidInput: naming each bad field: a date that is not one, ``end`` before ``start``,
                ``limit`` outside 1 to ``CHOICES_MAX``.
        """
        problems: list[Violation] = []
        first, last = _bounds(start, end, problems, required=False)
        if not 1 <= limit <= CHOICES_MAX:
            problems.append(Violation("limit", "out_of_range", f"limit is between 1 and {CHOICES_MAX}"))
        if problems:
            raise InvalidInput(problems, "The report's parameters are invalid.")
        days = DateRange(first or date.min, last or date.max)
        async with self._uow(read_only=True) as uow:
            found = await uow.reports.popular_choices(
                paid_from=days.paid_from, paid_before=days.paid_before, product_id=product_id, limit=limit
            )
        products: dict[str, list[ChoiceCount]] = {}
        for choice in found:
            products.setdefault(choice.product_id, []).append(choice)
        return ChoicesReport(
            first,
            last,
            [ProductChoices(product, choices) for product, choices in products.items()],
        )

    def _currency_of(self, currency: str | None, problems: list[Violation]) -> str:
        if currency is None or currency == "":
            return self._currency
        if not is_currency(currency):
            problems.append(
                Violation("currency", "invalid_choice", "currency is an ISO 4217 code in capitals, like USD")
            )
        return currency
