"""Previews rendered by a real ``customshop worker`` process, from Redis, on PostgreSQL.

The API runs in the test process (its job queue is rq on Redis); the worker is a separate process
started with the same configuration, as an operator would run it.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.application.catalog import ProductInput, TemplateInput
from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.demo import seed_demo_catalog
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.settings import Settings
from tests.integration.conftest import CUSTOMSHOP

Client = AsyncTestClient  # type: ignore[type-arg]
RENDER_TIMEOUT = 5


@dataclass
class Stack:
    settings: Settings
    container: Container
    client: Client
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]]

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(Path(self.settings.data_dir).parent / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen([CUSTOMSHOP, "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(process)
        return process


@pytest.fixture
async def stack(fresh_postgres_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = Settings(
        database_url=fresh_postgres_url,
        redis_url=redis_url,
        data_dir=str(tmp_path / "var"),
        render_timeout_seconds=RENDER_TIMEOUT,
        preview_size=3000,
        test_payments_enabled=True,
        rate_limit_enabled=False,
    )
    engine = create_engine(fresh_postgres_url)
    await migrate.upgrade(engine)
    await engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")} | {
        "CUSTOMSHOP_DATABASE_URL": fresh_postgres_url,
        "CUSTOMSHOP_REDIS_URL": redis_url,
        "CUSTOMSHOP_DATA_DIR": settings.data_dir,
        "CUSTOMSHOP_RENDER_TIMEOUT_SECONDS": str(RENDER_TIMEOUT),
        "CUSTOMSHOP_PREVIEW_SIZE": "3000",
    }
    container = build_container(settings)
    await seed_demo_catalog(container.use_cases.catalog())
    workers: list[subprocess.Popen[bytes]] = []
    try:
        async with AsyncTestClient(create_app(container)) as client:
            yield Stack(settings, container, client, env, workers)
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        await close(container)


def photo(size: tuple[int, int], color: tuple[int, int, int] | None = None) -> bytes:
    picture = Image.new("RGB", size, color) if color else Image.effect_noise(size, 90).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


async def design_session(
    client: Client, product_id: str, options: dict[str, Any], picture: bytes
) -> tuple[str, dict[str, str]]:
    started = (await client.post("/sessions", json={"product_id": product_id})).json()
    key = {"X-Session-Key": started["session_key"]}
    session = started["session_id"]
    client.cookies.clear()
    uploaded = await client.post(
        f"/sessions/{session}/assets", files={"f": ("p.png", picture, "image/png")}, headers=key
    )
    assert uploaded.status_code == 201, uploaded.text
    options = options | {"photo": {"asset_id": uploaded.json()["asset_id"]}}
    changed = await client.patch(f"/sessions/{session}", json={"options": options}, headers=key)
    assert changed.status_code == 200, changed.text
    return session, key


async def poll(client: Client, job_id: str, until: set[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = (await client.get(f"/previews/{job_id}")).json()
        if body["status"] in until or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def product_id(stack: Stack, slug: str) -> str:
    page = await stack.container.use_cases.catalog().list_products(
        include_inactive=False, after=None, limit=50
    )
    return next(p.id for p in page.items if p.slug == slug)


async def test_a_worker_process_renders_the_preview(stack: Stack) -> None:
    stack.start_worker()
    tee = await product_id(stack, "classic-tee")
    design = {
        "front_text": {"text": "WORKER", "font": "Sans", "color": "#000000"},
        "body_color": "#ffffff",
        "size": "L",
    }
    session, key = await design_session(stack.client, tee, design, photo((800, 800), (255, 0, 0)))
    queued = await stack.client.post(f"/sessions/{session}/preview", headers=key)
    assert queued.status_code == 202
    done = await poll(stack.client, queued.json()["job_id"], {"done", "failed"}, timeout=60)
    assert done["status"] == "done", done
    picture = Image.open(io.BytesIO((await stack.client.get(done["url"])).content)).convert("RGB")
    assert picture.size == (3000, 3000)  # the configured preview size
    scale = 3
    assert picture.getpixel((500 * scale, 550 * scale)) == (255, 0, 0)  # inside the photo area
    assert picture.getpixel((200 * scale, 550 * scale)) == (255, 255, 255)  # beside it: the body colour
    text_area = picture.crop((100 * scale, 120 * scale, 900 * scale, 240 * scale))
    assert sum(1 for px in text_area.get_flattened_data() if px == (0, 0, 0)) > 5000
    assert (
        sum(1 for px in picture.crop((0, 900 * scale, 3000, 3000)).get_flattened_data() if px == (0, 0, 0))
        == 0
    )


async def big_design_product(stack: Stack) -> str:
    """A product whose preview takes about a second to render, long enough to kill a worker mid-job."""
    catalog = stack.container.use_cases.catalog()
    product = await catalog.create_product(ProductInput(name="Poster", description="", base_price=900))
    definition = {
        "canvas": {"width": 3000, "height": 3000},
        "zones": [
            {"id": "photo", "type": "image", "area": {"x": 0, "y": 0, "width": 3000, "height": 3000}},
            {"id": "front_text", "type": "text", "area": {"x": 0, "y": 0, "width": 3000, "height": 600}},
        ],
    }
    await catalog.create_template(TemplateInput(product.id, 1, definition))
    return product.id


async def test_a_worker_killed_mid_render_leaves_the_job_retried_not_stuck(stack: Stack) -> None:
    first = stack.start_worker()
    poster = await big_design_product(stack)
    session, key = await design_session(
        stack.client, poster, {"front_text": {"text": "noise"}}, photo((1500, 1500))
    )
    job_id = (await stack.client.post(f"/sessions/{session}/preview", headers=key)).json()["job_id"]
    running = await poll(stack.client, job_id, {"running", "done", "failed"}, timeout=60)
    assert running["status"] == "running", running
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    # Nobody runs it now; it must not stay "running" for ever. Once it has been silent for twice the
    # render timeout it is queued again (one attempt of three is spent), and a new worker finishes it.
    stuck_until = time.monotonic() + 2 * RENDER_TIMEOUT
    while time.monotonic() < stuck_until - 0.5:
        assert (await stack.client.get(f"/previews/{job_id}")).json()["status"] == "running"
        await asyncio.sleep(0.5)
    stack.start_worker()
    final = await poll(stack.client, job_id, {"done", "failed"}, timeout=90)
    assert final["status"] == "done", final
    assert (await stack.client.get(final["url"])).status_code == 200


async def test_a_worker_process_renders_a_paid_orders_print_files(stack: Stack) -> None:
    tee = await product_id(stack, "classic-tee")
    design = {"front_text": {"text": "PRINT", "font": "Sans"}, "body_color": "#ffffff", "size": "L"}
    session, key = await design_session(stack.client, tee, design, photo((800, 800), (255, 0, 0)))
    assert (
        await stack.client.post("/cart/items", json={"session_id": session}, headers=key)
    ).status_code == 200
    address = {
        "name": "Ada",
        "line1": "1 Main St",
        "city": "Springfield",
        "postal_code": "12345",
        "country": "US",
    }
    placed = await stack.client.post(
        "/checkout",
        json={"email": "ada@example.com", "shipping_address": address, "payment_provider": "test"},
        headers=key,
    )
    assert placed.status_code == 201, placed.text
    order_id, payment_id = placed.json()["order_id"], placed.json()["payment"]["payment_id"]
    assert (await stack.client.post(f"/test-payments/{payment_id}/succeed")).status_code == 200
    await stack.container.use_cases.print_files().render_due()  # what the serving processes do every second
    stack.start_worker()

    deadline = time.monotonic() + 60
    while True:
        (item,) = (await stack.client.get(f"/orders/{order_id}", headers=key)).json()["items"]
        if item["print_file"]["status"] != "pending" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert item["print_file"]["status"] == "ready", item["print_file"]
    printed = Image.open(io.BytesIO((await stack.client.get(item["print_file"]["url"])).content))
    assert printed.size == (3307, 3307) and round(printed.info["dpi"][0]) == 300  # 280 mm at 300 DPI
    assert printed.convert("RGB").getpixel((3307 // 2, round(3307 * 0.55))) == (255, 0, 0)  # the photo


async def test_the_worker_needs_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")} | {
        "CUSTOMSHOP_DATA_DIR": str(tmp_path / "var")
    }
    subprocess.run([CUSTOMSHOP, "db", "upgrade"], env=env, check=True, capture_output=True)
    result = subprocess.run([CUSTOMSHOP, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: the worker needs CUSTOMSHOP_REDIS_URL; without it jobs run inside `customshop serve`"
    ]
