"""What observing a request costs: the observability middleware (request id, Prometheus counters and
latency histogram in multiprocess mode, the access log's level check), measured two ways.

``.venv/bin/python bench/observability.py [REQUESTS]``: the middleware around a trivial ASGI app
against the bare app, in one process with no server or network in between. Prints microseconds per
request of each, their difference (the middleware's own cost) and, for scale, what that difference
is of a request at the benchmark's ``/ping`` and cached ``GET /products`` rates per worker.

``.venv/bin/python bench/observability.py --http``: the bare Litestar ``/ping`` app
(``apps/ping.py``) and the same app with the middleware and customshop's logging
(``apps/ping_observed.py``; ``BENCH_LOG_LEVEL=INFO`` adds the access log line of every request),
each served and driven with wrk exactly as ``bench/run.py`` does (``BENCH_WORKERS``,
``BENCH_SECONDS``...), twice each, alternating; prints requests per second and the observed app's
share of the bare one's. Run it from ``bench/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from customshop.adapters.metrics.prometheus import PrometheusMetrics, use_multiprocess_directory
from customshop.entrypoints.http.observability import ObservabilityMiddleware
from customshop.entrypoints.logs import configure_logging, stop_logging

ROUNDS = 5
#: Requests per second of one worker in bench/run.py's last run (docs/performance.md): /ping and
#: cached GET /products, 2 workers.
PER_WORKER = {"/ping": 24_037 / 2, "cached GET /products": 22_975 / 2}

HEADERS = [(b"content-type", b"application/json")]


async def trivial(scope: Any, receive: Any, send: Any) -> None:
    """Answers like Litestar: the route template in the scope, new messages for each response."""
    scope["path_template"] = "/ping"
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}', "more_body": False})


async def receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    return None


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/ping",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
    }


async def per_request(app: Any, requests: int) -> float:
    """The best of ROUNDS runs, in microseconds per request."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(requests):
            await app(scope(), receive, send)
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    return best


async def main(requests: int, metrics_dir: Path, sink: TextIO) -> dict[str, float]:
    """Microseconds per request of the bare app, and of each piece of the observation on top: the
    request id and metrics (access log off), then the access line as well (INFO, the default; its
    lines go to ``sink``). Prints them, and returns them."""
    use_multiprocess_directory(metrics_dir)
    metrics = PrometheusMetrics()
    observed = ObservabilityMiddleware(trivial, metrics.observe_request)
    await per_request(observed, 1000)  # warm up: the series are made on first use
    bare = await per_request(trivial, requests)
    quiet = await per_request(observed, requests)  # the root logger's default level: WARNING
    with contextlib.redirect_stderr(sink):
        configure_logging("INFO", "json")
        try:
            await per_request(observed, 1000)
            logged = await per_request(observed, requests)
        finally:
            stop_logging()
    metrics.flush_requests()
    costs = {"bare": bare, "ids and metrics": quiet - bare, "access line": logged - quiet}
    print(f"bare app                      {bare:6.2f} µs/request")
    print(f"request id and metrics        {quiet - bare:6.2f} µs/request")
    print(f"the access line (INFO)        {logged - quiet:6.2f} µs/request")
    cost = logged - bare
    for name, rate in PER_WORKER.items():
        print(f"  all of it = {cost / (1e6 / rate):.1%} of a {name} request at {rate:,.0f} req/s per worker")
    return costs


def over_http(metrics_dir: Path) -> None:
    from run import reference_server, wrk  # the harness of bench/run.py

    rates: dict[str, list[float]] = {"bare": [], "observed": []}
    for _ in range(2):
        for name, target, env in (
            ("bare", "apps.ping:app", {}),
            ("observed", "apps.ping_observed:app", {"BENCH_METRICS_DIR": str(metrics_dir)}),
        ):
            server = reference_server(target, **env)
            try:
                server.wait_ready("/ping")
                url = f"http://127.0.0.1:{server.port}/ping"
                rates[name].append(wrk(f"ping {name}", url, "report.lua").rps)
            finally:
                server.stop()
    bare, observed = (sum(rates[name]) / len(rates[name]) for name in ("bare", "observed"))
    print(f"bare /ping {bare:,.0f} req/s, observed {observed:,.0f} req/s: {observed / bare:.1%} of bare")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="customshop-metrics-") as directory:
        if sys.argv[1:] == ["--http"]:
            over_http(Path(directory))
        else:
            requests = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
            with open(os.devnull, "w") as devnull:
                figures = asyncio.run(main(requests, Path(directory), devnull))
            print(json.dumps(figures))
