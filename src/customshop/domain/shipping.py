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

from customshop.domain.catalog import text_problems
from customshop.domain.errors import Violation
from customshop.domain.money import MAX_AMOUNT

METHOD_NAME_MAX = 100
TIERS_MAX = 50
#: The longest delivery estimate, in days.
DAYS_MAX = 365
#: The rate types, as ``rate.type`` names them.
RATE_TYPES = ("flat", "per_item", "tiers")


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


# -- checks ----------------------------------------------------------------------------------------


def amount_problems(amount: object, path: str) -> list[Violation]:
    """An amount of money: whole minor units, 0 to ``MAX_AMOUNT``."""
    if type(amount) is not int:
        return [Violation(path, "invalid_type", "an amount is a whole number of minor units")]
    if not 0 <= amount <= MAX_AMOUNT:
        return [Violation(path, "out_of_range", f"an amount is 0 to {MAX_AMOUNT} minor units")]
    return []


_RATE_FIELDS: dict[str, tuple[str, ...]] = {
    "flat": ("amount",),
    "per_item": ("first", "additional"),
    "tiers": ("by", "tiers"),
}


def check_rate(document: object, path: str = "rate") -> tuple[ShippingRate | None, list[Violation]]:
    """A rate from its JSON shape (see :func:`rate_document`), or every problem of it.

    Each problem names its place (``rate.type``, ``rate.amount``, ``rate.tiers[2].min``): a missing
    or unknown ``type``, a field of another type of rate, an amount that is not 0 to
    ``MAX_AMOUNT`` minor units, tiers that are empty, too many, or whose ``min`` do not ascend.

    Returns:
        ``(rate, [])`` for a sound document, ``(None, problems)`` otherwise.
    """
    if not isinstance(document, Mapping):
        return None, [Violation(path, "invalid_type", "a rate is an object with a type")]
    kind = document.get("type")
    if kind is None:
        return None, [Violation(f"{path}.type", "required", "this field is required")]
    if kind not in _RATE_FIELDS:
        return None, [Violation(f"{path}.type", "invalid_choice", "type is flat, per_item or tiers")]
    fields = _RATE_FIELDS[kind]
    problems = [
        Violation(f"{path}.{name}", "unknown_field", f"a {kind} rate has no {name}")
        for name in document
        if name != "type" and name not in fields
    ]
    for name in fields:
        if document.get(name) is None:
            problems.append(Violation(f"{path}.{name}", "required", "this field is required"))
    if kind in ("flat", "per_item"):
        for name in fields:
            if document.get(name) is not None:
                problems += amount_problems(document[name], f"{path}.{name}")
    else:
        by = document.get("by")
        if by is not None and by not in (TierBasis.SUBTOTAL, TierBasis.QUANTITY):
            problems.append(Violation(f"{path}.by", "invalid_choice", "by is subtotal or quantity"))
        if document.get("tiers") is not None:
            problems += _tiers_problems(document["tiers"], f"{path}.tiers")
    if problems:
        return None, problems
    return load_rate(document), []


def _tiers_problems(tiers: object, path: str) -> list[Violation]:
    if not isinstance(tiers, list):
        return [Violation(path, "invalid_type", "tiers is a list of {min, amount}")]
    if not tiers:
        return [Violation(path, "too_short", "a tiered rate needs at least one tier")]
    problems: list[Violation] = []
    if len(tiers) > TIERS_MAX:
        problems.append(Violation(path, "too_long", f"a rate has at most {TIERS_MAX} tiers"))
    previous: int | None = None
    for index, tier in enumerate(tiers):
        at = f"{path}[{index}]"
        if not isinstance(tier, Mapping):
            problems.append(Violation(at, "invalid_type", "a tier is an object {min, amount}"))
            continue
        problems += [
            Violation(f"{at}.{name}", "unknown_field", "this field is not accepted here")
            for name in tier
            if name not in ("min", "amount")
        ]
        for name in ("min", "amount"):
            if tier.get(name) is None:
                problems.append(Violation(f"{at}.{name}", "required", "this field is required"))
            else:
                problems += amount_problems(tier[name], f"{at}.{name}")
        low = tier.get("min")
        if type(low) is int:
            if previous is not None and low <= previous:
                problems.append(
                    Violation(f"{at}.min", "not_ascending", "each tier's min is above the previous tier's")
                )
            previous = low
    return problems


def rate_problems(document: object, path: str) -> list[Violation]:
    """Every problem of a rate's JSON shape (:func:`check_rate`)."""
    return check_rate(document, path)[1]


def days_problems(min_days: int | None, max_days: int | None) -> list[Violation]:
    """Delivery estimates: each 0 to :data:`DAYS_MAX` days, and ``min_days`` at most ``max_days``."""
    problems: list[Violation] = []
    for name, days in (("min_days", min_days), ("max_days", max_days)):
        if days is not None and (type(days) is not int or not 0 <= days <= DAYS_MAX):
            problems.append(Violation(name, "out_of_range", f"{name} is 0 to {DAYS_MAX}"))
    if not problems and min_days is not None and max_days is not None and min_days > max_days:
        problems.append(Violation("max_days", "before_min_days", "max_days is at least min_days"))
    return problems


def shipping_method_problems(method: ShippingMethod) -> list[Violation]:
    """Every broken rule of a method as an admin wrote it, each naming its field (``name``,
    ``rate.tiers[2].min``, ``free_over``, ``max_days``...). Whether its region exists is the use
    case's to say."""
    problems = text_problems(method.name, "name", METHOD_NAME_MAX)
    problems += rate_problems(rate_document(method.rate), "rate")
    if method.free_over is not None:
        problems += amount_problems(method.free_over, "free_over")
    problems += days_problems(method.min_days, method.max_days)
    return problems
