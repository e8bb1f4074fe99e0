"""The bulk catalog repository in SQLAlchemy Core: set-based reads and writes for imports and exports.

On PostgreSQL, new rows go in with ``COPY ... FROM STDIN`` (psycopg's copy protocol, on the unit of
work's own connection and transaction), and lookups by key pass all the keys as one array
(``= ANY(:keys)``). Elsewhere (SQLite), rows go in with one ``executemany`` per batch and lookups are
split into ``IN`` lists short enough for SQLite's limit on bound parameters. Updates are one
``executemany`` per batch everywhere (psycopg pipelines them: a few round trips, not one per row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from itertools import islice
from typing import Any

import msgspec
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.repositories import (
    _option_set,
    _option_set_values,
    _product,
    _product_values,
)
from customshop.adapters.sqlalchemy.sql import is_postgresql
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.errors import Conflict, DuplicateSlug

#: Keys per ``IN (...)`` list off PostgreSQL: SQLite builds before 3.32 take 999 bound parameters.
_IN_BATCH = 900

_UPDATE_PRODUCT = t.products.update().where(t.products.c.id == sa.bindparam("b_id"))
_UPDATE_OPTION_SET = t.option_sets.update().where(t.option_sets.c.id == sa.bindparam("b_id"))
_KEYS = sa.bindparam("keys", type_=postgresql.ARRAY(sa.String))


def _chunks(keys: Iterable[str], size: int) -> Iterator[list[str]]:
    unique = iter(sorted(set(keys)))
    while chunk := list(islice(unique, size)):
        yield chunk


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


@asynccontextmanager
async def _conflicts(message: str, slug: bool) -> AsyncIterator[None]:
    """A constraint a concurrent writer got to first becomes a domain conflict (the caller rolls back)."""
    try:
        yield
    except (IntegrityError, psycopg.IntegrityError) as exc:
        text = str(exc.orig if isinstance(exc, IntegrityError) else exc).lower()
        if slug and "slug" in text:
            raise DuplicateSlug(f"{message}: a slug is held by another product") from None
        raise Conflict(f"{message}: the catalog was changed meanwhile") from None


class SqlBulkCatalogRepository:
    """Implements ``BulkCatalogRepository`` on one connection; never commits."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._postgres = is_postgresql(conn)

    async def count_products(self) -> int:
        count = await self._conn.scalar(sa.select(sa.func.count()).select_from(t.products))
        return int(count or 0)

    async def _rows(self, table: sa.Table, column: sa.Column[Any], keys: Iterable[str]) -> list[Any]:
        if self._postgres:
            wanted = list(set(keys))
            if not wanted:
                return []
            query = sa.select(table).where(column == sa.any_(_KEYS))
            return list(await self._conn.execute(query, {"keys": wanted}))
        rows: list[Any] = []
        for chunk in _chunks(keys, _IN_BATCH):
            rows.extend(await self._conn.execute(sa.select(table).where(column.in_(chunk))))
        return rows

    async def products_with_ids(self, product_ids: Iterable[str]) -> list[Product]:
        return [_product(row) for row in await self._rows(t.products, t.products.c.id, product_ids)]

    async def products_with_slugs(self, slugs: Iterable[str]) -> list[Product]:
        return [_product(row) for row in await self._rows(t.products, t.products.c.slug, slugs)]

    async def option_sets_with_ids(self, option_set_ids: Iterable[str]) -> list[OptionSet]:
        rows = await self._rows(t.option_sets, t.option_sets.c.id, option_set_ids)
        return [_option_set(row) for row in rows]

    async def option_sets_of_products(self, product_ids: Iterable[str]) -> list[OptionSet]:
        rows = await self._rows(t.option_sets, t.option_sets.c.product_id, product_ids)
        return sorted((_option_set(row) for row in rows), key=lambda s: (s.product_id, s.id))

    async def _copy(self, table: sa.Table, rows: Sequence[dict[str, Any]], *json_columns: str) -> None:
        """``COPY`` rows (dicts of one shape) into ``table`` inside the unit of work's transaction,
        begun first if no statement began it yet, so that its commit covers the copy. The
        ``json_columns`` are sent as JSON text, which PostgreSQL reads into ``jsonb``."""
        if not rows:
            return
        if not self._conn.in_transaction():
            await self._conn.begin()
        raw = await self._conn.get_raw_connection()
        driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
        columns = list(rows[0])
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        async with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row([_json(row[c]) if c in json_columns else row[c] for c in columns])

    async def add_products(self, products: Iterable[Product]) -> None:
        rows = [{"id": p.id, **_product_values(p)} for p in products]
        async with _conflicts("products could not be added", slug=True):
            if self._postgres:
                await self._copy(t.products, rows, "media", "volume_pricing")
            elif rows:
                await self._conn.execute(t.products.insert(), rows)

    async def vacate_slugs(self, product_ids: Iterable[str]) -> None:
        rows = [{"b_id": product_id, "slug": f"~{product_id}"} for product_id in product_ids]
        if rows:
            await self._conn.execute(_UPDATE_PRODUCT, rows)

    async def update_products(self, products: Iterable[Product]) -> None:
        rows = []
        for product in products:
            values = _product_values(product)
            del values["created_at"]
            rows.append({"b_id": product.id, **values})
        if rows:
            async with _conflicts("products could not be updated", slug=True):
                await self._conn.execute(_UPDATE_PRODUCT, rows)

    async def add_option_sets(self, option_sets: Iterable[OptionSet]) -> None:
        rows = [{"id": s.id, **_option_set_values(s)} for s in option_sets]
        async with _conflicts("option sets could not be added", slug=False):
            if self._postgres:
                await self._copy(t.option_sets, rows, "options")
            elif rows:
                await self._conn.execute(t.option_sets.insert(), rows)

    async def update_option_sets(self, option_sets: Iterable[OptionSet]) -> None:
        rows = []
        for option_set in option_sets:
            values = _option_set_values(option_set)
            rows.append(
                {
                    "b_id": option_set.id,
                    "name": values["name"],
                    "options": values["options"],
                    "updated_at": values["updated_at"],
                }
            )
        if rows:
            await self._conn.execute(_UPDATE_OPTION_SET, rows)
