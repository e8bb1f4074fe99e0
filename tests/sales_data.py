"""Orders for the report tests, and the figures a report must give, computed the plain way.

The expected figures here share no code with the reports: a sale is decided by the status names
written out below and by the UTC calendar day of ``paid_at``; periods come from ``isocalendar`` and
``(year, month)``; revenue from ``unit_price * quantity``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from customshop.domain.orders import Order, OrderLine, OrderStatus
from customshop.domain.pricing import PriceComponent
from customshop.domain.quote import AppliedDiscount
from tests.builders import ADDRESS, quoted

#: The statuses whose orders count as sales, spelled out (not the domain's ``PAID_STATES``).
SOLD = frozenset({"paid", "in_production", "fulfilled", "shipped", "delivered"})

#: Each product's option zones: zone -> (multiple?, {code: label}).
OPTION_ZONES: dict[str, dict[str, tuple[bool, dict[str, str]]]] = {
    "tee": {"size": (False, {"S": "Small", "M": "Medium", "L": "Large", "XL": "Extra large"})},
    "mug": {"handle": (False, {"round": "Round", "square": "Square"})},
    "box": {
        "components": (True, {"candle": "Soy candle", "tea": "Loose-leaf tea", "socks": "Wool socks"}),
        "ribbon": (False, {"gold": "Gold", "silver": "Silver"}),
    },
}
COLOR_ZONES: dict[str, tuple[str, ...]] = {
    "tee": ("#c0392b", "#2c3e50", "#ffffff"),
    "mug": (),
    "box": ("#b03a2e", "#1e8449"),
}
#: Every status an order can end the tests in.
FINAL_STATUSES = (
    "created",
    "cancelled",
    "refunded",
    "paid",
    "in_production",
    "fulfilled",
    "shipped",
    "delivered",
)


@dataclass(frozen=True)
class LineSpec:
    product_id: str
    template_version: int
    unit_price: int
    quantity: int
    #: (zone, code) of each option chosen.
    codes: tuple[tuple[str, str], ...] = ()
    #: zone -> colour chosen.
    colors: dict[str, str] = field(default_factory=dict)
    #: A text zone filled (an object value holding a colour of its own, which is no colour choice).
    text: bool = False


@dataclass(frozen=True)
class OrderSpec:
    currency: str
    created_at: datetime
    #: None: never paid.
    paid_at: datetime | None
    status: str
    lines: tuple[LineSpec, ...]
    #: The promotions it used: (promotion id, code, description, amount).
    discounts: tuple[tuple[str, str | None, str, int], ...] = ()

    @property
    def subtotal(self) -> int:
        return sum(line.unit_price * line.quantity for line in self.lines)


#: The promotions orders may use: id -> (code, description).
PROMOTIONS: dict[str, tuple[str | None, str]] = {
    "promo-save10": ("SAVE10", "10 % off"),
    "promo-five": ("FIVE", "5.00 off"),
    "promo-spring": (None, "Spring sale"),
}


def order_line(order_number: int, position: int, spec: LineSpec) -> OrderLine:
    options: dict[str, Any] = {}
    components: list[PriceComponent] = []
    for zone, code in spec.codes:
        multiple, labels = OPTION_ZONES[spec.product_id][zone]
        if multiple:
            options.setdefault(zone, []).append(code)
        else:
            options[zone] = code
        components.append(PriceComponent(zone, code, labels[code], 100))
    for zone, color in spec.colors.items():
        options[zone] = color
        components.append(PriceComponent(zone, None, zone.title(), 0))
    if spec.text:
        options["front_text"] = {"text": "Hello", "font": "Sans", "color": "#000000"}
        components.append(PriceComponent("front_text", None, "Front text", 300))
    return OrderLine(
        id=f"line-{order_number:05d}-{position}",
        product_id=spec.product_id,
        product_name=f"The {spec.product_id}",
        template_id=f"{spec.product_id}-v{spec.template_version}",
        template_version=spec.template_version,
        template_snapshot={},
        options=options,
        components=tuple(components),
        unit_price=spec.unit_price,
        quantity=spec.quantity,
    )


def build_order(number: int, spec: OrderSpec) -> Order:
    """The order ``spec`` describes, taken to its status through the aggregate's own moves."""
    lines = tuple(order_line(number, n, line) for n, line in enumerate(spec.lines))
    subtotal = sum(line.unit_price * line.quantity for line in lines)
    order = Order.place(
        id=f"order-{number:05d}",
        guest="g" * 64,
        email="ada@example.com",
        shipping_address=ADDRESS,
        lines=lines,
        quote=quoted(
            lines,
            spec.currency,
            tax=subtotal // 10,
            shipping=500,
            discounts=[AppliedDiscount(*discount) for discount in spec.discounts],
        ),
        stock=(),
        reserved_until=spec.created_at + timedelta(minutes=30),
        payment_provider="test",
        payment_id=f"payment-{number:05d}",
        at=spec.created_at,
    )
    order.confirm_placement("t" * 64, f"payment-{number:05d}", spec.created_at)
    if spec.status == "cancelled":
        order.cancel("changed their mind", spec.created_at + timedelta(minutes=5))
    if spec.paid_at is None:
        return order
    order.mark_paid(f"payment-{number:05d}", order.total.amount, spec.currency, spec.paid_at)
    if spec.status == "refunded":
        order.refund(spec.paid_at + timedelta(days=1))
    elif spec.status != "paid":
        # Production and delivery: set as such, since a report reads only the status. (Getting there
        # through the aggregate's moves needs print files and the rest, which are no report's concern.)
        order.status = OrderStatus(spec.status)
    return order


# -- random data -----------------------------------------------------------------------------------

#: Sales are paid between these instants.
FIRST_DAY = datetime(2026, 2, 20, tzinfo=UTC)
DAYS = 40


def _instant(rng: random.Random) -> datetime:
    day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    pick = rng.random()
    if pick < 0.2:
        return day  # midnight exactly: the first instant of its day
    if pick < 0.35:
        return day + timedelta(days=1, microseconds=-1)  # the last instant of its day
    return day + timedelta(seconds=rng.randrange(86_400))


def random_line(rng: random.Random) -> LineSpec:
    product = rng.choice(sorted(OPTION_ZONES))
    codes: list[tuple[str, str]] = []
    for zone, (multiple, labels) in sorted(OPTION_ZONES[product].items()):
        if multiple:
            codes += [(zone, code) for code in rng.sample(sorted(labels), rng.randint(1, len(labels)))]
        elif rng.random() < 0.9:
            codes.append((zone, rng.choice(sorted(labels))))
    colors = COLOR_ZONES[product]
    return LineSpec(
        product_id=product,
        template_version=rng.randint(1, 2),
        unit_price=rng.randint(0, 20_000),
        quantity=rng.randint(1, 5),
        codes=tuple(codes),
        colors={f"{product}_color": rng.choice(colors)} if colors and rng.random() < 0.7 else {},
        text=rng.random() < 0.5,
    )


def random_order(rng: random.Random) -> OrderSpec:
    status = rng.choice(FINAL_STATUSES)
    paid_at = None if status in ("created", "cancelled") else _instant(rng)
    created_at = (paid_at or _instant(rng)) - timedelta(minutes=rng.randint(1, 20))
    lines = tuple(random_line(rng) for _ in range(rng.randint(1, 3)))
    subtotal = sum(line.unit_price * line.quantity for line in lines)
    used = rng.sample(sorted(PROMOTIONS), rng.choice([0, 0, 1, 2]))
    return OrderSpec(
        currency="EUR" if rng.random() < 0.15 else "USD",
        created_at=created_at,
        paid_at=paid_at,
        status=status,
        lines=lines,
        discounts=tuple((p, *PROMOTIONS[p], rng.randint(0, subtotal // 3)) for p in used),
    )


def random_orders(rng: random.Random, count: int) -> list[OrderSpec]:
    return [random_order(rng) for _ in range(count)]


# -- the expected figures --------------------------------------------------------------------------


def _sold(
    specs: list[OrderSpec], start: date, end: date, currency: str | None
) -> list[tuple[int, OrderSpec]]:
    return [
        (number, spec)
        for number, spec in enumerate(specs)
        if spec.status in SOLD
        and spec.paid_at is not None
        and start <= spec.paid_at.astimezone(UTC).date() <= end
        and (currency is None or spec.currency == currency)
    ]


@dataclass
class Figures:
    orders: set[int] = field(default_factory=set)
    units: int = 0
    revenue: int = 0

    def add(self, number: int, line: LineSpec) -> None:
        self.orders.add(number)
        self.units += line.quantity
        self.revenue += line.unit_price * line.quantity

    @property
    def triple(self) -> tuple[int, int, int]:
        return len(self.orders), self.units, self.revenue


def expected_sales(
    specs: list[OrderSpec], start: date, end: date, currency: str
) -> tuple[Figures, dict[tuple[str, int], Figures]]:
    """The totals, and the figures per (product, template version)."""
    total = Figures()
    by_product: dict[tuple[str, int], Figures] = {}
    for number, spec in _sold(specs, start, end, currency):
        for line in spec.lines:
            total.add(number, line)
            by_product.setdefault((line.product_id, line.template_version), Figures()).add(number, line)
    return total, by_product


def expected_order_sums(
    specs: list[OrderSpec], start: date, end: date, currency: str
) -> tuple[int, int, int]:
    """``(discounts, tax, shipping)`` of the sold orders: Σ discount amounts, Σ ⌊subtotal / 10⌋ and
    500 each (as ``build_order`` prices them)."""
    sold = [spec for _, spec in _sold(specs, start, end, currency)]
    return (
        sum(amount for spec in sold for *_, amount in spec.discounts),
        sum(spec.subtotal // 10 for spec in sold),
        500 * len(sold),
    )


def expected_promotions(
    specs: list[OrderSpec], start: date, end: date, currency: str
) -> list[tuple[str, str | None, str, int, int]]:
    """``(promotion, code, description, uses, discount)`` as the promotions report lists them."""
    used: dict[str, list[int]] = {}
    for _, spec in _sold(specs, start, end, currency):
        for promotion, _code, _description, amount in spec.discounts:
            tally = used.setdefault(promotion, [0, 0])
            tally[0] += 1
            tally[1] += amount
    rows = [(p, *PROMOTIONS[p], uses, discount) for p, (uses, discount) in used.items()]
    return sorted(rows, key=lambda row: (-row[4], -row[3], row[0]))


def period_of(day: date, granularity: str) -> date:
    if granularity == "week":
        year, week, _ = day.isocalendar()
        return date.fromisocalendar(year, week, 1)
    if granularity == "month":
        return date(day.year, day.month, 1)
    return day


def expected_periods(
    specs: list[OrderSpec], start: date, end: date, currency: str, granularity: str
) -> dict[date, Figures]:
    """The figures of the periods with sales."""
    periods: dict[date, Figures] = {}
    for number, spec in _sold(specs, start, end, currency):
        assert spec.paid_at is not None
        first = period_of(spec.paid_at.astimezone(UTC).date(), granularity)
        for line in spec.lines:
            periods.setdefault(first, Figures()).add(number, line)
    return periods


def expected_choices(
    specs: list[OrderSpec], start: date, end: date, product_id: str | None, limit: int
) -> list[tuple[str, str, str, str, str | None, int, int]]:
    """``(product, zone, kind, value, label, count, units)`` as the options report lists them."""
    counts: dict[tuple[str, str, str, str], list[Any]] = {}
    for _, spec in _sold(specs, start, end, None):
        for line in spec.lines:
            if product_id is not None and line.product_id != product_id:
                continue
            made = [
                (zone, "option", code, OPTION_ZONES[line.product_id][zone][1][code])
                for zone, code in line.codes
            ]
            made += [(zone, "color", color, None) for zone, color in line.colors.items()]
            for zone, kind, value, label in made:
                entry = counts.setdefault((line.product_id, zone, kind, value), [label, 0, 0])
                entry[1] += 1
                entry[2] += line.quantity
    ranked = sorted(
        ((*key, label, count, units) for key, (label, count, units) in counts.items()),
        key=lambda c: (c[0], -c[5], -c[6], c[1], c[3]),
    )
    kept: dict[str, int] = {}
    top = []
    for choice in ranked:
        kept[choice[0]] = kept.get(choice[0], 0) + 1
        if kept[choice[0]] <= limit:
            top.append(choice)
    return top
