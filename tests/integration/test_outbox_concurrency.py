"""The outbox under concurrent relays, on PostgreSQL: ``pending`` skips the messages another open
transaction has taken (``FOR UPDATE SKIP LOCKED``), so two relays never hand out the same event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.domain.events import OrderCreated
from tests.builders import IDS

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True, scope="session")


async def test_concurrent_relays_take_disjoint_messages(clean_engine: AsyncEngine) -> None:
    at = datetime.now(UTC)
    async with SqlUnitOfWork(clean_engine) as uow:
        await uow.outbox.add(
            OrderCreated(IDS.new_id(), at + timedelta(seconds=n), 100, "EUR") for n in range(15)
        )
        await uow.commit()
        every = {m.id for m in await uow.outbox.pending(100, datetime.now(UTC))}
    assert len(every) == 15

    first_took = asyncio.Event()
    second_took = asyncio.Event()

    async def relay(wait_for: asyncio.Event | None, took: asyncio.Event) -> set[str]:
        async with SqlUnitOfWork(clean_engine) as uow:
            if wait_for is not None:
                await wait_for.wait()
            messages = await uow.outbox.pending(10, datetime.now(UTC))
            took.set()
            # Keep the locks until both have taken their batch.
            await asyncio.wait_for(asyncio.gather(first_took.wait(), second_took.wait()), timeout=10)
            await uow.outbox.mark_relayed([m.id for m in messages], datetime.now(UTC))
            await uow.commit()
        return {m.id for m in messages}

    first, second = await asyncio.wait_for(
        asyncio.gather(relay(None, first_took), relay(first_took, second_took)), timeout=30
    )
    assert len(first) == 10
    assert len(second) == 5
    assert first.isdisjoint(second)
    assert first | second == every
    async with SqlUnitOfWork(clean_engine) as uow:
        assert await uow.outbox.pending(100, datetime.now(UTC)) == []
