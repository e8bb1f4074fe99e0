"""Unit tests run use cases on the in-memory adapters: fakes, not mocks."""

from __future__ import annotations

from functools import partial

import pytest

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.access import AccessKeys
from customshop.application.catalog import Catalog


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def catalog(store: MemoryStore, clock: ManualClock) -> Catalog:
    return Catalog(partial(MemoryUnitOfWork, store), clock, UuidV7Ids(), "USD")


@pytest.fixture
def access(store: MemoryStore, clock: ManualClock) -> AccessKeys:
    return AccessKeys(partial(MemoryUnitOfWork, store), clock, UuidV7Ids())
