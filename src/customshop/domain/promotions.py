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

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from customshop.domain.catalog import text_problems
from customshop.domain.errors import Conflict, Violation
from customshop.domain.money import MAX_AMOUNT


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


# -- checks ----------------------------------------------------------------------------------------

#: A code as written (before :func:`normalize_code`): letters, digits, ``-`` and ``_``, 3 to 32.
CODE_PATTERN = r"^[A-Za-z0-9_-]{3,32}$"
DESCRIPTION_MAX = 500
PRODUCT_IDS_MAX = 200
PRODUCT_ID_MAX = 64
#: 100 %: a percentage promotion takes 1 to 10 000 basis points off.
PERCENTAGE_MAX_BPS = 10_000
#: The most uses a limit may name (the counter is a 32-bit integer column).
USES_MAX = 1_000_000_000
#: The most units a buy-X-get-Y promotion may name on either side.
BUY_GET_MAX = 1000

_CODE_RE = re.compile(CODE_PATTERN)


def code_problems(code: object, path: str = "code") -> list[Violation]:
    """A code: 3 to 32 letters, digits, ``-`` or ``_`` (stored and compared upper case)."""
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code.strip()):
        return [Violation(path, "invalid_format", "a code is 3 to 32 letters, digits, '-' or '_'")]
    return []


def _whole(value: object, low: int, high: int, path: str, what: str) -> list[Violation]:
    if type(value) is not int or not low <= value <= high:
        return [Violation(path, "out_of_range", f"{what} is {low} to {high}")]
    return []


def promotion_rule_problems(
    *,
    kind: PromotionKind,
    value: int | None = None,
    product_ids: Sequence[str] = (),
    min_subtotal: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    usage_limit: int | None = None,
    per_email_limit: int | None = None,
    buy_quantity: int | None = None,
    get_quantity: int | None = None,
) -> list[Violation]:
    """The rules between a promotion's fields, each problem naming its field: ``value`` is required
    for ``percentage`` (1 to 10 000 basis points) and ``fixed`` (1 to ``MAX_AMOUNT`` minor units)
    and refused otherwise; ``buy_quantity`` and ``get_quantity`` (1 to :data:`BUY_GET_MAX`) are
    required for ``buy_x_get_y`` and refused otherwise; ``starts_at`` is before ``ends_at``;
    limits are 1 or more; ``min_subtotal`` 0 to ``MAX_AMOUNT``; ``product_ids`` at most
    :data:`PRODUCT_IDS_MAX`, none twice.
    """
    problems: list[Violation] = []
    if kind in (PromotionKind.PERCENTAGE, PromotionKind.FIXED):
        if value is None:
            problems.append(Violation("value", "required", f"a {kind} promotion needs a value"))
        elif kind == PromotionKind.PERCENTAGE:
            problems += _whole(value, 1, PERCENTAGE_MAX_BPS, "value", "a percentage in basis points")
        else:
            problems += _whole(value, 1, MAX_AMOUNT, "value", "a fixed discount in minor units")
    elif value is not None:
        problems.append(Violation("value", "not_allowed", f"a {kind} promotion takes no value"))
    for name, quantity in (("buy_quantity", buy_quantity), ("get_quantity", get_quantity)):
        if kind == PromotionKind.BUY_X_GET_Y:
            if quantity is None:
                problems.append(Violation(name, "required", f"a buy_x_get_y promotion needs {name}"))
            else:
                problems += _whole(quantity, 1, BUY_GET_MAX, name, name)
        elif quantity is not None:
            problems.append(Violation(name, "not_allowed", f"only a buy_x_get_y promotion takes {name}"))
    if min_subtotal is not None:
        problems += _whole(min_subtotal, 0, MAX_AMOUNT, "min_subtotal", "min_subtotal in minor units")
    for name, limit in (("usage_limit", usage_limit), ("per_email_limit", per_email_limit)):
        if limit is not None:
            problems += _whole(limit, 1, USES_MAX, name, name)
    for name, at in (("starts_at", starts_at), ("ends_at", ends_at)):
        if at is not None and at.tzinfo is None:
            problems.append(Violation(name, "invalid_format", f"{name} needs a time zone (use Z for UTC)"))
    if (
        starts_at is not None
        and ends_at is not None
        and starts_at.tzinfo is not None
        and ends_at.tzinfo is not None
        and ends_at <= starts_at
    ):
        problems.append(Violation("ends_at", "before_start", "ends_at is after starts_at"))
    problems += product_ids_problems(product_ids)
    return problems


def product_ids_problems(product_ids: Sequence[object], path: str = "product_ids") -> list[Violation]:
    """At most :data:`PRODUCT_IDS_MAX` ids, each 1 to :data:`PRODUCT_ID_MAX` characters, none twice."""
    problems: list[Violation] = []
    if len(product_ids) > PRODUCT_IDS_MAX:
        problems.append(Violation(path, "too_long", f"at most {PRODUCT_IDS_MAX} products"))
    seen: set[object] = set()
    for index, product_id in enumerate(product_ids):
        if not isinstance(product_id, str) or not 1 <= len(product_id) <= PRODUCT_ID_MAX:
            problems.append(
                Violation(f"{path}[{index}]", "invalid_length", "a product id is 1 to 64 characters")
            )
        elif product_id in seen:
            problems.append(Violation(f"{path}[{index}]", "duplicate", "this product is listed twice"))
        seen.add(product_id)
    return problems


def promotion_problems(promotion: Promotion) -> list[Violation]:
    """Every broken rule of a promotion as an admin wrote it, each naming its field (``code``,
    ``description``, ``value``, ``ends_at``...). Whether another promotion holds the code is the
    repository's to say (:class:`DuplicatePromotionCode`)."""
    problems = [] if promotion.code is None else code_problems(promotion.code)
    problems += text_problems(promotion.description, "description", DESCRIPTION_MAX)
    problems += promotion_rule_problems(
        kind=promotion.kind,
        value=promotion.value,
        product_ids=promotion.product_ids,
        min_subtotal=promotion.min_subtotal,
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        usage_limit=promotion.usage_limit,
        per_email_limit=promotion.per_email_limit,
        buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity,
    )
    return problems
