"""The outbox relay and partner-webhook deliveries on the in-memory adapters, with a recording job
queue and a scripted sender (fakes of the ports, not mocks)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import pytest

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.outbox import DISPATCH_EVENT, OutboxRelay
from customshop.application.ports import DeliveryResult, QueueUnavailable
from customshop.application.webhooks import DELIVER_WEBHOOK, Webhooks
from customshop.domain.errors import InvalidInput
from customshop.domain.events import OrderPaid, OrderShipped
from customshop.domain.webhooks import verify
from tests.builders import T0
from tests.fakes import RecordingQueue, ScriptedSender, allow_any
from tests.unit.worlds import stored_events


def webhooks(
    store: MemoryStore,
    clock: ManualClock,
    queue: RecordingQueue,
    sender: ScriptedSender,
    schedule: tuple[int, ...] = (5, 300),
) -> Webhooks:
    return Webhooks(
        partial(MemoryUnitOfWork, store),
        clock,
        UuidV7Ids(),
        queue,
        sender,
        allow_any,
        schedule,
        jitter=lambda: 0.0,
    )


async def test_the_relay_enqueues_each_event_once_and_keeps_them_when_the_queue_is_down() -> None:
    store, clock, queue = MemoryStore(), ManualClock(T0), RecordingQueue()
    relay = OutboxRelay(partial(MemoryUnitOfWork, store), queue, clock)
    await stored_events(store, OrderPaid("o1", T0, 100, "USD"), OrderShipped("o1", T0, None))

    queue.down = True
    with pytest.raises(QueueUnavailable):
        await relay.relay()
    async with MemoryUnitOfWork(store) as uow:
        assert len(await uow.outbox.pending(10, T0)) == 2  # nothing lost

    queue.down = False
    assert await relay.relay() == 2
    assert await relay.relay() == 0  # leased: their dispatch is under way
    assert [job for job, _, _ in queue.jobs] == [DISPATCH_EVENT, DISPATCH_EVENT]
    async with MemoryUnitOfWork(store) as uow:
        ids = [(await uow.outbox.get(payload["event_id"])) for _, payload, _ in queue.jobs]
    assert [m.name for m in ids if m] == ["order.paid", "order.shipped"]

    # The first dispatch completes; the second job is lost (its worker died): after the lease the
    # relay hands that event on again, and only that one.
    await relay.dispatched(queue.jobs[0][1]["event_id"])
    clock.advance(minutes=2)
    assert await relay.relay() == 0  # the lease runs out only after two minutes
    clock.advance(seconds=1)
    assert await relay.relay() == 1
    assert queue.jobs[-1][1]["event_id"] == queue.jobs[1][1]["event_id"]


async def test_an_event_becomes_one_signed_delivery_per_subscribed_endpoint() -> None:
    store, clock, queue, sender = MemoryStore(), ManualClock(T0), RecordingQueue(), ScriptedSender()
    hooks = webhooks(store, clock, queue, sender)
    paid_hook = await hooks.create_endpoint("https://a.example/hook", ["order.paid"])
    await hooks.create_endpoint("https://b.example/hook", ["order.shipped"])
    await stored_events(store, OrderPaid("o1", T0, 100, "USD"))
    async with MemoryUnitOfWork(store) as uow:
        (message,) = await uow.outbox.pending(10, T0)

    assert await hooks.fan_out(message.id) == 1
    assert await hooks.fan_out(message.id) == 0  # fanned out again: nothing new
    ((job, payload, _),) = queue.jobs
    assert job == DELIVER_WEBHOOK
    log = await hooks.deliver(payload["delivery_id"])
    assert log is not None and (log.attempt, log.response_status) == (1, 204)
    ((url, headers, body),) = sender.sent
    assert url == "https://a.example/hook"
    assert verify(paid_hook.secret, headers, body, int(T0.timestamp())) == message.id
    assert b'"type":"order.paid"' in body and b'"order_id":"o1"' in body
    assert await hooks.deliver(payload["delivery_id"]) is None  # delivered: nothing more to do


async def test_failures_are_retried_on_the_schedule_then_given_up() -> None:
    store, clock, queue, sender = (
        MemoryStore(),
        ManualClock(T0),
        RecordingQueue(),
        ScriptedSender(500, None, 503),
    )
    hooks = webhooks(store, clock, queue, sender, schedule=(5, 300))
    await hooks.create_endpoint("https://a.example/hook", ["order.paid"])
    await stored_events(store, OrderPaid("o1", T0, 100, "USD"))
    async with MemoryUnitOfWork(store) as uow:
        (message,) = await uow.outbox.pending(10, T0)
    await hooks.fan_out(message.id)
    delivery_id = queue.jobs[0][1]["delivery_id"]

    assert (await hooks.deliver(delivery_id)).response_status == 500  # type: ignore[union-attr]
    assert await hooks.send_due() == 0  # not due yet
    clock.advance(seconds=5)
    assert await hooks.send_due() == 1
    assert await hooks.send_due() == 0  # leased while the attempt runs
    log = await hooks.deliver(delivery_id)
    assert log is not None and (log.attempt, log.response_status, log.error) == (
        2,
        None,
        "connection refused",
    )
    clock.advance(seconds=299)
    assert await hooks.send_due() == 0
    clock.advance(seconds=1)
    assert await hooks.send_due() == 1
    assert (await hooks.deliver(delivery_id)).response_status == 503  # type: ignore[union-attr]
    clock.advance(hours=24)
    assert await hooks.send_due() == 0  # the schedule is exhausted: failed
    page = await hooks.logs(event="order.paid", before=None, limit=10)
    assert [(log.attempt, log.response_status) for log in page.items] == [(3, 503), (2, None), (1, 500)]

    await hooks.retry(delivery_id)  # an operator's retry: one attempt beyond the schedule, granted by its job
    ((job, payload, _),) = queue.jobs[-1:]
    assert (job, payload) == (DELIVER_WEBHOOK, {"delivery_id": delivery_id, "attempt": 4, "granted": True})
    assert (await hooks.deliver(**payload)).response_status == 204  # type: ignore[union-attr]


async def test_an_endpoint_answering_410_is_disabled_and_bad_endpoints_refused() -> None:
    store, clock, queue, sender = MemoryStore(), ManualClock(T0), RecordingQueue(), ScriptedSender(410)
    hooks = webhooks(store, clock, queue, sender)
    endpoint = await hooks.create_endpoint("https://a.example/hook", ["order.paid", "order.paid"])
    assert endpoint.events == ("order.paid",)
    await stored_events(store, OrderPaid("o1", T0, 100, "USD"))
    async with MemoryUnitOfWork(store) as uow:
        (message,) = await uow.outbox.pending(10, T0)
    await hooks.fan_out(message.id)
    await hooks.deliver(queue.jobs[0][1]["delivery_id"])
    (stored,) = (await hooks.list_endpoints()).items
    assert not stored.active and stored.disabled_reason == "the endpoint answered 410 Gone"

    with pytest.raises(InvalidInput) as refused:
        await hooks.create_endpoint("http://10.0.0.1/hook", ["order.lost"])
    assert {(v.field, v.code) for v in refused.value.violations} == {
        ("url", "refused"),
        ("events[0]", "unknown_event"),
    }


class OvertakenSender:
    """The first attempt outlives its lease: while it waits for its answer (a 500), ``meanwhile``
    runs (the delivery handed on and attempted again). Later attempts are answered 204 at once."""

    def __init__(self) -> None:
        self.meanwhile: Any = None
        self.calls = 0

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        self.calls += 1
        if self.calls == 1:
            await self.meanwhile()
            return DeliveryResult(500, None, 130_000)
        return DeliveryResult(204, None, 3)


async def test_an_attempt_overtaken_after_its_lease_ran_out_records_no_outcome() -> None:
    store, clock, queue, sender = MemoryStore(), ManualClock(T0), RecordingQueue(), OvertakenSender()
    hooks = webhooks(store, clock, queue, sender)  # type: ignore[arg-type]
    await hooks.create_endpoint("https://a.example/hook", ["order.paid"])
    await stored_events(store, OrderPaid("o1", T0, 100, "USD"))
    async with MemoryUnitOfWork(store) as uow:
        (message,) = await uow.outbox.pending(10, T0)
    await hooks.fan_out(message.id)

    async def lease_runs_out() -> None:
        clock.advance(minutes=2)
        assert await hooks.send_due() == 1
        second = await hooks.deliver(**queue.jobs[-1][1])
        assert second is not None and (second.attempt, second.response_status) == (2, 204)

    sender.meanwhile = lease_runs_out
    first = await hooks.deliver(**queue.jobs[0][1])
    assert first is not None and (first.attempt, first.response_status) == (1, 500)  # logged, not recorded
    clock.advance(hours=1)
    assert await hooks.send_due() == 0  # delivered by the second attempt, not rescheduled by the first
    page = await hooks.logs(event="order.paid", before=None, limit=10)
    # Newest first by when they were written: the overtaken attempt's answer came last.
    assert [(log.attempt, log.response_status) for log in page.items] == [(1, 500), (2, 204)]


class KilledSender(ScriptedSender):
    """Answers its script, then the worker is killed during every later attempt (nothing is
    answered, nothing recorded)."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        if not self.script:
            self.sent.append((url, dict(headers), body))
            raise RuntimeError("the worker was killed")
        return await super().send(url, headers, body, trusted=trusted)


async def test_a_job_run_twice_makes_one_attempt_and_attempts_that_all_died_are_given_up() -> None:
    store, clock, queue, sender = MemoryStore(), ManualClock(T0), RecordingQueue(), KilledSender(500)
    hooks = webhooks(store, clock, queue, sender, schedule=(5,))
    await hooks.create_endpoint("https://a.example/hook", ["order.paid"])
    await stored_events(store, OrderPaid("o1", T0, 100, "USD"))
    async with MemoryUnitOfWork(store) as uow:
        (message,) = await uow.outbox.pending(10, T0)
    await hooks.fan_out(message.id)
    ((_, payload, _),) = queue.jobs
    assert (await hooks.deliver(**payload)).response_status == 500  # type: ignore[union-attr]
    assert await hooks.deliver(**payload) is None  # the same job again: no second attempt
    assert len(sender.sent) == 1

    clock.advance(seconds=5)
    assert await hooks.send_due() == 1
    with pytest.raises(RuntimeError):
        await hooks.deliver(**queue.jobs[-1][1])  # the second and last attempt never reports back
    clock.advance(minutes=2)
    assert await hooks.send_due() == 1  # its lease ran out: handed on, and given up unsent
    assert await hooks.deliver(**queue.jobs[-1][1]) is None
    assert len(sender.sent) == 2
    async with MemoryUnitOfWork(store) as uow:
        given_up = await uow.webhooks.get_delivery(payload["delivery_id"])
    assert given_up is not None and (given_up.status, given_up.attempts) == ("failed", 2)
