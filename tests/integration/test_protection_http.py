"""Protection of the HTTP API in process (docs/operations.md, "Protection"): rate limits (in memory and
on Redis), body size and JSON depth limits, security headers and CORS, on SQLite and PostgreSQL.

Real servers (the memory of a process refusing a 30 MB body, limits shared by two workers, a trusted
proxy, HSTS over TLS) are in test_protection_serve.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import msgspec
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from redis import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.memory import MemoryCache
from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.demo import seed_demo_catalog
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.http.json_depth import MAX_JSON_DEPTH
from customshop.entrypoints.settings import Settings
from tests.builders import ORDER, PROBLEM, TEE
from tests.integration.conftest import free_port, make_key
from tests.integration.shopping import order_count

Client = AsyncTestClient  # type: ignore[type-arg]
API_CSP = "default-src 'none'; frame-ancestors 'none'"

App = Callable[..., AbstractAsyncContextManager[tuple[Client, Container]]]


@pytest.fixture
def app_with(settings: Settings, clean_engine: AsyncEngine) -> App:
    """An app on the test database with ``settings`` changed as asked (limits on unless told)."""

    @asynccontextmanager
    async def start(**changes: Any) -> AsyncIterator[tuple[Client, Container]]:
        changed = msgspec.structs.replace(settings, **({"rate_limit_enabled": True} | changes))
        container = build_container(changed)
        container.adapters.engine.override(clean_engine)
        # The limits are what these tests put on Redis; the catalog cache stays in process, as its
        # Redis client could not be closed outside the test client's event loop.
        container.adapters.shared_cache.override(providers.Singleton(MemoryCache))
        app = create_app(container, readiness_probes=False)
        # The engine belongs to the session: the app shuts down as usual (background tasks stopped,
        # the limits' Redis client closed in the loop that used it) but for releasing the container,
        # whose other clients are closed below.
        app.on_shutdown[:] = [hook for hook in app.on_shutdown if getattr(hook, "__name__", "") != "release"]
        try:
            async with AsyncTestClient(app) as client:
                yield client, container
        finally:
            container.adapters.engine.reset_override()
            await close(container)

    return start


async def seeded(container: Container) -> dict[str, str]:
    await seed_demo_catalog(container.use_cases.catalog())
    page = await container.use_cases.catalog().list_products(include_inactive=False, after=None, limit=10)
    return {p.slug: p.id for p in page.items}


def assert_problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    document: dict[str, Any] = response.json()
    assert document["type"] == kind
    assert document["status"] == status
    return document


def assert_too_many(response: Any, counted: str) -> None:
    document = assert_problem(response, 429, "/problems/too-many-requests")
    assert counted in document["detail"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert f"Try again in {retry_after} s" in document["detail"]
    assert response.headers["ratelimit-remaining"] == "0"


# -- rate limits -----------------------------------------------------------------------------------


async def test_a_burst_of_checkouts_meets_the_checkout_limit_first(app_with: App) -> None:
    async with app_with(rate_limit_general="30/minute", rate_limit_checkout="3/minute") as (
        client,
        container,
    ):
        tee = (await seeded(container))["classic-tee"]
        guests = []
        for _ in range(5):
            carted = await client.post("/cart/items", json={"product_id": tee, "options": TEE, "quantity": 1})
            assert carted.status_code == 200, carted.text
            client.cookies.clear()
            guests.append({"X-Session-Key": carted.headers["x-session-key"]})

        answers = []
        for guest in guests:
            answers.append(
                await client.post(
                    "/checkout", json=ORDER, headers=guest | {"Idempotency-Key": str(uuid.uuid4())}
                )
            )
        assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
        assert_too_many(answers[3], "checkout and payment attempts")
        assert "at most 3 per minute" in answers[3].json()["detail"]
        # A payment retry counts against the same limit, and the refused checkouts stored nothing.
        placed = answers[0].json()
        retry = await client.post(f"/orders/{placed['order_id']}/payment", headers=guests[0])
        assert_too_many(retry, "checkout and payment attempts")
        assert await order_count(client, {"X-API-Key": await make_key(container, "orders:read")}) == 3
        assert (await client.get("/cart", headers=guests[3])).json()["items"] != [], "the cart is untouched"

        # The general limit still admits other requests, up to its own count (30: 5 carts, 5
        # checkouts, a retry, an order list and a cart read so far).
        statuses = [(await client.get("/products")).status_code for _ in range(20)]
        assert statuses == [200] * 17 + [429] * 3
        assert_too_many(await client.get("/products"), "requests from this client: at most 30 per minute")
        # Health checks and metrics are never limited.
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


async def test_uploads_and_previews_have_limits_of_their_own(app_with: App) -> None:
    async with app_with(rate_limit_uploads="2/minute", rate_limit_previews="2/minute") as (client, container):
        tee = (await seeded(container))["classic-tee"]
        started = await client.post("/sessions", json={"product_id": tee})
        session, key = started.json()["session_id"], {"X-Session-Key": started.json()["session_key"]}
        client.cookies.clear()

        url = f"/sessions/{session}/assets"
        not_an_image = {"file": ("a.png", b"not an image", "image/png")}
        uploads = [await client.post(url, files=not_an_image, headers=key) for _ in range(3)]
        assert [u.status_code for u in uploads] == [400, 400, 429]
        assert_too_many(uploads[2], "uploads")

        previews = [await client.post(f"/sessions/{session}/preview", headers=key) for _ in range(3)]
        assert [p.status_code for p in previews] == [202, 202, 429]
        assert_too_many(previews[2], "preview requests")
        # Neither limit touches the rest of the session.
        assert (await client.get(f"/sessions/{session}", headers=key)).status_code == 200


async def test_limits_are_off_when_the_setting_says_so(app_with: App) -> None:
    async with app_with(
        rate_limit_enabled=False, rate_limit_general="1/minute", rate_limit_checkout="1/minute"
    ) as (client, container):
        await seeded(container)
        statuses = {(await client.get("/products")).status_code for _ in range(30)}
        assert statuses == {200}
        for _ in range(3):
            empty = await client.post("/checkout", json=ORDER)
            assert empty.status_code == 400, empty.text  # an empty cart, not a limit


async def test_processes_share_their_counts_through_redis(app_with: App, redis_url: str) -> None:
    """Two apps on one Redis are two serving processes: a client's requests count once, wherever they
    land, under customshop's own key prefix."""
    async with (
        app_with(redis_url=redis_url, rate_limit_general="5/minute") as (first, _),
        app_with(redis_url=redis_url, rate_limit_general="5/minute") as (second, _),
    ):
        statuses = [(await (first if n % 2 else second).get("/products")).status_code for n in range(5)]
        assert statuses == [200] * 5
        assert_too_many(await first.get("/products"), "requests")
        assert_too_many(await second.get("/products"), "requests")
        with Redis.from_url(redis_url) as redis:
            keys = redis.keys("*")
            assert b"customshop:ratelimit:general:testclient" in keys
            assert all(key.startswith(b"customshop:ratelimit:") for key in keys if b"ratelimit" in key)
            assert 55 <= redis.pttl(b"customshop:ratelimit:general:testclient") / 1000 <= 60


async def test_limits_step_aside_while_redis_is_unreachable(
    app_with: App, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    async with app_with(redis_url=unreachable, rate_limit_general="1/minute") as (client, container):
        await seeded(container)
        statuses = [(await client.get("/products")).status_code for _ in range(4)]
        assert statuses == [200] * 4
    warnings = [r.getMessage() for r in caplog.records if "rate limits are not enforced" in r.getMessage()]
    assert len(warnings) == 1, "one warning per back-off, not one per request"
    assert "Redis is unreachable" in warnings[0]


# -- body size -------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413_and_stores_nothing(app_with: App) -> None:
    async with app_with(rate_limit_enabled=False) as (client, container):
        admin = {"X-API-Key": await make_key(container, "catalog:write"), "Content-Type": "application/json"}
        description = "x" * (1024 * 1024)
        body = json.dumps({"name": "Mug", "base_price": 100, "description": description}).encode()
        declared = await client.post("/products", content=body, headers=admin)
        document = assert_problem(declared, 413, "/problems/too-large")
        assert document["detail"] == "The request body is larger than the 1048576 bytes this address accepts."

        assert (await client.get("/products")).json()["items"] == []
        # Just under the limit is an ordinary request.
        small = json.dumps({"name": "Mug", "base_price": 100, "description": "x" * 1000}).encode()
        assert (await client.post("/products", content=small, headers=admin)).status_code == 201


async def test_the_body_limit_is_a_setting_and_uploads_keep_their_own(app_with: App) -> None:
    async with app_with(rate_limit_enabled=False, max_body_bytes=4096) as (client, container):
        tee = (await seeded(container))["classic-tee"]
        refused = await client.post("/sessions", json={"product_id": tee, "x": "y" * 5000})
        assert (
            refused.json()["detail"] == "The request body is larger than the 4096 bytes this address accepts."
        )
        assert refused.status_code == 413
        started = await client.post("/sessions", json={"product_id": tee})
        assert started.status_code == 201
        key = {"X-Session-Key": started.json()["session_key"]}
        # A 2 MB upload gets past the body limit to the upload's own checks (not an image: 400).
        files = {"file": ("big.png", b"\0" * (2 * 1024 * 1024), "image/png")}
        upload = await client.post(
            f"/sessions/{started.json()['session_id']}/assets", files=files, headers=key
        )
        document = assert_problem(upload, 400, "/problems/invalid-request")
        assert document["errors"][0]["field"] == "file"


# -- JSON depth ------------------------------------------------------------------------------------


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def assert_too_deep(response: Any) -> None:
    document = assert_problem(response, 400, "/problems/invalid-request")
    assert document["errors"] == [
        {
            "field": "body",
            "code": "too_deep",
            "message": f"the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep",
        }
    ]


async def test_deep_json_is_refused_naming_the_body_on_every_json_route(app_with: App) -> None:
    async with app_with(rate_limit_enabled=False) as (client, container):
        tee = (await seeded(container))["classic-tee"]
        admin = {"X-API-Key": await make_key(container, "admin"), "Content-Type": "application/json"}
        too_deep = deep(MAX_JSON_DEPTH * 100)

        product = f'{{"name": "Mug", "base_price": 100, "media": {too_deep}}}'
        assert_too_deep(await client.post("/products", content=product, headers=admin))
        assert "Mug" not in {p["name"] for p in (await client.get("/products")).json()["items"]}

        started = await client.post("/sessions", json={"product_id": tee})
        session, key = started.json()["session_id"], {"X-Session-Key": started.json()["session_key"]}
        client.cookies.clear()
        options = f'{{"options": {{"size": {too_deep}}}}}'
        assert_too_deep(await client.patch(f"/sessions/{session}", content=options, headers=key | admin))
        assert (await client.get(f"/sessions/{session}", headers=key)).json()["options"] == {}
        # Routes that read the raw body check it too: a payment webhook, a payment retry.
        assert_too_deep(await client.post("/webhooks/stripe", content=too_deep, headers=admin))
        assert_too_deep(await client.post("/orders/any/payment", content=too_deep, headers=key | admin))
        # Brackets inside strings are text, not depth.
        text = json.dumps({"product_id": tee, "template_version": "[" * 100})
        assert (await client.post("/sessions", content=text, headers=admin)).json()["errors"][0]["code"] != (
            "too_deep"
        )


async def test_json_at_the_depth_limit_is_judged_on_its_content(app_with: App) -> None:
    async with app_with(rate_limit_enabled=False) as (client, container):
        admin = {"X-API-Key": await make_key(container, "admin"), "Content-Type": "application/json"}
        product = f'{{"name": "Mug", "base_price": 100, "media": {deep(MAX_JSON_DEPTH - 1)}}}'
        response = await client.post("/products", content=product, headers=admin)
        document = assert_problem(response, 400, "/problems/invalid-request")
        assert document["errors"][0]["field"].startswith("media")


# -- headers and CORS ------------------------------------------------------------------------------


def assert_secured(response: Any, policy: str = API_CSP) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == policy
    assert "strict-transport-security" not in response.headers, "HSTS only under TLS"
    assert response.headers.get_list("x-content-type-options") == ["nosniff"], "once, not repeated"


async def test_every_response_carries_the_security_headers(app_with: App) -> None:
    async with app_with() as (client, container):
        tee = (await seeded(container))["classic-tee"]
        assert_secured(await client.get("/products"))
        assert_secured(await client.get(f"/products/{tee}"))
        assert_secured(await client.get("/nowhere"))  # answered by the router itself
        assert_secured(await client.delete("/cart"))  # 405
        assert_secured(await client.post("/sessions", json={}))  # 400
        assert_secured(await client.get("/health/live"))
        # The interactive schema page loads its script from a CDN: its policy only forbids framing.
        page = await client.get("/schema")
        assert page.status_code == 200
        assert_secured(page, "frame-ancestors 'none'")
        assert_secured(await client.get("/schema/openapi.json"), "frame-ancestors 'none'")


async def test_cors_answers_configured_origins_only(app_with: App) -> None:
    origin = "https://shop.example.com"
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-session-key, idempotency-key",
    }
    async with app_with(cors_origins=(origin, "http://localhost:3000")) as (client, _):
        allowed = await client.options("/checkout", headers=preflight | {"Origin": origin})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == origin
        assert allowed.headers["access-control-allow-credentials"] == "true"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert {"x-session-key", "idempotency-key"} <= {
            h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")
        }
        assert allowed.headers["vary"] == "Origin"
        assert_secured(allowed)

        simple = await client.get("/products", headers={"Origin": origin})
        assert simple.headers["access-control-allow-origin"] == origin
        exposed = {h.strip() for h in simple.headers["access-control-expose-headers"].split(",")}
        assert {"Retry-After", "X-Session-Key", "X-Request-ID"} <= exposed

        stranger = await client.options("/checkout", headers=preflight | {"Origin": "https://evil.example"})
        assert stranger.status_code == 400
        assert "access-control-allow-origin" not in stranger.headers
        assert (
            "access-control-allow-origin"
            not in (await client.get("/products", headers={"Origin": "https://evil.example"})).headers
        )

    async with app_with(cors_origins=("*",)) as (client, _):
        anyone = await client.options("/checkout", headers=preflight | {"Origin": "https://any.example"})
        assert anyone.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in anyone.headers, "never credentials for *"


async def test_without_cors_origins_there_are_no_cors_headers(app_with: App) -> None:
    async with app_with() as (client, _):
        preflight = await client.options(
            "/checkout",
            headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert not any(name.startswith("access-control-") for name in preflight.headers)
        simple = await client.get("/products", headers={"Origin": "https://shop.example.com"})
        assert simple.status_code == 200
        assert not any(name.startswith("access-control-") for name in simple.headers)
