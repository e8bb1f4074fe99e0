"""Unit tests run use cases on the in-memory adapters: fakes, not mocks."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pytest

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.access import AccessKeys
from customshop.application.catalog import Catalog
from customshop.domain.hashing import hash_secret


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


def issue_keys(store: MemoryStore, *keys: str) -> None:
    """Record ``keys`` as session keys the server issued (a key it did not issue owns nothing)."""
    for key in keys:
        store.guest_keys[hash_secret(key)] = datetime(9999, 1, 1, tzinfo=UTC)
