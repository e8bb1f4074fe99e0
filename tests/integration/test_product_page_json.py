"""The product pages of the ``ProductPages`` read model (the uncached ``GET /products``), written as
JSON by PostgreSQL and encoded from products on SQLite, say exactly what the products encoded by the
API's own schema say, page by page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.sqlalchemy.product_pages import SqlProductPages
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.domain.catalog import MediaItem, Product, VolumeTier
from customshop.entrypoints.http.schemas import ProductRead
from tests.builders import IDS

T0 = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)

# NUL never reaches the database: requests carrying one are refused (see `reject_nul_characters`).
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40
)
#: Volume tiers as stored: in order, discounts never smaller (the rules do not matter to the page).
tiers = st.lists(st.integers(2, 99), unique=True, max_size=4).flatmap(
    lambda quantities: st.lists(
        st.integers(1, 10_000), min_size=len(quantities), max_size=len(quantities)
    ).map(
        lambda discounts: tuple(
            VolumeTier(q, d) for q, d in zip(sorted(quantities), sorted(discounts), strict=True)
        )
    )
)
products = st.builds(
    lambda n, name, description, price, media, active, micro, tax_class, volume_pricing: (
        n,
        name or "p",
        description,
        price,
        media,
        active,
        micro,
        tax_class,
        volume_pricing,
    ),
    st.integers(0, 10**6),
    texts,
    texts,
    st.integers(0, 10**12),
    st.lists(st.tuples(st.sampled_from(["https://cdn.example/a.png", '/m/b c\\"d.jpg']), texts), max_size=3),
    st.booleans(),
    st.sampled_from([0, 1, 999_999, 500_000]),
    st.sampled_from(["standard", "reduced", "z9_x"]),
    tiers,
)


def expected(items: list[Product]) -> list[Any]:
    return json.loads(msgspec.json.encode([ProductRead.of(p) for p in items]))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(products, min_size=0, max_size=7), limit=st.integers(1, 4))
async def test_pages_written_by_postgresql_match_the_api_encoding(
    clean_engine: AsyncEngine, specs: list[Any], limit: int
) -> None:
    async with clean_engine.begin() as conn:
        await conn.exec_driver_sql("DELETE FROM products")
    made = []
    for index, (n, name, description, price, media, active, micro, tax_class, volume_pricing) in enumerate(
        specs
    ):
        at = T0 + timedelta(days=n % 400, microseconds=micro)
        made.append(
            Product.restore(
                IDS.new_id(),
                f"slug-{index}",
                name,
                description,
                price,
                "JPY" if n % 2 else "EUR",
                tuple(MediaItem(url, alt) for url, alt in media),
                active,
                at,
                at + timedelta(seconds=n % 7),
                tax_class,
                volume_pricing,
            )
        )
    async with SqlUnitOfWork(clean_engine) as uow:
        for product in made:
            await uow.products.add(product)
        await uow.commit()

    pages = SqlProductPages(partial(SqlUnitOfWork, clean_engine))
    for include_inactive in (False, True):
        after: str | None = None
        while True:
            async with SqlUnitOfWork(clean_engine, read_only=True) as uow:
                page = await uow.products.list(active_only=not include_inactive, after=after, limit=limit)
            written = await pages.page_json(include_inactive=include_inactive, after=after, limit=limit)
            assert json.loads(written.items) == expected(page.items)
            assert written.next_after == page.next_after
            if written.next_after is None:
                break
            after = written.next_after
