"""What volume pricing costs an add-to-cart: the server's CPU per ``POST /cart/items`` of a product
with volume tiers against the same of a product without, in one process, on PostgreSQL.

``.venv/bin/python bench/cart_cpu.py [ROUNDS]`` creates a PostgreSQL database of its own
(``TEST_POSTGRES_URL``, default 127.0.0.1:5432; dropped at the end), migrates it and seeds two
products alike but for their volume pricing: the same template (a text zone and a size) and option
set, one of them with the demo tee's tiers (10 or more 15 % off, 25 or more 20 %). It builds the
app of ``customshop serve`` in this process, in its default configuration (access lines at INFO,
sent to /dev/null here; rate limits off, as ``bench/run.py`` runs it), and calls it as an ASGI app
directly: no server, client or network shares the measured CPU, only the app's own work and the
database driver's. Each product gets its own guests, each carted once before the timed rounds, so
that both carts hold one line of their product and grow alike: every round adds one unit to each
guest's line, so later rounds cross the tiers.

The rounds alternate which product goes first, and each measures ``time.process_time`` (this
process, its threads included) over one add-to-cart of every guest. What it prints: CPU
microseconds per request of each product (median and best over the rounds) and the median of the
rounds' ratios, tiered over plain, which is the figure to read on a shared machine (the absolute
figures move with its load, the ratio of two measurements taken side by side far less).
``bench/run.py`` runs it in its ``catalog`` group; the last line printed is JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import psycopg

from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.domain.catalog import Option, VolumeTier
from customshop.entrypoints.container import build_container, close
from customshop.entrypoints.demo import TEE_VOLUME_PRICING
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.logs import stop_logging
from customshop.entrypoints.settings import Settings

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "customshop_bench_cart"
#: Guests per product, each carted once before the rounds and once in every round.
GUESTS = 150
#: Rounds of each product; a guest's line reaches ROUNDS + 1 units (a line holds 99 at most).
ROUNDS = 30
DESIGN = {"front_text": {"text": "Hi"}, "size": "M"}


def database_url() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


def drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


async def seed_product(catalog: Catalog, name: str, tiers: tuple[VolumeTier, ...]) -> str:
    """A product like each of ``bench/run.py``'s, with ``tiers``; its id."""
    product = await catalog.create_product(
        ProductInput(
            name=name, description="A product for the benchmark.", base_price=1900, volume_pricing=tiers
        )
    )
    sizes = await catalog.create_option_set(
        OptionSetInput(
            product.id, "Size", (Option("S", "Small"), Option("M", "Medium"), Option("L", "Large", 200))
        )
    )
    definition = {
        "canvas": {"width": 1000, "height": 1000},
        "zones": [
            {
                "id": "front_text",
                "type": "text",
                "max_length": 20,
                "fonts": ["Serif", "Sans"],
                "price_delta": 300,
                "area": {"x": 100, "y": 100, "width": 800, "height": 150},
            },
            {"id": "size", "type": "option", "option_set_id": sizes.id, "required": True},
        ],
    }
    await catalog.create_template(TemplateInput(product.id, 1, definition))
    return product.id


class Answer:
    """What an ASGI app sent: the status and headers of the answer."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[bytes, bytes] = {}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {name.lower(): value for name, value in message.get("headers", [])}


async def add_to_cart(app: Any, body: bytes, key: bytes | None) -> Answer:
    """One ``POST /cart/items`` through the app, as granian would hand it over."""
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if key is not None:
        headers.append((b"x-session-key", key))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/cart/items",
        "raw_path": b"/cart/items",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    answer = Answer()
    await app(scope, receive, answer.send)
    return answer


async def measure(rounds: int) -> dict[str, Any]:
    url = database_url()
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    data_dir = tempfile.mkdtemp()
    settings = Settings(database_url=url, data_dir=data_dir, rate_limit_enabled=False)
    container = build_container(settings)
    try:
        catalog = container.use_cases.catalog()
        products = {
            "plain": await seed_product(catalog, "Plain tee", ()),
            "volume pricing": await seed_product(catalog, "Tiered tee", TEE_VOLUME_PRICING),
        }
        app = create_app(container, readiness_probes=False)
        try:
            return await _rounds(app, products, rounds)
        finally:
            stop_logging()
    finally:
        await close(container)
        drop_database()


async def _rounds(app: Any, products: dict[str, str], rounds: int) -> dict[str, Any]:
    bodies = {
        name: json.dumps({"product_id": product_id, "options": DESIGN, "quantity": 1}).encode()
        for name, product_id in products.items()
    }
    guests: dict[str, list[bytes]] = {name: [] for name in products}
    for name, body in bodies.items():  # each guest issued its key, its product carted once
        for _ in range(GUESTS):
            answer = await add_to_cart(app, body, None)
            if answer.status != 200:
                raise RuntimeError(f"carting a guest: {answer.status}")
            guests[name].append(answer.headers[b"x-session-key"])
    micros: dict[str, list[float]] = {name: [] for name in products}
    order = list(products)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else reversed(order):
            started = time.process_time()
            for key in guests[name]:
                answer = await add_to_cart(app, bodies[name], key)
                if answer.status != 200:
                    raise RuntimeError(f"{name}: add-to-cart answered {answer.status}")
            micros[name].append((time.process_time() - started) / GUESTS * 1e6)
    plain, tiered = micros["plain"], micros["volume pricing"]
    ratios = [t / p for t, p in zip(tiered, plain, strict=True)]
    return {
        "rounds": rounds,
        "guests": GUESTS,
        "plain_us": {"median": statistics.median(plain), "best": min(plain)},
        "volume_pricing_us": {"median": statistics.median(tiered), "best": min(tiered)},
        "ratio": statistics.median(ratios),
    }


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):  # the app's log lines
        figures = asyncio.run(measure(rounds))
    for name, key in (("plain", "plain_us"), ("volume pricing", "volume_pricing_us")):
        print(
            f"add to cart, {name:<15} {figures[key]['median']:8.1f} µs of CPU per request "
            f"(median of {rounds} rounds; best {figures[key]['best']:.1f})"
        )
    print(f"volume pricing / plain: {figures['ratio']:.3f} (median of the rounds' ratios)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
