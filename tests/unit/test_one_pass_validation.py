"""One-pass validation (contract §10): a 400 names every bad field of the request at once, structural
(missing, wrong type, unknown) and semantic (formats, domain rules) together.

The property runs a checkout body through what ``POST /checkout`` runs: the body decoder of the HTTP
edge, then the use case on the in-memory adapters. tests/integration/test_input_http.py sends such
bodies through HTTP to SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from functools import partial

import msgspec
import pytest
from hypothesis import given, settings

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.payments.sandbox import TestPaymentGateway
from customshop.adapters.system import UuidV7Ids
from customshop.application.checkout import Checkout
from customshop.application.customization import SESSION_KEY_PREFIX
from customshop.domain.errors import InvalidInput
from customshop.domain.quote import FlatRates
from customshop.entrypoints.http.body import decode_body
from customshop.entrypoints.http.schemas import CartItemCreate, CheckoutCreate, OptionSetWrite, ProductWrite
from tests.strategies import BREAKAGES, CHECKOUT, Body, broken_checkouts
from tests.unit.conftest import issue_keys

KEY = SESSION_KEY_PREFIX + "V" * 43


def checkout_service() -> Checkout:
    store, clock = MemoryStore(), ManualClock()
    issue_keys(store, KEY)
    return Checkout(
        partial(MemoryUnitOfWork, store),
        clock,
        UuidV7Ids(),
        FlatRates(1000, 500, 0),
        {"test": TestPaymentGateway()},
        reservation_ttl=timedelta(minutes=30),
    )


async def answer(checkout: Checkout, body: Body) -> list[str]:
    """The fields a checkout of ``body`` names in its 400, the way ``POST /checkout`` answers it."""
    try:
        request = decode_body(CheckoutCreate, msgspec.json.encode(body))
        await checkout.place(KEY, request.to_request())
    except InvalidInput as exc:
        return [v.field for v in exc.violations]
    raise AssertionError("the checkout was not refused")


@settings(max_examples=300, deadline=None)
@given(broken_checkouts())
def test_a_checkout_with_k_broken_fields_names_exactly_those_k(case: tuple[Body, set[str]]) -> None:
    body, broken = case
    named = asyncio.run(answer(checkout_service(), body))
    assert sorted(named) == sorted(broken)  # each broken field once, and nothing else


def test_every_breakage_is_caught_alone() -> None:
    checkout = checkout_service()
    for field, breakages in BREAKAGES.items():
        for breakage in breakages:
            body = copy.deepcopy(CHECKOUT)
            breakage(body)
            assert asyncio.run(answer(checkout, body)) == [field], (field, body)


def fields(model: type[msgspec.Struct], body: Body) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        decode_body(model, msgspec.json.encode(body))
    return {v.field: v.code for v in caught.value.violations}


def test_domain_rules_are_reported_with_structural_errors_on_catalog_bodies() -> None:
    assert fields(ProductWrite, {"name": "  ", "currency": "XYZ"}) == {
        "name": "invalid_length",
        "base_price": "required",
        "currency": "invalid_choice",
    }
    options = [
        {"code": "S", "label": "Small"},
        {"code": "S", "label": " "},
        {"code": "M", "label": "M", "price_delta": "1"},
    ]
    assert fields(OptionSetWrite, {"product_id": "p", "options": options}) == {
        "name": "required",
        "options[1].code": "duplicate",
        "options[1].label": "invalid_length",
        "options[2].price_delta": "invalid_type",
    }


def test_rules_across_fields_are_checked_with_the_rest() -> None:
    assert fields(CartItemCreate, {"quantity": 0}) == {"quantity": "out_of_range", "session_id": "required"}
    assert fields(CartItemCreate, {"session_id": "s", "product_id": "p", "quantity": 1}) == {
        "session_id": "conflict"
    }


def test_a_sound_body_leaves_the_domain_rules_to_its_use_case() -> None:
    """The use case checks them with those needing stored state, so that it names all at once."""
    decoded = decode_body(CheckoutCreate, msgspec.json.encode({**CHECKOUT, "email": "nope"}))
    assert decoded.email == "nope"
