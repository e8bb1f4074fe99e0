"""The database border (contract §10), in process: the unit of work turns "the database cannot be
reached" into ``DatabaseUnavailable`` and rolls everything back, on PostgreSQL (a backend killed in
the middle of a transaction) and SQLite (locked by another writer); integrity errors stay what they
are; the same engine serves again at once; the HTTP border answers 503 for a database error that
reached it untranslated, and 500 for a programming error.

The live outages (a PostgreSQL stopped and started under ``customshop serve``) are in
``test_faults.py``.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from litestar import Litestar, get
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import create_engine, unavailable
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.application.ports import DatabaseUnavailable
from customshop.domain.catalog import Product
from customshop.entrypoints.http.errors import EXCEPTION_HANDLERS
from tests.integration.conftest import POSTGRES_ADMIN_URL, PostgresDatabases


def product() -> Product:
    at = datetime.now(UTC)
    return Product(
        id=f"p-{secrets.token_hex(6)}",
        slug=f"mug-{secrets.token_hex(4)}",
        name="Mug",
        description="",
        base_price=900,
        currency="USD",
        media=(),
        active=True,
        created_at=at,
        updated_at=at,
    )


async def stored(engine: AsyncEngine, product_id: str) -> bool:
    async with SqlUnitOfWork(engine, read_only=True) as uow:
        return await uow.products.get(product_id) is not None


async def store(engine: AsyncEngine, new: Product) -> None:
    async with SqlUnitOfWork(engine) as uow:
        await uow.products.add(new)
        await uow.commit()


async def backend_pid(uow: SqlUnitOfWork) -> int:
    result = await uow._connection().execute(sa.text("SELECT pg_backend_pid()"))
    return int(result.scalar_one())


def terminate(pid: int) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.fixture
async def pg_engine(postgres_databases: PostgresDatabases) -> AsyncEngine:
    engine = create_engine(postgres_databases.create(), pool_size=2)
    await migrate.upgrade(engine)
    return engine


async def test_a_connection_killed_mid_transaction_is_unavailable_and_nothing_is_kept(
    pg_engine: AsyncEngine,
) -> None:
    first, second = product(), product()

    async def interrupted() -> None:
        async with SqlUnitOfWork(pg_engine) as uow:
            await uow.products.add(first)
            terminate(await backend_pid(uow))  # what a restart or an administrator does
            await uow.products.add(second)
            await uow.commit()

    with pytest.raises(DatabaseUnavailable) as raised:
        await interrupted()
    assert raised.value.dependency == "the database"
    assert isinstance(raised.value.__cause__, sa.exc.DBAPIError)
    # The same engine serves at once, and nothing of the broken transaction was kept.
    assert not await stored(pg_engine, first.id)
    assert not await stored(pg_engine, second.id)
    async with SqlUnitOfWork(pg_engine) as uow:
        await uow.products.add(first)
        await uow.commit()
    assert await stored(pg_engine, first.id)
    await pg_engine.dispose()


async def test_pooled_connections_dropped_while_idle_are_replaced_before_use(pg_engine: AsyncEngine) -> None:
    async with SqlUnitOfWork(pg_engine) as uow:
        pid = await backend_pid(uow)
    terminate(pid)  # the pooled connection is now dead, unknown to the pool
    time.sleep(1.1)  # idle for longer than IDLE_BEFORE_PING_SECONDS
    async with SqlUnitOfWork(pg_engine, read_only=True) as uow:
        assert await backend_pid(uow) != pid  # pinged, found dead, replaced: no error for the caller
    # Alive connections that sat idle are pinged and handed out as they were: in autocommit for a
    # read, in a transaction of its own for a write.
    time.sleep(1.1)
    async with SqlUnitOfWork(pg_engine, read_only=True) as uow:
        await backend_pid(uow)
    time.sleep(1.1)
    mug = product()
    await store(pg_engine, mug)
    assert await stored(pg_engine, mug.id)
    await pg_engine.dispose()


async def test_integrity_and_data_errors_are_not_unavailability(pg_engine: AsyncEngine) -> None:
    async def run(statement: str) -> None:
        async with SqlUnitOfWork(pg_engine) as uow:
            await uow._connection().execute(sa.text(statement))

    with pytest.raises(sa.exc.IntegrityError):  # a bug, never "try again"
        await run("INSERT INTO products (id) VALUES ('p-1')")
    with pytest.raises(sa.exc.DataError):
        await run("SELECT 1 / 0")
    with pytest.raises(sa.exc.ProgrammingError):
        await run("SELECT nothing FROM nowhere")
    await pg_engine.dispose()


async def test_a_server_that_refuses_connections_is_unavailable_at_once() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:1/nothing")
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="Connection refused"):
        async with SqlUnitOfWork(engine, read_only=True):
            pass
    assert time.monotonic() - started < 2.5
    await engine.dispose()


async def test_a_sqlite_database_locked_by_another_writer_is_unavailable_within_the_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.db"
    engine = create_engine(f"sqlite:///{path}", timeout_seconds=0.5)
    await migrate.upgrade(engine)
    mug = product()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock, as a long writer in another process
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="locked"):
            await store(engine, mug)
        assert time.monotonic() - started < 2.0
        assert not await stored(engine, mug.id)  # readers are not blocked (WAL), and see nothing
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await store(engine, mug)  # the lock is gone: the same engine writes again
    assert await stored(engine, mug.id)
    await engine.dispose()


def test_driver_errors_are_told_apart() -> None:
    refused = psycopg.OperationalError("connection failed: Connection refused")
    assert unavailable(sa.exc.OperationalError("SELECT 1", {}, refused)) is not None
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorname = "SQLITE_BUSY"  # set by the sqlite3 module on real errors
    assert unavailable(sa.exc.OperationalError("INSERT", {}, locked)) is not None
    syntax = sqlite3.OperationalError('near "SELEC": syntax error')
    syntax.sqlite_errorname = "SQLITE_ERROR"
    assert unavailable(sa.exc.OperationalError("SELEC 1", {}, syntax)) is None
    assert unavailable(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))) is None
    assert unavailable(sa.exc.ProgrammingError("SELECT", {}, Exception("no such column"))) is None
    assert unavailable(ValueError("not a database error")) is None


def test_the_http_border_answers_503_for_an_untranslated_outage_and_500_for_a_bug() -> None:
    password = secrets.token_hex(8)
    refused = psycopg.OperationalError(
        f'connection to server at "10.1.2.3", port 5432 failed: Connection refused (password {password})'
    )

    @get("/down", sync_to_thread=False)
    def down() -> None:
        raise sa.exc.OperationalError("SELECT 1", {}, refused)

    @get("/bug", sync_to_thread=False)
    def bug() -> None:
        raise sa.exc.ProgrammingError("SELEC 1", {}, Exception("syntax error"))

    app = Litestar([down, bug], exception_handlers=EXCEPTION_HANDLERS)
    with TestClient(app) as client:
        response = client.get("/down")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["retry-after"]) > 0
        problem = response.json()
        assert problem["type"] == "/problems/unavailable"
        assert "database" in problem["detail"]
        assert "10.1.2.3" not in response.text and password not in response.text
        failed = client.get("/bug")
        assert failed.status_code == 500
        assert failed.json()["type"] == "/problems/internal-error"
