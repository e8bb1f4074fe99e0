"""Regions, shipping methods and promotions over HTTP (contract §11), on SQLite and PostgreSQL: CRUD,
every bad field named in one 400, conflicts (a country in two regions, a code taken), the
``pricing:write`` scope."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from customshop.entrypoints.container import Container
from tests.builders import PROBLEM
from tests.integration.conftest import make_key

Client = AsyncTestClient  # type: ignore[type-arg]

US: dict[str, Any] = {
    "name": "United States",
    "countries": ["US"],
    "prices_include_tax": False,
    "tax_shipping": False,
    "tax_rates": [
        {"name": "California sales tax", "rate_bps": 725, "subdivision": "CA"},
        {"name": "New York sales tax", "rate_bps": 400, "subdivision": "NY"},
    ],
}
EU: dict[str, Any] = {
    "name": "European Union",
    "countries": ["DE", "AT"],
    "prices_include_tax": True,
    "tax_shipping": True,
    "tax_rates": [
        {"name": "VAT", "rate_bps": 1900},
        {"name": "Reduced", "rate_bps": 700, "tax_class": "books"},
    ],
}
TIERS = {"type": "tiers", "by": "subtotal", "tiers": [{"min": 0, "amount": 799}, {"min": 5000, "amount": 0}]}


def fields_of(response: Any) -> dict[str, str]:
    """A 400's errors as field → code (and no field named twice)."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    errors = response.json()["errors"]
    named = {e["field"]: e["code"] for e in errors}
    assert len(named) == len(errors), errors
    return named


async def create(client: Client, admin: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- regions ---------------------------------------------------------------------------------------


async def test_region_crud(client: Client, admin: dict[str, str]) -> None:
    us = await create(client, admin, "/regions", US)
    assert us["countries"] == ["US"]
    assert us["tax_rates"][0] == {
        "name": "California sales tax",
        "rate_bps": 725,
        "subdivision": "CA",
        "tax_class": "standard",
    }
    eu = await create(client, admin, "/regions", EU)

    fetched = await client.get(f"/regions/{eu['id']}", headers=admin)
    assert fetched.json() == eu
    first = await client.get("/regions", params={"limit": 1}, headers=admin)
    assert [r["id"] for r in first.json()["items"]] == [us["id"]]  # oldest first
    cursor = first.json()["next_cursor"]
    second = await client.get("/regions", params={"limit": 1, "cursor": cursor}, headers=admin)
    assert second.json() == {"items": [eu], "next_cursor": None}

    replaced = await client.put(
        f"/regions/{eu['id']}", json={**EU, "countries": ["FR", "DE"], "tax_rates": []}, headers=admin
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["countries"] == ["FR", "DE"]
    assert replaced.json()["tax_rates"] == []
    assert replaced.json()["created_at"] == eu["created_at"]

    assert (await client.delete(f"/regions/{eu['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/regions/{eu['id']}", headers=admin)).status_code == 404
    assert (await client.delete(f"/regions/{eu['id']}", headers=admin)).status_code == 404
    assert (await client.put(f"/regions/{eu['id']}", json=EU, headers=admin)).status_code == 404


async def test_a_country_in_two_regions_is_409_naming_it(client: Client, admin: dict[str, str]) -> None:
    eu = await create(client, admin, "/regions", EU)
    clash = await client.post("/regions", json={**US, "countries": ["US", "AT"]}, headers=admin)
    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"].startswith(PROBLEM)
    assert "AT" in clash.json()["detail"]
    assert clash.json()["errors"] == [
        {"field": "countries[1]", "code": "taken", "message": "AT already belongs to another region"}
    ]
    us = await create(client, admin, "/regions", US)
    moved = await client.put(f"/regions/{us['id']}", json={**US, "countries": ["DE"]}, headers=admin)
    assert moved.status_code == 409
    assert [e["field"] for e in moved.json()["errors"]] == ["countries[0]"]
    listed = (await client.get("/regions", headers=admin)).json()["items"]
    assert [r["countries"] for r in listed] == [eu["countries"], ["US"]]  # nothing stored


async def test_every_bad_region_field_in_one_400(client: Client, admin: dict[str, str]) -> None:
    # The body does not decode (types and limits): every field is still named.
    broken = {
        "name": "  ",
        "countries": ["DE", "UK", "de", "DE"],
        "prices_include_tax": "yes",
        "tax_rates": [
            {"name": "VAT", "rate_bps": 10001},
            {"name": "", "rate_bps": 100, "subdivision": "CALI", "tax_class": "Books!"},
            {"name": "VAT", "rate_bps": 1900},
        ],
        "colour": "red",
    }
    assert fields_of(await client.post("/regions", json=broken, headers=admin)) == {
        "name": "invalid_length",
        "countries[1]": "unknown_country",
        "countries[2]": "invalid_format",
        "countries[3]": "duplicate",
        "prices_include_tax": "invalid_type",
        "tax_rates[0].rate_bps": "out_of_range",
        "tax_rates[1].name": "too_short",
        "tax_rates[1].subdivision": "invalid_format",
        "tax_rates[1].tax_class": "invalid_format",
        "colour": "unknown_field",
    }
    # The body decodes: the domain's rules name every problem, duplicates across rates included.
    decodable = {
        "name": "Europe",
        "countries": ["DE", "EL"],
        "tax_rates": [{"name": "VAT", "rate_bps": 1900}, {"name": "VAT", "rate_bps": 2000}],
    }
    assert fields_of(await client.post("/regions", json=decodable, headers=admin)) == {
        "countries[1]": "unknown_country",
        "tax_rates[1].name": "duplicate",
    }
    assert fields_of(await client.post("/regions", json={}, headers=admin)) == {
        "name": "required",
        "countries": "required",
    }
    assert (await client.get("/regions", headers=admin)).json()["items"] == []


# -- shipping methods ------------------------------------------------------------------------------


async def test_shipping_method_crud(client: Client, admin: dict[str, str]) -> None:
    us = await create(client, admin, "/regions", US)
    eu = await create(client, admin, "/regions", EU)
    standard = await create(
        client,
        admin,
        "/shipping-methods",
        {"region_id": us["id"], "name": "Standard", "rate": TIERS, "min_days": 3, "max_days": 7},
    )
    assert standard["rate"] == TIERS
    assert (standard["free_over"], standard["active"]) == (None, True)
    express = await create(
        client,
        admin,
        "/shipping-methods",
        {
            "region_id": eu["id"],
            "name": "Express",
            "rate": {"type": "per_item", "first": 2500, "additional": 500},
            "free_over": 20000,
            "active": False,
        },
    )

    everything = (await client.get("/shipping-methods", headers=admin)).json()
    assert everything == {"items": [standard, express], "next_cursor": None}
    of_eu = await client.get("/shipping-methods", params={"region_id": eu["id"]}, headers=admin)
    assert of_eu.json()["items"] == [express]
    assert (await client.get(f"/shipping-methods/{express['id']}", headers=admin)).json() == express

    flat = {"region_id": us["id"], "name": "Express", "rate": {"type": "flat", "amount": 1999}}
    moved = await client.put(f"/shipping-methods/{express['id']}", json=flat, headers=admin)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["region_id"], moved.json()["rate"], moved.json()["free_over"]) == (
        us["id"],
        {"type": "flat", "amount": 1999},
        None,
    )

    in_use = await client.delete(f"/regions/{us['id']}", headers=admin)
    assert in_use.status_code == 409, in_use.text
    for method in (standard, express):
        assert (await client.delete(f"/shipping-methods/{method['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/shipping-methods/{standard['id']}", headers=admin)).status_code == 404
    assert (await client.delete(f"/regions/{us['id']}", headers=admin)).status_code == 204


async def test_every_bad_shipping_method_field_in_one_400(client: Client, admin: dict[str, str]) -> None:
    us = await create(client, admin, "/regions", US)
    broken = {
        "region_id": "no-such-region",
        "name": 7,
        "rate": {
            "type": "tiers",
            "by": "weight",
            "tiers": [{"min": 100, "amount": -1}, {"min": 100, "amount": 5}],
        },
        "min_days": 9,
        "max_days": 2,
    }
    assert fields_of(await client.post("/shipping-methods", json=broken, headers=admin)) == {
        "region_id": "unknown",
        "name": "invalid_type",
        "rate.by": "invalid_choice",
        "rate.tiers[0].amount": "out_of_range",
        "rate.tiers[1].min": "not_ascending",
        "max_days": "before_min_days",
    }
    # A body of sound types: a rule across fields and a stored one are named together.
    decodable = {
        "region_id": "no-such-region",
        "name": "Std",
        "rate": {"type": "flat"},
        "min_days": 5,
        "max_days": 1,
    }
    assert fields_of(await client.post("/shipping-methods", json=decodable, headers=admin)) == {
        "region_id": "unknown",
        "rate.amount": "required",
        "max_days": "before_min_days",
    }
    wrong_shape = {"region_id": us["id"], "name": "Std", "rate": {"type": "flat", "amount": 5, "first": 1}}
    assert fields_of(await client.post("/shipping-methods", json=wrong_shape, headers=admin)) == {
        "rate.first": "unknown_field"
    }
    empty_tiers = {
        "region_id": us["id"],
        "name": "Std",
        "rate": {"type": "tiers", "by": "quantity", "tiers": []},
    }
    assert fields_of(await client.post("/shipping-methods", json=empty_tiers, headers=admin)) == {
        "rate.tiers": "too_short"
    }
    assert (await client.get("/shipping-methods", headers=admin)).json()["items"] == []


# -- promotions ------------------------------------------------------------------------------------


async def test_promotion_crud(client: Client, admin: dict[str, str], container: Container) -> None:
    code = await create(
        client,
        admin,
        "/promotions",
        {
            "code": "welcome10",
            "description": "10 % off your first order",
            "kind": "percentage",
            "value": 1000,
            "per_email_limit": 1,
            "usage_limit": 100,
            "ends_at": "2027-01-31T23:00:00+01:00",
        },
    )
    assert (code["code"], code["times_used"], code["automatic"], code["active"]) == (
        "WELCOME10",
        0,
        False,
        True,
    )
    assert code["ends_at"] == "2027-01-31T22:00:00Z"
    automatic = await create(
        client,
        admin,
        "/promotions",
        {"description": "Free shipping", "kind": "free_shipping", "min_subtotal": 5000},
    )
    assert (automatic["code"], automatic["automatic"]) == (None, True)

    # A use claimed at checkout shows in the reads.
    promotion = await container.use_cases.pricing_rules().get_promotion(code["id"])
    async with container.adapters.uow() as uow:
        assert await uow.promotion_uses.claim(promotion, order_id="order-1", email="ada@example.com")
        await uow.commit()
    assert (await client.get(f"/promotions/{code['id']}", headers=admin)).json()["times_used"] == 1

    patched = await client.patch(
        f"/promotions/{code['id']}", json={"value": 1500, "ends_at": None, "code": "Welcome15"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["value"], body["ends_at"], body["code"], body["usage_limit"], body["times_used"]) == (
        1500,
        None,
        "WELCOME15",
        100,
        1,
    )

    duplicate = await client.post(
        "/promotions",
        json={"code": "WELCOME15", "description": "again", "kind": "fixed", "value": 500},
        headers=admin,
    )
    assert duplicate.status_code == 409, duplicate.text
    assert [e["field"] for e in duplicate.json()["errors"]] == ["code"]
    renamed = await client.patch(f"/promotions/{automatic['id']}", json={"code": "welcome15"}, headers=admin)
    assert renamed.status_code == 409

    deactivated = await client.delete(f"/promotions/{code['id']}", headers=admin)
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False
    assert (await client.delete(f"/promotions/{code['id']}", headers=admin)).status_code == 200
    everything = (await client.get("/promotions", headers=admin)).json()["items"]
    assert [p["id"] for p in everything] == [code["id"], automatic["id"]]
    active = (await client.get("/promotions", params={"active": "true"}, headers=admin)).json()["items"]
    assert [p["id"] for p in active] == [automatic["id"]]
    assert (await client.get("/promotions/nope", headers=admin)).status_code == 404
    assert (await client.patch("/promotions/nope", json={"active": True}, headers=admin)).status_code == 404


async def test_every_bad_promotion_field_in_one_400(client: Client, admin: dict[str, str]) -> None:
    broken = {
        "code": "a!",
        "description": "",
        "kind": "percentage",
        "value": 20000,
        "starts_at": "2027-02-01T00:00:00Z",
        "ends_at": "2027-01-01T00:00:00Z",
        "usage_limit": 0,
        "per_email_limit": "one",
        "buy_quantity": 2,
        "product_ids": ["no-such-product"],
    }
    assert fields_of(await client.post("/promotions", json=broken, headers=admin)) == {
        "code": "invalid_format",
        "description": "too_short",
        "value": "out_of_range",
        "ends_at": "before_start",
        "usage_limit": "out_of_range",
        "per_email_limit": "invalid",  # body.py names a wrong type of an optional field so
        "buy_quantity": "not_allowed",
        "product_ids[0]": "unknown",
    }
    buy_two = {"description": "Buy 2 get 1", "kind": "buy_x_get_y", "value": 100}
    assert fields_of(await client.post("/promotions", json=buy_two, headers=admin)) == {
        "value": "not_allowed",
        "buy_quantity": "required",
        "get_quantity": "required",
    }
    naive = {"description": "x", "kind": "fixed", "starts_at": "2027-01-01T00:00:00", "colour": 1}
    assert fields_of(await client.post("/promotions", json=naive, headers=admin)) == {
        "value": "required",
        "starts_at": "invalid",
        "colour": "unknown_field",
    }
    assert fields_of(await client.post("/promotions", json={"kind": "bogus"}, headers=admin)) == {
        "description": "required",
        "kind": "invalid_choice",
    }
    assert (await client.get("/promotions", headers=admin)).json()["items"] == []

    created = await create(
        client, admin, "/promotions", {"description": "5 off", "kind": "fixed", "value": 500}
    )
    # A change is checked as a whole against what is stored.
    patch = await client.patch(
        f"/promotions/{created['id']}", json={"kind": "free_shipping", "description": None}, headers=admin
    )
    assert fields_of(patch) == {"description": "invalid_type"}
    patch = await client.patch(f"/promotions/{created['id']}", json={"kind": "free_shipping"}, headers=admin)
    assert fields_of(patch) == {"value": "not_allowed"}
    fixed = await client.patch(
        f"/promotions/{created['id']}", json={"kind": "free_shipping", "value": None}, headers=admin
    )
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["kind"], fixed.json()["value"]) == ("free_shipping", None)


# -- access ----------------------------------------------------------------------------------------


ROUTES = [
    ("GET", "/regions"),
    ("POST", "/regions"),
    ("GET", "/regions/x"),
    ("PUT", "/regions/x"),
    ("DELETE", "/regions/x"),
    ("GET", "/shipping-methods"),
    ("POST", "/shipping-methods"),
    ("GET", "/shipping-methods/x"),
    ("PUT", "/shipping-methods/x"),
    ("DELETE", "/shipping-methods/x"),
    ("GET", "/promotions"),
    ("POST", "/promotions"),
    ("GET", "/promotions/x"),
    ("PATCH", "/promotions/x"),
    ("DELETE", "/promotions/x"),
]


async def test_the_rules_need_the_pricing_scope(client: Client, container: Container) -> None:
    other_scopes = {"X-API-Key": await make_key(container, "catalog:write", "orders:write", "reports:read")}
    for method, path in ROUTES:
        body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        for headers in ({}, {"X-API-Key": "csk_unknown"}, other_scopes):
            response = await client.request(method, path, headers=headers, **body)
            assert response.status_code == 403, (method, path, headers, response.text)
            assert response.headers["content-type"].startswith(PROBLEM)


async def test_pricing_write_and_admin_keys_may(client: Client, container: Container) -> None:
    pricing = {"X-API-Key": await make_key(container, "pricing:write")}
    admin = {"X-API-Key": await make_key(container, "admin")}
    region = await create(client, pricing, "/regions", US)
    assert (await client.get(f"/regions/{region['id']}", headers=admin)).status_code == 200
    assert (await client.get("/promotions", headers=pricing)).status_code == 200
