"""Database URLs and engines for PostgreSQL (psycopg 3) and SQLite (aiosqlite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class UnsupportedDatabase(ValueError):
    """The URL names a database or driver customshop does not run on."""


def normalize_database_url(url: str) -> URL:
    """Turn what an operator writes into an async SQLAlchemy URL.

    ``postgresql://user@host:5432/db`` and ``postgres://...`` get the psycopg 3 driver;
    ``sqlite:///path`` gets aiosqlite. SQLAlchemy URLs naming those drivers pass unchanged.

    Raises:
        UnsupportedDatabase: another database, a synchronous-only driver, or a malformed URL.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise UnsupportedDatabase(f"cannot parse the database URL ({exc})") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg", "psycopg_async"):
            raise UnsupportedDatabase(f"PostgreSQL is used through psycopg 3, not {driver!r}")
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if driver not in ("", "aiosqlite"):
            raise UnsupportedDatabase(f"SQLite is used through aiosqlite, not {driver!r}")
        return parsed.set(drivername="sqlite+aiosqlite")
    raise UnsupportedDatabase(f"unsupported database {backend!r}: use PostgreSQL or SQLite")


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def create_engine(url: str | URL, *, pool_size: int = 20) -> AsyncEngine:
    """An engine for ``url`` (normalized first) with a pool of ``pool_size`` connections per process.
    For SQLite the file's folder is created and each connection runs in WAL mode with foreign keys on
    and a 30 s busy timeout."""
    parsed = normalize_database_url(url) if isinstance(url, str) else url
    # msgspec reads and writes the JSON columns several times faster than the standard library.
    json_options: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": msgspec.json.decode}
    if is_sqlite(parsed):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": 30}, **json_options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout. A connection the server dropped
    # fails its statement instead; SQLAlchemy then discards the whole pool, and the error reaches the
    # caller as a ``DBAPIError`` whose ``connection_invalidated`` is set (HTTP 503, try again).
    # A fixed pool and no overflow: beyond ``pool_size`` concurrent units of work a request waits for
    # a connection (up to 30 s) instead of opening and closing a new one, which under load costs more
    # than the query and churns PostgreSQL's backends.
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_recycle=1800,
        connect_args={"options": "-c timezone=UTC"},
        **json_options,
    )


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
