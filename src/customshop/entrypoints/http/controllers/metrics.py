"""Prometheus metrics for operators' scrapers."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from customshop.adapters.metrics.prometheus import PrometheusMetrics

#: Prometheus's text format; Litestar adds the ``charset=utf-8`` of every ``text/`` type.
MEDIA_TYPE = "text/plain; version=0.0.4"


class MetricsController(Controller):
    path = "/metrics"
    tags = ("operations",)

    @get("/", operation_id="metrics", media_type=MEDIA_TYPE)
    async def metrics(self, metrics: NamedDependency[PrometheusMetrics]) -> Response[bytes]:
        """Prometheus's text format: requests and their latency by route template and status, 5xx
        answers, rendering attempts by kind and outcome, webhook deliveries given up, and the job
        queue's depth. With several worker processes (``serve --workers``, ``customshop worker``
        on the same host) every figure is the sum over all of them, whichever process answers."""
        metrics.flush_requests()  # this process's latest requests too (on the event loop's thread)
        body, _ = await asyncio.to_thread(metrics.exposition)
        return Response(body, media_type=MEDIA_TYPE)
