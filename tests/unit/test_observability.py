"""The request middleware on a small Litestar app: route templates (never paths) as labels, one label
for unmatched routes, 5xx counted, request ids taken when sane and echoed; and the Prometheus
adapter's exposition in one process."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.adapters.metrics.prometheus import LATENCY_BUCKETS, PrometheusMetrics
from customshop.entrypoints.http.observability import (
    UNMATCHED_ROUTE,
    ObservabilityMiddleware,
    incoming_request_id,
    method_label,
    new_request_id,
    route_label,
)
from customshop.entrypoints.logs import REQUEST_ID


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(exposition: bytes, name: str, **labels: str) -> float:
    return samples(exposition.decode()).get((name, frozenset(labels.items())), 0.0)


@pytest.mark.parametrize(
    ("scope", "label"),
    [
        ({"path": "/orders/01a1fd15", "path_template": "/orders/{order_id}"}, "/orders/{order_id}"),
        ({"path": "/products", "path_template": "/products"}, "/products"),
        ({"path": "/no/such/thing"}, UNMATCHED_ROUTE),
        ({"path": "/x", "path_template": ""}, UNMATCHED_ROUTE),
        ({"path": "/x", "path_template": None}, UNMATCHED_ROUTE),
    ],
)
def test_the_route_label_is_the_template_or_one_label_for_unmatched(
    scope: dict[str, Any], label: str
) -> None:
    assert route_label(scope) == label


def test_method_labels_are_a_fixed_set() -> None:
    assert [method_label(m) for m in ("GET", "POST", "DELETE", "PROPFIND", "get")] == [
        "GET",
        "POST",
        "DELETE",
        "OTHER",
        "OTHER",
    ]


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        (b"abc-123", "abc-123"),
        (b"01a1fd15-40f0-72b6-9362-6ace54e03a2c", "01a1fd15-40f0-72b6-9362-6ace54e03a2c"),
        (b"trace:span.1/2+3=", "trace:span.1/2+3="),
        (b"a" * 128, "a" * 128),
        (b"a" * 129, None),
        (b"", None),
        (b"-leading-dash", None),
        (b"has space", None),
        (b"line\nbreak", None),
        (b'quote"s', None),
        ("ünïcode".encode(), None),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_sane(header: bytes, kept: str | None) -> None:
    assert incoming_request_id([(b"host", b"shop"), (b"x-request-id", header)]) == kept


def test_no_request_id_header_is_none() -> None:
    assert incoming_request_id([(b"host", b"shop")]) is None


# -- the middleware on a small app -----------------------------------------------------------------


class Observed:
    """An ``observe`` that records what it is told."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []

    def __call__(self, method: str, route: str, status: int, seconds: float) -> None:
        assert 0 <= seconds < 10
        self.requests.append((method, route, status))


seen_ids: list[str | None] = []
log = logging.getLogger("customshop.test.handler")


@get("/items/{item_id:str}")
async def item(item_id: FromPath[str]) -> dict[str, str]:
    seen_ids.append(REQUEST_ID.get())
    log.warning("looking at %s", item_id)
    return {"id": item_id}


@get("/boom")
async def boom() -> None:
    raise RuntimeError("the handler broke")


def observed_app(observe: Any) -> Litestar:
    app = Litestar([item, boom], logging_config=None)
    app.asgi_handler = ObservabilityMiddleware(app.asgi_handler, observe)
    return app


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """The records of the handler's logger, as they are emitted."""
    caught: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record.seen_request_id = REQUEST_ID.get()
            caught.append(record)

    handler = Keep()
    log.addHandler(handler)
    yield caught
    log.removeHandler(handler)


async def test_requests_are_observed_by_route_template_and_status(records: list[logging.LogRecord]) -> None:
    observe = Observed()
    async with AsyncTestClient(observed_app(observe)) as client:
        assert (await client.get("/items/a1")).status_code == 200
        assert (await client.get("/items/b2")).status_code == 200
        assert (await client.get("/not/a/route")).status_code == 404
        assert (await client.post("/items/a1")).status_code == 405
        assert (await client.get("/boom")).status_code == 500
    assert observe.requests == [
        ("GET", "/items/{item_id}", 200),
        ("GET", "/items/{item_id}", 200),
        ("GET", UNMATCHED_ROUTE, 404),
        ("POST", UNMATCHED_ROUTE, 405),
        ("GET", "/boom", 500),
    ]


async def test_the_request_id_is_echoed_and_set_while_the_request_is_handled(
    records: list[logging.LogRecord],
) -> None:
    seen_ids.clear()
    async with AsyncTestClient(observed_app(Observed())) as client:
        given = await client.get("/items/a1", headers={"X-Request-ID": "client-chosen-1"})
        made = await client.get("/items/a2")
        replaced = await client.get("/items/a3", headers={"X-Request-ID": "x" * 500})
        unmatched = await client.get("/nowhere", headers={"X-Request-ID": "lost-1"})
    assert given.headers["x-request-id"] == "client-chosen-1"
    generated = made.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert replaced.headers["x-request-id"] != "x" * 500 and len(replaced.headers["x-request-id"]) == 32
    assert unmatched.headers["x-request-id"] == "lost-1"  # every answer carries it, errors too
    assert seen_ids == ["client-chosen-1", generated, replaced.headers["x-request-id"]]
    assert [r.seen_request_id for r in records] == seen_ids  # type: ignore[attr-defined]
    assert REQUEST_ID.get() is None  # nothing leaks out of the request


async def test_prometheus_counts_requests_latency_and_server_errors() -> None:
    metrics = PrometheusMetrics()
    before, _ = metrics.exposition()
    async with AsyncTestClient(observed_app(metrics.observe_request)) as client:
        for path in ("/items/one", "/items/two", "/items/three", "/boom", "/nope/1", "/nope/2"):
            await client.get(path)
    unflushed, _ = metrics.exposition()
    metrics.flush_requests()
    after, content_type = metrics.exposition()
    assert unflushed == before, "requests reach the instruments when flushed"
    assert content_type.startswith("text/plain; version=0.0.4")

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    items = {"method": "GET", "route": "/items/{item_id}", "status": "200"}
    assert moved("customshop_http_requests_total", **items) == 3
    assert moved("customshop_http_request_duration_seconds_count", **items) == 3
    assert moved("customshop_http_request_duration_seconds_bucket", **items, le="+Inf") == 3
    assert moved("customshop_http_requests_total", method="GET", route=UNMATCHED_ROUTE, status="404") == 2
    broken = {"method": "GET", "route": "/boom", "status": "500"}
    assert moved("customshop_http_server_errors_total", **broken) == 1
    assert moved("customshop_http_server_errors_total", **items) == 0
    text = after.decode()
    assert "/items/one" not in text and "/nope/1" not in text  # never a raw path


def test_outcomes_are_counted_and_every_known_series_starts_at_zero() -> None:
    metrics = PrometheusMetrics()
    before, _ = metrics.exposition()
    retried = ("customshop_render_jobs_total", frozenset({("kind", "print"), ("outcome", "retried")}))
    assert retried in samples(before.decode())
    metrics.render_finished("preview", "succeeded")
    metrics.render_finished("print", "retried")
    metrics.render_finished("print", "retried")
    metrics.webhook_given_up("fulfillment", "gone")
    after, _ = metrics.exposition()
    moved = {
        labels: value(after, "customshop_render_jobs_total", kind=labels[0], outcome=labels[1])
        - value(before, "customshop_render_jobs_total", kind=labels[0], outcome=labels[1])
        for labels in (("preview", "succeeded"), ("print", "retried"), ("print", "failed"))
    }
    assert moved == {("preview", "succeeded"): 1, ("print", "retried"): 2, ("print", "failed"): 0}
    gone = {"target": "fulfillment", "reason": "gone"}
    assert (
        value(after, "customshop_failed_webhooks_total", **gone)
        - value(before, "customshop_failed_webhooks_total", **gone)
        == 1
    )


def test_the_queue_depth_is_read_from_the_shared_queue_when_scraped() -> None:
    depth = [7]

    def read() -> int:
        if depth[0] < 0:
            raise ConnectionError("redis is down")
        return depth[0]

    metrics = PrometheusMetrics(queue_depth=read)
    assert value(metrics.exposition()[0], "customshop_queue_depth") == 7
    depth[0] = 2
    assert value(metrics.exposition()[0], "customshop_queue_depth") == 2
    depth[0] = -1
    down, _ = metrics.exposition()  # the scrape still answers, without the depth
    assert ("customshop_queue_depth", frozenset()) not in samples(down.decode())
    assert ("customshop_render_jobs_total", frozenset({("kind", "preview"), ("outcome", "failed")})) in (
        samples(down.decode())
    )


async def test_the_in_process_queue_reports_its_depth_as_jobs_come_and_go() -> None:
    metrics = PrometheusMetrics()
    release = asyncio.Event()
    depths: list[int] = []

    async def dispatch(job: str, payload: Any) -> None:
        await release.wait()

    def on_depth(count: int) -> None:
        depths.append(count)
        metrics.jobs_pending(count)

    queue = InProcessJobQueue(dispatch, on_depth=on_depth)
    await queue.enqueue("render_preview", {}, job_id="a")
    await queue.enqueue("render_preview", {}, job_id="b")
    assert queue.depth == 2
    assert value(metrics.exposition()[0], "customshop_queue_depth") == 2
    release.set()
    await queue.drain()
    assert depths == [1, 2, 1, 0]
    assert value(metrics.exposition()[0], "customshop_queue_depth") == 0


@given(st.lists(st.floats(0, 20, allow_nan=False), min_size=1, max_size=50))
def test_flushed_requests_are_what_observing_each_one_would_record(durations: list[float]) -> None:
    metrics = PrometheusMetrics()
    labels = {"method": "PATCH", "route": "/flushed/{n}", "status": "503"}
    before, _ = metrics.exposition()
    for seconds in durations:
        metrics.observe_request("PATCH", "/flushed/{n}", 503, seconds)
    metrics.flush_requests()
    after, _ = metrics.exposition()

    reference = CollectorRegistry()
    histogram = Histogram("reference", "one observe() a request", buckets=LATENCY_BUCKETS, registry=reference)
    for seconds in durations:
        histogram.observe(seconds)
    expected = generate_latest(reference).decode()

    def moved(name: str, **extra: str) -> float:
        return value(after, name, **labels, **extra) - value(before, name, **labels, **extra)

    assert moved("customshop_http_requests_total") == len(durations)
    assert moved("customshop_http_server_errors_total") == len(durations)
    assert moved("customshop_http_request_duration_seconds_count") == len(durations)
    assert moved("customshop_http_request_duration_seconds_sum") == pytest.approx(sum(durations))
    for bound in [*(str(float(b)) for b in LATENCY_BUCKETS), "+Inf"]:
        assert moved("customshop_http_request_duration_seconds_bucket", le=bound) == value(
            expected.encode(), "reference_bucket", le=bound
        ), bound


def test_request_ids_are_unique_in_a_process_and_across_forked_workers() -> None:
    made = [new_request_id() for _ in range(1000)]
    assert len(set(made)) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in made)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a forked worker, as a server's workers are
        os.write(write, new_request_id().encode("ascii"))
        os._exit(0)
    os.close(write)
    in_child = os.read(read, 64).decode("ascii")
    os.close(read)
    os.waitpid(child, 0)
    assert in_child[:16] != made[0][:16], "a forked process counts under a prefix of its own"
    assert in_child not in made
