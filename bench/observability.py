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
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from customshop.adapters.metrics.prometheus import PrometheusMetrics, use_multiprocess_directory
from customshop.entrypoints.http.observability import ObservabilityMiddleware

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


async def main(requests: int, metrics_dir: Path) -> None:
    use_multiprocess_directory(metrics_dir)
    observed = ObservabilityMiddleware(trivial, PrometheusMetrics().observe_request)
    await per_request(observed, 1000)  # warm up: the series are made on first use
    bare = await per_request(trivial, requests)
    wrapped = await per_request(observed, requests)
    cost = wrapped - bare
    print(f"bare app            {bare:6.2f} µs/request")
    print(f"with observability  {wrapped:6.2f} µs/request")
    print(f"middleware's cost   {cost:6.2f} µs/request")
    for name, rate in PER_WORKER.items():
        print(f"  = {cost / (1e6 / rate):.1%} of a {name} request at {rate:,.0f} req/s per worker")


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
            asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000, Path(directory)))
