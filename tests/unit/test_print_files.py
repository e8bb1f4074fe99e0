"""Print files on memory adapters: scheduled when an order is paid, rendered as jobs (retried,
failed, leased), reprinted, served, and handed to the fulfillment endpoint once all are ready."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from PIL import Image

from customshop.adapters.memory import MemoryUnitOfWork
from customshop.application.checkout import OrderNotFound
from customshop.application.prints import MAX_ATTEMPTS, RENDER_PRINT, PrintFileNotFound
from customshop.application.webhooks import (
    DELIVER_WEBHOOK,
    FULFILLMENT_ENDPOINT,
    FULFILLMENT_EVENT,
)
from customshop.domain.orders import (
    IllegalTransition,
    OrderStatus,
    PrintFilesNotReady,
    PrintStatus,
)
from customshop.domain.webhooks import verify
from tests.builders import T0
from tests.unit.worlds import RED, SECRET, SNAPSHOT, Setup


async def test_a_paid_orders_lines_are_rendered_at_print_resolution_once_each() -> None:
    setup = Setup(fulfillment=False)
    order = await setup.paid_order()
    assert [line.print_file.status for line in (await setup.order(order.id)).lines] == [
        PrintStatus.PENDING
    ] * 2

    assert await setup.prints.render_due() == 2
    assert await setup.prints.render_due() == 0  # leased: handed on once
    await setup.run_renders()

    order = await setup.order(order.id)
    assert [line.print_file.status for line in order.lines] == [PrintStatus.READY] * 2
    assert order.prints_ready
    for line in order.lines:
        file_id = line.print_file.id
        assert file_id is not None
        printed = await setup.prints.file(file_id, "print")
        with Image.open(io.BytesIO(printed.data)) as image:
            assert image.size == (200, 300)  # 20 × 30 mm at 254 DPI
            assert tuple(round(d) for d in image.info["dpi"]) == (254, 254)
            assert image.convert("RGB").getpixel((100, 75)) == RED  # the photo fills the top half
        preview = await setup.prints.file(file_id, "preview")
        with Image.open(io.BytesIO(preview.data)) as image:
            assert image.size == (33, 50)
        asset = await setup.prints.file(file_id, "asset", "asset-1")
        assert asset.content_type == "image/png" and asset.data == await setup.storage.get(
            "assets/session/asset-1.png"
        )
        with pytest.raises(PrintFileNotFound):
            await setup.prints.file(file_id, "asset", "someone-elses-asset")
    # The option zone's code was left out of the drawing: its option set is gone, the artwork is not.
    assert all("size" not in request.design.values for request in setup.renderer.requests)
    # Each line was drawn twice (print and preview), and a job run again draws nothing.
    assert len(setup.renderer.requests) == 4
    first = order.lines[0]
    assert await setup.prints.render(first.id, first.print_file.id or "") is None
    assert len(setup.renderer.requests) == 4


async def test_production_waits_for_every_print_file() -> None:
    setup = Setup(fulfillment=False)
    order = await setup.paid_order()
    with pytest.raises(PrintFilesNotReady, match="2 pending"):
        (await setup.order(order.id)).advance(OrderStatus.IN_PRODUCTION, T0)
    await setup.prints.render_due()
    await setup.run_renders()
    ready = await setup.order(order.id)
    ready.advance(OrderStatus.IN_PRODUCTION, T0)
    assert ready.status is OrderStatus.IN_PRODUCTION


async def test_a_failed_rendering_is_retried_then_given_up_with_its_reason() -> None:
    setup = Setup(failures=MAX_ATTEMPTS, fulfillment=False)
    order = await setup.paid_order(lines=1)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await setup.prints.render_due() == 1, attempt
        await setup.run_renders()
        line = (await setup.order(order.id)).lines[0]
        assert line.print_file.error == "RuntimeError: the renderer ran out of memory"
        if attempt < MAX_ATTEMPTS:
            assert line.print_file.status is PrintStatus.PENDING
            assert await setup.prints.render_due() == 0  # not before the retry delay
            setup.clock.advance(minutes=10)
    assert line.print_file.status is PrintStatus.FAILED
    setup.clock.advance(hours=1)
    assert await setup.prints.render_due() == 0
    with pytest.raises(PrintFilesNotReady, match="1 failed"):
        (await setup.order(order.id)).advance(OrderStatus.IN_PRODUCTION, T0)


async def test_a_rendering_whose_worker_died_is_handed_on_and_given_up_after_the_attempts() -> None:
    setup = Setup(fulfillment=False)
    order = await setup.paid_order(lines=1)
    for _ in range(MAX_ATTEMPTS):
        assert await setup.prints.render_due() == 1
        (payload,) = setup.jobs.take(RENDER_PRINT)
        assert await setup.prints.render_due() == 0  # leased while the worker lives
        # The worker takes the job and dies mid-rendering (killed: no exception handler runs).
        setup.renderer.dies = True
        with pytest.raises(SystemExit):
            await setup.prints.render(payload["line_id"], payload["file_id"])
        setup.clock.advance(minutes=2)
    setup.renderer.dies = False
    assert await setup.prints.render_due() == 1
    await setup.run_renders()
    line = (await setup.order(order.id)).lines[0]
    assert line.print_file.status is PrintStatus.FAILED
    assert line.print_file.error == f"{MAX_ATTEMPTS} renderings were started and none finished"


async def test_a_reprint_renders_every_line_again_under_new_ids() -> None:
    setup = Setup(fulfillment=False)
    order = await setup.paid_order()
    await setup.prints.render_due()
    await setup.run_renders()
    before = [line.print_file.id for line in (await setup.order(order.id)).lines]

    jobs = await setup.prints.reprint(order.id)
    assert len(jobs) == 2 and await setup.prints.render_due() == 0  # sent at once, not twice
    pending = (await setup.order(order.id)).lines
    assert [line.print_file.status for line in pending] == [PrintStatus.PENDING] * 2
    assert {line.print_file.id for line in pending}.isdisjoint(before)
    # A job of the earlier rendering, run late, changes nothing.
    assert await setup.prints.render(pending[0].id, before[0] or "") is None
    await setup.run_renders()
    after = (await setup.order(order.id)).lines
    assert [line.print_file.status for line in after] == [PrintStatus.READY] * 2
    with pytest.raises(PrintFileNotFound):
        await setup.prints.file(before[0] or "", "print")


async def test_only_a_paid_order_is_reprinted() -> None:
    setup = Setup(fulfillment=False)
    order = await setup.paid_order(lines=1)
    async with MemoryUnitOfWork(setup.store) as uow:
        stored = await uow.orders.get(order.id)
        assert stored is not None
        stored.refund(T0)
        await uow.orders.update(stored)
        await uow.commit()
    with pytest.raises(IllegalTransition):
        await setup.prints.reprint(order.id)
    with pytest.raises(OrderNotFound):
        await setup.prints.reprint("no-such-order")


async def test_the_last_ready_print_file_sends_the_order_to_fulfillment_signed_once() -> None:
    setup = Setup()
    order = await setup.paid_order()
    await setup.prints.render_due()
    first, second = setup.jobs.take(RENDER_PRINT)
    await setup.prints.render(first["line_id"], first["file_id"])
    assert setup.store.webhook_deliveries == {}  # one line is still pending
    await setup.prints.render(second["line_id"], second["file_id"])

    (delivery,) = setup.store.webhook_deliveries.values()
    assert (delivery.endpoint_id, delivery.event) == (FULFILLMENT_ENDPOINT, FULFILLMENT_EVENT)
    (payload,) = setup.jobs.take(DELIVER_WEBHOOK)
    await setup.webhooks.deliver(payload["delivery_id"])
    ((url, headers, body, trusted),) = setup.receiver.sent
    assert (url, trusted) == ("http://10.0.0.7/orders", True)
    assert verify(SECRET, headers, body, int(setup.clock.now().timestamp())) == delivery.event_id
    sent = json.loads(body)
    assert sent["type"] == FULFILLMENT_EVENT
    data = sent["data"]
    assert (data["order_id"], data["status"], data["total"], data["email"]) == (
        order.id,
        "paid",
        3000,
        "ada@example.com",
    )
    assert data["shipping_address"]["postal_code"] == "12345"
    ready = await setup.order(order.id)
    for line, stored in zip(data["lines"], ready.lines, strict=True):
        base = f"https://shop.example/print-files/{stored.print_file.id}"
        assert line["print_file"] == {"status": "ready", "url": base, "width": 200, "height": 300, "dpi": 254}
        assert line["preview_url"] == f"{base}/preview"
        assert line["assets"] == [
            {
                "zone_id": "photo",
                "asset_id": "asset-1",
                "content_type": "image/png",
                "width": 64,
                "height": 48,
                "url": f"{base}/assets/asset-1",
            }
        ]
        assert (line["template_snapshot"], line["options"]) == (SNAPSHOT, stored.options)
    (log,) = setup.store.webhook_logs.values()
    assert (log.endpoint_id, log.event, log.response_status) == (FULFILLMENT_ENDPOINT, FULFILLMENT_EVENT, 200)


async def test_without_a_fulfillment_endpoint_nothing_is_sent() -> None:
    setup = Setup(fulfillment=False)
    await setup.paid_order()
    await setup.prints.render_due()
    await setup.run_renders()
    assert setup.store.webhook_deliveries == {} and setup.jobs.jobs == []


async def until(condition: Any, deadline: float = 5.0) -> None:
    """Wait (polling) until ``condition()`` holds; renders run in threads."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def test_a_render_job_run_twice_makes_one_attempt() -> None:
    setup = Setup(failures=1, fulfillment=False)
    order = await setup.paid_order(lines=1)
    assert await setup.prints.render_due() == 1
    (payload,) = setup.jobs.take(RENDER_PRINT)
    assert payload["attempt"] == 1
    failed = await setup.prints.render(**payload)
    assert failed is not None and failed.status is PrintStatus.PENDING  # due again after its delay
    assert await setup.prints.render(**payload) is None  # the same job again: no second attempt
    assert len(setup.renderer.requests) == 1
    assert (await setup.order(order.id)).lines[0].print_file.error == (
        "RuntimeError: the renderer ran out of memory"
    )


async def test_a_rendering_overtaken_after_its_lease_ran_out_records_no_outcome() -> None:
    setup = Setup(fulfillment=False)
    order = await setup.paid_order(lines=1)
    # The first file each attempt stores waits for the attempt's gate; attempt 1's then fails.
    gates = {1: asyncio.Event(), 2: asyncio.Event()}
    waiting: list[int] = []
    put = setup.storage.put

    async def gated_put(key: str, data: bytes, content_type: str) -> None:
        if key.endswith("-preview.png"):
            return await put(key, data, content_type)
        attempt = len(waiting) + 1
        waiting.append(attempt)
        await gates[attempt].wait()
        if attempt == 1:
            raise OSError("the disk is full")
        return await put(key, data, content_type)

    setup.storage.put = gated_put  # type: ignore[method-assign]
    assert await setup.prints.render_due() == 1
    first = asyncio.create_task(setup.prints.render(**setup.jobs.take(RENDER_PRINT)[0]))
    await until(lambda: waiting == [1])
    setup.clock.advance(seconds=61)  # longer than the lease (twice the render timeout)
    assert await setup.prints.render_due() == 1  # handed on
    (payload,) = setup.jobs.take(RENDER_PRINT)
    assert payload["attempt"] == 2
    second = asyncio.create_task(setup.prints.render(**payload))
    await until(lambda: waiting == [1, 2])

    gates[1].set()
    assert await first is None  # attempt 1 failed too late to count
    line = (await setup.order(order.id)).lines[0]
    assert (line.print_file.status, line.print_file.error) == (PrintStatus.PENDING, None)
    gates[2].set()
    ready = await second
    assert ready is not None and ready.status is PrintStatus.READY
