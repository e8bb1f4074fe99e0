"""Integration fixtures: real PostgreSQL and SQLite databases, migrated with the shipped migrations.

PostgreSQL is the server on 127.0.0.1:5432 (``TEST_POSTGRES_URL`` overrides it); each test session
creates databases of its own and drops them at the end. When the server is unreachable every test
that needs it fails with one line saying so; nothing is skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.adapters.memory import MemoryStore, MemoryUnitOfWork
from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.adapters.sqlalchemy.tables import metadata
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.application.ports import UnitOfWorkFactory
from customshop.domain.quote import FlatRates
from customshop.entrypoints.container import Adapters, Container, build_container
from customshop.entrypoints.demo import seed_demo_catalog
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.settings import Settings
from tests.integration.standins.webhook_receiver import WebhookReceiver

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: The Redis server of the tests. They use three database numbers of it and nothing else: 11 to 13,
#: or, run in parallel (pytest-xdist), three of their own for each worker process (see redis_db).
REDIS_SERVER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
#: The database numbers of each parallel worker (gw0, gw1...); the first is that of a serial run.
_REDIS_DBS = ((11, 12, 13), (8, 9, 10), (5, 6, 7), (2, 3, 4))


def redis_db(n: int) -> int:
    """The number of this process's Redis database ``n`` (0, 1 or 2): parallel test processes
    (``PYTEST_XDIST_WORKER`` = ``gw<k>``) never share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if index >= len(_REDIS_DBS):
        pytest.fail(
            f"at most {len(_REDIS_DBS)} parallel test processes share one Redis server", pytrace=False
        )
    return _REDIS_DBS[index][n]


CUSTOMSHOP = str(Path(sys.executable).with_name("customshop"))


def postgres_or_fail() -> None:
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}: {reason}", pytrace=False)


def redis_or_fail(n: int) -> str:
    """The URL of this process's Redis database ``n`` (0, 1 or 2; see :func:`redis_db`), emptied, or
    a one-line failure when Redis is unreachable."""
    url = f"{REDIS_SERVER_URL}/{redis_db(n)}"
    try:
        with Redis.from_url(url, socket_connect_timeout=3) as client:
            client.flushdb()
    except RedisError as exc:
        pytest.fail(f"Redis is unreachable at {REDIS_SERVER_URL}: {exc}", pytrace=False)
    return url


@pytest.fixture
def redis_url() -> str:
    """An empty Redis database of the tests' own (this process's first)."""
    return redis_or_fail(0)


class PostgresDatabases:
    """Creates throw-away databases on the test server and drops them all at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self) -> str:
        postgres_or_fail()
        name = f"customshop_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        if not self.created:
            return
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture
def fresh_postgres_url(postgres_databases: PostgresDatabases) -> str:
    """An empty (unmigrated) PostgreSQL database for this test."""
    return postgres_databases.create()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, postgres_databases: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated database of the session's current backend, shared by the tests of that backend."""
    if backend == "postgresql":
        return postgres_databases.create()
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'customshop.db'}"


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncEngine:
    """The shared engine, its tables emptied before the test."""
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != "catalog_state":  # the catalog's version stamp: one row, always there
                await conn.execute(sa.delete(table))
    return engine


@pytest.fixture
def uow_factory(backend: str, request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """Units of work of the current backend: a fresh memory store, or the emptied shared engine
    (``backend`` is parametrized by the contract suites, "memory" included)."""
    if backend == "memory":
        return partial(MemoryUnitOfWork, MemoryStore())
    return partial(SqlUnitOfWork, request.getfixturevalue("clean_engine"))


@pytest.fixture
def settings(database_url: str, clean_engine: AsyncEngine, tmp_path: Path) -> Settings:
    # The in-process app's periodic loops (reservation sweep, event pump) would run in the test
    # client's own event loop thread; tests run those jobs themselves, when they mean to.
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        test_payments_enabled=True,
        reservation_sweep_seconds=3600,
        outbox_poll_seconds=3600,
        # One client sends every request of a test; the tests of the limits turn them on themselves.
        rate_limit_enabled=False,
    )


@pytest.fixture
def container(settings: Settings, clean_engine: AsyncEngine) -> Container:
    # The adapters of production but the engine: the session's, emptied before the test.
    return build_container(settings, adapters=Adapters(settings=settings, engine=clean_engine))


@pytest.fixture
async def client(container: Container) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(container)
    # The engine belongs to the session; the app must not dispose of it on shutdown.
    app.on_shutdown.clear()
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def make_key(container: Container, *scopes: str) -> str:
    _, secret = await container.use_cases.access().create("test", list(scopes) or ["admin"])
    return secret


@pytest.fixture
async def admin(container: Container) -> dict[str, str]:
    """Headers carrying a fresh key with the admin scope."""
    return {"X-API-Key": await make_key(container, "admin")}


@pytest.fixture
async def catalog(container: Container) -> dict[str, str]:
    """The demo catalog by slug; tax 10 %, shipping 500 per order."""
    container.adapters.flat_rates.override(providers.Object(FlatRates(1000, 500, 0)))
    await seed_demo_catalog(container.use_cases.catalog())
    page = await container.use_cases.catalog().list_products(include_inactive=False, after=None, limit=10)
    return {p.slug: p.id for p in page.items}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A partner's webhook endpoint on loopback that keeps what it is sent."""
    with WebhookReceiver.running() as running:
        yield running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment for running ``customshop`` in a subprocess: no inherited CUSTOMSHOP_* variables,
    data under the test's own folder, no rate limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")}
    env["CUSTOMSHOP_DATA_DIR"] = str(tmp_path / "var")
    env["CUSTOMSHOP_RATE_LIMIT_ENABLED"] = "false"  # servers of tests serve one client, fast
    env["PATH"] = f"{Path(CUSTOMSHOP).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


assert shutil.which(CUSTOMSHOP), f"{CUSTOMSHOP} is not installed; run `make install`"


async def render_prints(container: Container) -> None:
    """What the serving processes and a worker do once an order is paid: render the print files
    that are due (the in-process queue runs the jobs; wait for them)."""
    queue = container.adapters.queue()
    assert isinstance(queue, InProcessJobQueue)
    await container.use_cases.print_files().render_due()
    await queue.drain()
