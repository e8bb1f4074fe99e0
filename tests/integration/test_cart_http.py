"""The cart through HTTP (contract §4), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from customshop.domain.quote import FlatRates
from customshop.entrypoints.container import Container
from customshop.entrypoints.demo import seed_demo_catalog

Client = AsyncTestClient  # type: ignore[type-arg]

TEE_DESIGN = {"front_text": {"text": "Hi", "font": "Sans"}, "size": "XL"}  # 1900 + 300 + 200


@pytest.fixture
async def catalog(container: Container) -> dict[str, str]:
    """The demo catalog by slug; tax 8.25 %, shipping 500 per order plus 150 per extra item."""
    container.adapters.flat_rates.override(providers.Object(FlatRates(825, 500, 150)))
    container.use_cases.carts.reset()
    await seed_demo_catalog(container.use_cases.catalog())
    page = await container.use_cases.catalog().list_products(include_inactive=False, after=None, limit=10)
    return {p.slug: p.id for p in page.items}


async def guest(
    client: Client, product_id: str, options: dict[str, Any] | None = None
) -> tuple[str, dict[str, str]]:
    started = (await client.post("/sessions", json={"product_id": product_id})).json()
    client.cookies.clear()
    key = {"X-Session-Key": started["session_key"]}
    if options:
        changed = await client.patch(
            f"/sessions/{started['session_id']}", json={"options": options}, headers=key
        )
        assert changed.status_code == 200, changed.text
    return started["session_id"], key


async def test_an_empty_cart_costs_nothing(client: Client, catalog: dict[str, str]) -> None:
    for headers in ({}, (await guest(client, catalog["classic-tee"]))[1]):
        cart = await client.get("/cart", headers=headers)
        assert cart.status_code == 200
        assert cart.json() == {
            "items": [],
            "subtotal": 0,
            "tax": 0,
            "shipping": 0,
            "total": 0,
            "currency": "USD",
            "discounts": [],
            "discount_total": 0,
            "shipping_method": None,
            "shipping_options": [],
            "tax_lines": [],
            "prices_include_tax": False,
            "region_id": None,
            "promotion": None,
            "shipping_address": None,
            "email": None,
        }


async def test_a_finished_design_goes_into_the_cart_with_its_snapshot(
    client: Client, catalog: dict[str, str]
) -> None:
    session, key = await guest(client, catalog["classic-tee"], TEE_DESIGN)
    response = await client.post("/cart/items", json={"session_id": session, "quantity": 2}, headers=key)
    assert response.status_code == 200, response.text
    cart = response.json()
    (item,) = cart["items"]
    assert item["product_id"] == catalog["classic-tee"]
    assert item["product_name"] == "Classic T-shirt"
    assert item["template_version"] == 1
    assert {z["id"] for z in item["template_snapshot"]["zones"]} == {
        "front_text",
        "photo",
        "body_color",
        "size",
    }
    assert item["options"] == {"front_text": {"text": "Hi", "font": "Sans", "color": "#000000"}, "size": "XL"}
    assert (item["quantity"], item["unit_price"], item["line_total"]) == (2, 2400, 4800)
    tax = round(4800 * 0.0825)  # 396
    assert (cart["subtotal"], cart["tax"], cart["shipping"], cart["total"]) == (
        4800,
        tax,
        650,
        4800 + tax + 650,
    )
    assert (await client.get("/cart", headers=key)).json() == cart


async def test_required_zones_are_enforced_when_carting(client: Client, catalog: dict[str, str]) -> None:
    session, key = await guest(client, catalog["classic-tee"], {"front_text": {"text": "No size yet"}})
    response = await client.post("/cart/items", json={"session_id": session, "quantity": 1}, headers=key)
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("options.size", "required")]
    assert (await client.get("/cart", headers=key)).json()["items"] == []


async def test_a_design_can_be_carted_directly(client: Client, catalog: dict[str, str]) -> None:
    box = catalog["build-your-own-gift-box"]
    body = {
        "product_id": box,
        "options": {"components": ["candle", "tea"], "card_message": {"text": "Love"}},
        "quantity": 1,
    }
    response = await client.post("/cart/items", json=body)
    assert response.status_code == 200, response.text
    key = response.headers["x-session-key"]  # a guest without a key gets one
    assert f"session_key={key}" in response.headers["set-cookie"]
    (item,) = response.json()["items"]
    assert item["unit_price"] == 1500 + 1200 + 700 + 300
    again = await client.post("/cart/items", json=body, headers={"X-Session-Key": key})
    assert [i["quantity"] for i in again.json()["items"]] == [2]  # the same design adds up

    bad = await client.post(
        "/cart/items",
        json={"product_id": box, "options": {"components": ["candle", "mug", "tea", "socks", "chocolate"]}},
        headers={"X-Session-Key": key},
    )
    assert bad.status_code == 400
    assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [("options.components", "too_many")]
    for wrong in (
        {"quantity": 1},
        {"session_id": "x", "product_id": box, "options": {}},
        {"product_id": box},
        {"product_id": "nope", "options": {}},
    ):
        assert (
            await client.post("/cart/items", json=wrong, headers={"X-Session-Key": key})
        ).status_code == 400, wrong


async def test_quantities_change_and_lines_go(client: Client, catalog: dict[str, str]) -> None:
    session, key = await guest(client, catalog["classic-tee"], TEE_DESIGN)
    cart = (await client.post("/cart/items", json={"session_id": session, "quantity": 1}, headers=key)).json()
    item = cart["items"][0]["item_id"]
    changed = await client.patch(f"/cart/items/{item}", json={"quantity": 5}, headers=key)
    assert changed.status_code == 200
    assert changed.json()["items"][0]["line_total"] == 5 * 2400
    assert changed.json()["shipping"] == 500 + 4 * 150
    for quantity in (0, 100, -1, 2.5, "3", None):
        response = await client.patch(f"/cart/items/{item}", json={"quantity": quantity}, headers=key)
        assert response.status_code == 400, quantity
        assert response.json()["errors"][0]["field"] == "quantity"
    assert (
        await client.post("/cart/items", json={"session_id": session, "quantity": 99}, headers=key)
    ).status_code == 400
    emptied = await client.delete(f"/cart/items/{item}", headers=key)
    assert emptied.status_code == 200
    assert emptied.json()["items"] == [] and emptied.json()["total"] == 0
    assert (await client.delete(f"/cart/items/{item}", headers=key)).status_code == 404


async def test_carts_are_isolated_per_guest(client: Client, catalog: dict[str, str]) -> None:
    session, key = await guest(client, catalog["classic-tee"], TEE_DESIGN)
    item = (await client.post("/cart/items", json={"session_id": session}, headers=key)).json()["items"][0][
        "item_id"
    ]
    _, stranger = await guest(client, catalog["classic-tee"])
    assert (await client.get("/cart", headers=stranger)).json()["items"] == []
    for headers in (stranger, {}):
        assert (
            await client.patch(f"/cart/items/{item}", json={"quantity": 3}, headers=headers)
        ).status_code == 404
        assert (await client.delete(f"/cart/items/{item}", headers=headers)).status_code == 404
    # Nor can another guest cart someone else's design session.
    assert (
        await client.post("/cart/items", json={"session_id": session}, headers=stranger)
    ).status_code == 404
    assert [i["quantity"] for i in (await client.get("/cart", headers=key)).json()["items"]] == [1]


async def test_carted_lines_survive_catalog_changes(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    tee = catalog["classic-tee"]
    session, key = await guest(client, tee, TEE_DESIGN)
    before = (await client.post("/cart/items", json={"session_id": session}, headers=key)).json()

    definition = (await client.get(f"/products/{tee}")).json()["template"]["definition"]
    for zone in definition["zones"]:
        if zone["id"] == "front_text":
            zone["price_delta"] = 900
    created = await client.post(
        "/templates",
        json={"product_id": tee, "version": 2, "definition": definition, "is_default": True},
        headers=admin,
    )
    assert created.status_code == 201
    product = (await client.get(f"/products/{tee}")).json()
    raised = {k: product[k] for k in ("name", "description", "currency")} | {"base_price": 9900}
    assert (await client.put(f"/products/{tee}", json=raised, headers=admin)).status_code == 200

    after = (await client.get("/cart", headers=key)).json()
    assert after == before
    # A new line of the same design is priced and snapshotted anew, beside the old one.
    session2, _ = await guest_with_key(client, tee, key)
    added = (await client.post("/cart/items", json={"session_id": session2}, headers=key)).json()
    assert [(i["template_version"], i["unit_price"]) for i in added["items"]] == [
        (1, 2400),
        (2, 9900 + 900 + 200),
    ]


async def guest_with_key(client: Client, product_id: str, key: dict[str, str]) -> tuple[str, dict[str, str]]:
    started = (await client.post("/sessions", json={"product_id": product_id}, headers=key)).json()
    client.cookies.clear()
    await client.patch(f"/sessions/{started['session_id']}", json={"options": TEE_DESIGN}, headers=key)
    return started["session_id"], key


async def test_a_cart_holds_one_currency(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    euro = await client.post(
        "/products", json={"name": "Euro mug", "base_price": 900, "currency": "EUR"}, headers=admin
    )
    definition = {"canvas": {"width": 100, "height": 100}, "zones": []}
    await client.post(
        "/templates",
        json={"product_id": euro.json()["id"], "version": 1, "definition": definition},
        headers=admin,
    )
    session, key = await guest(client, catalog["classic-tee"], TEE_DESIGN)
    await client.post("/cart/items", json={"session_id": session}, headers=key)
    mixed = await client.post(
        "/cart/items", json={"product_id": euro.json()["id"], "options": {}}, headers=key
    )
    assert mixed.status_code == 400
    assert mixed.json()["errors"][0]["code"] == "currency_mismatch"
    alone = await client.post("/cart/items", json={"product_id": euro.json()["id"], "options": {}})
    assert alone.status_code == 200
    assert alone.json()["currency"] == "EUR"
