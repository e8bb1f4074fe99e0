"""Tax and shipping from fixed rates in the configuration."""

from __future__ import annotations

from dataclasses import dataclass

from customshop.domain.money import Money


@dataclass(frozen=True, slots=True)
class FixedRateTax:
    """Implements ``TaxPolicy``: ``rate_bps`` basis points of the subtotal (825 = 8.25 %), rounded by
    the one rounding rule (half away from zero)."""

    rate_bps: int

    def tax_on(self, subtotal: Money) -> Money:
        return subtotal.apply_rate_bps(self.rate_bps)


@dataclass(frozen=True, slots=True)
class FlatShipping:
    """Implements ``ShippingPolicy``: ``per_order`` for the first item plus ``per_extra_item`` for each
    further one, in the cart's currency (shops sell in one currency; the amounts are configured in it)."""

    per_order: int
    per_extra_item: int

    def shipping_for(self, units: int, currency: str) -> Money:
        if units <= 0:
            return Money.zero(currency)
        return Money(self.per_order + self.per_extra_item * (units - 1), currency)
