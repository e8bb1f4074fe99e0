"""Shipping methods: how a region's orders travel and what that costs.

A method's ``rate`` is one of three shapes: a flat amount per order, a first-item amount plus an
amount per additional item, or tiers chosen by the cart's subtotal or quantity (the tier with the
highest ``min`` the cart reaches; below every tier, the first tier's amount). ``free_over`` makes
shipping free from that subtotal (after discounts) on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class FlatRate:
    amount: int


@dataclass(frozen=True, slots=True)
class PerItemRate:
    first: int
    additional: int


class TierBasis(StrEnum):
    SUBTOTAL = "subtotal"
    QUANTITY = "quantity"


@dataclass(frozen=True, slots=True)
class Tier:
    min: int
    amount: int


@dataclass(frozen=True, slots=True)
class TieredRate:
    by: TierBasis
    tiers: tuple[Tier, ...]


ShippingRate = FlatRate | PerItemRate | TieredRate


@dataclass(frozen=True, slots=True)
class ShippingMethod:
    id: str
    region_id: str
    name: str
    rate: ShippingRate
    active: bool
    created_at: datetime
    updated_at: datetime
    free_over: int | None = None
    min_days: int | None = None
    max_days: int | None = None
