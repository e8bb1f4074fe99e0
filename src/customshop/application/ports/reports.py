"""Sales reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol


class Granularity(StrEnum):
    """The length of a revenue report's periods, in UTC: a day, an ISO week (Monday to Sunday) or a
    calendar month. A period is named by its first day."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class SalesWindow:
    """The sales a report counts: the lines of orders in ``currency`` that are in a paid state
    (``PAID_STATES``: refunded and cancelled orders are not) and were paid in
    ``[paid_from, paid_before)``."""

    currency: str
    paid_from: datetime
    paid_before: datetime


@dataclass(frozen=True, slots=True)
class ProductSales:
    """What one template version of a product sold: ``revenue`` is Σ ``unit_price × quantity`` of
    its lines, ``units`` Σ ``quantity``. ``product_name`` is the name it was sold under (the greatest
    in code-point order, should the product have been renamed)."""

    product_id: str
    product_name: str
    template_version: int
    units: int
    revenue: int


@dataclass(frozen=True, slots=True)
class SalesFigures:
    """A window's sales, all read at once: ``revenue`` and ``units`` equal the sums over
    ``by_product``; ``orders`` counts the orders (an order may hold several products). ``discounts``,
    ``tax`` and ``shipping`` are the sums of those orders' ``discount_total``, ``tax`` and
    ``shipping``."""

    orders: int
    units: int
    revenue: int
    by_product: list[ProductSales]
    discounts: int = 0
    tax: int = 0
    shipping: int = 0


@dataclass(frozen=True, slots=True)
class PromotionSales:
    """What one promotion did in a window's sales: the orders that used it (``uses``) and the sum
    of what it took off them (``discount``). ``code`` and ``description`` are those it was sold
    under (the greatest in code-point order, should they have changed)."""

    promotion_id: str
    code: str | None
    description: str
    uses: int
    discount: int


@dataclass(frozen=True, slots=True)
class PeriodSales:
    """The sales of one period, named by its first day (UTC)."""

    period: date
    orders: int
    units: int
    revenue: int


@dataclass(frozen=True, slots=True)
class ChoiceCount:
    """How often one choice was made in paid orders' lines of a product.

    ``kind`` is ``option`` (``value`` an option code of the zone's option set, ``label`` its label
    as sold) or ``color`` (``value`` the ``#rrggbb`` colour chosen in a colour zone; ``label`` None).
    ``count`` is the number of order lines (designs) with the choice, ``units`` their quantities.
    """

    product_id: str
    zone_id: str
    kind: str
    value: str
    label: str | None
    count: int
    units: int


class ReportRepository(Protocol):
    """Sales figures of paid orders, summed where the orders are stored. Read-only; never commits.

    A line's revenue is ``unit_price × quantity``; a window selects lines as :class:`SalesWindow`
    says. Each method answers from one consistent reading of the data.
    """

    async def sales(self, window: SalesWindow) -> SalesFigures:
        """The window's totals and its sales per ``(product_id, template_version)``, by revenue,
        highest first (ties by product id, then version)."""
        ...

    async def promotions(self, window: SalesWindow) -> list[PromotionSales]:
        """The promotions the window's orders used (their ``discounts``), most discount first (ties
        by uses, then promotion id)."""
        ...

    async def sales_by_period(self, window: SalesWindow, granularity: Granularity) -> list[PeriodSales]:
        """The sales of each period that has some, oldest first (periods without sales are left out)."""
        ...

    async def popular_choices(
        self, *, paid_from: datetime, paid_before: datetime, product_id: str | None, limit: int
    ) -> list[ChoiceCount]:
        """The ``limit`` most made choices of each product (of ``product_id`` only, when given) in the
        lines of orders in a paid state paid in ``[paid_from, paid_before)``, in any currency. By
        product id, then most chosen first: ``count``, then ``units`` descending, then zone id and
        value in code-point order."""
        ...
