"""Bulk catalog import and export."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from customshop.application.ports.unit_of_work import UnitOfWork
from customshop.domain.catalog import OptionSet, Product


class Progress(Protocol):
    """Hears how far a long operation got, to show it to someone waiting.

    ``start`` opens a stage (``"Checking rows"``) of ``total`` steps (``None`` when unknown) and ends
    the previous one; ``advance`` counts steps done in the current stage. Called from the operation's
    own task: an implementation returns at once and never raises.
    """

    def start(self, stage: str, total: int | None) -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class BulkCatalogRepository(Protocol):
    """Products and option sets by the thousand, for catalog imports and exports. Never commits.

    Lookups take any number of keys (an adapter splits them into batches its database accepts) and
    return what exists, in no particular order unless stated. Writes take a batch of checked objects
    and raise ``DuplicateSlug`` when a slug would be held twice; the unit of work must then be rolled
    back.
    """

    async def count_products(self) -> int: ...

    async def products_with_ids(self, product_ids: Iterable[str]) -> list[Product]: ...

    async def products_with_slugs(self, slugs: Iterable[str]) -> list[Product]: ...

    async def option_sets_with_ids(self, option_set_ids: Iterable[str]) -> list[OptionSet]: ...

    async def option_sets_of_products(self, product_ids: Iterable[str]) -> list[OptionSet]:
        """Every option set of these products, ordered by product id, then by set id."""
        ...

    async def add_products(self, products: Iterable[Product]) -> None: ...

    async def vacate_slugs(self, product_ids: Iterable[str]) -> None:
        """Give these products a placeholder slug that no product can hold (not a valid slug), so
        that ``update_products`` later in the same transaction may hand slugs around among them."""
        ...

    async def update_products(self, products: Iterable[Product]) -> None:
        """Store every field but ``id`` and ``created_at``; unknown ids change nothing."""
        ...

    async def add_option_sets(self, option_sets: Iterable[OptionSet]) -> None: ...

    async def update_option_sets(self, option_sets: Iterable[OptionSet]) -> None:
        """Store name, options and ``updated_at`` (never the product); unknown ids change nothing."""
        ...


class BulkCatalogUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also offers the bulk catalog repository, in the same transaction."""

    @property
    def bulk_catalog(self) -> BulkCatalogRepository: ...


class BulkCatalogUnitOfWorkFactory(Protocol):
    """Makes :class:`BulkCatalogUnitOfWork` s, like :class:`UnitOfWorkFactory`."""

    def __call__(self, *, read_only: bool = False) -> BulkCatalogUnitOfWork: ...
