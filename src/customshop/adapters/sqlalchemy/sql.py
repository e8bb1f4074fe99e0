"""What every SQL adapter shares: which database a connection speaks to, writes whose integrity
errors become domain errors, and inserts that skip a row already there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

#: A result row of any shape; adapters read its fields by column name (``row.slug``).
Row: TypeAlias = sa.Row[*tuple[Any, ...]]

#: The databases customshop runs on (see ``engine.normalize_database_url``).
Dialect = Literal["postgresql", "sqlite"]
POSTGRESQL: Dialect = "postgresql"
SQLITE: Dialect = "sqlite"


def dialect_of(bind: AsyncConnection | AsyncEngine) -> Dialect:
    """The database ``bind`` speaks to: the one way adapters ask, to pick a statement built for it."""
    return POSTGRESQL if bind.dialect.name == POSTGRESQL else SQLITE


def is_postgresql(bind: AsyncConnection | AsyncEngine) -> bool:
    """Whether ``bind`` speaks to PostgreSQL (otherwise SQLite)."""
    return bind.dialect.name == POSTGRESQL


@asynccontextmanager
async def guarded(conn: AsyncConnection) -> AsyncIterator[None]:
    """Scope a write whose ``IntegrityError`` becomes a domain error, so the unit of work goes on.

    PostgreSQL aborts the whole transaction when a statement fails (everything after it, ``commit()``
    included, would be refused or silently rolled back); a savepoint confines the failure to the
    statement. SQLite already undoes only the failed statement, and pysqlite's savepoints would end
    a transaction it has not begun yet, so it runs the statement as is.
    """
    if is_postgresql(conn):
        async with conn.begin_nested():
            yield
    else:
        yield


def insert_if_new(insert: postgresql.Insert | sqlite.Insert, *key: sa.Column[Any]) -> sa.Executable:
    """``INSERT ... ON CONFLICT DO NOTHING``; its ``rowcount`` says whether a row was inserted (kept
    for an INSERT only when asked)."""
    return insert.on_conflict_do_nothing(index_elements=key).execution_options(preserve_rowcount=True)
