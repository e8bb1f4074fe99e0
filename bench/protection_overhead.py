"""What the protections add to a request, measured in process (no server, no network).

Drives the real app (embedded, a temporary SQLite catalog of 50 products) with ASGI calls of the
benchmarked path, the cached ``GET /products``, in interleaved rounds of each variant:

* ``as served``: security headers on (``SecurityHeadersMiddleware``), rate limits off (as
  benchmarked);
* ``no headers``: the same app with that middleware taken out (the cost of the headers);
* ``rate limits on``: the general limit counting in memory (what the limits add when enabled);

and times the JSON depth check on a typical checkout body and a 1 KB template definition.

Run: ``.venv/bin/python bench/protection_overhead.py`` (about 20 s).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
import timeit
from typing import Any

import msgspec
from litestar import Litestar

from customshop.adapters.sqlalchemy import migrate
from customshop.application.catalog import ProductInput
from customshop.entrypoints.container import build_container
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.http.json_depth import MAX_JSON_DEPTH, nests_deeper_than
from customshop.entrypoints.http.security import SecurityHeadersMiddleware
from customshop.entrypoints.settings import Settings

REQUESTS = 5000
ROUNDS = 7


def products_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/products",
        "raw_path": b"/products",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def take_out_security_headers(app: Litestar) -> None:
    """Unlink the :class:`SecurityHeadersMiddleware` from ``app``'s chain of ASGI wrappers."""
    outer: Any = app
    handler: Any = app.asgi_handler
    while not isinstance(handler, SecurityHeadersMiddleware):
        outer, handler = handler, handler.app
    if outer is app:
        app.asgi_handler = handler.app
    else:
        outer.app = handler.app


async def per_request_us(app: Litestar, count: int) -> float:
    """Microseconds per ``GET /products`` call of ``app``, answered 200 each time."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(count):
        await app(products_scope(), receive, send)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / count * 1e6


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Settings(data_dir=folder, rate_limit_enabled=False, log_level="WARNING")
        container = build_container(base)
        await migrate.upgrade(container.adapters.engine())
        for n in range(50):
            await container.use_cases.catalog().create_product(
                ProductInput(name=f"Product {n}", description="A product.", base_price=1000 + n)
            )
        served = create_app(container)
        bare = create_app(container)
        take_out_security_headers(bare)
        limits_on = msgspec.structs.replace(base, rate_limit_enabled=True, rate_limit_general="999999/minute")
        limited = create_app(build_container(limits_on))
        variants = {"as served": served, "no headers": bare, "rate limits on": limited}
        for app in variants.values():
            await per_request_us(app, 200)  # warm up: fills the catalog cache, imports, JIT-free paths
        figures: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(ROUNDS):
            for name, app in variants.items():
                figures[name].append(await per_request_us(app, REQUESTS))
        best = {name: min(values) for name, values in figures.items()}
        median = {name: statistics.median(values) for name, values in figures.items()}
        print(f"GET /products (cached), in process, {ROUNDS} rounds of {REQUESTS} calls:")
        for name in variants:
            print(f"  {name:<16} best {best[name]:7.2f} us   median {median[name]:7.2f} us per request")
        headers = median["as served"] - median["no headers"]
        limits = median["rate limits on"] - median["as served"]
        print(
            f"  security headers add {headers:.2f} us ({headers / median['no headers'] * 100:.1f} %); "
            f"rate limits, when on, add {limits:.2f} us"
        )

    checkout = json.dumps(
        {
            "email": "ada@example.com",
            "shipping_address": {"name": "Ada", "line1": "12 St James's Square", "city": "London",
                                 "postal_code": "SW1Y 4JH", "country": "GB"},
            "payment_provider": "test",
        }
    ).encode()  # fmt: skip
    zone = {
        "id": "z",
        "type": "text",
        "fonts": ["Serif", "Sans"],
        "area": {"x": 1, "y": 2, "width": 3, "height": 4},
    }
    template = json.dumps({"product_id": "p", "version": 1, "definition": {"zones": [zone] * 6}}).encode()
    for name, raw in (("checkout body", checkout), ("template body", template)):
        seconds = min(timeit.repeat(lambda raw=raw: nests_deeper_than(raw, MAX_JSON_DEPTH), number=100_000))
        print(f"  JSON depth check, {name} ({len(raw)} B): {seconds * 10:.2f} us")


if __name__ == "__main__":
    asyncio.run(main())
