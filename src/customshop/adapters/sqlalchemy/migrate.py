"""Schema migrations (Alembic) run against a database URL: upgrade, downgrade, current revision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.sqlalchemy.sql import is_postgresql

SCRIPT_LOCATION = "customshop.adapters.sqlalchemy:migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def _with_connection(engine: AsyncEngine, work: Callable[[Connection], Any]) -> Any:
    async with engine.begin() as conn:
        if is_postgresql(conn):
            # Building an index on a big table may take longer than any request should.
            await conn.execute(text("SET LOCAL statement_timeout = 0"))
        return await conn.run_sync(work)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate up to ``revision`` (default: the newest). Idempotent."""
    await _with_connection(engine, lambda conn: command.upgrade(_config(conn), revision))


async def downgrade(engine: AsyncEngine, revision: str = "-1") -> None:
    """Migrate down to ``revision`` (``-1`` is one step, ``base`` removes every table)."""
    await _with_connection(engine, lambda conn: command.downgrade(_config(conn), revision))


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or ``None`` when it has never been migrated."""
    result: str | None = await _with_connection(
        engine, lambda conn: MigrationContext.configure(conn).get_current_revision()
    )
    return result


def head() -> str:
    """The newest revision this version of customshop ships."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:
        raise RuntimeError("no migrations are shipped")
    return revision
