"""The bare ``/ping`` app with customshop's observability middleware around it, as ``create_app``
puts it: request ids, Prometheus counters and latency histogram in multiprocess mode (each worker
process counts into ``BENCH_METRICS_DIR``), and customshop's logging at ``BENCH_LOG_LEVEL``
(``WARNING`` as in ``bench/run.py``; ``INFO`` writes the access log line of every request)."""

from __future__ import annotations

import os
from pathlib import Path

from apps.ping import app
from customshop.adapters.metrics.prometheus import PrometheusMetrics, use_multiprocess_directory
from customshop.entrypoints.http.observability import ObservabilityMiddleware
from customshop.entrypoints.logs import configure_logging

configure_logging(os.environ.get("BENCH_LOG_LEVEL", "WARNING"), "json")
use_multiprocess_directory(Path(os.environ["BENCH_METRICS_DIR"]))
app.asgi_handler = ObservabilityMiddleware(app.asgi_handler, PrometheusMetrics().observe_request)

__all__ = ["app"]
