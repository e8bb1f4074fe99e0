"""What a request body may be (contract §10), through HTTP on SQLite and PostgreSQL: JSON routes read
UTF-8 JSON declared as such (`application/json`, `application/*+json`, `charset=utf-8`), anything
else is 415; bytes that are not UTF-8 are 400 `invalid_encoding`; and nothing is stored either way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from customshop.entrypoints.container import Container
from customshop.entrypoints.demo import seed_demo_catalog

Client = AsyncTestClient  # type: ignore[type-arg]

ADDRESS = {"name": "Ada", "line1": "1 Road", "city": "London", "postal_code": "SW1", "country": "GB"}


@pytest.fixture
async def tee(container: Container) -> str:
    await seed_demo_catalog(container.catalog())
    page = await container.catalog().list_products(include_inactive=False, after=None, limit=10)
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
            {"email": "a@example.com", "shipping_address": ADDRESS, "payment_provider": "test"},
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
