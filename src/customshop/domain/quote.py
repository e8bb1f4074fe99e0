"""The quote: every figure of a cart's (or an order's) price, from its lines and the commerce rules.

:func:`quote` is pure: the same lines, rules and ``now`` give the same quote, in whatever order the
lines come (line ids are unique). All amounts are integer minor units of one currency. The rules
are written out, with worked examples, in ``docs/pricing.md``; in short, in the order they apply:

1. **Volume pricing.** The highest tier whose ``min_quantity`` the cart's total quantity of the
   product (all its lines) reaches takes ``discount_bps`` off the unit price, rounded per unit.
2. **Promotions on lines**, in a fixed order (buy X get Y, then percentage, then fixed; automatic
   before the code; then by id), each on what the earlier ones left of the lines it applies to, so
   a discount never exceeds what it applies to. Buy X get Y discounts the free units' own lines;
   every other discount is spread over its lines by :func:`allocate`.
3. **Shipping**: the region's active methods priced for this cart (``free_over`` judged on the
   subtotal after discounts), the chosen one or the cheapest; without a region, the flat rates.
   Free-shipping promotions then discount it (``shipping_discount``).
4. **Tax**, after discounts: one amount per tax rate, computed on the summed base of what it applies
   to and rounded once by :func:`~customshop.domain.money.round_minor`, then spread over those lines
   (and shipping) by :func:`allocate`. Tax-inclusive regions extract the included part.

Identities, exactly: ``subtotal = Σ lines.line_total``; ``Σ tax_lines.amount = tax =
Σ lines.tax + shipping_tax``; ``Σ lines.discount + shipping_discount = discount_total =
Σ discounts.amount``; ``total = subtotal − discount_total + shipping (+ tax unless prices include
it)``. An empty cart costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from enum import StrEnum

from customshop.domain.catalog import VolumeTier
from customshop.domain.money import rate_of, round_minor
from customshop.domain.promotions import Promotion, PromotionKind
from customshop.domain.regions import STANDARD_TAX_CLASS, Destination, Region, TaxRate
from customshop.domain.shipping import FlatRate, PerItemRate, ShippingMethod, TierBasis

#: Basis points in a whole: 10 000 bps = 100 %.
BPS = 10_000

#: The name of the one tax line of the flat rates.
FLAT_TAX_NAME = "Tax"


class Refusal(StrEnum):
    """Why a promotion does not apply (the ``code`` error codes of ``POST /cart/promotions``)."""

    UNKNOWN = "unknown"  # inactive: to a guest, indistinguishable from a code that does not exist
    EXPIRED = "expired"  # ``now`` is outside [starts_at, ends_at)
    EXHAUSTED = "exhausted"  # times_used >= usage_limit
    NOT_APPLICABLE = "not_applicable"  # no eligible line, or too few eligible units for buy X get Y
    MIN_SUBTOTAL = "min_subtotal"  # the eligible lines' subtotal is below min_subtotal
    NOT_COMBINABLE = "not_combinable"  # excluded by another promotion (see :func:`quote`)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """A line to price: a cart line (or an order line) as carted.

    ``unit_price`` is the design's price (base, option and zone deltas, per-character charges) before
    any volume discount; ``volume_pricing`` are the product's tiers.
    """

    id: str
    product_id: str
    unit_price: int
    quantity: int
    tax_class: str = STANDARD_TAX_CLASS
    volume_pricing: tuple[VolumeTier, ...] = ()


@dataclass(frozen=True, slots=True)
class FlatRates:
    """The configured rates used when no region applies: tax on the subtotal after discounts, and
    shipping of ``shipping_first`` plus ``shipping_additional`` for each further unit."""

    tax_rate_bps: int
    shipping_first: int
    shipping_additional: int


@dataclass(frozen=True, slots=True)
class QuotedLine:
    """A priced line. ``unit_price`` is after the volume discount, ``line_total = unit_price ×
    quantity``, ``volume_discount`` what the volume tier took off the whole line, ``discount`` the
    line's share of the order's discounts and ``tax`` its share of the tax (included in
    ``line_total`` in tax-inclusive regions). What the line costs net of tax is
    ``line_total − discount`` (tax-exclusive) or ``line_total − discount − tax`` (tax-inclusive)."""

    id: str
    product_id: str
    quantity: int
    unit_price: int
    line_total: int
    volume_discount: int
    discount: int
    tax: int


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """A promotion in effect and what it takes off (lines and shipping together; may be 0)."""

    promotion_id: str
    code: str | None
    description: str
    amount: int


@dataclass(frozen=True, slots=True)
class ShippingOption:
    """A shipping method priced for this cart (``free_over`` applied; shipping promotions not)."""

    id: str
    name: str
    amount: int
    min_days: int | None
    max_days: int | None


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One tax rate and the tax it charges on this cart."""

    name: str
    rate_bps: int
    amount: int


@dataclass(frozen=True, slots=True)
class RefusedPromotion:
    """A promotion that was offered but does not apply, and why (a :class:`Refusal` value)."""

    promotion_id: str
    code: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Quote:
    """Every figure of a price breakdown (see the module docstring for its identities).

    ``shipping`` is the chosen method's amount before shipping promotions, which are in
    ``shipping_discount`` (part of ``discount_total``); ``shipping_tax`` is the shipping's share of
    ``tax``.
    """

    currency: str
    lines: tuple[QuotedLine, ...]
    subtotal: int
    discounts: tuple[AppliedDiscount, ...]
    discount_total: int
    shipping_discount: int
    shipping: int
    shipping_method: ShippingOption | None
    shipping_options: tuple[ShippingOption, ...]
    tax_lines: tuple[TaxLine, ...]
    tax: int
    total: int
    prices_include_tax: bool
    region_id: str | None
    refused: tuple[RefusedPromotion, ...]
    shipping_tax: int = 0

    def line(self, line_id: str) -> QuotedLine:
        """The quoted line ``line_id``.

        Raises:
            KeyError: no such line.
        """
        for line in self.lines:
            if line.id == line_id:
                return line
        raise KeyError(line_id)


def allocate(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``amount`` into whole shares proportional to ``weights``, exactly.

    This is the one allocation rule of customshop (order discounts and tax over lines; refunds).
    Each key first gets ``⌊amount × weight / Σ weights⌋``; the units left over (fewer than there are
    keys) go one each to the keys with the largest fractional parts, ties to the larger weight, then
    to the smaller key. So the shares sum to ``amount``, depend on the mapping's content and never
    on its order, and with ``0 ≤ amount ≤ Σ weights`` no share is negative or above its weight.

    Raises:
        ValueError: a weight is negative, or ``amount`` is not 0 while every weight is.
    """
    if any(weight < 0 for weight in weights.values()):
        raise ValueError("allocation weights cannot be negative")
    if amount == 0:
        return dict.fromkeys(weights, 0)
    whole = sum(weights.values())
    if whole == 0:
        raise ValueError(f"cannot allocate {amount} over nothing")
    shares: dict[str, int] = {}
    leftovers: list[tuple[int, int, str]] = []
    for key, weight in weights.items():
        share, rest = divmod(amount * weight, whole)
        shares[key] = share
        leftovers.append((-rest, -weight, key))
    left = amount - sum(shares.values())
    for _, _, key in sorted(leftovers)[:left]:
        shares[key] += 1
    return shares


def _clamp_bps(basis_points: int) -> int:
    return min(max(basis_points, 0), BPS)


def volume_tier(tiers: Iterable[VolumeTier], product_quantity: int) -> VolumeTier | None:
    """The tier that applies at ``product_quantity`` units of a product: the highest ``min_quantity``
    reached (between equal ones, the larger discount), or None below every tier."""
    best: VolumeTier | None = None
    for tier in tiers:
        if tier.min_quantity <= product_quantity and (
            best is None or (tier.min_quantity, tier.discount_bps) > (best.min_quantity, best.discount_bps)
        ):
            best = tier
    return best


@dataclass(frozen=True, slots=True)
class _Priced:
    """A line after volume pricing."""

    line: QuoteLine
    unit_price: int

    @property
    def id(self) -> str:
        return self.line.id

    @property
    def quantity(self) -> int:
        return self.line.quantity

    @property
    def line_total(self) -> int:
        return self.unit_price * self.line.quantity


def _price_lines(lines: Sequence[QuoteLine]) -> list[_Priced]:
    if len({line.id for line in lines}) != len(lines):
        raise ValueError("quote lines must have distinct ids")
    per_product: dict[str, int] = {}
    for line in lines:
        per_product[line.product_id] = per_product.get(line.product_id, 0) + line.quantity
    priced: list[_Priced] = []
    for line in lines:
        tier = volume_tier(line.volume_pricing, per_product[line.product_id])
        off = rate_of(line.unit_price, _clamp_bps(tier.discount_bps)) if tier is not None else 0
        priced.append(_Priced(line, line.unit_price - off))
    return priced


def _eligible(promotion: Promotion, priced: Sequence[_Priced]) -> list[_Priced]:
    restricted = frozenset(promotion.product_ids)
    return [
        line
        for line in priced
        if line.quantity > 0 and (not restricted or line.line.product_id in restricted)
    ]


def _refusal(promotion: Promotion, priced: Sequence[_Priced], now: datetime) -> Refusal | None:
    if not promotion.active:
        return Refusal.UNKNOWN
    if (promotion.starts_at is not None and now < promotion.starts_at) or (
        promotion.ends_at is not None and now >= promotion.ends_at
    ):
        return Refusal.EXPIRED
    if promotion.usage_limit is not None and promotion.times_used >= promotion.usage_limit:
        return Refusal.EXHAUSTED
    eligible = _eligible(promotion, priced)
    if not eligible:
        return Refusal.NOT_APPLICABLE
    eligible_subtotal = sum(line.line_total for line in eligible)
    if promotion.min_subtotal is not None and eligible_subtotal < promotion.min_subtotal:
        return Refusal.MIN_SUBTOTAL
    if promotion.kind is PromotionKind.BUY_X_GET_Y:
        buy, get = promotion.buy_quantity or 0, promotion.get_quantity or 0
        if buy < 1 or get < 1 or sum(line.quantity for line in eligible) < buy + get:
            return Refusal.NOT_APPLICABLE
    return None


def promotion_refusal(promotion: Promotion, lines: Sequence[QuoteLine], now: datetime) -> str | None:
    """Why ``promotion`` cannot apply to ``lines`` at ``now`` (a :class:`Refusal` value), or None.

    Checked in this order: inactive (``"unknown"``), outside ``[starts_at, ends_at)``
    (``"expired"``), ``times_used >= usage_limit`` (``"exhausted"``), no line of its products
    (``"not_applicable"``), the eligible lines' subtotal after volume pricing below ``min_subtotal``
    (``"min_subtotal"``), and for buy X get Y fewer eligible units than ``buy + get``
    (``"not_applicable"``). Combination with other promotions is :func:`quote`'s business, and
    ``per_email_limit`` is the caller's (it needs the customer's past orders).

    Raises:
        ValueError: two lines share an id.
    """
    return _refusal(promotion, _price_lines(lines), now)


_KIND_ORDER = {
    PromotionKind.BUY_X_GET_Y: 0,
    PromotionKind.PERCENTAGE: 1,
    PromotionKind.FIXED: 2,
    PromotionKind.FREE_SHIPPING: 3,
}


def _select(
    promotions: Sequence[Promotion], priced: Sequence[_Priced], now: datetime
) -> tuple[list[Promotion], list[RefusedPromotion]]:
    """The promotions that apply, in the order they apply, and the refused ones in the given order.

    At most one code applies (the first valid one given; later codes are ``not_combinable``). A code
    and an automatic promotion go together only when both are ``combinable``; otherwise the code
    wins. Automatic promotions always go together.
    """
    reasons: dict[str, str] = {}
    valid: list[Promotion] = []
    code: Promotion | None = None
    seen: set[str] = set()
    for promotion in promotions:
        if promotion.id in seen:
            continue
        seen.add(promotion.id)
        reason = _refusal(promotion, priced, now)
        if reason is None and promotion.code is not None:
            if code is None:
                code = promotion
            else:
                reason = Refusal.NOT_COMBINABLE
        if reason is not None:
            reasons[promotion.id] = reason
        else:
            valid.append(promotion)
    if code is not None:
        for promotion in valid:
            if promotion.code is None and not (code.combinable and promotion.combinable):
                reasons[promotion.id] = Refusal.NOT_COMBINABLE
    applied = sorted(
        (promotion for promotion in valid if promotion.id not in reasons),
        key=lambda p: (_KIND_ORDER[p.kind], p.code is not None, p.id),
    )
    seen.clear()
    refused: list[RefusedPromotion] = []
    for promotion in promotions:
        if promotion.id in reasons and promotion.id not in seen:
            seen.add(promotion.id)
            refused.append(RefusedPromotion(promotion.id, promotion.code, reasons[promotion.id]))
    return applied, refused


def free_units(eligible: Sequence[tuple[str, int, int]], buy: int, get: int) -> dict[str, int]:
    """How many units of each line buy ``buy`` get ``get`` makes free.

    ``eligible`` is ``(line_id, unit_price, quantity)``. The eligible units are lined up by unit
    price, dearest first (equal prices by line id), and cut into groups of ``buy + get``; in every
    complete group the last ``get`` units, its cheapest, are free. An incomplete last group frees
    nothing. Buy 2 get 1 on units priced 30, 30, 20, 20, 10, 10 frees one 20 and one 10.
    """
    group = buy + get
    units = sum(quantity for _, _, quantity in eligible)
    complete = units // group * group

    def free_before(position: int) -> int:
        position = min(position, complete)
        return position // group * get + max(0, position % group - buy)

    result: dict[str, int] = {}
    position = 0
    for line_id, _, quantity in sorted(eligible, key=lambda item: (-item[1], item[0])):
        result[line_id] = free_before(position + quantity) - free_before(position)
        position += quantity
    return result


def _line_discount(
    promotion: Promotion, eligible: Sequence[_Priced], left: Mapping[str, int]
) -> dict[str, int]:
    """What ``promotion`` takes off each eligible line, out of what is ``left`` of them."""
    if promotion.kind is PromotionKind.BUY_X_GET_Y:
        free = free_units(
            [(line.id, line.unit_price, line.quantity) for line in eligible],
            promotion.buy_quantity or 0,
            promotion.get_quantity or 0,
        )
        return {line.id: min(free[line.id] * line.unit_price, left[line.id]) for line in eligible}
    weights = {line.id: left[line.id] for line in eligible}
    base = sum(weights.values())
    if promotion.kind is PromotionKind.PERCENTAGE:
        amount = rate_of(base, _clamp_bps(promotion.value or 0))
    else:  # fixed
        amount = max(0, min(promotion.value or 0, base))
    return allocate(amount, weights) if base > 0 else dict.fromkeys(weights, 0)


def _method_amount(method: ShippingMethod, merchandise: int, units: int) -> int:
    rate = method.rate
    if isinstance(rate, FlatRate):
        amount = rate.amount
    elif isinstance(rate, PerItemRate):
        amount = rate.first + rate.additional * (units - 1)
    elif not rate.tiers:
        amount = 0
    else:
        basis = merchandise if rate.by is TierBasis.SUBTOTAL else units
        reached = [tier for tier in rate.tiers if tier.min <= basis]
        tier = max(reached, key=lambda t: t.min) if reached else min(rate.tiers, key=lambda t: t.min)
        amount = tier.amount
    if method.free_over is not None and merchandise >= method.free_over:
        return 0
    return max(amount, 0)


def shipping_options(
    region: Region, methods: Sequence[ShippingMethod], merchandise: int, units: int
) -> tuple[ShippingOption, ...]:
    """The region's active methods priced for a cart of ``units`` units whose subtotal after
    discounts is ``merchandise``, cheapest first (then by name, then by id)."""
    options = [
        ShippingOption(
            method.id,
            method.name,
            _method_amount(method, merchandise, units),
            method.min_days,
            method.max_days,
        )
        for method in methods
        if method.active and method.region_id == region.id
    ]
    return tuple(sorted(options, key=lambda option: (option.amount, option.name, option.id)))


def _subdivision(code: str | None) -> str | None:
    """``"US-CA"``, ``"ca"`` and ``"CA"`` are all ``"CA"``."""
    if code is None or not code.strip():
        return None
    return code.strip().upper().rpartition("-")[2]


def _applies(rate: TaxRate, tax_class: str, subdivision: str | None) -> bool:
    if rate.tax_class != tax_class:
        return False
    return rate.subdivision is None or _subdivision(rate.subdivision) == subdivision


_SHIPPING_KEY = "s"


def _line_key(line_id: str) -> str:
    return "l" + line_id  # never equal to the shipping key, and ordered as the ids are


def _taxes(
    rates: Sequence[TaxRate],
    taxed: Mapping[str, tuple[int, tuple[int, ...]]],
    inclusive: bool,
) -> tuple[list[TaxLine], dict[str, int]]:
    """The tax lines and each taxed item's share of the tax.

    ``taxed`` maps an item (a line or the shipping) to its taxable amount and the indexes of the
    ``rates`` that apply to it. Each rate's amount is its exact tax on everything it applies to,
    rounded once; in tax-inclusive regions an amount ``g`` taxed at rates summing to ``R`` includes
    ``g × r / (10 000 + R)`` of rate ``r``.
    """
    lines: list[TaxLine] = []
    shares = dict.fromkeys(taxed, 0)
    # What divides an amount's tax: 10 000 (tax added), or 10 000 plus every rate on it (included).
    divisors = {
        key: BPS + (sum(max(rates[i].rate_bps, 0) for i in applying) if inclusive else 0)
        for key, (_, applying) in taxed.items()
    }
    for index, rate in enumerate(rates):
        weights = {key: amount for key, (amount, applying) in taxed.items() if index in applying}
        if sum(weights.values()) <= 0:
            continue
        bases: dict[int, int] = {}  # divisor -> the amounts it divides, summed
        for key, amount in weights.items():
            bases[divisors[key]] = bases.get(divisors[key], 0) + amount
        bps = max(rate.rate_bps, 0)
        with localcontext() as context:
            context.prec = 60  # exact for tax added; for tax included, far closer than any half unit
            exact = sum((Decimal(base) * bps / divisor for divisor, base in bases.items()), Decimal(0))
        amount = round_minor(exact)
        lines.append(TaxLine(rate.name, rate.rate_bps, amount))
        for key, share in allocate(amount, weights).items():
            shares[key] += share
    return lines, shares


def _discount_lines(
    applied: Sequence[Promotion], priced: Sequence[_Priced]
) -> tuple[dict[str, int], dict[str, int]]:
    """What the line promotions leave of each line (by line id), and what each took (by id)."""
    left = {line.id: line.line_total for line in priced}
    discounts: dict[str, int] = {}
    for promotion in applied:
        if promotion.kind is not PromotionKind.FREE_SHIPPING:
            taken = _line_discount(promotion, _eligible(promotion, priced), left)
            for line_id, amount in taken.items():
                left[line_id] -= amount
            discounts[promotion.id] = sum(taken.values())
    return left, discounts


def _ship(
    priced: Sequence[_Priced],
    merchandise: int,
    flat: FlatRates,
    region: Region | None,
    methods: Sequence[ShippingMethod],
    shipping_method_id: str | None,
) -> tuple[tuple[ShippingOption, ...], ShippingOption | None, int]:
    """The shipping options, the chosen one and the shipping charge (before shipping promotions)."""
    units = sum(line.quantity for line in priced)
    if units <= 0:
        return (), None, 0
    if region is not None:
        options = shipping_options(region, methods, merchandise, units)
        if options:
            chosen = next((option for option in options if option.id == shipping_method_id), options[0])
            return options, chosen, chosen.amount
    return (), None, max(flat.shipping_first + flat.shipping_additional * (units - 1), 0)


def _taxed_items(
    priced: Sequence[_Priced],
    left: Mapping[str, int],
    shipping: int,
    flat: FlatRates,
    region: Region | None,
    destination: Destination | None,
) -> tuple[tuple[TaxRate, ...], dict[str, tuple[int, tuple[int, ...]]]]:
    """The rates in force and, for each line (and the shipping, when taxed), its taxable amount and
    the indexes of the rates that apply to it."""
    if region is None:
        flat_rate = (TaxRate(FLAT_TAX_NAME, flat.tax_rate_bps),)
        return flat_rate, {_line_key(line.id): (left[line.id], (0,)) for line in priced}
    rates = region.tax_rates
    subdivision = _subdivision(destination.subdivision) if destination is not None else None

    def applying(tax_class: str) -> tuple[int, ...]:
        return tuple(index for index, rate in enumerate(rates) if _applies(rate, tax_class, subdivision))

    taxed = {_line_key(line.id): (left[line.id], applying(line.line.tax_class)) for line in priced}
    if region.tax_shipping:
        taxed[_SHIPPING_KEY] = (shipping, applying(STANDARD_TAX_CLASS))
    return rates, taxed


def quote(
    lines: Sequence[QuoteLine],
    *,
    currency: str,
    now: datetime,
    flat: FlatRates,
    region: Region | None = None,
    destination: Destination | None = None,
    methods: Sequence[ShippingMethod] = (),
    shipping_method_id: str | None = None,
    promotions: Sequence[Promotion] = (),
) -> Quote:
    """The price of ``lines`` shipped to ``destination`` in ``region`` (None: the flat rates).

    Args:
        lines: the lines, with distinct ids, in any order.
        currency: the shop's currency, which every amount is in.
        now: when promotions' dates are judged.
        flat: the configured rates, used when ``region`` is None (and for the shipping of a region
            without an active method).
        region: the destination's region.
        destination: for subdivision-scoped tax rates.
        methods: the region's shipping methods; inactive ones and other regions' are ignored.
        shipping_method_id: the chosen method; None or not an option means the cheapest.
        promotions: the cart's code promotion (if any) and the automatic ones.

    Raises:
        ValueError: two lines share an id.
    """
    priced = _price_lines(lines)
    applied, refused = _select(promotions, priced, now)
    left, discounts = _discount_lines(applied, priced)
    subtotal = sum(line.line_total for line in priced)
    merchandise = sum(left.values())

    options, chosen, shipping = _ship(priced, merchandise, flat, region, methods, shipping_method_id)
    shipping_discount = 0
    for promotion in applied:
        if promotion.kind is PromotionKind.FREE_SHIPPING:
            discounts[promotion.id] = shipping - shipping_discount
            shipping_discount = shipping

    inclusive = region is not None and region.prices_include_tax
    rates, taxed = _taxed_items(priced, left, shipping - shipping_discount, flat, region, destination)
    tax_lines, tax_shares = _taxes(rates, taxed, inclusive)
    tax = sum(tax_line.amount for tax_line in tax_lines)

    quoted = tuple(
        QuotedLine(
            id=line.id,
            product_id=line.line.product_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=line.line_total,
            volume_discount=(line.line.unit_price - line.unit_price) * line.quantity,
            discount=line.line_total - left[line.id],
            tax=tax_shares[_line_key(line.id)],
        )
        for line in priced
    )
    discount_total = subtotal - merchandise + shipping_discount
    total = subtotal - discount_total + shipping + (0 if inclusive else tax)
    return Quote(
        currency=currency,
        lines=quoted,
        subtotal=subtotal,
        discounts=tuple(
            AppliedDiscount(promotion.id, promotion.code, promotion.description, discounts[promotion.id])
            for promotion in applied
        ),
        discount_total=discount_total,
        shipping_discount=shipping_discount,
        shipping=shipping,
        shipping_method=chosen,
        shipping_options=options,
        tax_lines=tuple(tax_lines),
        tax=tax,
        total=total,
        prices_include_tax=inclusive,
        region_id=region.id if region is not None else None,
        refused=tuple(refused),
        shipping_tax=tax_shares.get(_SHIPPING_KEY, 0),
    )
