"""The loops every serving process runs beside its requests: the catalog cache's watch, the
reservation sweep, the event pump and the metrics flush.

``start(container)`` starts them on the running event loop and returns their tasks;
``stop(tasks)`` cancels them and waits until they have ended. The HTTP app calls the two on
startup and shutdown; each loop logs its own failures and carries on, so a task ends only when
cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from customshop.adapters.metrics.prometheus import FLUSH_SECONDS, PrometheusMetrics
from customshop.application.ports import Unavailable
from customshop.entrypoints.container import Container

#: The tasks of the running loops, as ``start`` returns them and ``stop`` takes them.
Tasks = list[asyncio.Task[None]]


def start(container: Container) -> Tasks:
    """Start the loops on the running event loop, at the intervals of ``container.settings``.

    Raises:
        RuntimeError: no event loop is running.
    """
    settings = container.settings
    use_cases = container.use_cases
    loop = asyncio.get_running_loop()
    return [
        loop.create_task(use_cases.catalog_cache().watch()),
        loop.create_task(sweep_orders(container, interval=settings.reservation_sweep_seconds)),
        loop.create_task(pump_events(container, interval=settings.outbox_poll_seconds)),
        loop.create_task(flush_metrics(container.adapters.metrics())),
    ]


async def stop(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until each has ended (idempotent: ended tasks stay ended)."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sweep_orders(container: Container, *, interval: float) -> None:
    """Every ``interval`` seconds: cancel unpaid orders whose reservation ran out (their stock goes
    back); and at most once per retention interval, delete finished records past their retention
    (idempotency keys among them). Every serving process runs it; the work is safe to run
    concurrently (each order is changed under its row lock, and re-checked there)."""
    log = logging.getLogger("customshop.orders")
    use_cases = container.use_cases
    while True:
        await asyncio.sleep(interval)
        try:
            expired = await use_cases.orders().expire_reservations()
            await use_cases.orders().forget_old_receipts()
            purged = await use_cases.retention().purge_if_due()
        except Unavailable as exc:  # one line, no traceback: the outage is logged where it is seen
            log.warning(
                "the reservation sweep waits for %s (%s); it runs again in %s s",
                exc.dependency,
                exc,
                interval,
            )
        except Exception:
            log.exception("the reservation sweep failed; it runs again in %s s", interval)
        else:
            if expired:
                log.info("cancelled %d orders whose payment did not arrive in time", expired)
            if purged and any(purged.values()):
                log.info("deleted records past their retention: %s", purged)


async def pump_events(container: Container, *, interval: float) -> None:
    """Every ``interval`` seconds: hand committed events to the job queue (the outbox relay), and
    the print files to render, webhook deliveries and emails that are due. Safe in every process at
    once: each step locks the rows it takes and skips those another process holds."""
    log = logging.getLogger("customshop.events")
    use_cases = container.use_cases
    while True:
        await asyncio.sleep(interval)
        try:
            while await use_cases.outbox_relay().relay() > 0:
                pass
            await use_cases.print_files().render_due()
            await use_cases.webhooks().send_due()
            await use_cases.notifications().send_due()
        except Unavailable as exc:  # one line, no traceback: the events wait in the outbox
            log.warning(
                "handing events on waits for %s (%s); trying again in %s s", exc.dependency, exc, interval
            )
        except Exception:
            log.exception("handing events on failed; trying again in %s s", interval)


async def flush_metrics(metrics: PrometheusMetrics, *, interval: float = FLUSH_SECONDS) -> None:
    """Every ``interval`` seconds: hand the requests this process observed to its instruments, where
    a scrape answered by any process reads them (a scrape this process answers flushes first)."""
    while True:
        await asyncio.sleep(interval)
        metrics.flush_requests()
