"""Observability (contract §6): `/metrics` counts requests by route template and status, renders,
webhook deliveries given up and the job queue's depth, summed over every process (two granian
workers; a separate `customshop worker`); `/health/ready` follows PostgreSQL and Redis going away
and coming back (private servers of the test's own); logs are JSON lines carrying request ids and
never a secret."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.metrics.prometheus import FLUSH_SECONDS
from customshop.application.ports import RenderRequest
from customshop.entrypoints.container import Container
from customshop.entrypoints.demo import seed_demo_catalog
from customshop.entrypoints.settings import Settings
from tests.builders import PROBLEM
from tests.integration.conftest import render_prints
from tests.integration.private_services import private_postgres, private_redis
from tests.integration.processes import Server, answering_pid, create_key, ok, run, serving
from tests.integration.shopping import paid_order, pump, subscribe, wait_for_preview
from tests.integration.standins.webhook_receiver import WebhookReceiver

Client = AsyncTestClient  # type: ignore[type-arg]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
FULFILLMENT_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
TEXT_TEMPLATE = {
    "canvas": {"width": 400, "height": 200, "background": "#ffffff"},
    "zones": [
        {
            "id": "name",
            "type": "text",
            "max_length": 12,
            "area": {"x": 20, "y": 50, "width": 360, "height": 100},
        }
    ],
}


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


@pytest.fixture
def partner() -> Iterator[WebhookReceiver]:
    with WebhookReceiver.running() as running:
        yield running


@pytest.fixture
def fulfiller() -> Iterator[WebhookReceiver]:
    with WebhookReceiver.running() as running:
        yield running


@pytest.fixture
def settings(
    database_url: str, clean_engine: AsyncEngine, tmp_path: Path, fulfiller: WebhookReceiver
) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        test_payments_enabled=True,
        webhook_allow_private_networks=True,  # the partner's receiver listens on 127.0.0.1
        webhook_retry_schedule=(0,),  # two attempts, the second at once
        webhook_timeout_seconds=5,
        outbox_poll_seconds=3600,  # the tests pump events themselves
        reservation_sweep_seconds=3600,
        fulfillment_url=fulfiller.url + "/orders",
        fulfillment_secret=FULFILLMENT_SECRET,
    )


# -- in process, on SQLite and PostgreSQL ----------------------------------------------------------


async def test_requests_are_counted_by_route_template_and_status(client: Client) -> None:
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/products")).status_code == 200
    missing = ["01a1fd15-0000-7000-8000-00000000000a", "01a1fd15-0000-7000-8000-00000000000b"]
    for product_id in missing:
        assert (await client.get(f"/products/{product_id}")).status_code == 404
    assert (await client.get("/no/such/page")).status_code == 404
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    listing = {"method": "GET", "route": "/products", "status": "200"}
    assert moved("customshop_http_requests_total", **listing) == 3
    assert moved("customshop_http_request_duration_seconds_count", **listing) == 3
    assert moved("customshop_http_request_duration_seconds_bucket", **listing, le="+Inf") == 3
    one = {"method": "GET", "route": "/products/{product_id}", "status": "404"}
    assert moved("customshop_http_requests_total", **one) == 2
    unmatched = {"method": "GET", "route": "(unmatched)", "status": "404"}
    assert moved("customshop_http_requests_total", **unmatched) == 1
    labels = {value for (_, pairs) in after for (_, value) in pairs}
    assert not labels & ({f"/products/{p}" for p in missing} | {"/no/such/page"})  # never a raw path
    assert sample(after, "customshop_queue_depth") == 0  # embedded: the in-process queue is idle


async def start_design(client: Client, product_id: str) -> tuple[str, dict[str, str]]:
    started = await client.post("/sessions", json={"product_id": product_id})
    assert started.status_code == 201, started.text
    client.cookies.clear()
    key = {"X-Session-Key": started.json()["session_key"]}
    session = started.json()["session_id"]
    design = {"front_text": {"text": f"Hi {secrets.token_hex(2)}", "font": "Sans"}, "size": "L"}
    changed = await client.patch(f"/sessions/{session}", json={"options": design}, headers=key)
    assert changed.status_code == 200, changed.text
    return session, key


async def demo_tee(container: Container) -> str:
    created = await seed_demo_catalog(container.use_cases.catalog())
    return next(product.id for product in created if product.slug == "classic-tee")


async def test_preview_renders_are_counted(client: Client, container: Container) -> None:
    tee = await demo_tee(container)
    before = await scrape(client)
    session, key = await start_design(client, tee)
    queued = await client.post(f"/sessions/{session}/preview", headers=key)
    assert queued.status_code == 202, queued.text
    assert (await wait_for_preview(client, queued.json()["job_id"]))["status"] == "done"
    after = await scrape(client)
    done = {"kind": "preview", "outcome": "succeeded"}
    assert (
        sample(after, "customshop_render_jobs_total", **done)
        - sample(before, "customshop_render_jobs_total", **done)
        == 1
    )


class BrokenRenderer:
    def render(self, request: RenderRequest) -> bytes:
        raise MemoryError("the renderer ran out of memory")


async def test_failed_preview_renders_are_counted_as_retried_then_failed(
    client: Client, container: Container
) -> None:
    container.adapters.renderer.override(providers.Object(BrokenRenderer()))
    tee = await demo_tee(container)
    before = await scrape(client)
    session, key = await start_design(client, tee)
    queued = await client.post(f"/sessions/{session}/preview", headers=key)
    assert (await wait_for_preview(client, queued.json()["job_id"]))["status"] == "failed"
    after = await scrape(client)
    moved = {
        outcome: sample(after, "customshop_render_jobs_total", kind="preview", outcome=outcome)
        - sample(before, "customshop_render_jobs_total", kind="preview", outcome=outcome)
        for outcome in ("succeeded", "retried", "failed")
    }
    assert moved == {"succeeded": 0, "retried": 2, "failed": 1}  # three attempts in all


async def test_print_renders_and_deliveries_given_up_are_counted(
    client: Client,
    container: Container,
    catalog: dict[str, str],
    admin: dict[str, str],
    partner: WebhookReceiver,
    fulfiller: WebhookReceiver,
) -> None:
    before = await scrape(client)
    await subscribe(client, admin, partner.url, "order.paid")
    partner.answer_with(500, 503)  # both attempts of the two-step schedule fail
    fulfiller.answer_with(410)  # the fulfillment partner is gone
    await paid_order(client, catalog)
    await pump(container)
    assert len(partner.requests) == 2
    await render_prints(container)  # the print file, then the order to the fulfillment endpoint
    assert len(fulfiller.requests) == 1
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("customshop_render_jobs_total", kind="print", outcome="succeeded") == 1
    assert moved("customshop_failed_webhooks_total", target="partner", reason="exhausted") == 1
    assert moved("customshop_failed_webhooks_total", target="fulfillment", reason="gone") == 1
    assert moved("customshop_failed_webhooks_total", target="partner", reason="gone") == 0
    logs = (await client.get("/webhooklogs", headers=admin)).json()["items"]
    assert sorted(log["response_status"] for log in logs) == [410, 500, 503]


# -- real processes --------------------------------------------------------------------------------


def fetch(url: str, path: str, **kwargs: Any) -> tuple[httpx.Response, int | None]:
    """``GET url+path`` over a connection of its own; the answer and the pid of the process that
    accepted the connection (None when the pid could not be told)."""
    server = kwargs.pop("server", None)
    with httpx.Client(base_url=url, timeout=10) as one_connection:
        response = one_connection.get(path, **kwargs)
        pid = answering_pid(server, response) if server is not None else None
    return response, pid


def scrape_server(server: Server) -> tuple[Samples, int | None]:
    response, pid = fetch(server.url, "/metrics", server=server)
    assert response.status_code == 200, response.text
    return parse(response.text), pid


def test_two_workers_count_into_one_sum(
    cli_env: dict[str, str], tmp_path: Path, fresh_postgres_url: str
) -> None:
    env = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url}
    ok("db", "upgrade", env=env, cwd=tmp_path)
    live = {"method": "GET", "route": "/health/live", "status": "200"}
    with serving("serve", "--workers", "2", env=env, cwd=tmp_path) as server:
        time.sleep(FLUSH_SECONDS + 0.5)  # the requests of wait_live, flushed by whichever worker had them
        earlier = sample(scrape_server(server)[0], "customshop_http_requests_total", **live)
        # Requests over fresh connections until both workers have answered a fair share.
        by_pid: dict[int, int] = {}
        deadline = time.monotonic() + 30
        while len(by_pid) < 2 or min(by_pid.values()) < 5 or sum(by_pid.values()) < 30:
            assert time.monotonic() < deadline, f"the workers answered {by_pid}:\n{server.output}"
            response, pid = fetch(server.url, "/health/live", server=server)
            assert response.status_code == 200 and pid is not None
            by_pid[pid] = by_pid.get(pid, 0) + 1
        sent = earlier + sum(by_pid.values())

        # Whichever worker answers the scrape, it reports every request, both workers' together:
        # its own at once, the other's once that one flushed them (every FLUSH_SECONDS).
        time.sleep(FLUSH_SECONDS + 0.5)
        scraped_by: set[int | None] = set()
        deadline = time.monotonic() + 30
        while scraped_by != set(by_pid):
            assert time.monotonic() < deadline, f"scrapes answered by {scraped_by} only"
            samples, pid = scrape_server(server)
            scraped_by.add(pid)
            assert sample(samples, "customshop_http_requests_total", **live) == sent
            assert sample(samples, "customshop_http_request_duration_seconds_count", **live) == sent
        files = {path.name for path in (tmp_path / "var" / "metrics").glob("*.db")}
        assert {f"counter_{pid}.db" for pid in by_pid} <= files, files


def make_product(http: httpx.Client, admin: dict[str, str]) -> str:
    product = http.post("/products", json={"name": "Name tag", "base_price": 500}, headers=admin)
    assert product.status_code == 201, product.text
    template = http.post(
        "/templates",
        json={"product_id": product.json()["id"], "version": 1, "definition": TEXT_TEMPLATE},
        headers=admin,
    )
    assert template.status_code == 201, template.text
    return str(product.json()["id"])


def test_a_workers_renders_and_the_redis_queue_depth_show_in_serve_metrics(
    cli_env: dict[str, str], tmp_path: Path, fresh_postgres_url: str, redis_url: str
) -> None:
    env = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url, "CUSTOMSHOP_REDIS_URL": redis_url}
    ok("db", "upgrade", env=env, cwd=tmp_path)
    admin = {"X-API-Key": create_key(env, tmp_path, "catalog:write")}
    with (
        serving("serve", env=env, cwd=tmp_path) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        product = make_product(http, admin)
        session = http.post("/sessions", json={"product_id": product}).json()
        key = {"X-Session-Key": session["session_key"]}
        http.cookies.clear()
        patched = http.patch(
            f"/sessions/{session['session_id']}", json={"options": {"name": {"text": "Ada"}}}, headers=key
        )
        assert patched.status_code == 200, patched.text
        queued = http.post(f"/sessions/{session['session_id']}/preview", headers=key)
        assert queued.status_code == 202, queued.text
        waiting, _ = scrape_server(server)
        assert sample(waiting, "customshop_queue_depth") == 1  # in Redis, no worker yet

        # A worker process renders it and counts into the same directory as the server.
        ran = run("worker", "--burst", env=env, cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr
        job = http.get(f"/previews/{queued.json()['job_id']}").json()
        assert job["status"] == "done", job
        done, _ = scrape_server(server)
        assert sample(done, "customshop_render_jobs_total", kind="preview", outcome="succeeded") == 1
        assert sample(done, "customshop_queue_depth") == 0
        worker_lines = [json.loads(line) for line in ran.stderr.splitlines() if line.strip()]
        assert any(line["logger"] == "customshop.worker" for line in worker_lines)


def wait_ready(url: str, status: int, timeout: float = 20) -> httpx.Response:
    """Poll ``/health/ready`` until it answers ``status``; that answer."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{url}/health/ready", timeout=10)
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            return response
        time.sleep(0.2)


def assert_unreachable(url: str, detail: str) -> None:
    response = wait_ready(url, 503)
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert (problem["status"], problem["detail"]) == (503, detail)
    assert response.headers["retry-after"] == "5"
    assert httpx.get(f"{url}/health/live", timeout=10).status_code == 200  # alive all the same


def test_readiness_follows_postgres_and_redis(cli_env: dict[str, str], tmp_path: Path) -> None:
    with private_postgres() as postgres, private_redis() as redis:
        env = cli_env | {"CUSTOMSHOP_DATABASE_URL": postgres.url, "CUSTOMSHOP_REDIS_URL": redis.url}
        ok("db", "upgrade", env=env, cwd=tmp_path)
        with serving("serve", env=env, cwd=tmp_path) as server:
            assert wait_ready(server.url, 200).json() == {"status": "ok"}

            postgres.stop()
            assert_unreachable(server.url, "the database is unreachable")
            postgres.start()
            wait_ready(server.url, 200)

            redis.stop()
            assert_unreachable(server.url, "the job queue is unreachable")
            postgres.stop()
            assert_unreachable(server.url, "the database and the job queue are unreachable")
            redis.start()
            assert_unreachable(server.url, "the database is unreachable")
            postgres.start()
            assert wait_ready(server.url, 200).json() == {"status": "ok"}


def test_logs_are_json_lines_with_request_ids_and_no_secret(
    cli_env: dict[str, str], tmp_path: Path, fresh_postgres_url: str
) -> None:
    database_password = "db-" + secrets.token_hex(8)
    smtp_password = "smtp-" + secrets.token_hex(8)
    stripe_key = "sk_test_" + secrets.token_hex(12)
    stripe_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    # PostgreSQL trusts local connections here: the password travels, and is never checked.
    url = fresh_postgres_url.replace("://postgres@", f"://postgres:{database_password}@")
    env = cli_env | {
        "CUSTOMSHOP_DATABASE_URL": url,
        "CUSTOMSHOP_LOG_LEVEL": "DEBUG",
        "CUSTOMSHOP_SMTP_URL": f"smtp://mailer:{smtp_password}@127.0.0.1:1",
        "CUSTOMSHOP_FULFILLMENT_URL": "http://127.0.0.1:1/orders",
        "CUSTOMSHOP_FULFILLMENT_SECRET": FULFILLMENT_SECRET,
        "CUSTOMSHOP_STRIPE_SECRET_KEY": stripe_key,
        "CUSTOMSHOP_STRIPE_WEBHOOK_SECRET": stripe_secret,
    }
    ok("db", "upgrade", env=env, cwd=tmp_path)
    api_key = create_key(env, tmp_path, "catalog:write")
    order_token = "otk_" + secrets.token_urlsafe(24)
    with (
        serving("serve", env=env, cwd=tmp_path) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        chosen = http.get("/products", headers={"X-Request-ID": "probe-0001"})
        assert chosen.headers["x-request-id"] == "probe-0001"
        insane = http.get("/products", headers={"X-Request-ID": "no good\tid"})
        generated = insane.headers["x-request-id"]
        assert len(generated) == 32 and int(generated, 16) >= 0
        made = http.post("/products", json={"name": "Mug", "base_price": 900}, headers={"X-API-Key": api_key})
        assert made.status_code == 201, made.text
        assert http.get("/orders/nope", params={"token": order_token}).status_code == 404
        refused = http.post(
            "/webhooks/stripe",
            content=b"{}",
            headers={
                "Stripe-Signature": f"t=1,v1={secrets.token_hex(32)}",
                "X-Request-ID": "probe-0002",
                "Content-Type": "application/json",
            },
        )
        assert refused.status_code == 400, refused.text
    output = server.stdout_path.read_text() + server.stderr_path.read_text()
    for secret in (database_password, smtp_password, stripe_key, stripe_secret, FULFILLMENT_SECRET):
        assert secret not in output
    for secret in (api_key, order_token):
        assert secret not in output

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    assert any(f"postgres:***@{url.split('@', 1)[1]}" in line["message"] for line in lines)
    assert any("worker-1" in line["message"] for line in lines)  # granian's own lines too

    access = [line for line in lines if line["logger"] == "customshop.access"]
    (probe,) = [line for line in access if line["request_id"] == "probe-0001"]
    assert (probe["method"], probe["route"], probe["status"]) == ("GET", "/products", 200)
    assert isinstance(probe["duration_ms"], float) and probe["duration_ms"] >= 0
    assert [line["route"] for line in access if line["request_id"] == generated] == ["/products"]
    routes = {line["route"] for line in access}
    assert "/orders/{order_id}" in routes and "/orders/nope" not in routes
    # What the request logged on its way carries its id too.
    during = [line for line in lines if line["request_id"] == "probe-0002"]
    assert {line["logger"] for line in during} >= {"customshop.http", "customshop.access"}, during
