"""One contract for the ``BulkCatalogRepository`` port, run against the in-memory adapter, SQLite and
PostgreSQL. Only the port's methods (and the unit of work's) are used."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from customshop.application.ports import BulkCatalogUnitOfWorkFactory
from customshop.domain.catalog import MediaItem, Option, OptionSet, Product, VolumeTier
from customshop.domain.errors import DuplicateSlug
from tests.builders import IDS

pytestmark = pytest.mark.parametrize(
    "backend", ["memory", "sqlite", "postgresql"], indirect=True, scope="session"
)

AT = datetime(2026, 1, 1, tzinfo=UTC)


def product(slug: str, **changes: object) -> Product:
    fields: dict[str, object] = {
        "id": IDS.new_id(),
        "slug": slug,
        "name": slug.title(),
        "description": "",
        "base_price": 100,
        "currency": "USD",
        "media": (MediaItem("https://cdn.example.com/a.png", "A"),),
        "active": True,
        "created_at": AT,
        "updated_at": AT,
    } | changes
    return Product(**fields)  # type: ignore[arg-type]


def option_set(product_id: str, name: str = "Size") -> OptionSet:
    return OptionSet(
        IDS.new_id(), product_id, name, (Option("S", "Small"), Option("L", "Large", 200)), AT, AT
    )


async def test_add_then_look_up_by_id_slug_and_product(uow_factory: BulkCatalogUnitOfWorkFactory) -> None:
    tee = product("tee", tax_class="clothing", volume_pricing=(VolumeTier(10, 1500), VolumeTier(50, 2000)))
    mug = product("mug", active=False, media=())
    tee_sets = [option_set(tee.id), option_set(tee.id, "Extras")]
    async with uow_factory() as uow:
        await uow.bulk_catalog.add_products([tee, mug])
        await uow.bulk_catalog.add_option_sets(tee_sets)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        bulk = uow.bulk_catalog
        assert await bulk.count_products() == 2
        # Many more keys than one IN list takes on SQLite, almost all unknown.
        unknown = [IDS.new_id() for _ in range(2_000)]
        assert sorted(await bulk.products_with_ids([tee.id, mug.id, *unknown]), key=lambda p: p.id) == sorted(
            [tee, mug], key=lambda p: p.id
        )
        assert await bulk.products_with_slugs(["mug", "nothing", "mug"]) == [mug]
        assert sorted(
            s.id for s in await bulk.option_sets_with_ids([s.id for s in tee_sets] + unknown)
        ) == sorted(s.id for s in tee_sets)
        assert await bulk.option_sets_of_products([mug.id, tee.id]) == sorted(tee_sets, key=lambda s: s.id)
        assert await bulk.option_sets_of_products([]) == []


async def test_an_added_slug_that_is_taken_is_refused(uow_factory: BulkCatalogUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.bulk_catalog.add_products([product("tee")])
        await uow.commit()
    with pytest.raises(DuplicateSlug):
        async with uow_factory() as uow:
            await uow.bulk_catalog.add_products([product("mug"), product("tee")])
    async with uow_factory(read_only=True) as uow:
        assert await uow.bulk_catalog.count_products() == 1


async def test_slugs_change_hands_after_they_are_vacated(uow_factory: BulkCatalogUnitOfWorkFactory) -> None:
    a, b = product("a", tax_class="books", volume_pricing=(VolumeTier(2, 100),)), product("b")
    async with uow_factory() as uow:
        await uow.bulk_catalog.add_products([a, b])
        await uow.commit()
    later = AT + timedelta(hours=1)
    swapped = [replace(a, slug="b", updated_at=later), replace(b, slug="a", name="Bee", updated_at=later)]
    async with uow_factory() as uow:
        await uow.bulk_catalog.vacate_slugs([a.id, b.id])
        vacated = await uow.products.get(a.id)
        assert vacated is not None and vacated.slug != "a"
        assert (vacated.tax_class, vacated.volume_pricing) == (a.tax_class, a.volume_pricing)
        await uow.bulk_catalog.update_products(swapped)
        await uow.bulk_catalog.add_products([product("c")])
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert (await uow.products.get(a.id)) == swapped[0]
        assert (await uow.products.get(b.id)) == swapped[1]
        assert {p.slug for p in await uow.bulk_catalog.products_with_slugs(["a", "b", "c"])} == {
            "a",
            "b",
            "c",
        }


async def test_updates_keep_identity_and_creation(uow_factory: BulkCatalogUnitOfWorkFactory) -> None:
    tee = product("tee")
    sizes = option_set(tee.id)
    async with uow_factory() as uow:
        await uow.bulk_catalog.add_products([tee])
        await uow.bulk_catalog.add_option_sets([sizes])
        await uow.commit()
    later = AT + timedelta(days=1)
    changed = replace(
        tee,
        name="Tee",
        base_price=0,
        media=(),
        active=False,
        created_at=later,
        updated_at=later,
        tax_class="reduced",
        volume_pricing=(VolumeTier(5, 1000),),
    )
    other = product("other")
    renamed = OptionSet(sizes.id, other.id, "Sizes", (Option("M", "Medium"),), later, later)
    async with uow_factory() as uow:
        await uow.bulk_catalog.update_products([changed, product("unknown")])
        await uow.bulk_catalog.update_option_sets([renamed, option_set(tee.id)])
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.products.get(tee.id) == replace(changed, created_at=AT)
        stored = await uow.option_sets.get(sizes.id)
        assert stored == OptionSet(sizes.id, tee.id, "Sizes", (Option("M", "Medium"),), AT, later)
        assert await uow.bulk_catalog.count_products() == 1
        assert len(await uow.bulk_catalog.option_sets_of_products([tee.id])) == 1


async def test_nothing_is_kept_without_commit(uow_factory: BulkCatalogUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        tee = product("tee")
        await uow.bulk_catalog.add_products([tee])
        await uow.bulk_catalog.add_option_sets([option_set(tee.id)])
    async with uow_factory(read_only=True) as uow:
        assert await uow.bulk_catalog.count_products() == 0
        assert await uow.bulk_catalog.option_sets_of_products([tee.id]) == []
