"""Promotions: discount codes and automatic discounts.

A promotion with a ``code`` applies when the guest enters it (one code per cart); one without is
automatic and applies to every cart it fits. ``value`` is basis points for ``percentage`` and minor
units for ``fixed``; ``buy_x_get_y`` makes, for every ``buy_quantity`` eligible units, the cheapest
``get_quantity`` further eligible units free. ``product_ids`` restricts what it applies to (empty:
everything); ``min_subtotal`` is judged on the eligible lines' subtotal before discounts. A code
that is not ``combinable`` is not used together with automatic promotions (the code wins).
``usage_limit`` counts placed orders that used it (``times_used``); ``per_email_limit`` counts
them per customer email. Codes are compared case-insensitively (:func:`normalize_code`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from customshop.domain.errors import Conflict, Violation


class PromotionKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"
    FREE_SHIPPING = "free_shipping"
    BUY_X_GET_Y = "buy_x_get_y"


def normalize_code(code: str) -> str:
    """The form a code is stored and compared in: stripped, upper case."""
    return code.strip().upper()


def normalize_email(email: str) -> str:
    """The form an email is counted in for ``per_email_limit``: stripped, lower case."""
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class Promotion:
    id: str
    code: str | None
    description: str
    kind: PromotionKind
    combinable: bool
    active: bool
    created_at: datetime
    updated_at: datetime
    value: int | None = None
    product_ids: tuple[str, ...] = ()
    min_subtotal: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_email_limit: int | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None
    times_used: int = 0

    @property
    def automatic(self) -> bool:
        return self.code is None


def counts_uses(promotion: Promotion) -> bool:
    """Whether placing an order with ``promotion`` records a use of it (``times_used``): every code,
    and automatic promotions with a ``usage_limit`` or a ``per_email_limit``. An automatic promotion
    without either applies to every cart it fits; counting it would make its row a counter that
    every checkout of the shop updates, so its uses are not counted (reports count them from orders).
    """
    return not (promotion.automatic and promotion.usage_limit is None and promotion.per_email_limit is None)


class DuplicatePromotionCode(Conflict):
    """Another promotion already holds the code (codes are compared as :func:`normalize_code` gives them)."""

    def __init__(self, code: str) -> None:
        super().__init__(
            f"another promotion already uses the code {code!r}",
            [Violation("code", "taken", f"another promotion already uses the code {code!r}")],
        )
        self.code = code
