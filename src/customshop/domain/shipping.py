"""Shipping methods: how a region's orders travel and what that costs.

A method's ``rate`` is one of three shapes: a flat amount per order, a first-item amount plus an
amount per additional item, or tiers chosen by the cart's subtotal or quantity (the tier with the
highest ``min`` the cart reaches; below every tier, the first tier's amount). ``free_over`` makes
shipping free from that subtotal (after discounts) on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


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


def rate_document(rate: ShippingRate) -> dict[str, Any]:
    """The rate as its JSON shape (the API's and the stored one): ``{"type": "flat", "amount"}``,
    ``{"type": "per_item", "first", "additional"}`` or
    ``{"type": "tiers", "by", "tiers": [{"min", "amount"}]}``."""
    match rate:
        case FlatRate(amount):
            return {"type": "flat", "amount": amount}
        case PerItemRate(first, additional):
            return {"type": "per_item", "first": first, "additional": additional}
        case TieredRate(by, tiers):
            return {
                "type": "tiers",
                "by": by.value,
                "tiers": [{"min": tier.min, "amount": tier.amount} for tier in tiers],
            }


def load_rate(document: Mapping[str, Any]) -> ShippingRate:
    """The rate of a document :func:`rate_document` made (stored, so checked when it was written).

    Raises:
        ValueError: the document is of no known type.
    """
    match document.get("type"):
        case "flat":
            return FlatRate(document["amount"])
        case "per_item":
            return PerItemRate(document["first"], document["additional"])
        case "tiers":
            return TieredRate(
                TierBasis(document["by"]), tuple(Tier(t["min"], t["amount"]) for t in document["tiers"])
            )
    raise ValueError(f"unknown shipping rate type {document.get('type')!r}")
