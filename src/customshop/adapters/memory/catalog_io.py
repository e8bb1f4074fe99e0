"""The in-memory bulk catalog repository (imports and exports on the fakes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from customshop.domain.catalog import OptionSet, Product
from customshop.domain.errors import DuplicateSlug

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore


class MemoryBulkCatalogRepository:
    """Implements ``BulkCatalogRepository`` over the unit of work's copy of the store; like a unique
    index, a write that leaves a slug held twice raises ``DuplicateSlug``."""

    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def count_products(self) -> int:
        return len(self._state.products)

    async def products_with_ids(self, product_ids: Iterable[str]) -> list[Product]:
        products = self._state.products
        return [products[i] for i in set(product_ids) if i in products]

    async def products_with_slugs(self, slugs: Iterable[str]) -> list[Product]:
        wanted = set(slugs)
        return [p for p in self._state.products.values() if p.slug in wanted]

    async def option_sets_with_ids(self, option_set_ids: Iterable[str]) -> list[OptionSet]:
        sets = self._state.option_sets
        return [sets[i] for i in set(option_set_ids) if i in sets]

    async def option_sets_of_products(self, product_ids: Iterable[str]) -> list[OptionSet]:
        wanted = set(product_ids)
        found = [s for s in self._state.option_sets.values() if s.product_id in wanted]
        return sorted(found, key=lambda s: (s.product_id, s.id))

    async def add_products(self, products: Iterable[Product]) -> None:
        for product in products:
            self._state.products[product.id] = product
        self._check_slugs()

    async def vacate_slugs(self, product_ids: Iterable[str]) -> None:
        for product_id in product_ids:
            current = self._state.products.get(product_id)
            if current is not None:  # not a valid slug, so built without the product's checks
                self._state.products[product_id] = Product.restore(
                    current.id,
                    f"~{current.id}",
                    current.name,
                    current.description,
                    current.base_price,
                    current.currency,
                    current.media,
                    current.active,
                    current.created_at,
                    current.updated_at,
                    current.tax_class,
                    current.volume_pricing,
                )

    async def update_products(self, products: Iterable[Product]) -> None:
        for product in products:
            current = self._state.products.get(product.id)
            if current is not None:
                self._state.products[product.id] = replace(product, created_at=current.created_at)
        self._check_slugs()

    async def add_option_sets(self, option_sets: Iterable[OptionSet]) -> None:
        for option_set in option_sets:
            self._state.option_sets[option_set.id] = option_set

    async def update_option_sets(self, option_sets: Iterable[OptionSet]) -> None:
        for option_set in option_sets:
            current = self._state.option_sets.get(option_set.id)
            if current is not None:
                self._state.option_sets[option_set.id] = OptionSet(
                    id=current.id,
                    product_id=current.product_id,
                    name=option_set.name,
                    options=option_set.options,
                    created_at=current.created_at,
                    updated_at=option_set.updated_at,
                )

    def _check_slugs(self) -> None:
        held = Counter(p.slug for p in self._state.products.values())
        twice = sorted(slug for slug, count in held.items() if count > 1)
        if twice:
            raise DuplicateSlug(f"another product already uses the slug {twice[0]!r}")
