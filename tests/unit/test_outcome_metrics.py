"""What the use cases count through the ``Metrics`` port (a recording fake here): every rendering
attempt of previews and print files by outcome, and every webhook delivery given up, by target and
reason, once, after it is committed."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.memory.metrics import RecordingMetrics
from customshop.application.prints import MAX_ATTEMPTS, RENDER_PRINT
from customshop.application.webhooks import (
    FULFILLMENT_ENDPOINT,
    FULFILLMENT_EVENT,
    FulfillmentTarget,
    Webhooks,
)
from customshop.domain.customization import MAX_RENDER_ATTEMPTS, PreviewStatus
from customshop.domain.events import OrderPaid
from customshop.domain.webhooks import WebhookDelivery
from tests.builders import T0
from tests.fakes import RecordingQueue, ScriptedSender, allow_any
from tests.unit.worlds import IDS, SECRET, Setup, World, stored_events

# -- previews --------------------------------------------------------------------------------------


async def test_a_preview_rendered_once_is_one_success() -> None:
    metrics = RecordingMetrics()
    world = World(metrics)
    session, key, _ = await world.designed_session()
    job = await world.customization.request_preview(session, key)
    await world.queue.drain()
    assert (await world.customization.request_preview(session, key)).id == job.id  # reused, not rendered
    assert metrics.renders == {("preview", "succeeded"): 1}


async def test_a_preview_that_keeps_failing_is_retried_then_failed() -> None:
    metrics = RecordingMetrics()
    world = World(metrics)
    session, key, stored = await world.designed_session()
    world.files.files[stored] = (b"not an image any more", "image/png")
    job = await world.customization.request_preview(session, key)
    await world.queue.drain()
    assert (await world.customization.preview(job.id)).status is PreviewStatus.FAILED
    assert metrics.renders == {
        ("preview", "retried"): MAX_RENDER_ATTEMPTS - 1,
        ("preview", "failed"): 1,
    }


async def test_a_vanished_renderer_counts_as_a_failed_attempt_a_lost_job_does_not() -> None:
    metrics = RecordingMetrics()
    world = World(metrics)
    session, key, _ = await world.designed_session()
    world.lose = 1  # queued, never started: no attempt was made
    job = await world.customization.request_preview(session, key)
    await world.queue.drain()
    world.clock.advance(minutes=5)
    await world.customization.preview(job.id)  # handed on again
    await world.queue.drain()
    assert metrics.renders == {("preview", "succeeded"): 1}

    # A second design whose renderer died mid-render (running, silent): recovered as a retry.
    await world.customization.update(session, key, {"photo": None})
    world.lose = 1
    second = await world.customization.request_preview(session, key)
    await world.queue.drain()
    async with MemoryUnitOfWork(world.store) as uow:
        current = await uow.previews.get(second.id)
        assert current is not None
        await uow.previews.update(replace(current, status=PreviewStatus.RUNNING, attempts=1))
        await uow.commit()
    world.clock.advance(minutes=5)
    assert await world.customization.recover_stalled() == 1
    await world.queue.drain()
    assert metrics.renders == {("preview", "succeeded"): 2, ("preview", "retried"): 1}


# -- print files -----------------------------------------------------------------------------------


async def test_print_files_count_each_attempt() -> None:
    metrics = RecordingMetrics()
    setup = Setup(fulfillment=False, metrics=metrics)
    await setup.paid_order(lines=2)
    await setup.prints.render_due()
    await setup.run_renders()
    assert metrics.renders == {("print", "succeeded"): 2}


async def test_a_print_file_that_keeps_failing_is_retried_then_failed() -> None:
    metrics = RecordingMetrics()
    setup = Setup(failures=MAX_ATTEMPTS, fulfillment=False, metrics=metrics)
    await setup.paid_order(lines=1)
    for _ in range(MAX_ATTEMPTS):
        assert await setup.prints.render_due() == 1
        await setup.run_renders()
        setup.clock.advance(minutes=10)
    assert metrics.renders == {("print", "retried"): MAX_ATTEMPTS - 1, ("print", "failed"): 1}


async def test_a_print_file_whose_renderings_never_finish_is_one_failure() -> None:
    metrics = RecordingMetrics()
    setup = Setup(fulfillment=False, metrics=metrics)
    await setup.paid_order(lines=1)
    setup.renderer.dies = True  # killed mid-rendering: nothing is recorded, as in a dead worker
    for _ in range(MAX_ATTEMPTS):
        await setup.prints.render_due()
        (payload,) = setup.jobs.take(RENDER_PRINT)
        with pytest.raises(SystemExit):
            await setup.prints.render(payload["line_id"], payload["file_id"])
        setup.clock.advance(minutes=2)
    assert metrics.renders == {}
    await setup.prints.render_due()
    await setup.run_renders()
    assert metrics.renders == {("print", "failed"): 1}


# -- webhook deliveries ----------------------------------------------------------------------------


def hooks(
    store: MemoryStore,
    clock: ManualClock,
    queue: RecordingQueue,
    sender: ScriptedSender,
    metrics: RecordingMetrics,
    fulfillment: FulfillmentTarget | None = None,
) -> Webhooks:
    return Webhooks(
        partial(MemoryUnitOfWork, store),
        clock,
        IDS,
        queue,
        sender,
        allow_any,
        (5,),
        jitter=lambda: 0.0,
        fulfillment=fulfillment,
        metrics=metrics,
    )


async def partner_delivery(store: MemoryStore, webhooks: Webhooks, queue: RecordingQueue) -> str:
    """A delivery of a new ``order.paid`` event to the partner endpoints; its id."""
    await stored_events(store, OrderPaid(IDS.new_id(), T0, 100, "USD"))
    async with MemoryUnitOfWork(store) as uow:
        message = (await uow.outbox.pending(10, T0))[-1]
    await webhooks.fan_out(message.id)
    return str(queue.jobs[-1][1]["delivery_id"])


async def test_a_delivery_is_given_up_when_its_schedule_runs_out_counted_once() -> None:
    store, clock, queue, metrics = MemoryStore(), ManualClock(T0), RecordingQueue(), RecordingMetrics()
    webhooks = hooks(store, clock, queue, ScriptedSender(500, None), metrics)
    await webhooks.create_endpoint("https://a.example/hook", ["order.paid"])
    delivery = await partner_delivery(store, webhooks, queue)
    await webhooks.deliver(delivery)
    assert metrics.given_up == {}  # one retry left on the schedule
    clock.advance(seconds=5)
    await webhooks.deliver(delivery)
    assert metrics.given_up == {("partner", "exhausted"): 1}
    assert await webhooks.deliver(delivery) is None  # failed: nothing more, nothing counted again
    assert metrics.given_up == {("partner", "exhausted"): 1}


async def test_410_gives_up_and_a_disabled_endpoint_gives_up_what_is_left() -> None:
    store, clock, queue, metrics = MemoryStore(), ManualClock(T0), RecordingQueue(), RecordingMetrics()
    webhooks = hooks(store, clock, queue, ScriptedSender(410), metrics)
    await webhooks.create_endpoint("https://a.example/hook", ["order.paid"])
    first = await partner_delivery(store, webhooks, queue)
    second = await partner_delivery(store, webhooks, queue)
    await webhooks.deliver(first)
    assert metrics.given_up == {("partner", "gone"): 1}
    await webhooks.deliver(second)  # its endpoint is disabled now: failed without an attempt
    assert metrics.given_up == {("partner", "gone"): 1, ("partner", "disabled"): 1}


@pytest.mark.parametrize(
    ("configured", "status", "reason"),
    [(True, 410, "gone"), (True, 503, "exhausted"), (False, 204, "disabled")],
)
async def test_fulfillment_deliveries_given_up_are_told_apart(
    configured: bool, status: int, reason: str
) -> None:
    store, clock, queue, metrics = MemoryStore(), ManualClock(T0), RecordingQueue(), RecordingMetrics()
    target = FulfillmentTarget("http://10.0.0.7/orders", SECRET) if configured else None
    webhooks = hooks(store, clock, queue, ScriptedSender(status, status), metrics, target)
    delivery = WebhookDelivery(
        id=IDS.new_id(),
        endpoint_id=FULFILLMENT_ENDPOINT,
        event_id=IDS.new_id(),
        event=FULFILLMENT_EVENT,
        body=b"{}",
        attempts=0,
        status="pending",
        next_attempt_at=T0,
        created_at=T0,
        updated_at=T0,
    )
    async with MemoryUnitOfWork(store) as uow:
        await uow.webhooks.add_delivery(delivery)
        await uow.commit()
    await webhooks.deliver(delivery.id)
    clock.advance(seconds=5)
    await webhooks.deliver(delivery.id)
    assert metrics.given_up == {("fulfillment", reason): 1}
