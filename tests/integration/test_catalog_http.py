"""The catalog through the HTTP API (contract §1-§2), on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from customshop.entrypoints.container import Container
from tests.builders import PROBLEM
from tests.integration.conftest import make_key

Client = AsyncTestClient  # type: ignore[type-arg]


def definition(option_set_id: str | None = None) -> dict[str, Any]:
    zones: list[dict[str, Any]] = [
        {
            "id": "front_text",
            "type": "text",
            "max_length": 20,
            "fonts": ["Serif", "Sans"],
            "palette": ["#000000", "#FFFFFF"],
            "price_delta": 300,
            "area": {"x": 100, "y": 120, "width": 800, "height": 120},
        },
        {
            "id": "photo",
            "type": "image",
            "min_width": 600,
            "min_height": 600,
            "price_delta": 500,
            "area": {"x": 250, "y": 300, "width": 500, "height": 500},
        },
        {"id": "body_color", "type": "color", "palette": ["#c0392b", "#2c3e50"], "default": "#2c3e50"},
    ]
    if option_set_id:
        zones.append({"id": "size", "type": "option", "option_set_id": option_set_id, "required": True})
    return {"canvas": {"width": 1000, "height": 1000, "background": "#ffffff"}, "zones": zones}


async def create_product(client: Client, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Classic T-shirt", "description": "Cotton", "base_price": 2500} | fields
    response = await client.post("/products", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_sizes(client: Client, admin: dict[str, str], product_id: str) -> dict[str, Any]:
    body = {
        "product_id": product_id,
        "name": "Size",
        "options": [
            {"code": "M", "label": "Medium"},
            {"code": "XL", "label": "Extra large", "price_delta": 200},
        ],
    }
    response = await client.post("/optionsets", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_designer_builds_a_product_that_the_storefront_then_shows(
    client: Client, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin, media=[{"url": "https://cdn.example.com/tee.jpg"}])
    assert product["slug"] == "classic-t-shirt"
    assert product["currency"] == "USD"
    assert product["created_at"].endswith("Z")
    sizes = await create_sizes(client, admin, product["id"])

    # Without a default template the storefront cannot sell it: 404.
    assert (await client.get(f"/products/{product['id']}")).status_code == 404

    created = await client.post(
        "/templates",
        json={"product_id": product["id"], "version": 1, "definition": definition(sizes["id"])},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["is_default"] is True  # the first version becomes the default

    shown = await client.get(f"/products/{product['id']}")
    assert shown.status_code == 200
    body = shown.json()
    assert body["template"]["id"] == template["id"]
    assert body["template"]["version"] == 1
    zones = {zone["id"]: zone for zone in body["template"]["definition"]["zones"]}
    assert zones["size"]["option_set_id"] == sizes["id"]
    assert zones["front_text"]["palette"] == ["#000000", "#ffffff"]  # colours are normalized
    assert zones["photo"]["allowed_types"] == ["image/png", "image/jpeg"]  # defaults are explicit
    listed = (await client.get("/products")).json()
    assert [p["id"] for p in listed["items"]] == [product["id"]]
    assert listed["items"][0]["media"] == [{"url": "https://cdn.example.com/tee.jpg", "alt": ""}]


async def test_admin_writes_need_a_key_with_the_right_scope(client: Client, container: Container) -> None:
    body = {"name": "Mug", "base_price": 900}
    assert (await client.post("/products", json=body)).status_code == 403
    bad = await client.post("/products", json=body, headers={"X-API-Key": "csk_not-a-real-key"})
    assert bad.status_code == 403
    assert bad.headers["content-type"].startswith(PROBLEM)
    reader = await make_key(container, "orders:read")
    assert (await client.post("/products", json=body, headers={"X-API-Key": reader})).status_code == 403
    writer = await make_key(container, "catalog:write")
    assert (await client.post("/products", json=body, headers={"X-API-Key": writer})).status_code == 201

    key = next(k for k in await container.use_cases.access().list() if k.scopes == {"catalog:write"})
    await container.use_cases.access().revoke(key.id)
    assert (await client.post("/products", json=body, headers={"X-API-Key": writer})).status_code == 403
    # A bad body from someone without a key is still 403: nothing about the input leaks.
    assert (await client.post("/products", json={"name": 5})).status_code == 403


async def test_bad_product_input_names_every_field_and_stores_nothing(
    client: Client, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/products",
        json={
            "name": "",
            "base_price": 12.5,
            "currency": "usd",
            "slug": "Not A Slug",
            "media": [{"url": "https://ok.example.com/a.png"}, {"url": "not a url"}],
            "colour": "red",
        },
        headers=admin,
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 400
    assert problem["type"] and problem["title"] and problem["detail"]
    fields = {error["field"]: error["code"] for error in problem["errors"]}
    assert fields == {
        "name": "too_short",
        "base_price": "invalid_type",
        "currency": "invalid_format",
        "slug": "invalid_format",
        "media[1].url": "invalid_format",
        "colour": "unknown_field",
    }
    missing = await client.post("/products", json={}, headers=admin)
    assert {e["field"]: e["code"] for e in missing.json()["errors"]} == {
        "name": "required",
        "base_price": "required",
    }
    for raw in (b"", b"{not json", b"[1, 2]", b'"text"'):
        response = await client.post(
            "/products", content=raw, headers={**admin, "content-type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["errors"][0]["field"] == "body"
    unknown_currency = await client.post(
        "/products", json={"name": "Mug", "base_price": 1, "currency": "ABC"}, headers=admin
    )
    assert unknown_currency.status_code == 400
    assert unknown_currency.json()["errors"] == [
        {"field": "currency", "code": "invalid_choice", "message": "'ABC' is not an ISO 4217 code"}
    ]
    assert (await client.get("/products", params={"include_inactive": "true"}, headers=admin)).json()[
        "items"
    ] == []


async def test_slugs_are_unique_and_replacement_keeps_them(client: Client, admin: dict[str, str]) -> None:
    first = await create_product(client, admin, name="Mug")
    clash = await client.post("/products", json={"name": "Mug", "base_price": 100}, headers=admin)
    assert clash.status_code == 409
    other = await create_product(client, admin, name="Cap", slug="cap")

    replaced = await client.put(
        f"/products/{first['id']}",
        json={"name": "Big mug", "base_price": 1200, "currency": "EUR", "description": "Stoneware"},
        headers=admin,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() | {"updated_at": None} == first | {
        "name": "Big mug",
        "base_price": 1200,
        "currency": "EUR",
        "description": "Stoneware",
        "updated_at": None,
    }
    taken = await client.put(
        f"/products/{first['id']}", json={"name": "x", "base_price": 1, "slug": "cap"}, headers=admin
    )
    assert taken.status_code == 409
    assert (
        await client.put("/products/nope", json={"name": "x", "base_price": 1}, headers=admin)
    ).status_code == 404
    assert other["slug"] == "cap"


async def test_deactivated_products_leave_the_storefront(client: Client, admin: dict[str, str]) -> None:
    product = await create_product(client, admin)
    await client.post(
        "/templates",
        json={"product_id": product["id"], "version": 1, "definition": definition()},
        headers=admin,
    )
    assert (await client.get(f"/products/{product['id']}")).status_code == 200

    gone = await client.delete(f"/products/{product['id']}", headers=admin)
    assert gone.status_code == 200
    assert gone.json()["active"] is False
    assert (await client.delete(f"/products/{product['id']}", headers=admin)).status_code == 200  # idempotent
    assert (await client.get(f"/products/{product['id']}")).status_code == 404
    assert (await client.get("/products")).json()["items"] == []
    assert (await client.get(f"/templates/{product['id']}")).status_code == 404
    # Admins still see it.
    assert len((await client.get(f"/templates/{product['id']}", headers=admin)).json()["items"]) == 1
    listed = await client.get("/products", params={"include_inactive": "true"}, headers=admin)
    assert [p["id"] for p in listed.json()["items"]] == [product["id"]]
    assert (await client.get("/products", params={"include_inactive": "true"})).status_code == 403
    assert (await client.delete("/products/unknown", headers=admin)).status_code == 404


async def test_lists_page_with_opaque_cursors(client: Client, admin: dict[str, str]) -> None:
    ids = [(await create_product(client, admin, name=f"Product {n}"))["id"] for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/products", params=params)).json()
        seen += [p["id"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert ids[0] not in cursor  # opaque
    assert seen == ids
    assert pages == 3
    bad = await client.get("/products", params={"cursor": "garbage!", "limit": "500"})
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"limit"}
    assert (await client.get("/products", params={"cursor": "garbage"})).json()["errors"][0][
        "field"
    ] == "cursor"


async def test_templates_are_versioned_with_one_default(client: Client, admin: dict[str, str]) -> None:
    product = await create_product(client, admin)
    pid = product["id"]
    for version, is_default in ((1, None), (2, False), (3, True), (4, None)):
        body: dict[str, Any] = {"product_id": pid, "version": version, "definition": definition()}
        if is_default is not None:
            body["is_default"] = is_default
        assert (await client.post("/templates", json=body, headers=admin)).status_code == 201
    duplicate = await client.post(
        "/templates", json={"product_id": pid, "version": 3, "definition": definition()}, headers=admin
    )
    assert duplicate.status_code == 409

    listed = (await client.get(f"/templates/{pid}")).json()["items"]
    assert [t["version"] for t in listed] == [4, 3, 2, 1]
    assert [t["version"] for t in listed if t["is_default"]] == [3]
    assert (await client.get(f"/products/{pid}")).json()["template"]["version"] == 3

    first = (await client.get(f"/templates/{pid}", params={"limit": "3"})).json()
    assert [t["version"] for t in first["items"]] == [4, 3, 2]
    rest = (
        await client.get(f"/templates/{pid}", params={"limit": "3", "cursor": first["next_cursor"]})
    ).json()
    assert [t["version"] for t in rest["items"]] == [1]
    assert rest["next_cursor"] is None
    assert (await client.get("/templates/unknown")).status_code == 404


async def test_an_invalid_definition_reports_every_problem_with_its_zone(
    client: Client, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin)
    other = await create_product(client, admin, name="Other")
    foreign = await create_sizes(client, admin, other["id"])
    bad = {
        "canvas": {"width": 500, "height": 500, "background": "white"},
        "zones": [
            {
                "id": "t",
                "type": "text",
                "min_length": 9,
                "max_length": 3,
                "fonts": ["Comic"],
                "area": {"x": 400, "y": 0, "width": 200, "height": 50},
            },
            {"id": "t", "type": "color", "palette": ["#12345"]},
            {"id": "size", "type": "option", "option_set_id": foreign["id"]},
            {
                "id": "pic",
                "type": "image",
                "allowed_types": ["image/gif"],
                "area": {"x": 0, "y": 0, "width": 10, "height": 10},
                "surprise": 1,
            },
        ],
    }
    response = await client.post(
        "/templates", json={"product_id": product["id"], "version": 1, "definition": bad}, headers=admin
    )
    assert response.status_code == 400
    errors = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert errors == {
        ("definition.canvas.background", "invalid_color"),
        ("definition.zones[0].min_length", "min_exceeds_max"),
        ("definition.zones[0].fonts", "unknown_font"),
        ("definition.zones[0].area", "outside_canvas"),
        ("definition.zones[1].id", "duplicate"),
        ("definition.zones[1].palette", "invalid_color"),
        ("definition.zones[2].option_set_id", "wrong_product"),
        ("definition.zones[3].allowed_types", "invalid_choice"),
        ("definition.zones[3].surprise", "unknown_field"),
    }
    by_field = {e["field"]: e for e in response.json()["errors"]}
    assert by_field["definition.zones[2].option_set_id"]["zone_id"] == "size"
    assert (await client.get(f"/templates/{product['id']}")).json()["items"] == []
    unknown_product = await client.post(
        "/templates", json={"product_id": "nope", "version": 1, "definition": definition()}, headers=admin
    )
    assert unknown_product.status_code == 400
    assert unknown_product.json()["errors"][0]["field"] == "product_id"


async def test_option_sets_crud_and_rules(client: Client, admin: dict[str, str]) -> None:
    product = await create_product(client, admin)
    duplicate = await client.post(
        "/optionsets",
        json={
            "product_id": product["id"],
            "name": "Size",
            "options": [{"code": "S", "label": "S"}, {"code": "S", "label": "Also S"}],
        },
        headers=admin,
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == [
        {"field": "options[1].code", "code": "duplicate", "message": "code 'S' is used twice in this set"}
    ]
    sizes = await create_sizes(client, admin, product["id"])
    assert (await client.get(f"/optionsets/{sizes['id']}")).json() == sizes
    listed = (await client.get("/optionsets", params={"product_id": product["id"]})).json()
    assert [s["id"] for s in listed["items"]] == [sizes["id"]]
    assert (await client.get("/optionsets", params={"product_id": "other"})).json()["items"] == []

    replaced = await client.put(
        f"/optionsets/{sizes['id']}",
        json={
            "product_id": product["id"],
            "name": "Sizes",
            "options": [{"code": "L", "label": "Large", "price_delta": -100}],
        },
        headers=admin,
    )
    assert replaced.status_code == 200
    assert replaced.json()["options"] == [{"code": "L", "label": "Large", "price_delta": -100}]

    await client.post(
        "/templates",
        json={"product_id": product["id"], "version": 1, "definition": definition(sizes["id"])},
        headers=admin,
    )
    assert (await client.delete(f"/optionsets/{sizes['id']}", headers=admin)).status_code == 409
    other = await create_product(client, admin, name="Other")
    moved = await client.put(
        f"/optionsets/{sizes['id']}",
        json={"product_id": other["id"], "name": "Sizes", "options": [{"code": "L", "label": "Large"}]},
        headers=admin,
    )
    assert moved.status_code == 409

    spare = await create_sizes(client, admin, product["id"])
    assert (await client.delete(f"/optionsets/{spare['id']}")).status_code == 403
    assert (await client.delete(f"/optionsets/{spare['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/optionsets/{spare['id']}")).status_code == 404
    assert (await client.delete(f"/optionsets/{spare['id']}", headers=admin)).status_code == 404
    orphan = await client.post(
        "/optionsets",
        json={"product_id": "nope", "name": "x", "options": [{"code": "a", "label": "a"}]},
        headers=admin,
    )
    assert orphan.status_code == 400


async def test_unknown_routes_and_methods_are_problems_too(client: Client) -> None:
    missing = await client.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    wrong_method = await client.patch("/products")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith(PROBLEM)


async def test_health_and_schema(client: Client) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    assert (await client.get("/health/ready")).json() == {"status": "ok"}
    document = (await client.get("/schema/openapi.json")).json()
    assert {
        "/products",
        "/products/{product_id}",
        "/templates",
        "/templates/{product_id}",
        "/optionsets",
    } <= set(document["paths"])
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"
    assert "examples" in document["components"]["schemas"]["TemplateCreate"]["properties"]["definition"]
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


TIERS = [{"min_quantity": 10, "discount_bps": 1500}, {"min_quantity": 50, "discount_bps": 2500}]


async def test_products_carry_a_tax_class_and_volume_pricing(client: Client, admin: dict[str, str]) -> None:
    plain = await create_product(client, admin, name="Mug")
    assert (plain["tax_class"], plain["volume_pricing"]) == ("standard", [])
    tee = await create_product(client, admin, tax_class="clothing", volume_pricing=TIERS)
    assert (tee["tax_class"], tee["volume_pricing"]) == ("clothing", TIERS)
    await client.post(
        "/templates",
        json={"product_id": tee["id"], "version": 1, "definition": definition()},
        headers=admin,
    )

    async def shown() -> tuple[dict[str, Any], dict[str, Any]]:
        detail = (await client.get(f"/products/{tee['id']}")).json()
        listed = next(p for p in (await client.get("/products")).json()["items"] if p["id"] == tee["id"])
        return detail, listed

    detail, listed = await shown()  # both now cached
    assert (detail["tax_class"], detail["volume_pricing"]) == ("clothing", TIERS)
    assert listed == tee

    # A replacement that does not name them keeps them (clients from before they existed)...
    kept = await client.put(f"/products/{tee['id']}", json={"name": "Tee", "base_price": 1900}, headers=admin)
    assert (kept.json()["tax_class"], kept.json()["volume_pricing"]) == ("clothing", TIERS)
    # ...one that does replaces them, and the cached pages follow at once.
    cleared = await client.put(
        f"/products/{tee['id']}",
        json={"name": "Tee", "base_price": 1900, "tax_class": "standard", "volume_pricing": []},
        headers=admin,
    )
    assert (cleared.json()["tax_class"], cleared.json()["volume_pricing"]) == ("standard", [])
    detail, listed = await shown()
    assert (detail["volume_pricing"], listed["volume_pricing"]) == ([], [])
    assert listed == cleared.json()


async def test_bad_tax_classes_and_volume_tiers_are_each_named(client: Client, admin: dict[str, str]) -> None:
    # Every value of the right type: the use case finds the tiers out of order.
    unordered = await client.post(
        "/products",
        json={
            "name": "Tee",
            "base_price": 1900,
            "volume_pricing": [
                {"min_quantity": 10, "discount_bps": 1500},
                {"min_quantity": 5, "discount_bps": 2000},
                {"min_quantity": 20, "discount_bps": 1000},
            ],
        },
        headers=admin,
    )
    assert unordered.status_code == 400
    assert [(e["field"], e["code"]) for e in unordered.json()["errors"]] == [
        ("volume_pricing[1].min_quantity", "not_ascending"),
        ("volume_pricing[2].discount_bps", "decreasing"),
    ]
    # Broken types and ranges beside broken order: all of it in one answer.
    broken = await client.post(
        "/products",
        json={
            "base_price": 1900,
            "tax_class": "Reduced Rate",
            "volume_pricing": [
                {"min_quantity": 1, "discount_bps": 1500},
                {"min_quantity": 10, "discount_bps": 0},
                {"min_quantity": 10, "discount_bps": 1000},
                {"min_quantity": 20},
            ],
        },
        headers=admin,
    )
    assert broken.status_code == 400
    assert {(e["field"], e["code"]) for e in broken.json()["errors"]} == {
        ("name", "required"),
        ("tax_class", "invalid_format"),
        ("volume_pricing[0].min_quantity", "out_of_range"),
        ("volume_pricing[1].discount_bps", "out_of_range"),
        ("volume_pricing[2].min_quantity", "duplicate"),
        ("volume_pricing[2].discount_bps", "decreasing"),
        ("volume_pricing[3].discount_bps", "required"),
    }
    listed = await client.get("/products", params={"include_inactive": "true"}, headers=admin)
    assert listed.json()["items"] == []


async def test_text_zones_price_their_characters_into_the_carted_unit_price(
    client: Client, admin: dict[str, str]
) -> None:
    product = await create_product(client, admin, base_price=2000)
    lettering = {
        "id": "lettering",
        "type": "text",
        "label": "Lettering",
        "price_delta": 300,
        "price_per_character": 25,
        "free_characters": 5,
        "area": {"x": 0, "y": 0, "width": 100, "height": 100},
    }
    bad = {
        "canvas": {"width": 100, "height": 100},
        "zones": [
            lettering | {"price_per_character": -1, "free_characters": "5"},
            {"id": "photo", "type": "image", "free_characters": 3, "area": lettering["area"]},
        ],
    }
    refused = await client.post(
        "/templates", json={"product_id": product["id"], "version": 1, "definition": bad}, headers=admin
    )
    assert refused.status_code == 400
    assert {(e["field"], e["code"]) for e in refused.json()["errors"]} == {
        ("definition.zones[0].price_per_character", "out_of_range"),
        ("definition.zones[0].free_characters", "invalid_type"),
        ("definition.zones[1].free_characters", "unknown_field"),
    }
    good = {"canvas": {"width": 100, "height": 100}, "zones": [lettering]}
    created = await client.post(
        "/templates", json={"product_id": product["id"], "version": 1, "definition": good}, headers=admin
    )
    assert created.status_code == 201, created.text
    (zone,) = created.json()["definition"]["zones"]
    assert (zone["price_per_character"], zone["free_characters"]) == (25, 5)

    carted = await client.post(
        "/cart/items",
        json={
            "product_id": product["id"],
            "options": {"lettering": {"text": "Happy birthday"}},
            "quantity": 2,
        },
    )
    assert carted.status_code == 200, carted.text
    (item,) = carted.json()["items"]
    # 13 characters that are not spaces, 5 of them free: 8 × 25 on top of the base and the zone.
    assert item["unit_price"] == 2000 + 300 + 8 * 25
    assert item["line_total"] == 2 * item["unit_price"]
