"""The HTTP benchmark: customshop on PostgreSQL + Redis against its framework's ceiling, in one run.

Each scenario starts its server alone (granian, uvloop, ``--workers``), warms it up, and drives it
with wrk from a separate process on loopback for a fixed time; servers never compete for the CPU.
Scenarios:

* ``ping``: a bare Litestar ``/ping`` app, the framework's own ceiling on this machine;
* ``fastapi``: FastAPI + pydantic serving 50 products from memory, for reference;
* ``core select``: a bare Litestar app running the same 50-row SELECT through SQLAlchemy Core, the
  database path's own ceiling;
* ``products cached`` / ``products uncached`` (cache off): ``GET /products`` with 50 products;
* ``product``: ``GET /products/{id}`` (cached);
* ``add to cart``: ``POST /cart/items`` (a design given directly), 1000 guests in turn;
* ``cart``: ``GET /cart`` of those guests.

Run ``make bench`` (or ``.venv/bin/python bench/run.py``); figures go to stdout and
``bench/results/latest.json``. Needs PostgreSQL (``TEST_POSTGRES_URL``, default 127.0.0.1:5432),
Redis (``TEST_REDIS_URL``, database 14 is used) and wrk.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from redis import Redis

from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.application.catalog import OptionSetInput, ProductInput, TemplateInput
from customshop.domain.catalog import Option
from customshop.entrypoints.container import build_container, close
from customshop.entrypoints.settings import Settings

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379") + "/14"
DATABASE = "customshop_bench"
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
GUESTS = 1000


@dataclass
class Result:
    scenario: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


async def prepare(url: str) -> str:
    """Migrate and seed 50 products with a template each; the id of the one carted in the benchmark."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    container = build_container(Settings(database_url=url, data_dir=tempfile.mkdtemp()))
    catalog = container.catalog()
    first = ""
    for n in range(50):
        product = await catalog.create_product(
            ProductInput(
                name=f"Product {n}",
                description="A customizable product for the benchmark, with an ordinary description.",
                base_price=1000 + n,
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
        first = first or product.id
    await close(container)
    return first


class Server:
    def __init__(self, command: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.log.seek(0)
        raise RuntimeError(f"the server did not start:\n{self.log.read().decode(errors='replace')[-2000:]}")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def wrk(name: str, url: str, script: str, env: dict[str, str] | None = None) -> Result:
    """Warm up for 2 s, then measure for DURATION seconds."""
    base = ["wrk", "-t2", f"-c{CONNECTIONS}", "-s", str(HERE / "wrk" / script)]
    run_env = os.environ | (env or {})
    subprocess.run([*base, "-d2s", url], env=run_env, capture_output=True, check=True, timeout=60)
    out = subprocess.run(
        [*base, f"-d{DURATION}s", url],
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=DURATION + 60,
    ).stdout
    figures = json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))
    result = Result(
        name,
        figures["rps"],
        figures["p50_ms"],
        figures["p95_ms"],
        figures["p99_ms"],
        figures["requests"],
        figures["errors"],
        figures["non_2xx"],
    )
    print(
        f"  {name:<22} {result.rps:>9.0f} req/s   p50 {result.p50_ms:6.2f}   p95 {result.p95_ms:6.2f}   "
        f"p99 {result.p99_ms:6.2f} ms   errors {result.errors}",
        flush=True,
    )
    return result


def customshop_server(url: str, data_dir: str, **settings: str) -> Server:
    port = free_port()
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")}
        | {
            "CUSTOMSHOP_DATABASE_URL": url,
            "CUSTOMSHOP_REDIS_URL": REDIS_URL,
            "CUSTOMSHOP_DATA_DIR": data_dir,
            "CUSTOMSHOP_LOG_LEVEL": "WARNING",
        }
        | {f"CUSTOMSHOP_{k.upper()}": v for k, v in settings.items()}
    )
    server = Server(
        [str(BIN / "customshop"), "serve", "--port", str(port), "--workers", str(WORKERS)], env, port
    )
    server.wait_ready("/health/live")
    return server


def reference_server(target: str, **env: str) -> Server:
    port = free_port()
    return Server(
        [sys.executable, str(HERE / "serve_app.py"), target, str(port), str(WORKERS)], os.environ | env, port
    )


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with Redis.from_url(REDIS_URL) as redis:
        redis.flushdb()
    url = database_url()
    product = asyncio.run(prepare(url))
    data_dir = tempfile.mkdtemp()
    results: list[Result] = []
    print(f"{WORKERS} granian workers, wrk -t2 -c{CONNECTIONS}, {DURATION} s per scenario", flush=True)

    ping = reference_server("apps.ping:app")
    try:
        ping.wait_ready("/ping")
        results.append(wrk("ping (bare Litestar)", f"http://127.0.0.1:{ping.port}/ping", "report.lua"))
    finally:
        ping.stop()
    fastapi = reference_server("apps.fastapi_products:app")
    try:
        fastapi.wait_ready("/products")
        results.append(wrk("fastapi in memory", f"http://127.0.0.1:{fastapi.port}/products", "report.lua"))
    finally:
        fastapi.stop()

    server = customshop_server(url, data_dir)
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert len(httpx.get(f"{base}/products").json()["items"]) == 50
        results.append(wrk("products cached", f"{base}/products", "report.lua"))
        results.append(wrk("product cached", f"{base}/products/{product}", "report.lua"))
        body = json.dumps(
            {"product_id": product, "options": {"front_text": {"text": "Hi"}, "size": "M"}, "quantity": 1}
        )
        guests = {"GUESTS": str(GUESTS)}
        results.append(
            wrk(
                "add to cart",
                base,
                "guests.lua",
                guests | {"METHOD": "POST", "PATH_": "/cart/items", "BODY": body},
            )
        )
        results.append(
            wrk("cart", base, "guests.lua", guests | {"METHOD": "GET", "PATH_": "/cart", "BODY": ""})
        )
    finally:
        server.stop()
    core = reference_server("apps.core_select:app", BENCH_DATABASE_URL=url)
    try:
        core.wait_ready("/products")
        results.append(wrk("core select (bare)", f"http://127.0.0.1:{core.port}/products", "report.lua"))
    finally:
        core.stop()
    uncached = customshop_server(url, data_dir, catalog_cache_ttl_seconds="0")
    try:
        results.append(wrk("products uncached", f"http://127.0.0.1:{uncached.port}/products", "report.lua"))
    finally:
        uncached.stop()

    ceiling = results[0].rps
    print(
        "\n| scenario | req/s | p50 ms | p95 ms | p99 ms | of /ping | errors |\n|---|---|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r.scenario} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.rps / ceiling:.0%} | {r.errors} |"
        )
    (HERE / "results").mkdir(exist_ok=True)
    payload: dict[str, Any] = {
        "workers": WORKERS,
        "connections": CONNECTIONS,
        "seconds": DURATION,
        "results": [asdict(r) for r in results],
    }
    (HERE / "results" / "latest.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
