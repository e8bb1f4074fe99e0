"""The studio through the HTTP API (contract §13), on SQLite and on PostgreSQL: the template
lifecycle (drafts, edits, publication, retirement, the default) with its 409s and the catalog cache,
and conditional zones from a design session to a print file."""

from __future__ import annotations

import io
from typing import Any

from litestar.testing import AsyncTestClient
from PIL import Image

from customshop.entrypoints.container import Container
from tests.builders import ORDER, PROBLEM
from tests.integration.conftest import make_key, render_prints

Client = AsyncTestClient  # type: ignore[type-arg]

CANVAS = {"width": 200, "height": 100, "background": "#ffffff"}


def plain(max_length: int = 20) -> dict[str, Any]:
    """A definition with one text zone filling the canvas's left half."""
    area = {"x": 0, "y": 0, "width": 100, "height": 100}
    return {
        "canvas": CANVAS,
        "zones": [{"id": "name", "type": "text", "max_length": max_length, "area": area}],
    }


def gift_wrapped(gift_set: str) -> dict[str, Any]:
    """A name, and a gift option: with gift wrap (``yes``), a required red message on the right
    half, priced 300."""
    definition = plain()
    definition["zones"] += [
        {"id": "gift", "type": "option", "option_set_id": gift_set},
        {
            "id": "message",
            "type": "text",
            "required": True,
            "palette": ["#ff0000"],
            "price_delta": 300,
            "area": {"x": 100, "y": 0, "width": 100, "height": 100},
            "visible_when": {"zone": "gift", "in": ["yes"]},
        },
    ]
    return definition


async def new_product(client: Client, admin: dict[str, str], name: str = "Mug") -> str:
    created = await client.post("/products", json={"name": name, "base_price": 1000}, headers=admin)
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    return product_id


async def new_template(
    client: Client, admin: dict[str, str], product_id: str, version: int, **fields: Any
) -> dict[str, Any]:
    body = {"product_id": product_id, "version": version, "definition": plain()} | fields
    created = await client.post("/templates", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def move(
    client: Client, admin: dict[str, str], template_id: str, verb: str, status: int = 200
) -> dict[str, Any]:
    answer = await client.post(f"/templates/{template_id}/{verb}", headers=admin)
    assert answer.status_code == status, answer.text
    if status == 409:
        assert answer.headers["content-type"].startswith(PROBLEM)
    return dict(answer.json())


async def versions(
    client: Client, product_id: str, headers: dict[str, str] | None = None
) -> list[tuple[int, str, bool]]:
    listed = await client.get(f"/templates/{product_id}", headers=headers or {})
    assert listed.status_code == 200, listed.text
    return [(t["version"], t["status"], t["is_default"]) for t in listed.json()["items"]]


async def test_the_lifecycle_of_a_template_and_its_409s(
    client: Client, admin: dict[str, str], container: Container
) -> None:
    product = await new_product(client, admin)
    v1 = await new_template(client, admin, product, 1)
    assert (v1["status"], v1["is_default"]) == ("published", True)  # today's behaviour by default
    draft = await new_template(client, admin, product, 2, status="draft")
    assert (draft["status"], draft["is_default"]) == ("draft", False)

    # A draft is invisible to guests: not listed, and no session starts on it.
    assert await versions(client, product) == [(1, "published", True)]
    assert await versions(client, product, admin) == [(2, "draft", False), (1, "published", True)]
    refused = await client.post("/sessions", json={"product_id": product, "template_version": 2})
    assert refused.status_code == 400
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("template_version", "not_found")]

    # A draft's definition is edited; a bad one is a 400 naming every problem, storing nothing.
    edited = await client.patch(f"/templates/{draft['id']}", json={"definition": plain(5)}, headers=admin)
    assert edited.status_code == 200, edited.text
    assert edited.json()["definition"]["zones"][0]["max_length"] == 5
    bad = {
        "canvas": {"width": 200, "height": 100, "background": "white"},
        "zones": [
            {
                "id": "name",
                "type": "text",
                "fonts": ["Comic"],
                "area": {"x": 150, "y": 0, "width": 100, "height": 10},
            }
        ],
    }
    broken = await client.patch(f"/templates/{draft['id']}", json={"definition": bad}, headers=admin)
    assert broken.status_code == 400
    assert {(e["field"], e["code"]) for e in broken.json()["errors"]} == {
        ("definition.canvas.background", "invalid_color"),
        ("definition.zones[0].fonts", "unknown_font"),
        ("definition.zones[0].area", "outside_canvas"),
    }
    malformed = await client.patch(
        f"/templates/{draft['id']}", json={"definition": bad, "version": 3}, headers=admin
    )
    assert malformed.status_code == 400  # a malformed body names the definition's problems too
    assert {e["field"] for e in malformed.json()["errors"]} >= {"version", "definition.zones[0].fonts"}
    stored = (await client.get(f"/templates/{product}", headers=admin)).json()["items"][0]
    assert stored["definition"]["zones"][0]["max_length"] == 5

    # Moves: draft → published → retired → published; everything else is 409.
    await move(client, admin, draft["id"], "retire", 409)
    await move(client, admin, draft["id"], "make-default", 409)
    published = await move(client, admin, draft["id"], "publish")
    assert (published["status"], published["is_default"]) == ("published", False)
    await move(client, admin, draft["id"], "publish", 409)
    frozen = await client.patch(f"/templates/{draft['id']}", json={"definition": plain()}, headers=admin)
    assert frozen.status_code == 409
    assert frozen.json()["detail"].startswith("version 2 is published: only a draft can be edited")
    defaulted = await move(client, admin, v1["id"], "retire", 409)
    assert "make another version the default" in defaulted["detail"]
    assert (await move(client, admin, draft["id"], "make-default"))["is_default"] is True
    assert (await move(client, admin, draft["id"], "make-default"))["is_default"] is True  # idempotent
    retired = await move(client, admin, v1["id"], "retire")
    assert (retired["status"], retired["is_default"]) == ("retired", False)
    await move(client, admin, v1["id"], "retire", 409)
    await move(client, admin, v1["id"], "make-default", 409)
    assert await versions(client, product) == [(2, "published", True), (1, "retired", False)]
    refused = await client.post("/sessions", json={"product_id": product, "template_version": 1})
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("template_version", "retired")]
    assert (await move(client, admin, v1["id"], "publish"))["status"] == "published"  # brought back
    assert (
        await client.post("/sessions", json={"product_id": product, "template_version": 1})
    ).status_code == 201

    # A draft cannot be created as the default; unknown versions are 404; the moves need the scope.
    not_default = await client.post(
        "/templates",
        json={
            "product_id": product,
            "version": 3,
            "definition": plain(),
            "status": "draft",
            "is_default": True,
        },
        headers=admin,
    )
    assert not_default.status_code == 400
    assert [(e["field"], e["code"]) for e in not_default.json()["errors"]] == [
        ("is_default", "not_published")
    ]
    assert (await client.post("/templates/nope/publish", headers=admin)).status_code == 404
    assert (
        await client.patch("/templates/nope", json={"definition": plain()}, headers=admin)
    ).status_code == 404
    reader = {"X-API-Key": await make_key(container, "orders:read")}
    assert (await client.post(f"/templates/{v1['id']}/retire", headers=reader)).status_code == 403
    assert (await client.post(f"/templates/{v1['id']}/retire")).status_code == 403
    assert (await client.patch(f"/templates/{v1['id']}", json={"definition": plain()})).status_code == 403
    assert (await client.delete(f"/templates/{v1['id']}", headers=admin)).status_code == 405


async def test_every_move_reaches_the_cached_catalog_at_once(
    client: Client, admin: dict[str, str], container: Container
) -> None:
    product = await new_product(client, admin)
    v1 = await new_template(client, admin, product, 1)
    v2 = await new_template(client, admin, product, 2, status="draft")
    cache = container.use_cases.catalog_cache()

    async def shown() -> tuple[int, list[tuple[int, str, bool]]]:
        """The product page's template version and the public list, each read twice: the second
        read is a cache hit (no miss counted), so what is checked is what the cache serves."""
        page = (await client.get(f"/products/{product}")).json()["template"]["version"]
        listed = await versions(client, product)
        misses = cache.misses
        assert (await client.get(f"/products/{product}")).json()["template"]["version"] == page
        assert await versions(client, product) == listed
        assert cache.misses == misses
        return page, listed

    assert await shown() == (1, [(1, "published", True)])
    await move(client, admin, v2["id"], "publish")
    assert await shown() == (1, [(2, "published", False), (1, "published", True)])
    await move(client, admin, v2["id"], "make-default")
    assert await shown() == (2, [(2, "published", True), (1, "published", False)])
    await move(client, admin, v1["id"], "retire")
    assert await shown() == (2, [(2, "published", True), (1, "retired", False)])
    await move(client, admin, v1["id"], "publish")
    await move(client, admin, v1["id"], "make-default")
    assert await shown() == (1, [(2, "published", False), (1, "published", True)])
    # A design carted without a session is checked against the default the cache holds now.
    carted = await client.post(
        "/cart/items", json={"product_id": product, "options": {"name": {"text": "Ada"}}, "quantity": 1}
    )
    assert carted.status_code == 200, carted.text
    assert carted.json()["items"][0]["template_version"] == 1


async def test_a_session_on_a_retired_version_carts_and_checks_out_with_its_conditional_zone(
    client: Client, admin: dict[str, str], container: Container
) -> None:
    product = await new_product(client, admin)
    gift = await client.post(
        "/optionsets",
        json={
            "product_id": product,
            "name": "Gift wrap",
            "options": [{"code": "no", "label": "No"}, {"code": "yes", "label": "Yes", "price_delta": 200}],
        },
        headers=admin,
    )
    assert gift.status_code == 201, gift.text
    v1 = await new_template(client, admin, product, 1, definition=gift_wrapped(gift.json()["id"]))
    started = await client.post("/sessions", json={"product_id": product})
    assert started.status_code == 201
    session, key = started.json()["session_id"], {"X-Session-Key": started.json()["session_key"]}
    client.cookies.clear()

    # Without gift wrap the message is hidden: kept in the session, not required, not priced.
    design = {"name": {"text": "Ada"}, "gift": "no", "message": {"text": "Happy birthday!"}}
    patched = await client.patch(f"/sessions/{session}", json={"options": design}, headers=key)
    assert patched.status_code == 200, patched.text
    assert patched.json()["options"]["message"] == {"text": "Happy birthday!"}
    assert patched.json()["price"]["unit_price"] == 1000

    # The version is retired (another made the default); the open session goes on.
    v2 = await new_template(client, admin, product, 2)
    await move(client, admin, v2["id"], "make-default")
    await move(client, admin, v1["id"], "retire")
    shown = await client.patch(f"/sessions/{session}", json={"options": {"gift": "yes"}}, headers=key)
    assert shown.status_code == 200, shown.text
    assert shown.json()["price"]["unit_price"] == 1000 + 200 + 300
    assert shown.json()["template_version"] == 1
    carted = await client.post("/cart/items", json={"session_id": session, "quantity": 1}, headers=key)
    assert carted.status_code == 200, carted.text
    (line,) = carted.json()["items"]
    assert (line["template_version"], line["unit_price"]) == (1, 1500)
    assert line["options"]["message"]["text"] == "Happy birthday!"

    # Hidden again, the message leaves what is carted (the session keeps it).
    hidden = await client.patch(f"/sessions/{session}", json={"options": {"gift": "no"}}, headers=key)
    kept = {"text": "Happy birthday!", "font": "Sans", "color": "#ff0000"}  # as checked when it showed
    assert hidden.json()["options"]["message"] == kept
    carted = await client.post("/cart/items", json={"session_id": session, "quantity": 1}, headers=key)
    assert carted.status_code == 200, carted.text
    plain_line = next(item for item in carted.json()["items"] if item["item_id"] != line["item_id"])
    assert "message" not in plain_line["options"]
    assert plain_line["unit_price"] == 1000

    placed = await client.post("/checkout", json=ORDER, headers=key | {"Idempotency-Key": "studio-1"})
    assert placed.status_code == 201, placed.text
    payment = placed.json()["payment"]["payment_id"]
    assert (await client.post(f"/test-payments/{payment}/succeed")).status_code == 200
    await render_prints(container)
    order = (await client.get(f"/orders/{placed.json()['order_id']}", headers=key)).json()
    by_message = {"message" in item["options"]: item for item in order["items"]}
    assert set(by_message) == {True, False}
    for with_message, item in by_message.items():
        assert item["print_file"]["status"] == "ready", item
        printed = await client.get(item["print_file"]["url"])
        with Image.open(io.BytesIO(printed.content)) as image:
            right = image.convert("RGB").crop((image.width // 2, 0, image.width, image.height))
            reds = [p for p in right.get_flattened_data() if p[0] > 200 and p[1] < 80 and p[2] < 80]  # type: ignore[index]
        assert bool(reds) == with_message  # the message is printed only on the line that shows it
