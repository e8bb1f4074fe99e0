"""The composition root: adapters swapped for tests reach the use cases, and the background loops
of a serving process start and stop through their module's small API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from dependency_injector import providers

from customshop.adapters.memory import ManualClock
from customshop.adapters.memory.uow import MemoryStore, MemoryUnitOfWork
from customshop.entrypoints import background
from customshop.entrypoints.container import Adapters, Container, build_container
from customshop.entrypoints.settings import Settings


def in_memory(tmp_path: Path, store: MemoryStore, clock: ManualClock) -> Container:
    """A container whose unit of work and clock are the memory ones (nothing else is used here)."""
    settings = Settings(
        data_dir=str(tmp_path),
        database_url=f"sqlite:///{tmp_path}/never-opened.db",
        reservation_sweep_seconds=3600,
        outbox_poll_seconds=3600,
    )
    adapters = Adapters(
        settings=settings,
        uow=providers.Factory(MemoryUnitOfWork, store),
        clock=providers.Object(clock),
    )
    return build_container(settings, adapters=adapters)


async def test_adapters_passed_to_build_container_are_those_the_use_cases_use(tmp_path: Path) -> None:
    store, clock = MemoryStore(), ManualClock(datetime(2030, 5, 1, tzinfo=UTC))
    container = in_memory(tmp_path, store, clock)

    key, secret = await container.use_cases.access().create("ops", ["admin"])

    assert key.created_at == clock.now()
    assert list(store.api_keys) == [key.id]
    identified = await container.use_cases.access().identify(secret)
    assert identified is not None and identified.id == key.id
    assert not (tmp_path / "never-opened.db").exists()


async def test_an_adapter_overridden_on_a_built_container_reaches_use_cases_made_afterwards(
    tmp_path: Path,
) -> None:
    container = in_memory(tmp_path, MemoryStore(), ManualClock())
    later = ManualClock(datetime(2031, 1, 1, tzinfo=UTC))

    container.adapters.clock.override(providers.Object(later))
    container.use_cases.access.reset()
    key, _ = await container.use_cases.access().create("ops", ["admin"])

    assert key.created_at == later.now()


async def test_background_loops_run_until_stopped(tmp_path: Path) -> None:
    container = in_memory(tmp_path, MemoryStore(), ManualClock())

    tasks = background.start(container)
    await asyncio.sleep(0)  # each loop has begun (and now waits for its interval)

    assert len(tasks) == 4
    assert not any(task.done() for task in tasks)
    await background.stop(tasks)
    assert all(task.cancelled() for task in tasks)
    await background.stop(tasks)  # stopping again changes nothing
    assert all(task.cancelled() for task in tasks)
