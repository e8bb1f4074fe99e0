"""Product pages encoded from products: the ``ProductPages`` read model wherever the store cannot
write the JSON itself (SQLite, the in-memory adapters)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from customshop.application.ports import JsonPage, ProductRepository, UnitOfWorkFactory
from customshop.domain.catalog import Product


class _Media(msgspec.Struct):
    url: str
    alt: str


class _Tier(msgspec.Struct):
    min_quantity: int
    discount_bps: int


class _Product(msgspec.Struct):
    """A product's public form, field for field (checked against the API's schema by
    ``tests/integration/test_product_page_json.py``)."""

    id: str
    slug: str
    name: str
    description: str
    base_price: int
    currency: str
    tax_class: str
    volume_pricing: list[_Tier]
    media: list[_Media]
    active: bool
    created_at: datetime
    updated_at: datetime


def _public(p: Product) -> _Product:
    return _Product(
        p.id,
        p.slug,
        p.name,
        p.description,
        p.base_price,
        p.currency,
        p.tax_class,
        [_Tier(t.min_quantity, t.discount_bps) for t in p.volume_pricing],
        [_Media(m.url, m.alt) for m in p.media],
        p.active,
        p.created_at,
        p.updated_at,
    )


async def encoded_page(
    products: ProductRepository, *, include_inactive: bool, after: str | None, limit: int
) -> JsonPage:
    """The page ``products.list`` gives, encoded."""
    page = await products.list(active_only=not include_inactive, after=after, limit=limit)
    return JsonPage(msgspec.json.encode([_public(p) for p in page.items]), page.next_after)


class EncodedProductPages:
    """Implements ``ProductPages`` over any unit of work: reads the products, then encodes them."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def page_json(self, *, include_inactive: bool, after: str | None, limit: int) -> JsonPage:
        async with self._uow(read_only=True) as uow:
            return await encoded_page(
                uow.products, include_inactive=include_inactive, after=after, limit=limit
            )
