"""The ports: what use cases need from the world, each stated by its contract.

Adapters implement these structurally (``typing.Protocol``); ``adapters/memory`` holds an in-memory
implementation of each one, used by unit tests and by the same contract tests as the real adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from customshop.domain.access import ApiKey
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.templates import Template

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing. ``next_after`` is the sort key to continue after, or ``None`` at the end."""

    items: list[T]
    next_after: str | None


class Clock(Protocol):
    """The current time. Always timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New opaque, unguessable identifiers. Successive ids sort in creation order within a process."""

    def new_id(self) -> str: ...


class ProductRepository(Protocol):
    """Products. Never commits; the unit of work does.

    ``add`` and ``update`` raise ``DuplicateSlug`` when another product holds the slug.
    """

    async def add(self, product: Product) -> None: ...

    async def update(self, product: Product) -> None: ...

    async def get(self, product_id: str) -> Product | None: ...

    async def list(self, *, active_only: bool, after: str | None, limit: int) -> Page[Product]:
        """Products ordered by id, those with an id greater than ``after``, at most ``limit``."""
        ...


class OptionSetRepository(Protocol):
    """Option sets. Never commits."""

    async def add(self, option_set: OptionSet) -> None: ...

    async def update(self, option_set: OptionSet) -> None: ...

    async def delete(self, option_set_id: str) -> None: ...

    async def get(self, option_set_id: str) -> OptionSet | None: ...

    async def get_many(self, option_set_ids: Iterable[str]) -> Mapping[str, OptionSet]:
        """The sets among ``option_set_ids`` that exist, by id."""
        ...

    async def list(self, *, product_id: str | None, after: str | None, limit: int) -> Page[OptionSet]:
        """Sets ordered by id (of one product when ``product_id`` is given)."""
        ...


class TemplateRepository(Protocol):
    """Template versions. Never commits.

    ``add`` raises ``DuplicateTemplateVersion`` when the product already has that version, and
    ``Conflict`` when a concurrent writer made another template the default first.
    """

    async def add(self, template: Template) -> None: ...

    async def get_default(self, product_id: str) -> Template | None: ...

    async def count_for_product(self, product_id: str) -> int: ...

    async def clear_default(self, product_id: str) -> None:
        """Make none of the product's templates the default (before adding a new default)."""
        ...

    async def list_for_product(
        self, product_id: str, *, before_version: int | None, limit: int
    ) -> Page[Template]:
        """The product's templates, newest version first, those below ``before_version``."""
        ...

    async def uses_option_set(self, option_set_id: str) -> bool:
        """Whether any template refers to this option set."""
        ...


class ApiKeyRepository(Protocol):
    """Admin API keys. Never commits."""

    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: str) -> ApiKey | None: ...

    async def get_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list(self) -> list[ApiKey]: ...

    async def revoke(self, key_id: str, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over all repositories.

    Use as ``async with uow_factory() as uow: ...; await uow.commit()``. Leaving the block without
    ``commit()`` rolls everything back, as does an exception. The block owns (and closes) its
    connection.
    """

    products: ProductRepository
    option_sets: OptionSetRepository
    templates: TemplateRepository
    api_keys: ApiKeyRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class Cache(Protocol):
    """A byte cache shared by the processes that use the same backend.

    Failures of the backend surface as ``CacheUnavailable``; callers fall back to the source of truth.
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    async def delete(self, *keys: str) -> None: ...


class CacheUnavailable(Exception):
    """The cache backend cannot be reached."""
