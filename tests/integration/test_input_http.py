"""What a request body may be (contract §10), through HTTP on SQLite and PostgreSQL: JSON routes read
UTF-8 JSON declared as such (`application/json`, `application/*+json`, `charset=utf-8`), anything
else is 415; bytes that are not UTF-8 are 400 `invalid_encoding`; and nothing is stored either way.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from dependency_injector import providers
from hypothesis import given, settings
from litestar.testing import AsyncTestClient

from customshop.adapters.memory import ManualClock
from customshop.application.retention import RecordKind
from customshop.domain.hashing import hash_secret
from customshop.entrypoints.container import Adapters, Container, build_container
from customshop.entrypoints.demo import seed_demo_catalog
from customshop.entrypoints.http.app import create_app
from tests.builders import ORDER
from tests.strategies import BREAKAGES, CHECKOUT, broken_checkouts

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
async def tee(container: Container) -> str:
    await seed_demo_catalog(container.use_cases.catalog())
    page = await container.use_cases.catalog().list_products(include_inactive=False, after=None, limit=10)
    return next(p.id for p in page.items if p.slug == "classic-tee")


async def guest(client: Client, product_id: str) -> tuple[str, dict[str, str]]:
    """A new guest with a design session; returns the session id and the guest's headers."""
    response = await client.post("/sessions", json={"product_id": product_id})
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return response.json()["session_id"], {"X-Session-Key": response.json()["session_key"]}


def json_as(content_type: str | None) -> dict[str, str]:
    return {} if content_type is None else {"content-type": content_type}


async def product_count(client: Client, admin: dict[str, str]) -> int:
    response = await client.get("/products", params={"limit": 200, "include_inactive": "true"}, headers=admin)
    return len(response.json()["items"])


async def test_bytes_that_are_not_utf8_are_400_invalid_encoding_on_every_json_route(
    client: Client, tee: str, admin: dict[str, str]
) -> None:
    session, key = await guest(client, tee)
    before = await product_count(client, admin)
    bodies = {
        ("PATCH", f"/sessions/{session}"): b'{"options": {"front_text": {"text": "\xff\xfe"}}}',
        ("POST", "/sessions"): b'{"product_id": "Caf\xe9"}',
        ("POST", "/cart/items"): b'{"product_id": "\xc3\x28", "options": {}, "quantity": 1}',
        ("POST", "/checkout"): b'{"email": "caf\xe9@example.com"}',
        ("POST", "/products"): b'{"name": "Caf\xe9", "base_price": 100}',
        ("PUT", "/inventory"): b'{"product_id": "\xed\xa0\x80", "on_hand": 1}',  # a lone surrogate
        ("POST", "/optionsets"): b'{"\xff": 1}',
    }
    for (method, path), raw in bodies.items():
        response = await client.request(
            method, path, content=raw, headers={**key, **admin, "content-type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["errors"] == [
            {"field": "body", "code": "invalid_encoding", "message": response.json()["errors"][0]["message"]}
        ], path
    assert (await client.get(f"/sessions/{session}", headers=key)).json()["options"] == {}
    assert await product_count(client, admin) == before


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "text/json",
        None,
    ],
)
async def test_json_in_another_media_type_is_415(
    client: Client, tee: str, admin: dict[str, str], content_type: str | None
) -> None:
    session, key = await guest(client, tee)
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/sessions", {"product_id": tee}),
        ("PATCH", f"/sessions/{session}", {"options": {"size": "L"}}),
        ("POST", "/cart/items", {"session_id": session, "quantity": 1}),
        (
            "POST",
            "/checkout",
            ORDER,
        ),
        ("POST", "/products", {"name": "Mug", "base_price": 900}),
    ]
    before = await product_count(client, admin)
    for method, path, body in requests:
        response = await client.request(
            method, path, content=json.dumps(body).encode(), headers={**key, **admin, **json_as(content_type)}
        )
        assert response.status_code == 415, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert (problem["type"], problem["status"]) == ("/problems/unsupported-media-type", 415)
    assert (await client.get(f"/sessions/{session}", headers=key)).json()["options"] == {}
    assert (await client.get("/cart", headers=key)).json()["items"] == []
    assert await product_count(client, admin) == before


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; Charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/merge-patch+json",
        "application/vnd.customshop+json; charset=utf-8",
    ],
)
async def test_json_and_its_suffix_types_are_read(client: Client, tee: str, content_type: str) -> None:
    response = await client.post(
        "/sessions", content=b'{"product_id": "%s"}' % tee.encode(), headers={"content-type": content_type}
    )
    assert response.status_code == 201, response.text


async def test_an_empty_body_is_judged_by_the_route_not_by_its_type(client: Client) -> None:
    response = await client.post("/sessions", content=b"", headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


async def test_webhook_receivers_read_json_only(container: Container) -> None:
    secret = "whsec_" + base64.b64encode(b"s" * 24).decode()
    changed = msgspec.structs.replace(container.settings, fulfillment_secret=secret)
    adapters = Adapters(settings=changed, engine=container.adapters.engine())
    app = create_app(build_container(changed, adapters=adapters))
    app.on_shutdown.clear()  # the engine belongs to the session
    async with AsyncTestClient(app) as client:
        for path in ("/webhooks/stripe", "/webhooks/paypal", "/webhooks/fulfillment"):
            response = await client.post(path, content=b"{}", headers={"content-type": "text/plain"})
            assert response.status_code == 415, (path, response.text)
            assert response.json()["type"] == "/problems/unsupported-media-type"
            response = await client.post(
                path, content=b'{"id": "\xff"}', headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, path
            assert response.json()["errors"][0]["code"] == "invalid_encoding", path


async def test_uploads_take_multipart_only(client: Client, tee: str) -> None:
    session, key = await guest(client, tee)
    for headers, content in (
        ({"content-type": "application/json"}, b'{"file": "x"}'),
        ({"content-type": "image/png"}, b"\x89PNG"),
        ({}, b"raw bytes"),
    ):
        response = await client.post(
            f"/sessions/{session}/assets", content=content, headers={**key, **headers}
        )
        assert response.status_code == 415, response.text
        assert response.json()["type"] == "/problems/unsupported-media-type"


# -- session keys are never adopted ------------------------------------------------------------------

PLANTED = "gsk_" + "P" * 43  # well-formed, but this server never issued it


async def test_a_planted_key_is_not_adopted_by_post_sessions(
    client: Client, tee: str, container: Container
) -> None:
    for as_cookie in (False, True):
        client.cookies.clear()
        if as_cookie:
            client.cookies.set("session_key", PLANTED)
        headers = {} if as_cookie else {"X-Session-Key": PLANTED}
        response = await client.post("/sessions", json={"product_id": tee}, headers=headers)
        assert response.status_code == 201, response.text
        minted = response.json()["session_key"]
        assert minted != PLANTED and minted.startswith("gsk_")
        assert response.cookies["session_key"] == minted
        session = response.json()["session_id"]
        client.cookies.clear()
        # Whoever planted the key sees nothing of what the guest does next.
        assert (
            await client.get(f"/sessions/{session}", headers={"X-Session-Key": PLANTED})
        ).status_code == 404
        assert (
            await client.get(f"/sessions/{session}", headers={"X-Session-Key": minted})
        ).status_code == 200
    async with container.adapters.engine().connect() as conn:
        stored = set((await conn.execute(sa.text("SELECT key_hash FROM guest_keys"))).scalars())
    assert hash_secret(minted) in stored and minted not in stored  # only the hash is kept
    assert hash_secret(PLANTED) not in stored


async def test_a_key_the_server_did_not_issue_is_404_on_every_other_guest_route(
    client: Client, tee: str
) -> None:
    session, key = await guest(client, tee)
    await client.patch(f"/sessions/{session}", json={"options": {"size": "L"}}, headers=key)
    carted = await client.post("/cart/items", json={"session_id": session, "quantity": 1}, headers=key)
    assert carted.status_code == 200, carted.text
    item = carted.json()["items"][0]["item_id"]
    order = ORDER
    placed = await client.post("/checkout", json=order, headers=key)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    await client.post("/cart/items", json={"session_id": session, "quantity": 1}, headers=key)
    for bad in (PLANTED, "nonsense"):
        planted = {"X-Session-Key": bad}
        for method, path, body in (
            ("GET", f"/sessions/{session}", None),
            ("PATCH", f"/sessions/{session}", {"options": {"size": "M"}}),
            ("POST", f"/sessions/{session}/preview", None),
            ("GET", "/cart", None),
            ("POST", "/cart/items", {"product_id": tee, "options": {"size": "L"}, "quantity": 1}),
            ("POST", "/cart/items", {"session_id": session, "quantity": 1}),
            ("PATCH", f"/cart/items/{item}", {"quantity": 2}),
            ("DELETE", f"/cart/items/{item}", None),
            ("POST", "/checkout", order),
            ("GET", f"/orders/{order_id}", None),
            ("POST", f"/orders/{order_id}/payment", None),
        ):
            response = await client.request(method, path, json=body, headers=planted)
            assert response.status_code == 404, (bad, method, path, response.text)
            assert "x-session-key" not in response.headers and "set-cookie" not in response.headers
    # Nothing changed for the real guest; its order token still works with any key beside it.
    assert len((await client.get("/cart", headers=key)).json()["items"]) == 1
    token = placed.json()["order_token"]
    by_token = await client.get(
        f"/orders/{order_id}", params={"token": token}, headers={"X-Session-Key": PLANTED}
    )
    assert by_token.status_code == 200


async def test_an_expired_key_is_replaced_and_owns_nothing_any_more(
    client: Client, tee: str, container: Container
) -> None:
    clock = ManualClock()
    container.adapters.clock.override(providers.Object(clock))
    container.use_cases.customization.reset()
    container.use_cases.carts.reset()
    _, key = await guest(client, tee)
    clock.advance(days=300)
    again = await client.post("/sessions", json={"product_id": tee}, headers=key)
    assert again.json()["session_key"] == key["X-Session-Key"]  # live: kept, and good for another year
    clock.advance(days=300)
    assert (await client.get("/cart", headers=key)).status_code == 200
    clock.advance(days=66)
    assert (await client.get("/cart", headers=key)).status_code == 404
    container.use_cases.retention.reset()
    assert (await container.use_cases.retention().purge())[RecordKind.GUEST_KEYS] == 1  # the sweep forgets it
    async with container.adapters.engine().connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM guest_keys"))).scalar() == 0
    assert (await client.get("/cart", headers=key)).status_code == 404
    fresh = await client.post("/sessions", json={"product_id": tee}, headers=key)
    assert fresh.status_code == 201
    assert fresh.json()["session_key"] != key["X-Session-Key"]
    assert (
        await client.get("/cart", headers={"X-Session-Key": fresh.json()["session_key"]})
    ).status_code == 200


# -- one-pass validation: every bad field at once -------------------------------------------------


def named(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.text
    return {error["field"]: error["code"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    "broken",
    [
        ("email", "shipping_address.city", "shipping_address.country"),
        ("email", "payment_provider", "shipping_address.postal_code", "coupon"),
        (
            "shipping_address.name",
            "shipping_address.line1",
            "shipping_address.line2",
            "shipping_address.floor",
        ),
        tuple(BREAKAGES),
    ],
)
async def test_checkout_names_every_broken_field_at_once(
    client: Client, tee: str, admin: dict[str, str], broken: tuple[str, ...]
) -> None:
    session, key = await guest(client, tee)
    await client.patch(f"/sessions/{session}", json={"options": {"size": "L"}}, headers=key)
    await client.post("/cart/items", json={"session_id": session, "quantity": 1}, headers=key)
    for variant in range(2):
        body = copy.deepcopy(CHECKOUT)
        for field in broken:
            breakages = BREAKAGES[field]
            breakages[variant % len(breakages)](body)
        response = await client.post("/checkout", json=body, headers=key)
        assert sorted(named(response)) == sorted(broken)
    assert (await client.get("/orders", headers=admin)).json()["items"] == []
    assert len((await client.get("/cart", headers=key)).json()["items"]) == 1


async def test_any_k_broken_checkout_fields_are_named_exactly_through_http(client: Client, tee: str) -> None:
    """The property of tests/unit/test_one_pass_validation.py, against the real app and database:
    hypothesis runs in a thread and hands each request to this test's event loop."""
    _, key = await guest(client, tee)
    loop = asyncio.get_running_loop()

    @settings(max_examples=60, deadline=None, database=None)
    @given(broken_checkouts())
    def names_exactly_the_broken_fields(case: tuple[dict[str, Any], set[str]]) -> None:
        body, broken = case
        sent = asyncio.run_coroutine_threadsafe(client.post("/checkout", json=body, headers=key), loop)
        assert sorted(named(sent.result(timeout=30))) == sorted(broken)

    await asyncio.to_thread(names_exactly_the_broken_fields)


async def test_the_reported_case_a_bad_email_and_an_incomplete_address(client: Client, tee: str) -> None:
    _, key = await guest(client, tee)
    response = await client.post(
        "/checkout",
        json={"email": "not-an-email", "shipping_address": {"name": "Ada"}, "payment_provider": "test"},
        headers=key,
    )
    assert named(response) == {
        "email": "invalid_format",
        "shipping_address.line1": "required",
        "shipping_address.city": "required",
        "shipping_address.postal_code": "required",
        "shipping_address.country": "required",
    }
    # A provider this shop has not enabled (the test settings enable only "test") beside the rest.
    stripe = await client.post(
        "/checkout",
        json={"email": "not-an-email", "shipping_address": {"name": "Ada"}, "payment_provider": "stripe"},
        headers=key,
    )
    assert named(stripe)["payment_provider"] == "unavailable"
    assert named(stripe)["email"] == "invalid_format"


async def test_catalog_writes_name_every_bad_field_at_once(
    client: Client, tee: str, admin: dict[str, str]
) -> None:
    before = await product_count(client, admin)
    product = await client.post(
        "/products", json={"name": " ", "currency": "XYZ", "media": [{}]}, headers=admin
    )
    assert named(product) == {
        "name": "invalid_length",
        "base_price": "required",
        "currency": "invalid_choice",
        "media[0].url": "required",
    }
    replaced = await client.put(f"/products/{tee}", json={"name": " ", "base_price": -1}, headers=admin)
    assert named(replaced) == {"name": "invalid_length", "base_price": "out_of_range"}
    assert await product_count(client, admin) == before

    options = [
        {"code": "S", "label": "Small"},
        {"code": "S", "label": " "},
        {"code": "M", "label": "M", "price_delta": 1.5},
    ]
    option_set = await client.post("/optionsets", json={"product_id": tee, "options": options}, headers=admin)
    assert named(option_set) == {
        "name": "required",
        "options[1].code": "duplicate",
        "options[1].label": "invalid_length",
        "options[2].price_delta": "invalid_type",
    }
    sound_but_wrong = await client.post(
        "/optionsets",
        json={"product_id": "nope", "name": "Size", "options": options[:2]},
        headers=admin,
    )
    assert named(sound_but_wrong) == {
        "product_id": "not_found",
        "options[1].code": "duplicate",
        "options[1].label": "invalid_length",
    }

    definition = {
        "canvas": {"width": 0, "height": 100},
        "zones": [{"id": "a", "type": "text", "max_length": -1}, {"id": "a", "type": "color"}],
    }
    template = await client.post(
        "/templates", json={"product_id": tee, "definition": definition}, headers=admin
    )
    errors = named(template)
    assert errors.pop("version") == "required"
    assert "definition.canvas.width" in errors and "definition.zones[1].id" in errors
    assert all(field.startswith("definition.") for field in errors)
    unknown_product = await client.post(
        "/templates", json={"product_id": "nope", "version": 9, "definition": definition}, headers=admin
    )
    assert named(unknown_product) == {"product_id": "not_found", **errors}
    templates = await client.get(f"/templates/{tee}")
    assert [t["version"] for t in templates.json()["items"]] == [1]

    stock = await client.put("/inventory", json={"on_hand": -1, "option_code": "no spaces"}, headers=admin)
    assert named(stock) == {
        "product_id": "required",
        "on_hand": "out_of_range",
        "option_code": "invalid_format",
    }
    endpoint = await client.post(
        "/webhook-endpoints", json={"events": ["order.paid", "order.eaten"]}, headers=admin
    )
    assert named(endpoint) == {"url": "required", "events[1]": "unknown_event"}
    assert (await client.get("/webhook-endpoints", headers=admin)).json()["items"] == []


async def test_guest_writes_name_every_bad_field_at_once(client: Client, tee: str) -> None:
    session, key = await guest(client, tee)
    zones = {
        "front_text": {"text": "x" * 500, "font": "Comic"},
        "body_color": "#123456",
        "size": "XXL",
        "nope": 1,
    }
    patched = await client.patch(f"/sessions/{session}", json={"options": zones}, headers=key)
    assert {error["zone_id"] for error in patched.json()["errors"] if "zone_id" in error} >= {
        "front_text",
        "body_color",
        "size",
    }
    assert "options.nope" in named(patched)
    assert (await client.get(f"/sessions/{session}", headers=key)).json()["options"] == {}
    carted = await client.post("/cart/items", json={"quantity": 0, "colour": "red"}, headers=key)
    assert named(carted) == {"quantity": "out_of_range", "colour": "unknown_field", "session_id": "required"}
    started = await client.post("/sessions", json={"product_id": "", "template_version": 0, "x": 1})
    assert named(started) == {
        "product_id": "too_short",
        "template_version": "out_of_range",
        "x": "unknown_field",
    }
    assert (await client.get("/cart", headers=key)).json()["items"] == []


async def test_a_malformed_body_still_has_its_design_checked_against_the_template(
    client: Client, tee: str
) -> None:
    """The rules that need the stored template are reported beside the body's own problems."""
    session, key = await guest(client, tee)
    # A session's incomplete design (no size yet) beside a bad quantity and an unknown field.
    carted = await client.post(
        "/cart/items", json={"session_id": session, "quantity": 0, "colour": "red"}, headers=key
    )
    assert named(carted) == {
        "quantity": "out_of_range",
        "colour": "unknown_field",
        "options.size": "required",
    }
    # A design given directly, with a zone value the template refuses, and a quantity of the wrong type.
    direct = await client.post(
        "/cart/items",
        json={"product_id": tee, "options": {"size": "XXL", "body_color": "#123456"}, "quantity": "2"},
        headers=key,
    )
    assert named(direct) == {
        "quantity": "invalid_type",
        "options.size": "unknown_option",
        "options.body_color": "not_in_palette",
    }
    # A zone value the template refuses beside an unknown field of the session update.
    patched = await client.patch(
        f"/sessions/{session}", json={"options": {"size": "XXL"}, "colour": "red"}, headers=key
    )
    assert named(patched) == {"colour": "unknown_field", "options.size": "unknown_option"}
    # What only a sound request can tell stays for then: another guest's session is a 404 then.
    _, other = await guest(client, tee)
    foreign = await client.post("/cart/items", json={"session_id": session, "quantity": 0}, headers=other)
    assert named(foreign) == {"quantity": "out_of_range"}
    assert (await client.get("/cart", headers=key)).json()["items"] == []
    assert (await client.get(f"/sessions/{session}", headers=key)).json()["options"] == {}
