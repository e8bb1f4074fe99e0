"""Sales reports for admin keys with ``reports:read``: sales by product, revenue per period, popular
choices, promotions. The rules (what counts as a sale, revenue, dates, currency) are those of
``application/reports.py``; the dates are read there too, so every bad parameter is named at once."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from customshop.application.ports import Granularity
from customshop.application.reports import (
    CHOICES_DEFAULT,
    CHOICES_MAX,
    ChoicesReport,
    PromotionsReport,
    Reports,
    RevenueReport,
    SalesReport,
)
from customshop.domain.access import Scope
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.params import ADMIN_SECURITY, requires

_DATE = {"format": "date"}

Start = Annotated[
    str | None,
    Parameter(description="First day, `YYYY-MM-DD` (UTC), included.", schema_extra=_DATE),
]
End = Annotated[
    str | None,
    Parameter(description="Last day, `YYYY-MM-DD` (UTC), included.", schema_extra=_DATE),
]
Currency = Annotated[
    str | None,
    Parameter(
        description="ISO 4217 code of the orders to count (default: the shop's currency).",
        schema_extra={"pattern": "^[A-Z]{3}$"},
    ),
]


# -- responses -------------------------------------------------------------------------------------


class ProductSalesRead(msgspec.Struct):
    """`revenue = Σ unit_price × quantity` of the product's sold lines of this template version."""

    product_id: str
    product_name: str
    template_version: int
    units: int
    revenue: int


class SalesReportRead(msgspec.Struct):
    """Sales of paid orders (not refunded) paid from `start` to `end`: `total_sales` is the goods'
    revenue (order subtotals; no tax or shipping), the sum of `by_product[].revenue`; `discounts`,
    `tax` and `shipping` are the sums of those orders' discount totals, tax and shipping."""

    start: date
    end: date
    currency: str
    total_sales: int
    orders: int
    units: int
    by_product: list[ProductSalesRead]
    discounts: int
    tax: int
    shipping: int

    @classmethod
    def of(cls, report: SalesReport) -> SalesReportRead:
        return cls(
            start=report.days.start,
            end=report.days.end,
            currency=report.currency,
            total_sales=report.total_sales,
            orders=report.orders,
            units=report.units,
            by_product=[
                ProductSalesRead(s.product_id, s.product_name, s.template_version, s.units, s.revenue)
                for s in report.by_product
            ],
            discounts=report.discounts,
            tax=report.tax,
            shipping=report.shipping,
        )


class PromotionUsageRead(msgspec.Struct):
    """One promotion in sold orders: `uses` orders used it, and it took `discount` off them
    (`code` null for an automatic promotion)."""

    promotion_id: str
    code: str | None
    description: str
    uses: int
    discount: int


class PromotionsReportRead(msgspec.Struct):
    """The promotions of paid orders (not refunded), most discount first; `discounts` is the sum of
    their `discount`. `start`/`end` null when not given."""

    start: date | None
    end: date | None
    currency: str
    discounts: int
    promotions: list[PromotionUsageRead]

    @classmethod
    def of(cls, report: PromotionsReport) -> PromotionsReportRead:
        return cls(
            start=report.start,
            end=report.end,
            currency=report.currency,
            discounts=report.discounts,
            promotions=[
                PromotionUsageRead(p.promotion_id, p.code, p.description, p.uses, p.discount)
                for p in report.promotions
            ],
        )


class PeriodRead(msgspec.Struct):
    """One period, named by its first day: the day, the Monday of the ISO week, the 1st of the month."""

    period: date
    orders: int
    units: int
    revenue: int


class RevenueReportRead(msgspec.Struct):
    """Every period from `start` to `end`, oldest first, zeros included; `total_sales` is the sum of
    their revenue. Only days of the range count, also in a first or last period reaching beyond it."""

    start: date
    end: date
    granularity: str
    currency: str
    total_sales: int
    periods: list[PeriodRead]

    @classmethod
    def of(cls, report: RevenueReport) -> RevenueReportRead:
        return cls(
            start=report.days.start,
            end=report.days.end,
            granularity=report.granularity.value,
            currency=report.currency,
            total_sales=report.total_sales,
            periods=[PeriodRead(p.period, p.orders, p.units, p.revenue) for p in report.periods],
        )


class ChoiceRead(msgspec.Struct):
    """A choice: an option code (`kind` `option`, with its `label`) or a colour (`kind` `color`)
    made in `count` sold lines, `units` items in all."""

    zone_id: str
    kind: str
    value: str
    label: str | None
    count: int
    units: int


class ProductChoicesRead(msgspec.Struct):
    product_id: str
    choices: list[ChoiceRead]


class OptionsReportRead(msgspec.Struct):
    """The most made choices per product, most chosen first; `start`/`end` null when not given."""

    start: date | None
    end: date | None
    by_product: list[ProductChoicesRead]

    @classmethod
    def of(cls, report: ChoicesReport) -> OptionsReportRead:
        return cls(
            start=report.start,
            end=report.end,
            by_product=[
                ProductChoicesRead(
                    p.product_id,
                    [ChoiceRead(c.zone_id, c.kind, c.value, c.label, c.count, c.units) for c in p.choices],
                )
                for p in report.products
            ],
        )


# -- routes ----------------------------------------------------------------------------------------


class ReportController(Controller):
    path = "/reports"
    tags = ("reports",)
    opt = requires(Scope.REPORTS_READ)
    security = ADMIN_SECURITY

    @get("/sales", operation_id="salesReport", responses=problems(400, 403))
    async def sales(
        self,
        reports: NamedDependency[Reports],
        start: Start = None,
        end: End = None,
        currency: Currency = None,
    ) -> SalesReportRead:
        """Sales of the orders paid from `start` to `end` (both required, UTC, both included) that are
        paid, in production, fulfilled, shipped or delivered; refunded orders are left out. Grouped by
        product and template version, highest revenue first. A missing or bad date, or `end` before
        `start`, is a 400 naming each bad field."""
        return SalesReportRead.of(await reports.sales(start, end, currency))

    @get("/revenue", operation_id="revenueReport", responses=problems(400, 403))
    async def revenue(
        self,
        reports: NamedDependency[Reports],
        granularity: Annotated[
            str | None,
            Parameter(
                description="`day` (default), `week` (ISO, from Monday) or `month`, in UTC.",
                schema_extra={"enum": [g.value for g in Granularity]},
            ),
        ] = None,
        start: Start = None,
        end: End = None,
        currency: Currency = None,
    ) -> RevenueReportRead:
        """Revenue per period from `start` to `end` (both required), counted as in the sales report.
        At most 1000 periods; a bad granularity or date is a 400 naming the field."""
        return RevenueReportRead.of(await reports.revenue(granularity, start, end, currency))

    @get("/options", operation_id="optionsReport", responses=problems(400, 403))
    async def options(
        self,
        reports: NamedDependency[Reports],
        product_id: Annotated[
            str | None, Parameter(max_length=100, description="Only this product's choices.")
        ] = None,
        start: Start = None,
        end: End = None,
        limit: Annotated[
            int,
            Parameter(ge=1, le=CHOICES_MAX, description=f"Choices per product (default {CHOICES_DEFAULT})."),
        ] = CHOICES_DEFAULT,
    ) -> OptionsReportRead:
        """The most chosen option codes and colours of each product in paid orders (not refunded),
        optionally paid from `start` and/or to `end`: by product id, each product's choices by how
        many sold lines made them, then by units. Text and images are the guests' own and not
        counted."""
        return OptionsReportRead.of(await reports.choices(product_id, start, end, limit))

    @get("/promotions", operation_id="promotionsReport", responses=problems(400, 403))
    async def promotions(
        self,
        reports: NamedDependency[Reports],
        start: Start = None,
        end: End = None,
        currency: Currency = None,
    ) -> PromotionsReportRead:
        """Uses and discount totals per promotion (codes and automatic ones) of the orders that are
        paid, in production, fulfilled, shipped or delivered (refunded ones left out), optionally
        paid from `start` and/or to `end`; most discount first. A bad date or currency, or `end`
        before `start`, is a 400 naming each bad field."""
        return PromotionsReportRead.of(await reports.promotions(start, end, currency))
