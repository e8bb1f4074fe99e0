"""The database path's own ceiling: a bare Litestar app answering a SELECT of 50 products through
SQLAlchemy Core (psycopg 3), rows straight to JSON, with the same engine settings as customshop."""

from __future__ import annotations

import gc
import os
from typing import Any

import sqlalchemy as sa
from litestar import Litestar, get

from customshop.adapters.sqlalchemy import tables
from customshop.adapters.sqlalchemy.engine import create_engine

engine = create_engine(os.environ["BENCH_DATABASE_URL"])
QUERY = sa.select(tables.products).where(tables.products.c.active).order_by(tables.products.c.id).limit(51)


@get("/products")
async def products() -> dict[str, Any]:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = (await conn.execute(QUERY)).mappings().all()
    return {"items": [dict(row) for row in rows[:50]], "next_cursor": None}


async def _freeze(_: Litestar) -> None:
    gc.collect()
    gc.freeze()


app = Litestar(route_handlers=[products], on_startup=[_freeze])
