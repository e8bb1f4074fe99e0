"""Customization use cases on the in-memory adapters with the real Pillow sanitizer and renderer:
renders that fail are retried, then reported with their reason; stalled jobs are recovered."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image

from customshop.adapters.memory import MemoryUnitOfWork
from customshop.domain.customization import MAX_RENDER_ATTEMPTS, PreviewStatus
from tests.unit.worlds import World


async def test_a_render_that_keeps_failing_is_retried_then_failed_with_its_reason() -> None:
    world = World()
    session, key, stored = await world.designed_session()
    world.files.files[stored] = (b"this is no longer an image", "image/png")  # the stored photo is damaged
    job = await world.customization.request_preview(session, key)
    await world.queue.drain()
    final = await world.customization.preview(job.id)
    assert final.status is PreviewStatus.FAILED
    assert final.attempts == MAX_RENDER_ATTEMPTS
    assert final.error and "image" in final.error.lower()
    assert len(world.ran) == MAX_RENDER_ATTEMPTS
    # A new request of the same design renders anew instead of answering with the failure.
    world.files.files[stored] = (world.files.files[stored][0], "image/png")
    again = await world.customization.request_preview(session, key)
    assert again.id != job.id


async def test_a_render_succeeds_and_identical_requests_reuse_it() -> None:
    world = World()
    session, key, _ = await world.designed_session()
    job = await world.customization.request_preview(session, key)
    await world.queue.drain()
    done = await world.customization.preview(job.id)
    assert (done.status, done.attempts, done.error) == (PreviewStatus.DONE, 1, None)
    picture = Image.open(io.BytesIO(await world.customization.preview_image(job.id)))
    assert picture.size == (200, 200)
    assert picture.convert("RGB").getpixel((100, 100)) == (10, 20, 30)
    assert (await world.customization.request_preview(session, key)).id == job.id
    await world.queue.drain()
    assert world.ran == [job.id]  # rendered once


async def test_a_job_whose_runner_vanished_is_queued_again_then_failed_when_out_of_attempts() -> None:
    world = World()
    session, key, _ = await world.designed_session()
    world.lose = 1  # its runner vanishes before running it: queued, with nobody to run it
    job = await world.customization.request_preview(session, key)
    await world.queue.drain()
    assert (await world.customization.preview(job.id)).status is PreviewStatus.QUEUED
    world.clock.advance(seconds=61)  # silent for more than twice the render timeout
    recovered = await world.customization.preview(job.id)
    assert recovered.status is PreviewStatus.QUEUED  # handed on again, not yet run
    await world.queue.drain()
    assert (await world.customization.preview(job.id)).status is PreviewStatus.DONE
    assert world.ran  # it was handed to a runner again


@pytest.mark.parametrize("attempts", [1, MAX_RENDER_ATTEMPTS])
async def test_a_running_job_that_went_silent_is_retried_or_failed(attempts: int) -> None:
    world = World()
    session, key, _ = await world.designed_session()
    world.lose = 1
    job = await world.customization.request_preview(session, key)
    await world.queue.drain()
    # Mark it running, as a worker that then died would have.
    uow = MemoryUnitOfWork(world.store)
    async with uow:
        current = await uow.previews.get(job.id)
        assert current is not None
        await uow.previews.update(replace(current, status=PreviewStatus.RUNNING, attempts=attempts))
        await uow.commit()
    world.clock.advance(minutes=5)
    handled = await world.customization.recover_stalled()
    assert handled == 1
    after = await world.customization.preview(job.id)
    if attempts < MAX_RENDER_ATTEMPTS:
        assert (after.status, after.attempts) == (PreviewStatus.QUEUED, attempts)  # queued again
        await world.queue.drain()
        assert (await world.customization.preview(job.id)).status is PreviewStatus.DONE
    else:
        assert after.status is PreviewStatus.FAILED
        assert after.error == "the renderer stopped before finishing"


async def until(condition: Any, deadline: float = 5.0) -> None:
    """Wait (polling) until ``condition()`` holds; renders run in threads."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def test_an_attempt_overtaken_after_its_lease_ran_out_records_no_outcome() -> None:
    world = World()
    session, key, _ = await world.designed_session()
    # Storing each render's file waits for its gate; the first then fails.
    gates, stored = [asyncio.Event(), asyncio.Event()], world.files.put

    async def gated_put(storage_key: str, data: bytes, content_type: str) -> None:
        gate = gates.pop(0)
        await gate.wait()
        if not gates:
            return await stored(storage_key, data, content_type)
        raise OSError("the disk is full")

    first, second = gates
    world.files.put = gated_put  # type: ignore[method-assign]
    job = await world.customization.request_preview(session, key)
    await until(lambda: len(gates) == 1)  # attempt 1 renders and waits to store its file
    world.clock.advance(seconds=61)  # silent for longer than its lease
    assert (await world.customization.preview(job.id)).status is PreviewStatus.QUEUED  # handed on
    await until(lambda: not gates)  # attempt 2 renders and waits too

    first.set()  # attempt 1 fails now: too late to count
    await until(lambda: len(world.ran) == 2 and world.queue.depth == 1)
    running = await world.customization.preview(job.id)
    assert (running.status, running.attempts) == (PreviewStatus.RUNNING, 2)
    assert running.error == "the renderer stopped before finishing"  # not attempt 1's late failure
    second.set()
    await world.queue.drain()
    assert (await world.customization.preview(job.id)).status is PreviewStatus.DONE
    assert len(world.ran) == 2  # no third attempt
