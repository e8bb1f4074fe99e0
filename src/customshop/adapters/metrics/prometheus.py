"""Prometheus metrics (prometheus-client), added up over every process of a host.

``customshop serve --workers N`` answers from N processes and ``customshop worker`` processes make
the renders and deliveries, so a count kept in one process's memory would show whatever share of
the truth the process that happens to answer the scrape saw. prometheus-client's *multiprocess
mode* fixes that: each process writes its values into memory-mapped files of its own
(``counter_<pid>.db``, ``histogram_<pid>.db``...) in one directory, and a scrape, in whichever
process, adds up the files of all of them. :func:`use_multiprocess_directory` puts a process in that
mode; ``serve`` and ``worker`` call it before anything is counted, and the processes they start
inherit it. Without it (tests, one-shot commands) each process counts in its own memory.

The instruments are made once per process (:func:`_instruments`), however many containers the
process builds: in multiprocess mode two instruments of one name in one process would overwrite
each other's file entries.
"""

from __future__ import annotations

import functools
import logging
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from customshop.application.ports import GiveUpReason, RenderKind, RenderOutcome, WebhookTarget

log = logging.getLogger(__name__)

#: The variable prometheus-client reads to find the directory of multiprocess mode.
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
#: The media type of the text exposition format every Prometheus version scrapes (UTF-8).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
#: Request latency buckets, in seconds: a cached read takes about a millisecond, a checkout tens.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: How often a serving process hands the requests it observed to its instruments (at most this late
#: in a scrape answered by another process).
FLUSH_SECONDS = 1.0

QUEUE_DEPTH = "customshop_queue_depth"
QUEUE_DEPTH_HELP = (
    "Jobs waiting: the length of the rq queue on Redis, or the jobs queued or running in the serving "
    "processes (embedded), summed over them"
)

RENDER_KINDS: tuple[RenderKind, ...] = ("preview", "print")
RENDER_OUTCOMES: tuple[RenderOutcome, ...] = ("succeeded", "failed", "retried")
WEBHOOK_TARGETS: tuple[WebhookTarget, ...] = ("partner", "fulfillment")
GIVE_UP_REASONS: tuple[GiveUpReason, ...] = ("exhausted", "gone", "disabled")


@dataclass(frozen=True, slots=True)
class _Instruments:
    requests: Counter
    latency: Histogram
    server_errors: Counter
    render_jobs: Counter
    failed_webhooks: Counter

    @property
    def collectors(self) -> tuple[Counter | Histogram, ...]:
        return (self.requests, self.latency, self.server_errors, self.render_jobs, self.failed_webhooks)


@functools.cache
def _instruments() -> _Instruments:
    """This process's instruments, made on first use. They belong to no registry: each scrape
    builds one of its own."""
    http = ("method", "route", "status")
    instruments = _Instruments(
        requests=Counter(
            "customshop_http_requests",
            "HTTP requests answered, by method, route template and status",
            http,
            registry=None,
        ),
        latency=Histogram(
            "customshop_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method, route template and status",
            http,
            buckets=LATENCY_BUCKETS,
            registry=None,
        ),
        server_errors=Counter(
            "customshop_http_server_errors",
            "HTTP requests answered with a 5xx status, by method, route template and status",
            http,
            registry=None,
        ),
        render_jobs=Counter(
            "customshop_render_jobs",
            "Rendering attempts by kind (preview, print) and outcome (succeeded, failed, retried)",
            ("kind", "outcome"),
            registry=None,
        ),
        failed_webhooks=Counter(
            "customshop_failed_webhooks",
            "Webhook deliveries given up, by target (partner, fulfillment) and reason "
            "(exhausted: the retry schedule ran out; gone: answered 410; disabled: endpoint disabled)",
            ("target", "reason"),
            registry=None,
        ),
    )
    # Every known series from zero, so that rates and alerts work before the first event.
    for kind in RENDER_KINDS:
        for outcome in RENDER_OUTCOMES:
            instruments.render_jobs.labels(kind, outcome)
    for target in WEBHOOK_TARGETS:
        for reason in GIVE_UP_REASONS:
            instruments.failed_webhooks.labels(target, reason)
    return instruments


@functools.cache
def _pending_jobs() -> Gauge:
    """The depth of in-process job queues: each process its own, the scrape their sum over the
    processes alive (``livesum``)."""
    return Gauge(QUEUE_DEPTH, QUEUE_DEPTH_HELP, multiprocess_mode="livesum", registry=None)


# -- multiprocess mode -----------------------------------------------------------------------------


def multiprocess_directory() -> Path | None:
    """The directory this process counts into, or None when it counts in its own memory."""
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    if directory and getattr(values.ValueClass, "_multiprocess", False):
        return Path(directory)
    return None


def use_multiprocess_directory(directory: Path) -> None:
    """Count into ``directory`` from now on, in this process and in the processes it starts.

    Creates the directory, and removes the files of processes that are no longer running (a
    previous run's: counters start again from zero, which Prometheus reads as a restart). The files
    of running processes stay: a worker that runs on while ``serve`` restarts keeps its counts.
    Processes that share a directory must share a process id space (one host, one container).

    Raises:
        RuntimeError: this process has counted something already, in its own memory.
        OSError: the directory cannot be created or cleaned.
    """
    if _instruments.cache_info().currsize or _pending_jobs.cache_info().currsize:
        raise RuntimeError("metrics were recorded before the multiprocess directory was chosen")
    directory.mkdir(parents=True, exist_ok=True)
    remove_files_of_dead_processes(directory)
    os.environ[MULTIPROCESS_VARIABLE] = str(directory)
    if not getattr(values.ValueClass, "_multiprocess", False):
        # prometheus-client picks its value class when it is first imported, which may have been
        # before the variable was set: pick again, the way it does.
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def remove_files_of_dead_processes(directory: Path) -> list[Path]:
    """Delete the metric files (``<kind>_<pid>.db``) of processes that are not running; returns them."""
    removed = []
    for path in directory.glob("*.db"):
        pid = _pid_of(path)
        if pid is not None and not _running(pid):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def forget_live_values(directory: Path, pid: int | None = None) -> None:
    """Drop the ``live*`` gauge values (the job queue depth) of process ``pid`` (default: this one),
    as a process does when it stops; a scrape does it too for processes that died without."""
    mark_process_dead(os.getpid() if pid is None else pid, str(directory))  # type: ignore[no-untyped-call]


def _forget_dead_live_values(directory: Path) -> None:
    for path in directory.glob("gauge_live*.db"):
        pid = _pid_of(path)
        if pid is not None and not _running(pid):
            forget_live_values(directory, pid)


def _pid_of(path: Path) -> int | None:
    pid = path.stem.rpartition("_")[2]
    return int(pid) if pid.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


# -- the adapter -----------------------------------------------------------------------------------


class _Series(NamedTuple):
    """The instruments of one (method, route, status), looked up once."""

    requests: Counter
    latency: Histogram
    server_errors: Counter | None


class _QueueDepth:
    """A collector that reads a shared queue's depth when scraped."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        try:
            depth = self._read()
        except Exception as exc:  # the queue's backend is down: the scrape still answers
            log.warning("the job queue's depth is unknown: %s", exc)
            return []
        return [GaugeMetricFamily(QUEUE_DEPTH, QUEUE_DEPTH_HELP, value=depth)]


class PrometheusMetrics:
    """Implements ``Metrics`` (render and delivery outcomes) with Prometheus counters; also counts
    HTTP requests (:meth:`observe_request`), keeps the job queue's depth (:meth:`jobs_pending`), and
    writes the text exposition of it all (:meth:`exposition`).

    Recording never raises: a failure to record is logged once and the event goes uncounted.

    Args:
        queue_depth: reads how many jobs wait in a queue shared by every process (rq on Redis), when
            scraped. Without it the depth is what :meth:`jobs_pending` reports, summed over the
            processes alive.
    """

    def __init__(self, queue_depth: Callable[[], int] | None = None) -> None:
        self._queue_depth = queue_depth
        self._instruments = _instruments()
        self._series: dict[tuple[str, str, int], _Series] = {}
        #: (method, route, status) -> [requests, seconds, requests per latency bucket...] observed
        #: since the last :meth:`flush_requests`.
        self._unflushed: dict[tuple[str, str, int], list[float]] = {}
        self._failed = False
        if queue_depth is None:
            _pending_jobs()  # shown as 0 until a job is queued

    # -- Metrics ---------------------------------------------------------------------------------

    def render_finished(self, kind: RenderKind, outcome: RenderOutcome) -> None:
        try:
            self._instruments.render_jobs.labels(kind, outcome).inc()
        except Exception:
            self._record_failed()

    def webhook_given_up(self, target: WebhookTarget, reason: GiveUpReason) -> None:
        try:
            self._instruments.failed_webhooks.labels(target, reason).inc()
        except Exception:
            self._record_failed()

    # -- the rest of the process -----------------------------------------------------------------

    def jobs_pending(self, count: int) -> None:
        """This process's in-process job queue holds ``count`` jobs (queued or running)."""
        try:
            _pending_jobs().set(count)
        except Exception:
            self._record_failed()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered. ``route`` must come from a bounded set (route templates, not
        paths): each distinct value is a series of its own, in every process's files.

        The request is added up in plain memory, not yet in the instruments (a counter or bucket of
        multiprocess mode takes a lock and a write to its file each time: three of them a request
        cost more than the rest of a cached read's observation). :meth:`flush_requests` hands the
        sums on; the serving process calls it every second (:data:`FLUSH_SECONDS`), before each
        scrape it answers and when it stops. Call both from one thread (the event loop's).
        """
        counts = self._unflushed.get((method, route, status))
        if counts is None:
            counts = self._unflushed[method, route, status] = [0, 0.0] + [0] * (len(LATENCY_BUCKETS) + 1)
        counts[0] += 1
        counts[1] += seconds
        counts[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1  # the first bucket whose bound >= seconds

    def flush_requests(self) -> None:
        """Add the requests observed since the last call to the instruments (in multiprocess mode,
        to this process's files, where every process's scrape reads them)."""
        unflushed, self._unflushed = self._unflushed, {}
        try:
            for (method, route, status), counts in unflushed.items():
                series = self._series.get((method, route, status)) or self._series_of(method, route, status)
                series.requests.inc(counts[0])
                # prometheus-client observes one value at a time; these are its own sum and buckets
                # (non-cumulative in its storage), added to in bulk (tests/unit/test_observability.py
                # compares the exposition with one observe() a request).
                latency: Any = series.latency
                latency._sum.inc(counts[1])
                for bucket, count in enumerate(counts[2:]):
                    if count:
                        latency._buckets[bucket].inc(count)
                if series.server_errors is not None:
                    series.server_errors.inc(counts[0])
        except Exception:
            self._record_failed()

    def _series_of(self, method: str, route: str, status: int) -> _Series:
        instruments = self._instruments
        labels = (method, route, str(status))
        series = _Series(
            instruments.requests.labels(*labels),
            instruments.latency.labels(*labels),
            instruments.server_errors.labels(*labels) if status >= 500 else None,
        )
        self._series[method, route, status] = series
        return series

    def _record_failed(self) -> None:
        if not self._failed:
            self._failed = True
            log.exception("recording a metric failed; metrics may be incomplete from now on")

    # -- exposition ------------------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        """Every metric in Prometheus's text format, and its media type. In multiprocess mode the
        sum over every process counting into the directory. Reads files (and the shared queue's
        depth): call it from a worker thread."""
        registry = CollectorRegistry()
        directory = multiprocess_directory()
        if directory is not None:
            _forget_dead_live_values(directory)
            MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
        else:
            for collector in self._instruments.collectors:
                registry.register(collector)
            if self._queue_depth is None:
                registry.register(_pending_jobs())
        if self._queue_depth is not None:
            registry.register(_QueueDepth(self._queue_depth))
        return generate_latest(registry), CONTENT_TYPE
