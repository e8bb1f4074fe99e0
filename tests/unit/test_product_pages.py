"""The product pages encoded from products (``EncodedProductPages``, the ``ProductPages`` read model
wherever the store does not write JSON itself) are the API schema's encoding of ``list``'s pages."""

from __future__ import annotations

import json
from functools import partial

import msgspec

from customshop.adapters.memory import MemoryStore, MemoryUnitOfWork
from customshop.adapters.product_pages import EncodedProductPages
from customshop.application.catalog import Catalog, ProductInput
from customshop.domain.catalog import MediaItem
from customshop.entrypoints.http.schemas import ProductRead


async def test_pages_follow_the_listing_in_the_public_form(store: MemoryStore, catalog: Catalog) -> None:
    made = [
        await catalog.create_product(
            ProductInput(
                name=f"Mug {n}",
                description="ceramic",
                base_price=1200 + n,
                media=(MediaItem("https://cdn.example/m.png", f"mug {n}"),) * (n % 2),
                active=n != 1,
            )
        )
        for n in range(4)
    ]
    pages = EncodedProductPages(partial(MemoryUnitOfWork, store))

    first = await pages.page_json(include_inactive=False, after=None, limit=2)
    second = await pages.page_json(include_inactive=False, after=first.next_after, limit=2)
    everything = await pages.page_json(include_inactive=True, after=None, limit=10)

    public = [json.loads(msgspec.json.encode(ProductRead.of(p))) for p in made]  # made[1] is inactive
    assert json.loads(first.items) == [public[0], public[2]]
    assert first.next_after == made[2].id
    assert json.loads(second.items) == [public[3]]
    assert second.next_after is None
    assert json.loads(everything.items) == public
    assert everything.next_after is None
