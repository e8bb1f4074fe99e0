"""Database URLs and engines for PostgreSQL (psycopg 3) and SQLite (aiosqlite), and what the
drivers' errors mean: :func:`unavailable` tells "the database cannot be reached now" from a bug."""

from __future__ import annotations

import math
import sqlite3
import time
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from customshop.adapters.sqlalchemy.sql import SQLITE
from customshop.application.ports import DatabaseUnavailable


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


#: How long a pooled connection may sit unused before its next checkout checks it with a ``SELECT 1``.
#: Busy connections are never pinged (no round trip under load); one that waited through a database
#: restart is caught here and replaced, instead of failing the request that drew it.
IDLE_BEFORE_PING_SECONDS = 1.0


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 20,
    timeout_seconds: float = 2.0,
    statement_timeout_seconds: float = 30.0,
) -> AsyncEngine:
    """An engine for ``url`` (normalized first) with a pool of ``pool_size`` connections per process.

    Args:
        url: what :func:`normalize_database_url` accepts, or a normalized URL.
        pool_size: PostgreSQL connections kept by the process (no overflow beyond it).
        timeout_seconds: the longest wait for a connection: for a free one from the pool, for a new
            one to open (PostgreSQL's ``connect_timeout``, which libpq rounds up to at least 2 s), and
            for SQLite's lock held by another writer (its busy timeout). A wait that runs out raises,
            and :func:`unavailable` classifies it: the caller answers "try again" instead of hanging.
        statement_timeout_seconds: PostgreSQL's ``statement_timeout`` (lock waits included) for every
            statement; ``0`` for none. Migrations lift it for their own transaction.

    For SQLite the file's folder is created and each connection runs in WAL mode with foreign keys
    on. For PostgreSQL, a connection idle for more than :data:`IDLE_BEFORE_PING_SECONDS` is checked
    before it is handed out, so after the server comes back the same process serves again at once.
    """
    parsed = normalize_database_url(url) if isinstance(url, str) else url
    # msgspec reads and writes the JSON columns several times faster than the standard library.
    json_options: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": msgspec.json.decode}
    if parsed.get_backend_name() == SQLITE:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": timeout_seconds}, **json_options)
        event.listen(
            engine.sync_engine, "connect", partial(_sqlite_pragmas, busy_ms=int(timeout_seconds * 1000))
        )
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout. Connections that sat idle are
    # pinged instead (see ``_ping_after_idle``); a connection the server dropped while in use fails
    # its statement, SQLAlchemy then discards the whole pool, and the error reaches the caller as a
    # ``DBAPIError`` that :func:`unavailable` classifies (HTTP 503, try again).
    # A fixed pool and no overflow: beyond ``pool_size`` concurrent units of work a request waits for
    # a connection (up to ``timeout_seconds``) instead of opening and closing a new one, which under
    # load costs more than the query and churns PostgreSQL's backends.
    options = "-c timezone=UTC"
    if statement_timeout_seconds > 0:
        options += f" -c statement_timeout={max(1, round(statement_timeout_seconds * 1000))}"
    engine = create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=timeout_seconds,
        pool_recycle=1800,
        connect_args={"options": options, "connect_timeout": max(2, math.ceil(timeout_seconds))},
        **json_options,
    )
    event.listen(engine.sync_engine.pool, "checkin", _note_idle)
    event.listen(engine.sync_engine.pool, "checkout", partial(_ping_after_idle, dialect=engine.dialect))
    return engine


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_after_idle(dbapi_connection: Any, record: Any, _proxy: Any, *, dialect: Dialect) -> None:
    """Check a connection that sat idle before it is handed out; one that fails is replaced.

    The dialect's own ping runs outside any transaction (psycopg in autocommit for the ``SELECT 1``),
    so the connection is handed out as it was. Raising ``DisconnectionError`` from a checkout
    listener makes the pool discard the connection and open a new one (which raises as usual if the
    server is still down)."""
    idle_since = record.info.pop("idle_since", None)
    if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:
        raise DisconnectionError(f"a pooled connection was dropped while idle: {exc}") from exc


# PostgreSQL error codes that mean "not reachable now" rather than "this request is wrong": the
# connection exception class (08), the server shutting down or starting up, too many connections, and
# a statement cancelled by ``statement_timeout`` or a lock wait by ``lock_timeout``.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "57014", "55P03"})

# SQLite result codes (and their extended forms) that mean the file cannot be used now: locked by
# another writer beyond the busy timeout, not openable, an I/O error, a full or read-only disk.
_UNAVAILABLE_SQLITE = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_PROTOCOL",
)


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The ``DatabaseUnavailable`` that ``exc`` amounts to, or ``None`` when it is another error.

    Unavailable: no free pooled connection in time, a connection refused, reset, closed or timed
    out, the server shutting down or starting up, too many connections, a statement or lock wait
    that ran out of time, SQLite busy or locked (or its file unusable). Never: integrity, data or
    programming errors, which are bugs or conflicts that trying again would not cure.

    The message names the driver's error (its first line: addresses maybe, never a password) for
    the operator's log.
    """
    if isinstance(exc, DatabaseUnavailable):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        return DatabaseUnavailable(f"no database connection was free in time: {_first_line(exc)}")
    if isinstance(exc, sa_exc.DisconnectionError):
        return DatabaseUnavailable(f"the database connection was lost: {_first_line(exc)}")
    if isinstance(exc, sa_exc.DBAPIError):
        if isinstance(exc, sa_exc.IntegrityError | sa_exc.ProgrammingError | sa_exc.DataError):
            return None
        if exc.connection_invalidated or _driver_unreachable(exc.orig):
            return DatabaseUnavailable(f"the database is unreachable: {_first_line(exc.orig)}")
        return None
    if _driver_unreachable(exc):
        return DatabaseUnavailable(f"the database is unreachable: {_first_line(exc)}")
    return None


def _driver_unreachable(error: BaseException | None) -> bool:
    if isinstance(error, psycopg.OperationalError):
        sqlstate = error.sqlstate
        # No SQLSTATE: the client's own failure (refused, reset, closed, timed out connecting).
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    if isinstance(error, sqlite3.OperationalError):
        name = getattr(error, "sqlite_errorname", "") or ""
        return name.startswith(_UNAVAILABLE_SQLITE)
    return False


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode("utf-8")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
