"""The catalog cache through HTTP: hits touch no database, writes invalidate at once, and a Redis that
dies takes nothing down with it."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.settings import Settings
from tests.integration.conftest import free_port, make_key

Client = AsyncTestClient  # type: ignore[type-arg]


class QueryCounter:
    """Counts the statements an engine runs, leaving out the version stamp's periodic check."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self._engine = engine.sync_engine
        sa.event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "catalog_state" not in statement:
            self.count += 1

    def stop(self) -> None:
        sa.event.remove(self._engine, "before_cursor_execute", self._seen)


@pytest.fixture
def queries(clean_engine: AsyncEngine) -> Iterator[QueryCounter]:
    counter = QueryCounter(clean_engine)
    yield counter
    counter.stop()


async def make_product(client: Client, admin: dict[str, str], name: str) -> str:
    created = await client.post("/products", json={"name": name, "base_price": 1000}, headers=admin)
    assert created.status_code == 201
    product_id: str = created.json()["id"]
    definition = {"canvas": {"width": 10, "height": 10}, "zones": []}
    template = {"product_id": product_id, "version": 1, "definition": definition}
    assert (await client.post("/templates", json=template, headers=admin)).status_code == 201
    return product_id


async def test_a_cache_hit_runs_no_database_query(
    client: Client, admin: dict[str, str], container: Container, queries: QueryCounter
) -> None:
    product = await make_product(client, admin, "Mug")
    for path in ("/products", f"/products/{product}", f"/templates/{product}", "/optionsets"):
        first = await client.get(path)
        assert first.status_code == 200
        before = queries.count
        for _ in range(20):
            again = await client.get(path)
            assert again.content == first.content
        assert queries.count == before, path  # served from memory: not one query
    misses = container.use_cases.catalog_cache().misses
    await client.get("/products")
    assert container.use_cases.catalog_cache().misses == misses


async def test_admin_writes_invalidate_at_once(client: Client, admin: dict[str, str]) -> None:
    product = await make_product(client, admin, "Mug")
    assert [p["name"] for p in (await client.get("/products")).json()["items"]] == ["Mug"]
    assert (await client.get(f"/products/{product}")).json()["base_price"] == 1000

    await client.put(f"/products/{product}", json={"name": "Big mug", "base_price": 1500}, headers=admin)
    assert [p["name"] for p in (await client.get("/products")).json()["items"]] == ["Big mug"]
    assert (await client.get(f"/products/{product}")).json()["base_price"] == 1500

    await make_product(client, admin, "Cap")
    assert len((await client.get("/products")).json()["items"]) == 2
    await client.delete(f"/products/{product}", headers=admin)
    assert [p["name"] for p in (await client.get("/products")).json()["items"]] == ["Cap"]
    assert (await client.get(f"/products/{product}")).status_code == 404


async def test_errors_are_not_cached(client: Client, admin: dict[str, str]) -> None:
    assert (await client.get("/products/later")).status_code == 404
    assert (await client.get("/products", params={"cursor": "bad"})).status_code == 400
    product = await make_product(client, admin, "Mug")
    assert (await client.get(f"/products/{product}")).status_code == 200


async def test_admin_views_bypass_the_cache(
    client: Client, admin: dict[str, str], container: Container
) -> None:
    product = await make_product(client, admin, "Mug")
    await client.get("/products")
    reader = {"X-API-Key": await make_key(container, "catalog:write")}
    await client.delete(f"/products/{product}", headers=admin)
    assert (await client.get("/products", params={"include_inactive": "true"}, headers=reader)).json()[
        "items"
    ]
    assert (await client.get(f"/templates/{product}", headers=reader)).status_code == 200
    assert (await client.get(f"/templates/{product}")).status_code == 404


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that the test may kill."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while True:
            try:
                with Redis.from_url(self.url) as client:
                    client.ping()
                return
            except RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def keys(self) -> list[bytes]:
        with Redis.from_url(self.url) as client:
            return sorted(client.keys("catalog:*"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
async def redis_app(
    database_url: str, clean_engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[tuple[Client, Container, PrivateRedis]]:
    redis = PrivateRedis(tmp_path)
    settings = Settings(
        database_url=database_url,
        redis_url=redis.url,
        data_dir=str(tmp_path / "var"),
        rate_limit_enabled=False,
    )
    container = build_container(settings)
    container.adapters.engine.override(clean_engine)
    app = create_app(container)
    app.on_shutdown.clear()
    try:
        async with AsyncTestClient(app) as client:
            yield client, container, redis
    finally:
        redis.stop()
        container.adapters.engine.reset_override()
        await close(container)


async def test_redis_shares_entries_and_its_outage_falls_back_to_the_database(
    redis_app: tuple[Client, Container, PrivateRedis],
) -> None:
    client, container, redis = redis_app
    admin = {"X-API-Key": await make_key(container, "admin")}
    product = await make_product(client, admin, "Mug")
    listed = await client.get("/products")
    assert listed.status_code == 200
    stored = redis.keys()
    assert any(key.endswith(b":/products") for key in stored)  # shared with other processes

    redis.stop()  # Redis dies
    assert (await client.get("/products")).json() == listed.json()  # from this process's memory
    # A write forgets the local entries; the next read finds Redis gone and asks the database.
    await client.put(f"/products/{product}", json={"name": "Renamed", "base_price": 1000}, headers=admin)
    started = time.monotonic()
    renamed = await client.get("/products")
    assert renamed.status_code == 200
    assert [p["name"] for p in renamed.json()["items"]] == ["Renamed"]
    assert time.monotonic() - started < 2  # the cache's short timeout, not a hang
    for _ in range(5):
        assert (await client.get(f"/products/{product}")).status_code == 200
