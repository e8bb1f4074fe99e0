"""Checkout, inventory and the order lifecycle through HTTP (contract §5) with the ``test`` payment
provider, on SQLite and PostgreSQL. The concurrency tests run real concurrent requests against the
real database: PostgreSQL row locks and conditional updates, SQLite's single writer."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from dependency_injector import providers
from litestar.testing import AsyncTestClient
from PIL import Image

from customshop.adapters.memory import ManualClock
from customshop.entrypoints.container import Container
from tests.builders import ADDRESS_BODY as ADDRESS
from tests.builders import ORDER, TEE
from tests.integration.conftest import render_prints
from tests.integration.shopping import carted, levels, order_count, stock

Client = AsyncTestClient  # type: ignore[type-arg]

BOX = {"components": ["candle", "tea"]}  # 1500 + 1200 + 700


async def add(
    client: Client, key: dict[str, str], product_id: str, options: dict[str, Any], quantity: int = 1
) -> None:
    response = await client.post(
        "/cart/items", json={"product_id": product_id, "options": options, "quantity": quantity}, headers=key
    )
    assert response.status_code == 200, response.text


# -- the happy path ---------------------------------------------------------------------------------


async def test_an_order_from_checkout_to_delivery(
    client: Client, catalog: dict[str, str], admin: dict[str, str], container: Container
) -> None:
    tee = catalog["classic-tee"]
    await stock(client, admin, tee, 5, "L")
    key = await carted(client, tee, TEE, quantity=2)

    response = await client.post("/checkout", json=ORDER, headers=key)
    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["status"] == "created"
    assert (placed["total"], placed["currency"]) == (4400 + 440 + 500, "USD")
    assert placed["order_token"].startswith("otk_")
    payment = placed["payment"]
    assert payment["provider"] == "test"
    assert payment["payment_url"] == f"http://testserver.local/test-payments/{payment['payment_id']}"
    assert (await client.get("/cart", headers=key)).json()["items"] == []  # emptied once the order exists
    assert (await levels(client, admin, tee))["L"] == {"on_hand": 5, "reserved": 2, "available": 3, "sold": 0}

    order_id = placed["order_id"]
    mine = await client.get(f"/orders/{order_id}", headers=key)
    assert mine.status_code == 200
    order = mine.json()
    assert order["status"] == "created"
    assert order["email"] == "ada@example.com"
    assert order["shipping_address"] == {**ADDRESS, "line2": None, "subdivision": None}
    (item,) = order["items"]
    assert (item["product_id"], item["quantity"], item["unit_price"], item["line_total"]) == (
        tee,
        2,
        2200,
        4400,
    )
    assert item["options"]["size"] == "L"
    assert (order["subtotal"], order["tax"], order["shipping"], order["total"]) == (4400, 440, 500, 5340)
    by_token = await client.get(f"/orders/{order_id}", params={"token": placed["order_token"]})
    assert by_token.status_code == 200 and by_token.json()["order_id"] == order_id

    page = await client.get(f"/test-payments/{payment['payment_id']}")
    assert page.status_code == 200 and "5340 USD" in page.text
    paid = await client.post(f"/test-payments/{payment['payment_id']}/succeed")
    assert paid.json() == {"received": True, "result": "applied"}
    again = await client.post(f"/test-payments/{payment['payment_id']}/succeed")
    assert again.json() == {"received": True, "result": "duplicate"}
    assert (await levels(client, admin, tee))["L"] == {"on_hand": 3, "reserved": 0, "available": 3, "sold": 2}

    # Production waits for the print files, rendered (as jobs) once the order is paid.
    early = await client.post(f"/orders/{order_id}/status", json={"status": "in_production"}, headers=admin)
    assert early.status_code == 409 and "print file" in early.json()["detail"]
    (item,) = (await client.get(f"/orders/{order_id}", headers=key)).json()["items"]
    assert item["print_file"] == {"status": "pending", "url": None, "preview_url": None, "error": None}
    await render_prints(container)
    (item,) = (await client.get(f"/orders/{order_id}", headers=key)).json()["items"]
    assert item["print_file"]["status"] == "ready"
    printed = await client.get(item["print_file"]["url"])
    assert printed.status_code == 200 and printed.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(printed.content)) as image:
        assert round(image.info["dpi"][0]) == 300
        print_size = image.size
    with Image.open(io.BytesIO((await client.get(item["print_file"]["preview_url"])).content)) as image:
        assert max(image.size) == container.settings.preview_size < max(print_size)
    assert (await client.get("/print-files/no-such-file")).status_code == 404

    for status in ("in_production", "fulfilled"):
        moved = await client.post(f"/orders/{order_id}/status", json={"status": status}, headers=admin)
        assert moved.status_code == 200, moved.text
    shipped = await client.post(
        f"/orders/{order_id}/status",
        json={"status": "shipped", "tracking_url": "https://track.example.com/1Z999"},
        headers=admin,
    )
    assert shipped.json()["tracking_url"] == "https://track.example.com/1Z999"
    backwards = await client.post(f"/orders/{order_id}/status", json={"status": "paid"}, headers=admin)
    assert backwards.status_code == 409
    delivered = await client.post(f"/orders/{order_id}/status", json={"status": "delivered"}, headers=admin)
    timeline = delivered.json()["timeline"]
    assert [entry["status"] for entry in timeline] == [
        "created",
        "paid",
        "in_production",
        "fulfilled",
        "shipped",
        "delivered",
    ]
    times = [entry["at"] for entry in timeline]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)
    assert (await client.get(f"/orders/{order_id}", headers=key)).json() == delivered.json()


async def test_only_its_guest_or_an_admin_sees_an_order(
    client: Client, catalog: dict[str, str], admin: dict[str, str], container: Container
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    order_id = placed["order_id"]
    stranger = await carted(client, catalog["classic-tee"], TEE)
    for attempt in (
        client.get(f"/orders/{order_id}", headers=stranger),
        client.get(f"/orders/{order_id}"),
        client.get(f"/orders/{order_id}", params={"token": "otk_wrong"}),
        client.get("/orders/nope", headers=key),
    ):
        response = await attempt
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    reader = {"X-API-Key": await _key(container, "orders:read")}
    assert (await client.get(f"/orders/{order_id}", headers=reader)).status_code == 200
    assert (await client.get("/orders", headers=key)).status_code == 403
    assert (await client.post(f"/orders/{order_id}/cancel", headers=reader)).status_code == 403
    assert (
        await client.put("/inventory", json={"product_id": "x", "on_hand": 1}, headers=reader)
    ).status_code == 403


async def _key(container: Container, *scopes: str) -> str:
    _, secret = await container.use_cases.access().create("test", list(scopes))
    return secret


# -- bad input ----------------------------------------------------------------------------------------


async def test_bad_checkout_details_name_each_field_and_store_nothing(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    bad = {
        "email": "not-an-address",
        "shipping_address": {**ADDRESS, "city": "  ", "country": "Britain"},
        "payment_provider": "stripe",  # not enabled here
    }
    response = await client.post("/checkout", json=bad, headers=key)
    assert response.status_code == 400
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("email", "invalid_format"),
        ("shipping_address.city", "required"),
        ("shipping_address.country", "too_long"),
        ("payment_provider", "unavailable"),
    }
    response = await client.post(
        "/checkout", json={**ORDER, "shipping_address": {**ADDRESS, "country": "gb"}}, headers=key
    )
    assert [e["field"] for e in response.json()["errors"]] == ["shipping_address.country"]
    response = await client.post("/checkout", json={**ORDER, "payment_provider": "stripe"}, headers=key)
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("payment_provider", "unavailable")
    ]
    response = await client.post("/checkout", json={**ORDER, "payment_provider": "bitcoin"}, headers=key)
    assert [e["field"] for e in response.json()["errors"]] == ["payment_provider"]
    response = await client.post("/checkout", json={"email": "ada@example.com"}, headers=key)
    assert {e["field"] for e in response.json()["errors"]} == {"shipping_address", "payment_provider"}
    response = await client.post("/checkout", json=ORDER, headers={**key, "Idempotency-Key": "a b"})
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
    assert await order_count(client, admin) == 0
    assert len((await client.get("/cart", headers=key)).json()["items"]) == 1

    for headers in ({}, await carted(client, catalog["classic-tee"], TEE)):
        if headers:
            item = (await client.get("/cart", headers=headers)).json()["items"][0]["item_id"]
            await client.delete(f"/cart/items/{item}", headers=headers)
        empty = await client.post("/checkout", json=ORDER, headers=headers)
        assert empty.status_code == 400
        assert [(e["field"], e["code"]) for e in empty.json()["errors"]] == [("cart", "empty")]


async def test_a_price_change_is_reported_not_charged(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    tee = catalog["classic-tee"]
    key = await carted(client, tee, TEE)
    product = (await client.get(f"/products/{tee}")).json()
    changed = await client.put(
        f"/products/{tee}",
        json={"name": product["name"], "base_price": 2100, "slug": product["slug"]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text

    response = await client.post("/checkout", json=ORDER, headers=key)
    assert response.status_code == 409
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("items[0].unit_price", "price_changed")
    ]
    assert (await client.get("/cart", headers=key)).json()["items"][0]["unit_price"] == 2400
    assert await order_count(client, admin) == 0

    response = await client.post("/checkout", json=ORDER, headers=key)
    assert response.status_code == 201
    assert response.json()["total"] == 2400 + 240 + 500


# -- idempotency ----------------------------------------------------------------------------------------


async def test_an_idempotency_key_replays_the_first_answer(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    headers = {**key, "Idempotency-Key": "order-1"}
    first = await client.post("/checkout", json=ORDER, headers=headers)
    assert first.status_code == 201
    replay = await client.post("/checkout", json=ORDER, headers=headers)
    assert (replay.status_code, replay.json()) == (201, first.json())
    other = await client.post("/checkout", json={**ORDER, "email": "bob@example.com"}, headers=headers)
    assert other.status_code == 409
    assert await order_count(client, admin) == 1


async def test_parallel_requests_with_one_key_make_one_order_and_one_payment(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    headers = {**key, "Idempotency-Key": "double-click"}
    answers = await asyncio.gather(
        *(client.post("/checkout", json=ORDER, headers=headers) for _ in range(20))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({(a.json()["order_id"], a.json()["payment"]["payment_id"]) for a in answers}) == 1
    assert await order_count(client, admin) == 1


# -- stock ------------------------------------------------------------------------------------------------


async def test_inventory_levels_are_set_and_checked(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    tee = catalog["classic-tee"]
    await stock(client, admin, tee, 7)
    await stock(client, admin, tee, 3, "XL")
    assert await levels(client, admin, tee) == {
        None: {"on_hand": 7, "reserved": 0, "available": 7, "sold": 0},
        "XL": {"on_hand": 3, "reserved": 0, "available": 3, "sold": 0},
    }
    bad = await client.put(
        "/inventory", json={"product_id": tee, "option_code": "XXL", "on_hand": -1}, headers=admin
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"on_hand"}
    bad = await client.put(
        "/inventory", json={"product_id": tee, "option_code": "XXL", "on_hand": 1}, headers=admin
    )
    assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [("option_code", "unknown")]
    bad = await client.put("/inventory", json={"product_id": "nope", "on_hand": 1}, headers=admin)
    assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [("product_id", "unknown")]
    page = await client.get("/inventory", params={"limit": 1}, headers=admin)
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    rest = await client.get(
        "/inventory", params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=admin
    )
    assert rest.json()["items"][0]["option_code"] == "XL" and rest.json()["next_cursor"] is None

    key = await carted(client, tee, {**TEE, "size": "XL"}, quantity=2)
    assert (await client.post("/checkout", json=ORDER, headers=key)).status_code == 201
    below = await client.put(
        "/inventory", json={"product_id": tee, "option_code": "XL", "on_hand": 1}, headers=admin
    )
    assert below.status_code == 409


async def test_two_lines_drawing_on_the_same_stock_are_counted_together(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    box = catalog["build-your-own-gift-box"]
    await stock(client, admin, box, 3, "candle")
    key = await carted(client, box, BOX)  # a candle and tea
    await add(client, key, box, {"components": ["candle", "mug"]}, quantity=2)  # two more candles
    response = await client.post("/checkout", json=ORDER, headers=key)
    assert response.status_code == 201, response.text
    assert (await levels(client, admin, box))["candle"]["reserved"] == 3

    key = await carted(client, box, BOX)
    short = await client.post("/checkout", json=ORDER, headers=key)
    assert short.status_code == 409
    assert "candle" in short.json()["detail"]
    assert [(e["field"], e["code"]) for e in short.json()["errors"]] == [
        ("items[0].quantity", "out_of_stock")
    ]
    assert (await levels(client, admin, box))["candle"]["reserved"] == 3
    assert len((await client.get("/cart", headers=key)).json()["items"]) == 1  # the cart is kept


async def test_concurrent_checkouts_never_sell_more_than_there_is(
    client: Client, catalog: dict[str, str], admin: dict[str, str], backend: str
) -> None:
    tee = catalog["classic-tee"]
    await stock(client, admin, tee, 10, "L")
    guests = 200 if backend == "postgresql" else 40
    keys = [await carted(client, tee, TEE) for _ in range(guests)]
    answers = await asyncio.gather(*(client.post("/checkout", json=ORDER, headers=key) for key in keys))
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 10
    assert statuses.count(409) == guests - 10
    assert (await levels(client, admin, tee))["L"] == {
        "on_hand": 10,
        "reserved": 10,
        "available": 0,
        "sold": 0,
    }
    assert await order_count(client, admin) == 10


async def test_unpaid_orders_expire_and_give_their_stock_back(
    client: Client, catalog: dict[str, str], admin: dict[str, str], container: Container
) -> None:
    clock = ManualClock()
    container.adapters.clock.override(providers.Object(clock))
    for provider in (
        container.use_cases.checkout,
        container.use_cases.orders,
        container.use_cases.inventory,
        container.use_cases.carts,
        container.use_cases.access,
    ):
        provider.reset()
    admin = {"X-API-Key": await _key(container, "admin")}
    tee = catalog["classic-tee"]
    await stock(client, admin, tee, 2, "L")
    key = await carted(client, tee, TEE, quantity=2)
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    assert (await levels(client, admin, tee))["L"]["available"] == 0

    clock.advance(minutes=29)
    assert await container.use_cases.orders().expire_reservations() == 0
    clock.advance(minutes=2)
    assert await container.use_cases.orders().expire_reservations() == 1
    assert (await levels(client, admin, tee))["L"] == {"on_hand": 2, "reserved": 0, "available": 2, "sold": 0}
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert order["status"] == "cancelled"
    assert order["timeline"][-1]["note"] == "payment not received in time"
    late = await client.post(f"/test-payments/{placed['payment']['payment_id']}/succeed")
    assert late.status_code == 200
    after = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert after["status"] == "cancelled"  # the late payment was refunded, not turned into a sale
    assert (await levels(client, admin, tee))["L"]["sold"] == 0


# -- failures, retries, cancellations and refunds ---------------------------------------------------------


async def test_a_failed_payment_is_recorded_and_can_be_retried(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    first = placed["payment"]["payment_id"]
    failed = await client.post(f"/test-payments/{first}/fail")
    assert failed.json()["result"] == "applied"
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert order["status"] == "created"
    assert order["payment"]["failure"] == "the test card was declined"

    url = f"/orders/{placed['order_id']}/payment"
    bad = await client.post(url, params={"token": placed["order_token"]}, json={"payment_provider": "cash"})
    assert [e["field"] for e in bad.json()["errors"]] == ["payment_provider"]
    retry = await client.post(url, params={"token": placed["order_token"]}, json={"payment_provider": "test"})
    assert retry.status_code == 201, retry.text
    second = retry.json()["payment_id"]
    assert second != first
    assert (await client.post(f"/test-payments/{second}/succeed")).json()["result"] == "applied"
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert (order["status"], order["payment"]["payment_id"], order["payment"]["failure"]) == (
        "paid",
        second,
        None,
    )
    assert (await client.post(f"/orders/{placed['order_id']}/payment", headers=key)).status_code == 409
    stranger = await carted(client, catalog["classic-tee"], TEE)
    assert (await client.post(f"/orders/{placed['order_id']}/payment", headers=stranger)).status_code == 404


async def test_cancelling_releases_stock_and_refunding_returns_it_before_production(
    client: Client, catalog: dict[str, str], admin: dict[str, str], container: Container
) -> None:
    tee = catalog["classic-tee"]
    await stock(client, admin, tee, 4, "L")
    unpaid_key = await carted(client, tee, TEE)
    unpaid = (await client.post("/checkout", json=ORDER, headers=unpaid_key)).json()
    cancelled = await client.post(f"/orders/{unpaid['order_id']}/cancel", headers=admin)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await client.post(f"/orders/{unpaid['order_id']}/cancel", headers=admin)).status_code == 409
    assert (await levels(client, admin, tee))["L"] == {"on_hand": 4, "reserved": 0, "available": 4, "sold": 0}

    paid_key = await carted(client, tee, TEE)
    paid = (await client.post("/checkout", json=ORDER, headers=paid_key)).json()
    await client.post(f"/test-payments/{paid['payment']['payment_id']}/succeed")
    assert (await levels(client, admin, tee))["L"]["sold"] == 1
    refunded = await client.post(f"/orders/{paid['order_id']}/cancel", headers=admin)
    body = refunded.json()
    assert (body["status"], body["payment"]["paid"], body["payment"]["refunded"]) == ("refunded", 2920, 2920)
    assert (await levels(client, admin, tee))["L"] == {"on_hand": 4, "reserved": 0, "available": 4, "sold": 0}

    made_key = await carted(client, tee, TEE)
    made = (await client.post("/checkout", json=ORDER, headers=made_key)).json()
    await client.post(f"/test-payments/{made['payment']['payment_id']}/succeed")
    await render_prints(container)
    await client.post(f"/orders/{made['order_id']}/status", json={"status": "in_production"}, headers=admin)
    refunded = await client.post(
        f"/orders/{made['order_id']}/status", json={"status": "refunded"}, headers=admin
    )
    assert refunded.json()["status"] == "refunded"
    assert (await levels(client, admin, tee))["L"] == {"on_hand": 3, "reserved": 0, "available": 3, "sold": 1}


async def test_orders_are_listed_newest_first_with_filters(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    ids = []
    for _ in range(3):
        key = await carted(client, catalog["classic-tee"], TEE)
        ids.append((await client.post("/checkout", json=ORDER, headers=key)).json())
    await client.post(f"/test-payments/{ids[1]['payment']['payment_id']}/succeed")
    listed = (await client.get("/orders", headers=admin)).json()
    assert [o["order_id"] for o in listed["items"]] == [p["order_id"] for p in reversed(ids)]
    paid = (await client.get("/orders", params={"status": "paid"}, headers=admin)).json()
    assert [o["order_id"] for o in paid["items"]] == [ids[1]["order_id"]]
    first = await client.get("/orders", params={"limit": 2}, headers=admin)
    rest = await client.get(
        "/orders", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    assert [o["order_id"] for o in rest.json()["items"]] == [ids[0]["order_id"]]
    today = listed["items"][0]["created_at"][:10]
    dated = await client.get("/orders", params={"created_from": today, "created_to": today}, headers=admin)
    assert len(dated.json()["items"]) == 3
    none = await client.get(
        "/orders", params={"created_from": "2000-01-01", "created_to": "2000-01-02"}, headers=admin
    )
    assert none.json()["items"] == []
    bad = await client.get("/orders", params={"status": "lost", "created_from": "yesterday"}, headers=admin)
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"status", "created_from"}


async def test_one_cart_checked_out_twice_at_once_makes_one_order(
    client: Client, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    first, second = await asyncio.gather(
        client.post("/checkout", json=ORDER, headers=key), client.post("/checkout", json=ORDER, headers=key)
    )
    assert sorted([first.status_code, second.status_code]) == [201, 400]
    empty = first if first.status_code == 400 else second
    assert [(e["field"], e["code"]) for e in empty.json()["errors"]] == [("cart", "empty")]
    assert await order_count(client, admin) == 1
