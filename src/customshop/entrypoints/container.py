"""The composition root: the one place that chooses adapters, from the settings.

Nothing here runs at import time; ``build_container(settings)`` makes a container, engines and
clients are created on first use, and ``close(container)`` releases them.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from customshop.adapters.memory import MemoryStore, MemoryUnitOfWork
from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.adapters.system import SystemClock, UuidV7Ids
from customshop.application.access import AccessKeys
from customshop.application.catalog import Catalog
from customshop.entrypoints.settings import Settings


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidV7Ids)
    engine = providers.Singleton(create_engine, settings.provided.resolved_database_url)
    uow = providers.Factory(SqlUnitOfWork, engine=engine)

    catalog = providers.Singleton(
        Catalog, uow=uow.provider, clock=clock, ids=ids, default_currency=settings.provided.currency
    )
    access = providers.Singleton(AccessKeys, uow=uow.provider, clock=clock, ids=ids)


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)


def use_memory_storage(container: Container, store: MemoryStore | None = None) -> MemoryStore:
    """Swap the database for an in-memory store (unit tests); returns the store."""
    store = store or MemoryStore()
    container.uow.override(providers.Factory(MemoryUnitOfWork, store=store))
    return store


async def close(container: Container) -> None:
    """Dispose of the pooled connections (making an engine connects nothing, so this is cheap even
    when none was used)."""
    await container.engine().dispose()
