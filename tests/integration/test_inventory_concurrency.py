"""Stock reservations under concurrency, on PostgreSQL: many checkouts at once over a few levels never
sell more than there is, never leave ``available`` negative and never deadlock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.domain.inventory import OutOfStock, StockKey, StockLevel
from customshop.domain.orders import StockHold
from tests.builders import IDS, now

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True, scope="session")

CHECKOUTS = 200
#: More connections than the default pool, so that many transactions contend for the same rows.
POOL_SIZE = 30


@pytest.fixture
async def wide_engine(database_url: str, clean_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine of its own on the migrated, emptied test database, with a pool of ``POOL_SIZE``."""
    engine = create_engine(database_url, pool_size=POOL_SIZE)
    yield engine
    await engine.dispose()


async def save(engine: AsyncEngine, *levels: StockLevel) -> None:
    async with SqlUnitOfWork(engine) as uow:
        for level in levels:
            await uow.inventory.save(level)
        await uow.commit()


async def level_of(engine: AsyncEngine, key: StockKey) -> StockLevel:
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        level = await uow.inventory.get(key)
    assert level is not None
    return level


async def checkout(engine: AsyncEngine, wanted: Mapping[StockKey, int]) -> tuple[StockHold, ...] | None:
    """One checkout's reservation: its holds once committed, or None when it was out of stock."""
    async with SqlUnitOfWork(engine) as uow:
        try:
            holds = await uow.inventory.holds_for(wanted)
            await uow.inventory.reserve_holds(holds, now())
        except OutOfStock as exc:
            shortages = exc.shortages
            await uow.rollback()
        else:
            await asyncio.sleep(0.001)  # hold the row locks a moment: the others queue behind them
            await uow.commit()
            return holds
    assert shortages
    assert all(s.available >= 0 and s.wanted == wanted[s.key] for s in shortages)
    return None


async def run_checkouts(
    engine: AsyncEngine, carts: list[dict[StockKey, int]], watched: list[StockKey]
) -> list[tuple[StockHold, ...] | None]:
    """Every cart's checkout at once, while a watcher keeps reading the levels: none of them may
    ever show a negative ``available`` (nor may any checkout fail otherwise, a deadlock included)."""
    done = asyncio.Event()
    readings: list[int] = []

    async def watch() -> None:
        while not done.is_set():
            for key in watched:
                level = await level_of(engine, key)
                assert 0 <= level.reserved <= level.on_hand
                readings.append(level.available)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    try:
        outcomes = await asyncio.gather(*(checkout(engine, cart) for cart in carts), return_exceptions=True)
    finally:
        done.set()
        await watcher
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures == [], f"{len(failures)} checkouts failed, the first with {failures[0]!r}"
    assert readings
    assert min(readings) >= 0
    return [o for o in outcomes if not isinstance(o, BaseException)]


async def test_one_level_is_never_oversold(wide_engine: AsyncEngine) -> None:
    key = StockKey(IDS.new_id())
    await save(wide_engine, StockLevel(key, 10, 0, 0, now()))

    outcomes = await run_checkouts(wide_engine, [{key: 1}] * CHECKOUTS, [key])

    succeeded = [o for o in outcomes if o is not None]
    assert len(succeeded) == 10
    assert all(holds == (StockHold(key, 1),) for holds in succeeded)
    level = await level_of(wide_engine, key)
    assert (level.on_hand, level.reserved, level.sold, level.available) == (10, 10, 0, 0)


async def test_overlapping_carts_in_key_order_neither_oversell_nor_deadlock(wide_engine: AsyncEngine) -> None:
    product = IDS.new_id()
    own, scarce, extra = StockKey(product), StockKey(product, "M"), StockKey(product, "XL")
    assert own.sort_key < scarce.sort_key < extra.sort_key
    plenty = 10 * CHECKOUTS
    await save(
        wide_engine,
        StockLevel(own, plenty, 0, 0, now()),
        StockLevel(scarce, 10, 0, 0, now()),
        StockLevel(extra, plenty, 0, 0, now()),
    )
    # Every cart needs the scarce level, with a level sorting before it, after it, or both: each
    # checkout locks its rows in key order, so no two can wait for each other.
    shapes = [
        {own: 1, scarce: 1},
        {scarce: 1, extra: 2},
        {own: 3, scarce: 1, extra: 1},
    ]
    carts = [shapes[n % len(shapes)] for n in range(CHECKOUTS)]

    outcomes = await run_checkouts(wide_engine, carts, [own, scarce, extra])

    succeeded = [(cart, holds) for cart, holds in zip(carts, outcomes, strict=True) if holds is not None]
    assert len(succeeded) == 10
    for cart, holds in succeeded:
        assert holds == tuple(StockHold(key, units) for key, units in cart.items())
    held = {key: sum(cart.get(key, 0) for cart, _ in succeeded) for key in (own, scarce, extra)}
    assert held[scarce] == 10
    for key, units in held.items():
        level = await level_of(wide_engine, key)
        assert level.reserved == units
        assert level.sold == 0
        assert level.available == level.on_hand - units >= 0
    assert (await level_of(wide_engine, scarce)).available == 0
