"""Stock levels, in SQLAlchemy Core.

Stock movements are single conditional ``UPDATE`` statements: the database checks and changes a
level in one step, so concurrent checkouts never oversell, and on PostgreSQL each one takes the row
lock of the levels it touches in the order it is given them (sorted keys), which keeps concurrent
reservations of overlapping carts from deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import POSTGRESQL, SQLITE, Row, dialect_of
from customshop.domain.inventory import OutOfStock, Shortage, StockInconsistent, StockKey, StockLevel
from customshop.domain.orders import StockHold

_S = t.stock_levels.c


#: The product's own level is stored under the option code ``''``.
_PRODUCT_ITSELF = ""


def _key_params(key: StockKey) -> dict[str, Any]:
    return {"key_product": key.product_id, "key_option": key.option_code or _PRODUCT_ITSELF}


def _level(row: Row) -> StockLevel:
    return StockLevel(
        StockKey(row.product_id, row.option_code or None), row.on_hand, row.reserved, row.sold, row.updated_at
    )


_UNITS = sa.bindparam("units", type_=sa.BigInteger)
_AT = sa.bindparam("at", type_=t.Timestamp)
_THIS_LEVEL = sa.and_(
    _S.product_id == sa.bindparam("key_product"), _S.option_code == sa.bindparam("key_option")
)

_GET_LEVEL = sa.select(t.stock_levels).where(_THIS_LEVEL)
_GET_LEVEL_LOCKED = _GET_LEVEL.with_for_update()
_AVAILABLE = sa.select(_S.on_hand - _S.reserved).where(_THIS_LEVEL)
#: Which levels the products of a checkout have: one round trip, and none per unlimited key.
_LEVEL_KEYS = sa.select(_S.product_id, _S.option_code).where(
    _S.product_id.in_(sa.bindparam("product_ids", expanding=True))
)


def _save_level(insert: postgresql.Insert | sqlite.Insert) -> sa.Insert:
    """Create or replace: an operator's count overwrites the whole level."""
    replaced = ("on_hand", "reserved", "sold", "updated_at")
    return insert.on_conflict_do_update(
        index_elements=[_S.product_id, _S.option_code], set_={c: insert.excluded[c] for c in replaced}
    )


_SAVE_LEVEL = {
    "postgresql": _save_level(postgresql.insert(t.stock_levels)),
    "sqlite": _save_level(sqlite.insert(t.stock_levels)),
}
#: Each movement checks and changes the level in one statement; no row changed means it could not.
_RESERVE = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.on_hand - _S.reserved >= _UNITS)
    .values(reserved=_S.reserved + _UNITS, updated_at=_AT)
)
_RELEASE = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.reserved >= _UNITS)
    .values(reserved=_S.reserved - _UNITS, updated_at=_AT)
)
_COMMIT = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.reserved >= _UNITS)
    .values(on_hand=_S.on_hand - _UNITS, reserved=_S.reserved - _UNITS, sold=_S.sold + _UNITS, updated_at=_AT)
)
_RESTOCK = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.sold >= _UNITS)
    .values(on_hand=_S.on_hand + _UNITS, sold=_S.sold - _UNITS, updated_at=_AT)
)


def _level_page(collate: bool, product: bool, after: bool) -> sa.Select[Any]:
    key: tuple[sa.ColumnElement[str], sa.ColumnElement[str]] = (_S.product_id, _S.option_code)
    if collate:
        # Code point order, as ``StockKey.sort_key`` sorts, whatever the database's collation.
        key = (_S.product_id.collate("C"), _S.option_code.collate("C"))
    query = sa.select(t.stock_levels).order_by(*key).limit(sa.bindparam("limit"))
    if product:
        query = query.where(_S.product_id == sa.bindparam("product_id"))
    if after:
        query = query.where(
            sa.tuple_(*key) > sa.tuple_(sa.bindparam("after_product"), sa.bindparam("after_option"))
        )
    return query


_LEVEL_PAGES = {
    (database, product, after): _level_page(database == POSTGRESQL, product, after)
    for database in (POSTGRESQL, SQLITE)
    for product in (True, False)
    for after in (True, False)
}


class SqlInventoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._dialect = dialect_of(conn)

    async def get(self, key: StockKey, *, for_update: bool = False) -> StockLevel | None:
        statement = _GET_LEVEL_LOCKED if for_update else _GET_LEVEL
        row = (await self._conn.execute(statement, _key_params(key))).first()
        return _level(row) if row else None

    async def save(self, level: StockLevel) -> None:
        await self._conn.execute(
            _SAVE_LEVEL[self._dialect],
            {
                "product_id": level.key.product_id,
                "option_code": level.key.option_code or _PRODUCT_ITSELF,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "sold": level.sold,
                "updated_at": level.updated_at,
            },
        )

    async def list(self, *, product_id: str | None, after: StockKey | None, limit: int) -> list[StockLevel]:
        query = _LEVEL_PAGES[(self._dialect, product_id is not None, after is not None)]
        params: dict[str, Any] = {"limit": limit}
        if product_id is not None:
            params["product_id"] = product_id
        if after is not None:
            params["after_product"], params["after_option"] = after.sort_key
        return [_level(row) for row in await self._conn.execute(query, params)]

    async def holds_for(self, wanted: Mapping[StockKey, int]) -> tuple[StockHold, ...]:
        if not wanted:
            return ()
        product_ids = sorted({key.product_id for key in wanted})
        found = await self._conn.execute(_LEVEL_KEYS, {"product_ids": product_ids})
        levels = {(row.product_id, row.option_code) for row in found}
        return tuple(
            StockHold(key, units)
            for key, units in wanted.items()
            if (key.product_id, key.option_code or _PRODUCT_ITSELF) in levels
        )

    async def reserve_holds(self, holds: Iterable[StockHold], at: datetime) -> None:
        shortages: list[Shortage] = []
        for hold in holds:
            params = _key_params(hold.key)
            if shortages:  # the reservation has failed: only find out which other levels are short
                available = await self._conn.scalar(_AVAILABLE, params)
                if available is not None and hold.units > available:
                    shortages.append(Shortage(hold.key, hold.units, available))
                continue
            while True:
                changed = await self._conn.execute(_RESERVE, {**params, "units": hold.units, "at": at})
                if changed.rowcount:
                    break
                available = await self._conn.scalar(_AVAILABLE, params)
                if available is None:
                    raise StockInconsistent(f"{hold.key.label}: the stock level is gone")
                if hold.units > available:
                    shortages.append(Shortage(hold.key, hold.units, available))
                    break
                # Units came back (a concurrent release committed) between the two statements.
        if shortages:
            raise OutOfStock(shortages)

    async def release(self, holds: Iterable[StockHold], at: datetime) -> None:
        await self._move(_RELEASE, holds, at, "reserved")

    async def commit(self, holds: Iterable[StockHold], at: datetime) -> None:
        await self._move(_COMMIT, holds, at, "reserved")

    async def restock(self, holds: Iterable[StockHold], at: datetime) -> None:
        await self._move(_RESTOCK, holds, at, "sold")

    async def _move(self, statement: sa.Update, holds: Iterable[StockHold], at: datetime, what: str) -> None:
        for hold in holds:
            if hold.units >= 0:
                changed = await self._conn.execute(
                    statement, {**_key_params(hold.key), "units": hold.units, "at": at}
                )
                if changed.rowcount:
                    continue
            level = await self.get(hold.key)
            have = "no stock level" if level is None else f"{getattr(level, what)} are {what}"
            raise StockInconsistent(f"{hold.key.label}: cannot move {hold.units} units, {have}")
