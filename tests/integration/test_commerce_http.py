"""The commerce rules on the cart, at checkout and on the order (contract §11), through HTTP on SQLite
and PostgreSQL: cart details, promotion codes and shipping options; the order keeping the cart's
quote; a code that lapsed before checkout; countries shipped to; a limited code under 200 concurrent
checkouts; the reports of promotions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.application.checkout import CheckoutRequest, PromotionUnavailable
from customshop.application.customization import issue_key
from customshop.domain.cart import CartDetails
from customshop.domain.hashing import hash_secret
from customshop.entrypoints.container import Adapters, Container, build_container
from customshop.entrypoints.settings import Settings
from tests.builders import ADDRESS, IDS, ORDER, PROBLEM, TEE
from tests.integration.shopping import carted

Client = AsyncTestClient  # type: ignore[type-arg]

CALIFORNIA = {"country": "US", "subdivision": "CA", "postal_code": "94103"}
US_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "city": "San Francisco",
    "postal_code": "94103",
    "country": "US",
    "subdivision": "CA",
}


async def created(client: Client, admin: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=admin)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def united_states(client: Client, admin: dict[str, str]) -> dict[str, str]:
    """A US region with a California rate, two shipping methods and a code: their ids by name."""
    region = await created(
        client,
        admin,
        "/regions",
        {
            "name": "United States",
            "countries": ["US"],
            "tax_rates": [{"name": "CA sales tax", "rate_bps": 725, "subdivision": "CA"}],
        },
    )
    ground = await created(
        client,
        admin,
        "/shipping-methods",
        {"region_id": region["id"], "name": "Ground", "rate": {"type": "flat", "amount": 500}, "min_days": 3},
    )
    express = await created(
        client,
        admin,
        "/shipping-methods",
        {
            "region_id": region["id"],
            "name": "Express",
            "rate": {"type": "flat", "amount": 1500},
            "max_days": 1,
        },
    )
    code = await created(
        client,
        admin,
        "/promotions",
        {"code": "SUMMER10", "description": "Summer: 10 % off", "kind": "percentage", "value": 1000},
    )
    return {"region": region["id"], "ground": ground["id"], "express": express["id"], "SUMMER10": code["id"]}


def identities_hold(cart: dict[str, Any]) -> None:
    assert cart["subtotal"] == sum(item["line_total"] for item in cart["items"])
    assert cart["tax"] == sum(line["amount"] for line in cart["tax_lines"])
    assert cart["discount_total"] == sum(d["amount"] for d in cart["discounts"])
    assert sum(item["discount"] for item in cart["items"]) <= cart["discount_total"]
    tax = 0 if cart["prices_include_tax"] else cart["tax"]
    assert cart["total"] == cart["subtotal"] - cart["discount_total"] + cart["shipping"] + tax


def breakdown(answer: dict[str, Any]) -> dict[str, Any]:
    """What a cart and its order must agree on."""
    keys = ("subtotal", "discounts", "discount_total", "shipping", "shipping_method", "tax_lines", "tax")
    return {
        **{key: answer[key] for key in keys},
        **{key: answer[key] for key in ("total", "currency", "prices_include_tax", "region_id")},
        "items": [
            {
                k: item[k]
                for k in ("quantity", "unit_price", "line_total", "volume_discount", "discount", "tax")
            }
            for item in answer["items"]
        ],
    }


async def test_cart_details_codes_and_shipping_options_and_the_order_keeps_the_quote(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    ids = await united_states(client, admin)
    key = await carted(client, catalog["classic-tee"], TEE, quantity=2)  # 2 × 2200
    flat = (await client.get("/cart", headers=key)).json()
    assert (flat["tax"], flat["shipping"], flat["region_id"], flat["shipping_options"]) == (
        440,
        500,
        None,
        [],
    )
    assert flat["tax_lines"] == [{"name": "Tax", "rate_bps": 1000, "amount": 440}]

    told = await client.put(
        "/cart/details", json={"shipping_address": CALIFORNIA, "email": "ada@example.com"}, headers=key
    )
    assert told.status_code == 200, told.text
    cart = told.json()
    assert cart["region_id"] == ids["region"]
    assert cart["shipping_options"] == [
        {"id": ids["ground"], "name": "Ground", "amount": 500, "min_days": 3},
        {"id": ids["express"], "name": "Express", "amount": 1500, "max_days": 1},
    ]
    assert cart["shipping_method"]["id"] == ids["ground"]  # the cheapest
    assert cart["tax_lines"] == [{"name": "CA sales tax", "rate_bps": 725, "amount": 319}]
    assert cart["shipping_address"]["subdivision"] == "CA" and cart["email"] == "ada@example.com"
    identities_hold(cart)

    applied = await client.post("/cart/promotions", json={"code": "summer10"}, headers=key)
    assert applied.status_code == 200, applied.text
    cart = applied.json()
    assert cart["discounts"] == [
        {
            "promotion_id": ids["SUMMER10"],
            "code": "SUMMER10",
            "description": "Summer: 10 % off",
            "amount": 440,
        }
    ]
    assert cart["promotion"] == {"code": "SUMMER10", "applies": True, "reason": None}
    assert sum(item["discount"] for item in cart["items"]) == 440
    identities_hold(cart)

    unknown = await client.post("/cart/promotions", json={"code": "NOPE"}, headers=key)
    assert unknown.status_code == 400
    assert [(e["field"], e["code"]) for e in unknown.json()["errors"]] == [("code", "unknown")]
    assert (await client.delete("/cart/promotions/NOPE", headers=key)).status_code == 404

    chosen = await client.put(
        "/cart/details",
        json={
            "shipping_address": CALIFORNIA,
            "email": "ada@example.com",
            "shipping_method_id": ids["express"],
        },
        headers=key,
    )
    shown = chosen.json()
    assert (shown["shipping"], shown["promotion"]["code"]) == (1500, "SUMMER10")  # the code stays
    identities_hold(shown)

    placed = await client.post(
        "/checkout", json={**ORDER, "shipping_address": US_ADDRESS}, headers=key
    )  # no method named: the cart's choice
    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == shown["total"]
    order = (await client.get(f"/orders/{placed.json()['order_id']}", headers=key)).json()
    assert breakdown(order) == breakdown(shown)
    after = (await client.get("/cart", headers=key)).json()
    assert (after["items"], after["promotion"]) == ([], None)  # a code is used once

    paid = await client.post(f"/test-payments/{placed.json()['payment']['payment_id']}/succeed")
    assert paid.status_code == 200
    today = datetime.now(UTC).date().isoformat()
    report = (await client.get("/reports/promotions", headers=admin)).json()
    assert report["promotions"] == [
        {
            "promotion_id": ids["SUMMER10"],
            "code": "SUMMER10",
            "description": "Summer: 10 % off",
            "uses": 1,
            "discount": 440,
        }
    ]
    assert report["discounts"] == 440
    sales = (await client.get("/reports/sales", params={"start": today, "end": today}, headers=admin)).json()
    assert (sales["total_sales"], sales["discounts"], sales["shipping"], sales["tax"]) == (
        4400,
        440,
        1500,
        order["tax"],
    )


async def test_a_code_that_lapsed_before_checkout_is_a_conflict_naming_it(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    ids = await united_states(client, admin)
    key = await carted(client, catalog["classic-tee"], TEE)
    assert (await client.post("/cart/promotions", json={"code": "SUMMER10"}, headers=key)).status_code == 200
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    lapsed = await client.patch(f"/promotions/{ids['SUMMER10']}", json={"ends_at": past}, headers=admin)
    assert lapsed.status_code == 200, lapsed.text

    refused = await client.post("/checkout", json={**ORDER, "shipping_address": US_ADDRESS}, headers=key)

    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith(PROBLEM)
    problem = refused.json()
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("code", "expired")]
    assert "SUMMER10" in problem["detail"] and "SUMMER10" in problem["errors"][0]["message"]
    cart = (await client.get("/cart", headers=key)).json()
    assert len(cart["items"]) == 1  # nothing was kept
    assert cart["promotion"] == {"code": "SUMMER10", "applies": False, "reason": "expired"}
    assert (await client.delete("/cart/promotions/summer10", headers=key)).status_code == 200
    again = await client.post("/checkout", json={**ORDER, "shipping_address": US_ADDRESS}, headers=key)
    assert again.status_code == 201, again.text


async def test_once_regions_exist_a_country_in_none_is_not_shipped_to(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    assert (
        await client.put("/cart/details", json={"shipping_address": {"country": "JP"}}, headers=key)
    ).status_code == 200
    await united_states(client, admin)

    told = await client.put(
        "/cart/details", json={"shipping_address": {"country": "JP"}, "shipping_method_id": "x"}, headers=key
    )
    assert told.status_code == 400
    assert sorted((e["field"], e["code"]) for e in told.json()["errors"]) == [
        ("shipping_address.country", "not_shippable"),
        ("shipping_method_id", "unknown"),
    ]
    refused = await client.post("/checkout", json=ORDER, headers=key)  # to GB
    assert refused.status_code == 400
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("shipping_address.country", "not_shippable")
    ]
    # A body with another broken field still names the country.
    broken = await client.post("/checkout", json={**ORDER, "email": 7}, headers=key)
    assert sorted(e["field"] for e in broken.json()["errors"]) == ["email", "shipping_address.country"]


# -- a limited code under concurrent checkouts --------------------------------------------------------

CHECKOUTS = 200
LIMIT = 10


@pytest.fixture
async def wide_container(
    database_url: str, clean_engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[Container]:
    """The application on an engine of its own with room for many concurrent checkouts: a pool of
    16 connections (two test processes share the server's 100), waits (and SQLite's busy timeout)
    of up to 20 s."""
    engine = create_engine(database_url, pool_size=16, timeout_seconds=20)
    settings = Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        test_payments_enabled=True,
        tax_rate_bps=1000,
    )
    yield build_container(settings, adapters=Adapters(settings=settings, engine=engine))
    await engine.dispose()


async def test_a_code_with_ten_uses_left_is_used_exactly_ten_times_by_200_concurrent_checkouts(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    container: Container,
    wide_container: Container,
) -> None:
    ids = await united_states(client, admin)
    limited = await client.patch(f"/promotions/{ids['SUMMER10']}", json={"usage_limit": LIMIT}, headers=admin)
    assert limited.status_code == 200, limited.text
    first = await carted(client, catalog["classic-tee"], TEE)
    assert (
        await client.post("/cart/promotions", json={"code": "SUMMER10"}, headers=first)
    ).status_code == 200
    # The other guests get the same cart and code, stored at once (carting 200 designs one by one
    # would only make the test slower).
    use_cases = wide_container.use_cases
    async with wide_container.adapters.uow() as uow:
        (line,) = await uow.carts.lines(hash_secret(first["X-Session-Key"]))
        keys = [first["X-Session-Key"]]
        for _ in range(CHECKOUTS - 1):
            key, guest = await issue_key(uow, datetime.now(UTC))
            await uow.carts.add(replace(line, id=IDS.new_id(), guest=guest))
            await uow.cart_details.save(CartDetails(guest, datetime.now(UTC), promotion_code="SUMMER10"))
            keys.append(key)
        await uow.commit()
    address = replace(ADDRESS, country="US", subdivision="CA")
    checkout = use_cases.checkout()

    outcomes = await asyncio.gather(
        *(
            checkout.place(key, CheckoutRequest(f"guest{n}@example.com", address, "test"))
            for n, key in enumerate(keys)
        ),
        return_exceptions=True,
    )

    placed = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, PromotionUnavailable)]
    assert len(placed) == LIMIT, [o for o in outcomes if isinstance(o, BaseException)][:3]
    assert len(refused) == CHECKOUTS - LIMIT
    assert {(r.code, r.reason) for r in refused} == {("SUMMER10", "exhausted")}
    orders = [await use_cases.orders().get(p.order_id) for p in placed]
    assert all(o.codes == ("SUMMER10",) for o in orders)
    promotion = (await client.get(f"/promotions/{ids['SUMMER10']}", headers=admin)).json()
    assert promotion["times_used"] == LIMIT

    # An unpaid order called off gives its use back: one more guest may use the code.
    await use_cases.orders().cancel(placed[0].order_id)
    assert (await client.get(f"/promotions/{ids['SUMMER10']}", headers=admin)).json()[
        "times_used"
    ] == LIMIT - 1
    waiting = next(k for k, o in zip(keys, outcomes, strict=True) if isinstance(o, PromotionUnavailable))
    again = await checkout.place(waiting, CheckoutRequest("late@example.com", address, "test"))
    assert (await use_cases.orders().get(again.order_id)).codes == ("SUMMER10",)
