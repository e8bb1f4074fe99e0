"""The HTTP benchmark: customshop on PostgreSQL + Redis against its framework's ceiling, in one run.

Each scenario starts its server alone (granian, uvloop, ``--workers``), warms it up, and drives it
with wrk from a separate process on loopback for a fixed time; servers never compete for the CPU.
customshop runs in its default configuration (INFO logs with an access line per request, metrics,
request ids, security headers) with its rate limits off, since all the load comes from one address.
Scenarios:

* ``ping``: a bare Litestar ``/ping`` app, the framework's own ceiling on this machine;
* ``fastapi``: FastAPI + pydantic serving 50 products from memory, for reference;
* ``core select``: a bare Litestar app running the same 50-row SELECT through SQLAlchemy Core, the
  database path's own ceiling;
* ``products cached`` / ``products uncached`` (cache off): ``GET /products`` with 50 products;
* ``pieces``: the cached ``GET /products`` again without the access log (``LOG_LEVEL=WARNING``), and
  with the rate limits on (counted in Redis; a limit far above what wrk sends), so that what each
  piece of the default configuration costs is measured beside the ceiling, in the same run; and, in
  process (``bench/observability.py``), the microseconds of the request id and metrics and of the
  access line beside those of one ``/ping`` request;
* ``product``: ``GET /products/{id}`` (cached);
* ``add to cart``: ``POST /cart/items`` (a design given directly), 1000 guests in turn, each issued
  its session key (and carted once) over HTTP before the timed run;
* ``add to cart, volume pricing``: the same, of a product alike but for its volume tiers (the demo
  tee's: 10 or more 15 % off, 25 or more 20 %), with 1000 guests of its own; for both add-to-cart
  scenarios the CPU per request of customshop's processes and of the PostgreSQL backends serving
  them is read too, and, in process (``bench/cart_cpu.py``), the CPU of one add-to-cart of each
  product, measured in alternating rounds: their ratio is the figure to judge volume pricing by;
* ``cart``: ``GET /cart`` of the first guests;
* ``checkout unlimited`` / ``checkout stocked``: ``POST /checkout`` with the ``test`` payment
  provider, each request as a new guest with one design in its cart (prepared over HTTP before the
  timed run), of a product with no stock level (made to order) and of one with a large stock level
  (every checkout also reserves a unit with a conditional ``UPDATE`` of that one row). The 201s are
  counted and checked against the orders found in the database afterwards.
* ``checkout priced``: the same as ``checkout unlimited`` (another made-to-order product), once the
  commerce rules exist: a region holding the address's country with a VAT rate, a shipping method
  named in the body, and a promotion code (unlimited) that every guest applied to its cart before
  the timed run, so every order is quoted with a region, a method and a code and claims a use of
  the code. Its CPU per order is compared with ``checkout unlimited``'s of the same run: the
  ``priced / plain`` ratio (target: at most 1.15).

Run ``make bench`` (or ``.venv/bin/python bench/run.py``); figures go to stdout and
``bench/results/latest.json``. Needs PostgreSQL (``TEST_POSTGRES_URL``, default 127.0.0.1:5432),
Redis (``TEST_REDIS_URL``, database 14 is used) and wrk. ``BENCH_ONLY`` runs some groups of
scenarios, comma-separated, besides ``ping`` (always run: it is the ceiling of the ratios):
``fastapi``, ``catalog`` (products, product, add to cart, cart), ``pieces``, ``core``,
``uncached``, ``checkout``; e.g. ``BENCH_ONLY=checkout .venv/bin/python bench/run.py``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
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
from customshop.entrypoints.demo import TEE_VOLUME_PRICING
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
GROUPS = ("fastapi", "catalog", "pieces", "core", "uncached", "checkout")
ONLY = {g.strip() for g in os.environ.get("BENCH_ONLY", ",".join(GROUPS)).split(",") if g.strip()}
#: Sizes the guests prepared for checkout: expected orders/s x seconds x 1.5 (a faster run uses them
#: all and is reported as not valid, never as a success).
CHECKOUT_RATE = int(os.environ.get("BENCH_CHECKOUT_RATE", "300"))
#: Checkout is measured at 16 connections: with 64 always in flight, Little's law puts the mean
#: latency at 64 / rate (320 ms at 200 orders/s), so a p99 target under 150 ms is only meaningful
#: at a concurrency the rate can serve.
CHECKOUT_CONNECTIONS = int(os.environ.get("BENCH_CHECKOUT_CONNECTIONS", "16"))
WARMUP = 2
#: wrk leaves answers slower than its timeout out of the latency figures (and counts them as
#: errors): far above any figure here, so that slow answers count in the percentiles.
TIMEOUT = 30
THREADS = 2
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
CHECKOUT = {"email": "ada@example.com", "shipping_address": ADDRESS, "payment_provider": "test"}
DESIGN = {"front_text": {"text": "Hi"}, "size": "M"}


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
    #: Checkout only: answers by status, and the orders the database gained during the timed run.
    statuses: dict[str, int] = field(default_factory=dict)
    orders: int | None = None
    #: Checkout only: requests sent but still unanswered when wrk stopped, and what the checks found.
    unanswered: int | None = None
    problems: list[str] = field(default_factory=list)
    #: Checkout only: CPU milliseconds per order during the timed run, of customshop's processes, of
    #: the PostgreSQL backends serving it, and of the whole machine (other work included).
    cpu_ms_per_order: dict[str, float] = field(default_factory=dict)
    #: Add-to-cart only: CPU milliseconds per request during the timed run, of customshop's
    #: processes and of the PostgreSQL backends serving them.
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


#: The product with volume pricing among those ``prepare`` seeds (the others have none).
TIERED = 3


async def prepare(url: str) -> tuple[list[str], str]:
    """Migrate and seed 50 products with a template each (the one at :data:`TIERED` with the demo
    tee's volume tiers); their ids, and an admin API key's secret."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    container = build_container(Settings(database_url=url, data_dir=tempfile.mkdtemp()))
    catalog = container.use_cases.catalog()
    ids: list[str] = []
    for n in range(50):
        product = await catalog.create_product(
            ProductInput(
                name=f"Product {n}",
                description="A customizable product for the benchmark, with an ordinary description.",
                base_price=1000 + n,
                volume_pricing=TEE_VOLUME_PRICING if n == TIERED else (),
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
        ids.append(product.id)
    _, admin = await container.use_cases.access().create("bench", ["admin"])
    await close(container)
    return ids, admin


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


def run_wrk(
    url: str, script: str, seconds: int, env: dict[str, str] | None = None, connections: int = CONNECTIONS
) -> dict[str, Any]:
    """One wrk run; the figures its script prints last."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{THREADS}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={TIMEOUT}s",
            "-s",
            str(HERE / "wrk" / script),
            url,
        ],
        env=os.environ | (env or {}),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    figures: dict[str, Any] = json.loads(
        next(line for line in reversed(out.splitlines()) if line.startswith("{"))
    )
    return figures


def wrk(
    name: str,
    url: str,
    script: str,
    env: dict[str, str] | None = None,
    cpu_of: tuple[Server, str] | None = None,
) -> Result:
    """Warm up for WARMUP seconds, then measure for DURATION seconds. With ``cpu_of`` (a customshop
    server and its database URL), also the CPU per request of the server's processes and of the
    PostgreSQL backends serving them during the timed run."""
    run_wrk(url, script, WARMUP, env)
    if cpu_of is not None:
        server, database = cpu_of
        shop_before, db_before = cpu_seconds(group_pids(server)), cpu_seconds(backend_pids(database))
    figures = run_wrk(url, script, DURATION, env)
    cpu: dict[str, float] = {}
    if cpu_of is not None:
        shop = sum(t - shop_before.get(pid, 0.0) for pid, t in cpu_seconds(group_pids(server)).items())
        db = sum(t - db_before.get(pid, 0.0) for pid, t in cpu_seconds(backend_pids(database)).items())
        requests = max(int(figures["requests"]), 1)
        cpu = {"customshop": round(1000 * shop / requests, 3), "postgresql": round(1000 * db / requests, 3)}
    result = Result(
        name,
        figures["rps"],
        figures["p50_ms"],
        figures["p95_ms"],
        figures["p99_ms"],
        figures["requests"],
        figures["errors"],
        figures["non_2xx"],
        cpu_ms_per_request=cpu,
    )
    show(result)
    if cpu:
        print(
            f"  {'':<22} CPU per request: customshop {cpu['customshop']:.2f} ms, "
            f"PostgreSQL {cpu['postgresql']:.2f} ms",
            flush=True,
        )
    return result


def show(result: Result) -> None:
    print(
        f"  {result.scenario:<22} {result.rps:>9.0f} req/s   p50 {result.p50_ms:6.2f}   "
        f"p95 {result.p95_ms:6.2f}   p99 {result.p99_ms:6.2f} ms   errors {result.errors}",
        flush=True,
    )


def customshop_server(url: str, data_dir: str, **settings: str) -> Server:
    port = free_port()
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")}
        | {
            "CUSTOMSHOP_DATABASE_URL": url,
            "CUSTOMSHOP_REDIS_URL": REDIS_URL,
            "CUSTOMSHOP_DATA_DIR": data_dir,
            # The default configuration (INFO: an access line per request, metrics, request ids,
            # security headers), but for the rate limits: wrk is one client, and limits would
            # measure the limiter refusing it, not the shop. The "pieces" group measures them.
            "CUSTOMSHOP_RATE_LIMIT_ENABLED": "false",
        }
        | {f"CUSTOMSHOP_{k.upper()}": v for k, v in settings.items()}
    )
    server = Server(
        [str(BIN / "customshop"), "serve", "--port", str(port), "--workers", str(WORKERS)], env, port
    )
    server.wait_ready("/health/live")
    return server


def observation_costs() -> dict[str, float]:
    """What observing a request costs in process, piece by piece (``bench/observability.py``):
    microseconds per request of the bare app, of the request id and metrics, of the access line."""
    out = subprocess.run(
        [sys.executable, str(HERE / "observability.py"), "20000"],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def volume_pricing_costs() -> dict[str, Any]:
    """What volume pricing costs an add-to-cart in process (``bench/cart_cpu.py``): CPU microseconds
    per request of a product with tiers and of one without, and their ratio."""
    out = subprocess.run(
        [sys.executable, str(HERE / "cart_cpu.py")],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    ).stdout
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return figures


def reference_server(target: str, **env: str) -> Server:
    port = free_port()
    return Server(
        [sys.executable, str(HERE / "serve_app.py"), target, str(port), str(WORKERS)], os.environ | env, port
    )


async def cart_guests(
    base: str, product: str, count: int, concurrency: int = 32, code: str | None = None
) -> list[str]:
    """``count`` new guests, each with one design of ``product`` in its cart (and the promotion
    ``code`` applied, when given), through ``POST /cart/items`` (and ``POST /cart/promotions``);
    their session keys. Each worker has its own client and forgets the session cookie after every
    answer, so that every request starts a new guest."""
    body = {"product_id": product, "options": DESIGN, "quantity": 1}
    keys: list[str] = []
    remaining = iter(range(count))  # shared by the workers

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for _ in remaining:
                response = await client.post("/cart/items", json=body)
                if response.status_code != 200:
                    raise RuntimeError(f"carting a guest: {response.status_code} {response.text[:500]}")
                key = response.headers["x-session-key"]
                client.cookies.clear()
                if code is not None:
                    applied = await client.post(
                        "/cart/promotions", json={"code": code}, headers={"X-Session-Key": key}
                    )
                    if applied.status_code != 200:
                        raise RuntimeError(f"applying {code}: {applied.status_code} {applied.text[:500]}")
                keys.append(key)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return keys


def orders_in(url: str) -> tuple[int, int]:
    """How many orders the database holds, and for how many different guests."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT guest) FROM orders").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def settled_orders(url: str) -> int:
    """The count of orders once it stops moving: requests wrk left in flight when it stopped still
    finish on the server."""
    deadline = time.monotonic() + 30
    last = orders_in(url)[0]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = orders_in(url)[0]
        if now == last:
            return now
        last = now
    raise RuntimeError("orders were still being created 30 s after wrk stopped")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process (Linux ``/proc``; gone processes are left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    return times


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot, all cores together."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def group_pids(server: Server) -> list[int]:
    """The server's processes: granian's and its workers (one process group)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == server.process.pid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                continue
    return pids


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends connected to the benchmark's database (the servers' pools)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(row[0]) for row in rows]


@dataclass(frozen=True)
class Priced:
    """What a priced checkout uses: the code every guest applies, the checkout body (an address in
    the region, the shipping method named)."""

    code: str
    body: dict[str, Any]


def commerce_rules(base: str, admin: str) -> Priced:
    """A region holding the checkout address's country (VAT 20 %, shipping not taxed), a flat-rate
    shipping method in it and an unlimited percentage code, created through the admin API."""
    headers = {"X-API-Key": admin}

    def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{base}{path}", json=body, headers=headers, timeout=30)
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        return created

    region = create(
        "/regions",
        {
            "name": "United Kingdom",
            "countries": [ADDRESS["country"]],
            "tax_rates": [{"name": "VAT", "rate_bps": 2000}],
        },
    )
    method = create(
        "/shipping-methods",
        {"region_id": region["id"], "name": "Royal Mail", "rate": {"type": "flat", "amount": 395}},
    )
    create("/promotions", {"code": "BENCH10", "description": "10 % off", "kind": "percentage", "value": 1000})
    return Priced("BENCH10", {**CHECKOUT, "shipping_method_id": method["id"]})


def checkout(
    name: str,
    server: Server,
    url: str,
    product: str,
    admin: str,
    stock: int | None,
    priced: Priced | None = None,
) -> Result:
    """Prepare carted guests for the warm-up and the timed run (with ``priced``, each with its code
    applied), check out each once with wrk, and check the 201s against the orders the database
    gained (and, with a stock level, its reserved units). CPU time per order is measured too: on a
    shared machine it moves less than the rate."""
    base = f"http://127.0.0.1:{server.port}"
    headers = {"X-API-Key": admin}
    if stock is not None:
        httpx.put(
            f"{base}/inventory", json={"product_id": product, "on_hand": stock}, headers=headers
        ).raise_for_status()
    counts = {
        phase: math.ceil(CHECKOUT_RATE * seconds * 1.5)
        for phase, seconds in (("warm-up", WARMUP), ("timed", DURATION))
    }
    started = time.monotonic()
    code = priced.code if priced is not None else None
    keys = asyncio.run(cart_guests(base, product, sum(counts.values()), code=code))
    print(
        f"  {name}: {len(keys)} guests carted in {time.monotonic() - started:.1f} s "
        f"({counts['timed']} for the timed run); wrk -c{CHECKOUT_CONNECTIONS}",
        flush=True,
    )
    files = {}
    for phase, count in counts.items():
        files[phase] = Path(tempfile.mkstemp(prefix=f"bench-{phase}-", suffix=".keys")[1])
        files[phase].write_text("\n".join(keys[:count]) + "\n")
        keys = keys[count:]
    body = json.dumps(priced.body if priced is not None else CHECKOUT)

    def env(phase: str) -> dict[str, str]:
        return {"KEYS": str(files[phase]), "THREADS": str(THREADS), "RUN": phase, "BODY": body}

    problems: list[str] = []
    first = settled_orders(url)
    warm = run_wrk(base, "checkout.lua", WARMUP, env("warm-up"), CHECKOUT_CONNECTIONS)
    before = settled_orders(url)
    shop_before, db_before = cpu_seconds(group_pids(server)), cpu_seconds(backend_pids(url))
    machine_before, wall_before = machine_cpu_seconds(), time.monotonic()
    wrk_before = children_cpu_seconds()
    figures = run_wrk(base, "checkout.lua", DURATION, env("timed"), CHECKOUT_CONNECTIONS)
    load = children_cpu_seconds() - wrk_before
    after = settled_orders(url)
    machine, wall = machine_cpu_seconds() - machine_before, time.monotonic() - wall_before
    shop = sum(t - shop_before.get(pid, 0.0) for pid, t in cpu_seconds(group_pids(server)).items())
    db = sum(t - db_before.get(pid, 0.0) for pid, t in cpu_seconds(backend_pids(url)).items())
    for path in files.values():
        path.unlink()
    orders = after - before
    created = int(figures["created"])
    unanswered = int(figures["sent"]) - int(figures["answered"])
    for phase, run in (("warm-up", warm), ("timed run", figures)):
        if run["exhausted"]:
            problems.append(
                f"{phase}: {run['exhausted']} requests found no prepared guest left "
                f"(raise BENCH_CHECKOUT_RATE above {CHECKOUT_RATE})"
            )
        if run["statuses"]:
            problems.append(f"{phase}: answers other than 201: {run['statuses']}")
        socket_errors = run["errors"] - run["non_2xx"]
        if socket_errors:
            problems.append(f"{phase}: {socket_errors} connection errors or timeouts")
    if not created <= orders <= created + unanswered:
        problems.append(
            f"the database gained {orders} orders during the timed run for {created} 201s "
            f"and {unanswered} requests unanswered when wrk stopped"
        )
    total, guests = orders_in(url)
    if total != guests:
        problems.append(f"{total - guests} guests have more than one order: a session key was reused")
    if stock is not None:
        levels = httpx.get(f"{base}/inventory", params={"product_id": product}, headers=headers).json()
        level = next(item for item in levels["items"] if item["option_code"] is None)
        if (level["on_hand"], level["reserved"]) != (stock, after - first):
            problems.append(
                f"stock level on_hand {level['on_hand']} reserved {level['reserved']} after "
                f"{after - first} orders of {stock} units"
            )
    result = Result(
        name,
        figures["rps"],
        figures["p50_ms"],
        figures["p95_ms"],
        figures["p99_ms"],
        figures["requests"],
        figures["errors"] - figures["non_2xx"] + sum(figures["statuses"].values()),
        figures["non_2xx"],
        statuses={"201": created, **figures["statuses"]},
        orders=orders,
        unanswered=unanswered,
        problems=problems,
        cpu_ms_per_order={
            name: round(1000 * seconds / max(orders, 1), 2)
            for name, seconds in (
                ("customshop", shop),
                ("postgresql", db),
                ("wrk", load),
                ("machine", machine),
            )
        },
    )
    show(result)
    print(
        f"  {'':<22} {created} × 201 = {created / figures['seconds']:.0f} orders/s, other answers "
        f"{figures['statuses'] or 'none'}; orders in the database +{orders} "
        f"({unanswered} requests unanswered when wrk stopped)",
        flush=True,
    )
    cpu = result.cpu_ms_per_order
    cores = os.cpu_count() or 1
    own = cpu["customshop"] + cpu["postgresql"] + cpu["wrk"]
    print(
        f"  {'':<22} CPU per order: customshop {cpu['customshop']:.1f} ms, PostgreSQL "
        f"{cpu['postgresql']:.1f} ms, wrk {cpu['wrk']:.1f} ms: {own:.1f} ms, at most "
        f"{1000 * cores / own:.0f} orders/s on {cores} idle cores; the whole machine spent "
        f"{cpu['machine']:.1f} ms per order (busy {machine / wall / cores:.0%})",
        flush=True,
    )
    for problem in problems:
        print(f"  {'':<22} NOT VALID: {problem}", flush=True)
    return result


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    unknown = ONLY - set(GROUPS)
    if unknown:
        sys.exit(f"BENCH_ONLY: unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}")
    with Redis.from_url(REDIS_URL) as redis:
        redis.flushdb()
    url = database_url()
    products, admin = asyncio.run(prepare(url))
    product = products[0]
    data_dir = tempfile.mkdtemp()
    results: list[Result] = []
    ratios: dict[str, dict[str, float]] = {}
    #: Figures beside the scenarios' (what volume pricing costs), written to latest.json too.
    extras: dict[str, Any] = {}
    print(
        f"{WORKERS} granian workers, wrk -t{THREADS} -c{CONNECTIONS}, {DURATION} s per scenario "
        f"({', '.join(g for g in GROUPS if g in ONLY)})",
        flush=True,
    )

    ping = reference_server("apps.ping:app")
    try:
        ping.wait_ready("/ping")
        results.append(wrk("ping (bare Litestar)", f"http://127.0.0.1:{ping.port}/ping", "report.lua"))
    finally:
        ping.stop()
    if "fastapi" in ONLY:
        fastapi = reference_server("apps.fastapi_products:app")
        try:
            fastapi.wait_ready("/products")
            results.append(
                wrk("fastapi in memory", f"http://127.0.0.1:{fastapi.port}/products", "report.lua")
            )
        finally:
            fastapi.stop()

    if "catalog" in ONLY:
        server = customshop_server(url, data_dir)
        try:
            base = f"http://127.0.0.1:{server.port}"
            assert len(httpx.get(f"{base}/products").json()["items"]) == 50
            results.append(wrk("products cached", f"{base}/products", "report.lua"))
            results.append(wrk("product cached", f"{base}/products/{product}", "report.lua"))
            body = json.dumps(
                {"product_id": product, "options": {"front_text": {"text": "Hi"}, "size": "M"}, "quantity": 1}
            )
            # Guests the server issued keys to, each with one design in its cart already.
            keys_file = Path(data_dir) / "guests.keys"
            keys = asyncio.run(cart_guests(base, product, GUESTS))
            keys_file.write_text("\n".join(keys) + "\n")
            guests = {"KEYS": str(keys_file)}
            plain = wrk(
                "add to cart",
                base,
                "guests.lua",
                guests | {"METHOD": "POST", "PATH_": "/cart/items", "BODY": body},
                cpu_of=(server, url),
            )
            results.append(plain)
            # The same of a product with volume tiers, by guests of its own carted with it.
            tiered_file = Path(data_dir) / "tiered-guests.keys"
            tiered_file.write_text("\n".join(asyncio.run(cart_guests(base, products[TIERED], GUESTS))) + "\n")
            tiered_body = body.replace(product, products[TIERED])
            tiered = wrk(
                "add to cart, volume",
                base,
                "guests.lua",
                {"KEYS": str(tiered_file), "METHOD": "POST", "PATH_": "/cart/items", "BODY": tiered_body},
                cpu_of=(server, url),
            )
            results.append(tiered)
            shop_ratio = tiered.cpu_ms_per_request["customshop"] / plain.cpu_ms_per_request["customshop"]
            print(
                f"  {'':<22} volume pricing / plain, customshop's CPU per request: {shop_ratio:.3f}",
                flush=True,
            )
            results.append(
                wrk("cart", base, "guests.lua", guests | {"METHOD": "GET", "PATH_": "/cart", "BODY": ""})
            )
        finally:
            server.stop()
        volume = volume_pricing_costs()
        print(
            f"  in process, CPU per add-to-cart: {volume['plain_us']['median']:.0f} µs plain, "
            f"{volume['volume_pricing_us']['median']:.0f} µs with volume pricing: "
            f"{volume['ratio']:.3f} (median of {volume['rounds']} alternating rounds' ratios)",
            flush=True,
        )
        extras["volume_pricing"] = {"http_cpu_ratio": round(shop_ratio, 3), "in_process": volume}
    if "pieces" in ONLY:
        for name, settings in (
            ("products, no access log", {"log_level": "WARNING"}),
            (
                "products, rate limits on",
                {"rate_limit_enabled": "true", "rate_limit_general": "9999999/minute"},
            ),
        ):
            server = customshop_server(url, data_dir, **settings)
            try:
                results.append(wrk(name, f"http://127.0.0.1:{server.port}/products", "report.lua"))
            finally:
                server.stop()
        pieces = observation_costs()
        per_request = 1e6 / (results[0].rps / WORKERS)  # µs of one /ping request per worker process
        print(
            f"  in process, µs per request (one /ping request per worker: {per_request:.1f} µs):", flush=True
        )
        for piece, micros in pieces.items():
            print(
                f"    {piece:<22} {micros:6.2f} µs = {micros / per_request:5.1%} of a /ping request",
                flush=True,
            )
    if "core" in ONLY:
        core = reference_server("apps.core_select:app", BENCH_DATABASE_URL=url)
        try:
            core.wait_ready("/products")
            results.append(wrk("core select (bare)", f"http://127.0.0.1:{core.port}/products", "report.lua"))
        finally:
            core.stop()
    if "uncached" in ONLY:
        uncached = customshop_server(url, data_dir, catalog_cache_ttl_seconds="0")
        try:
            results.append(
                wrk("products uncached", f"http://127.0.0.1:{uncached.port}/products", "report.lua")
            )
        finally:
            uncached.stop()
    if "checkout" in ONLY:
        shop = customshop_server(url, data_dir, test_payments_enabled="true")
        try:
            plain = checkout("checkout unlimited", shop, url, products[1], admin, None)
            results.append(plain)
            results.append(checkout("checkout stocked", shop, url, products[2], admin, 1_000_000))
            rules = commerce_rules(f"http://127.0.0.1:{shop.port}", admin)
            priced = checkout("checkout priced", shop, url, products[3], admin, None, rules)
            results.append(priced)
            ratios["checkout priced / plain, CPU per order"] = {
                who: round(priced.cpu_ms_per_order[who] / plain.cpu_ms_per_order[who], 3)
                for who in ("customshop", "postgresql")
                if plain.cpu_ms_per_order.get(who)
            }
            for who, ratio in ratios["checkout priced / plain, CPU per order"].items():
                print(
                    f"  checkout priced / plain, {who} CPU per order: {ratio:.2f} (target ≤ 1.15)", flush=True
                )
        finally:
            shop.stop()

    ceiling = results[0].rps
    print(
        "\n| scenario | req/s | p50 ms | p95 ms | p99 ms | of /ping | errors |\n|---|---|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r.scenario} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.rps / ceiling:.{1 if r.rps < ceiling / 10 else 0}%} | {r.errors} |"
        )
    (HERE / "results").mkdir(exist_ok=True)
    payload: dict[str, Any] = {
        "workers": WORKERS,
        "connections": CONNECTIONS,
        "seconds": DURATION,
        "results": [asdict(r) for r in results],
        "ratios": ratios,
        **extras,
    }
    (HERE / "results" / "latest.json").write_text(json.dumps(payload, indent=2) + "\n")
    invalid = [f"{r.scenario}: {problem}" for r in results for problem in r.problems]
    if invalid:
        sys.exit("\nNOT VALID, the checkout run had errors:\n  " + "\n  ".join(invalid))


if __name__ == "__main__":
    main()
