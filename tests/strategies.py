"""Hypothesis strategies shared by unit and integration tests: request bodies broken in known ways."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

CHECKOUT: dict[str, Any] = {
    "email": "ada@example.com",
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "line2": "Flat 2",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    },
    "payment_provider": "test",
}

Body = dict[str, Any]
Breakage = Callable[[Body], None]


def _set(path: str, value: Any) -> Breakage:
    def apply(body: Body) -> None:
        *parents, name = path.split(".")
        for parent in parents:
            body = body[parent]
        body[name] = value

    return apply


def _drop(path: str) -> Breakage:
    def apply(body: Body) -> None:
        *parents, name = path.split(".")
        for parent in parents:
            body = body[parent]
        del body[name]

    return apply


def _address(name: str, limit: int, *, required: bool = True) -> list[Breakage]:
    path = f"shipping_address.{name}"
    broken = [_set(path, 12), _set(path, "x" * (limit + 1)), _set(path, "a\tb")]
    return [*broken, _drop(path), _set(path, "   ")] if required else broken


#: Field path -> independent ways to break it: structural (missing, wrong type, not one of the
#: choices, a field that does not exist) and semantic (format, length, blank, control characters).
BREAKAGES: dict[str, list[Breakage]] = {
    "email": [_drop("email"), _set("email", 42), _set("email", "ada.example.com"), _set("email", "a@b")],
    "shipping_address.name": _address("name", 200),
    "shipping_address.line1": _address("line1", 200),
    "shipping_address.line2": _address("line2", 200, required=False),
    "shipping_address.city": _address("city", 100),
    "shipping_address.postal_code": _address("postal_code", 20),
    "shipping_address.country": [
        *_address("country", 2),
        _set("shipping_address.country", "gb"),
        _set("shipping_address.country", "G1"),
    ],
    "payment_provider": [
        _drop("payment_provider"),
        _set("payment_provider", "bitcoin"),
        _set("payment_provider", 1),
    ],
    "coupon": [_set("coupon", "FREE")],
    "shipping_address.floor": [_set("shipping_address.floor", 3)],
}


@st.composite
def broken_checkouts(draw: st.DrawFn) -> tuple[Body, set[str]]:
    """A checkout body with k >= 1 independently broken fields, and their paths."""
    fields = draw(st.sets(st.sampled_from(sorted(BREAKAGES)), min_size=1))
    body = copy.deepcopy(CHECKOUT)
    for field in sorted(fields):
        draw(st.sampled_from(BREAKAGES[field]))(body)
    return body, fields
