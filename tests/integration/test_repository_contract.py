"""One contract for the ``UnitOfWork`` port and its repositories, run against every implementation:
the in-memory adapter, SQLite and PostgreSQL. Only the port's methods are used, so whatever passes
here holds for each of them alike."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from customshop.adapters.memory import MemoryStore, MemoryUnitOfWork
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.ports import UnitOfWork, UnitOfWorkFactory
from customshop.domain.access import ApiKey, Scope
from customshop.domain.catalog import MediaItem, Option, OptionSet, Product
from customshop.domain.errors import Conflict, DuplicateSlug, DuplicateTemplateVersion
from customshop.domain.hashing import hash_secret
from customshop.domain.templates import Template, parse_definition

# Memory once, SQLite once, PostgreSQL once: ``backend`` (conftest) is given the value directly, and
# only the SQL implementations ask for a database.
pytestmark = pytest.mark.parametrize(
    "backend", ["memory", "sqlite", "postgresql"], indirect=True, scope="session"
)

IDS = UuidV7Ids()


@pytest.fixture
def uow_factory(backend: str, request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if backend == "memory":
        store = MemoryStore()
        return partial(MemoryUnitOfWork, store)
    engine = request.getfixturevalue("clean_engine")
    return partial(SqlUnitOfWork, engine)


# -- domain objects --------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def new_ids(count: int) -> list[str]:
    return sorted(IDS.new_id() for _ in range(count))


def make_product(slug: str | None = None, *, product_id: str | None = None, active: bool = True) -> Product:
    at = now()
    return Product(
        id=product_id or IDS.new_id(),
        slug=slug or f"product-{secrets.token_hex(4)}",
        name="Classic T-shirt",
        description="Cotton, 180 g/m²",
        base_price=2500,
        currency="USD",
        media=(MediaItem("https://cdn.example.com/tee.png", "front"), MediaItem("https://cdn.example.com/b")),
        active=active,
        created_at=at,
        updated_at=at,
    )


def make_option_set(product_id: str, *, option_set_id: str | None = None, name: str = "Size") -> OptionSet:
    at = now()
    return OptionSet(
        id=option_set_id or IDS.new_id(),
        product_id=product_id,
        name=name,
        options=(Option("M", "Medium"), Option("XL", "Extra large", 200)),
        created_at=at,
        updated_at=at,
    )


def raw_definition(option_set_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    zones: list[dict[str, Any]] = [
        {
            "id": "front_text",
            "type": "text",
            "max_length": 20,
            "fonts": ["Serif", "Sans"],
            "palette": ["#000000", "#FFFFFF"],
            "price_delta": 300,
            "area": {"x": 100, "y": 120, "width": 800, "height": 120},
        },
        {
            "id": "photo",
            "type": "image",
            "min_width": 600,
            "min_height": 600,
            "area": {"x": 250, "y": 300, "width": 500, "height": 500},
        },
        {"id": "body_color", "type": "color", "palette": ["#c0392b", "#2c3e50"], "default": "#2c3e50"},
    ]
    for index, set_id in enumerate(option_set_ids):
        zones.append({"id": f"choice_{index}", "type": "option", "option_set_id": set_id, "required": True})
    return {"canvas": {"width": 1000, "height": 1000}, "zones": zones}


def make_template(
    product_id: str, version: int, *, is_default: bool, option_sets: tuple[OptionSet, ...] = ()
) -> Template:
    definition = parse_definition(
        raw_definition(tuple(s.id for s in option_sets)),
        product_id=product_id,
        option_sets={s.id: s for s in option_sets},
    )
    return Template(
        id=IDS.new_id(),
        product_id=product_id,
        version=version,
        definition=definition,
        is_default=is_default,
        created_at=now(),
    )


def make_api_key(name: str = "ci", *scopes: Scope) -> ApiKey:
    secret = "csk_" + secrets.token_urlsafe(32)
    return ApiKey(
        id=IDS.new_id(),
        name=name,
        hint=secret[:8],
        key_hash=hash_secret(secret),
        scopes=frozenset(scopes or (Scope.CATALOG_WRITE, Scope.ORDERS_READ)),
        created_at=now(),
    )


async def stored_product(uow_factory: UnitOfWorkFactory, **fields: Any) -> Product:
    product = make_product(**fields)
    async with uow_factory() as uow:
        await uow.products.add(product)
        await uow.commit()
    return product


# -- products --------------------------------------------------------------------------------------


async def test_product_add_get_update(uow_factory: UnitOfWorkFactory) -> None:
    product = make_product("classic-tee")
    async with uow_factory() as uow:
        assert await uow.products.get(product.id) is None
        await uow.products.add(product)
        assert await uow.products.get(product.id) == product
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.products.get(product.id) == product
        assert await uow.products.get(IDS.new_id()) is None

    changed = replace(
        product,
        slug="classic-tee-2",
        name="Classic T-shirt v2",
        description="",
        base_price=0,
        currency="EUR",
        media=(),
        active=False,
        updated_at=product.updated_at + timedelta(minutes=5),
    )
    async with uow_factory() as uow:
        await uow.products.update(changed)
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.products.get(product.id)
    assert got == changed
    assert got is not None
    assert got.created_at == product.created_at
    assert got.updated_at.tzinfo is not None
    assert got.updated_at.utcoffset() == timedelta(0)


async def test_update_of_an_unknown_product_stores_nothing(uow_factory: UnitOfWorkFactory) -> None:
    ghost = make_product()
    async with uow_factory() as uow:
        await uow.products.update(ghost)
        assert await uow.products.get(ghost.id) is None
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.products.get(ghost.id) is None
        assert (await uow.products.list(active_only=False, after=None, limit=10)).items == []


async def test_products_are_listed_by_id_in_pages(uow_factory: UnitOfWorkFactory) -> None:
    ids = new_ids(5)
    products = [make_product(product_id=i, active=n != 2) for n, i in enumerate(reversed(ids))]
    async with uow_factory() as uow:
        for product in products:  # added in descending id order: the listing must sort
            await uow.products.add(product)
        await uow.commit()

    async with uow_factory() as uow:
        first = await uow.products.list(active_only=False, after=None, limit=2)
        assert [p.id for p in first.items] == ids[:2]
        assert first.next_after == ids[1]
        second = await uow.products.list(active_only=False, after=first.next_after, limit=2)
        assert [p.id for p in second.items] == ids[2:4]
        assert second.next_after == ids[3]
        last = await uow.products.list(active_only=False, after=second.next_after, limit=2)
        assert [p.id for p in last.items] == ids[4:]
        assert last.next_after is None

        everything = await uow.products.list(active_only=False, after=None, limit=5)
        assert [p.id for p in everything.items] == ids
        assert everything.next_after is None
        assert everything.items == sorted(products, key=lambda p: p.id)
        assert (await uow.products.list(active_only=False, after=ids[-1], limit=5)).items == []

        inactive_id = products[2].id
        active = await uow.products.list(active_only=True, after=None, limit=10)
        assert [p.id for p in active.items] == [i for i in ids if i != inactive_id]
        assert all(p.active for p in active.items)
        assert active.next_after is None
        paged = await uow.products.list(active_only=True, after=None, limit=2)
        rest = await uow.products.list(active_only=True, after=paged.next_after, limit=2)
        assert [p.id for p in paged.items + rest.items] == [i for i in ids if i != inactive_id]
        assert rest.next_after is None


async def test_duplicate_slug_on_add(uow_factory: UnitOfWorkFactory) -> None:
    first = await stored_product(uow_factory, slug="mug")
    clash = make_product("mug")
    async with uow_factory() as uow:
        with pytest.raises(DuplicateSlug):
            await uow.products.add(clash)
    async with uow_factory() as uow:
        assert await uow.products.get(clash.id) is None
        assert await uow.products.get(first.id) == first

    # Also against a product added earlier in the same, uncommitted, unit of work.
    async with uow_factory() as uow:
        await uow.products.add(make_product("poster"))
        with pytest.raises(DuplicateSlug):
            await uow.products.add(make_product("poster"))


async def test_duplicate_slug_on_update(uow_factory: UnitOfWorkFactory) -> None:
    mug = await stored_product(uow_factory, slug="mug")
    cap = await stored_product(uow_factory, slug="cap")
    async with uow_factory() as uow:
        with pytest.raises(DuplicateSlug):
            await uow.products.update(replace(cap, slug="mug", name="Renamed"))
    async with uow_factory() as uow:
        assert await uow.products.get(cap.id) == cap
        assert await uow.products.get(mug.id) == mug
        # Keeping one's own slug is no clash.
        await uow.products.update(replace(cap, name="Baseball cap"))
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.products.get(cap.id)
    assert got is not None
    assert (got.slug, got.name) == ("cap", "Baseball cap")


# -- option sets -----------------------------------------------------------------------------------


async def test_option_set_add_get_update_delete(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    sizes = make_option_set(product.id)
    async with uow_factory() as uow:
        await uow.option_sets.add(sizes)
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.option_sets.get(sizes.id)
        assert got == sizes
        assert got is not None
        assert got.option("XL") == Option("XL", "Extra large", 200)
        assert await uow.option_sets.get(IDS.new_id()) is None

    other = await stored_product(uow_factory)
    changed = replace(
        sizes,
        product_id=other.id,
        name="Sizes (EU)",
        options=(Option("38", "38"), Option("40", "40", -50), Option("42", "42", 75)),
        updated_at=sizes.updated_at + timedelta(hours=1),
    )
    async with uow_factory() as uow:
        await uow.option_sets.update(changed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.option_sets.get(sizes.id) == changed
        await uow.option_sets.delete(sizes.id)
        assert await uow.option_sets.get(sizes.id) is None
        await uow.option_sets.delete(IDS.new_id())  # unknown: nothing happens
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.option_sets.get(sizes.id) is None
        assert (await uow.option_sets.list(product_id=None, after=None, limit=10)).items == []


async def test_update_of_an_unknown_option_set_stores_nothing(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    ghost = make_option_set(product.id)
    async with uow_factory() as uow:
        await uow.option_sets.update(ghost)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.option_sets.get(ghost.id) is None
        assert await uow.option_sets.get_many([ghost.id]) == {}


async def test_option_sets_get_many(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    sets = [make_option_set(product.id, name=f"Set {n}") for n in range(3)]
    async with uow_factory() as uow:
        for option_set in sets:
            await uow.option_sets.add(option_set)
        await uow.commit()
    unknown = IDS.new_id()
    async with uow_factory() as uow:
        found = await uow.option_sets.get_many([sets[2].id, unknown, sets[0].id, sets[2].id])
        assert dict(found) == {sets[0].id: sets[0], sets[2].id: sets[2]}
        assert dict(await uow.option_sets.get_many(s.id for s in sets)) == {s.id: s for s in sets}
        assert dict(await uow.option_sets.get_many([])) == {}
        assert dict(await uow.option_sets.get_many([unknown])) == {}


async def test_option_sets_are_listed_by_id_per_product_in_pages(uow_factory: UnitOfWorkFactory) -> None:
    tee = await stored_product(uow_factory)
    mug = await stored_product(uow_factory)
    ids = new_ids(5)
    owners = [tee.id, mug.id, tee.id, tee.id, mug.id]
    sets = [make_option_set(owner, option_set_id=i) for i, owner in zip(ids, owners, strict=True)]
    async with uow_factory() as uow:
        for option_set in reversed(sets):
            await uow.option_sets.add(option_set)
        await uow.commit()

    async with uow_factory() as uow:
        first = await uow.option_sets.list(product_id=None, after=None, limit=3)
        assert first.items == sets[:3]
        assert first.next_after == ids[2]
        rest = await uow.option_sets.list(product_id=None, after=first.next_after, limit=3)
        assert rest.items == sets[3:]
        assert rest.next_after is None

        tee_ids = [s.id for s in sets if s.product_id == tee.id]
        page = await uow.option_sets.list(product_id=tee.id, after=None, limit=2)
        assert [s.id for s in page.items] == tee_ids[:2]
        assert page.next_after == tee_ids[1]
        page = await uow.option_sets.list(product_id=tee.id, after=page.next_after, limit=2)
        assert [s.id for s in page.items] == tee_ids[2:]
        assert page.next_after is None

        mug_page = await uow.option_sets.list(product_id=mug.id, after=None, limit=2)
        assert [s.id for s in mug_page.items] == [s.id for s in sets if s.product_id == mug.id]
        assert mug_page.next_after is None
        assert (await uow.option_sets.list(product_id=IDS.new_id(), after=None, limit=2)).items == []


# -- templates -------------------------------------------------------------------------------------


async def test_template_add_default_count(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    sizes = make_option_set(product.id)
    async with uow_factory() as uow:
        await uow.option_sets.add(sizes)
        assert await uow.templates.get_default(product.id) is None
        assert await uow.templates.count_for_product(product.id) == 0
        first = make_template(product.id, 1, is_default=True, option_sets=(sizes,))
        await uow.templates.add(first)
        assert await uow.templates.get_default(product.id) == first
        await uow.commit()

    async with uow_factory() as uow:
        got = await uow.templates.get_default(product.id)
        assert got == first
        assert got is not None
        assert got.definition.option_set_ids == {sizes.id}
        assert got.definition.to_dict() == first.definition.to_dict()
        draft = make_template(product.id, 2, is_default=False)
        await uow.templates.add(draft)
        assert await uow.templates.count_for_product(product.id) == 2
        assert await uow.templates.get_default(product.id) == first
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.count_for_product(product.id) == 2
        assert await uow.templates.count_for_product(IDS.new_id()) == 0
        assert await uow.templates.get_default(IDS.new_id()) is None


async def test_clear_default_then_a_new_default(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    other = await stored_product(uow_factory)
    v1 = make_template(product.id, 1, is_default=True)
    elsewhere = make_template(other.id, 1, is_default=True)
    async with uow_factory() as uow:
        await uow.templates.add(v1)
        await uow.templates.add(elsewhere)
        await uow.commit()

    v2 = make_template(product.id, 2, is_default=True)
    async with uow_factory() as uow:
        await uow.templates.clear_default(product.id)
        assert await uow.templates.get_default(product.id) is None
        await uow.templates.add(v2)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get_default(product.id) == v2
        assert await uow.templates.get_default(other.id) == elsewhere  # another product's is untouched
        listed = await uow.templates.list_for_product(product.id, before_version=None, limit=10)
        assert listed.items == [v2, replace(v1, is_default=False)]
        await uow.templates.clear_default(product.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get_default(product.id) is None
        assert await uow.templates.count_for_product(product.id) == 2
        assert await uow.templates.get_default(other.id) == elsewhere


async def test_a_second_default_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    v1 = make_template(product.id, 1, is_default=True)
    async with uow_factory() as uow:
        await uow.templates.add(v1)
        await uow.commit()

    v2 = make_template(product.id, 2, is_default=True)
    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.templates.add(v2)
    async with uow_factory() as uow:
        assert await uow.templates.get_default(product.id) == v1
        assert await uow.templates.count_for_product(product.id) == 1

    # Within one unit of work too, before anything is committed.
    fresh = await stored_product(uow_factory)
    async with uow_factory() as uow:
        await uow.templates.add(make_template(fresh.id, 1, is_default=True))
        with pytest.raises(Conflict):
            await uow.templates.add(make_template(fresh.id, 2, is_default=True))

    # Non-default versions never clash with the default.
    async with uow_factory() as uow:
        await uow.templates.add(make_template(product.id, 2, is_default=False))
        await uow.templates.add(make_template(product.id, 3, is_default=False))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.count_for_product(product.id) == 3
        assert await uow.templates.get_default(product.id) == v1


async def test_the_unit_of_work_goes_on_after_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    """A refused add refuses that one write: the block's other work stays and is committed."""
    product = await stored_product(uow_factory)
    v1 = make_template(product.id, 1, is_default=True)
    async with uow_factory() as uow:
        await uow.templates.add(v1)
        await uow.commit()

    before = make_product()
    after = make_product()
    async with uow_factory() as uow:
        await uow.products.add(before)
        with pytest.raises(Conflict):
            await uow.templates.add(make_template(product.id, 2, is_default=True))
        assert await uow.products.get(before.id) == before
        assert await uow.templates.get_default(product.id) == v1
        await uow.products.add(after)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.products.get(before.id) == before
        assert await uow.products.get(after.id) == after
        assert await uow.templates.count_for_product(product.id) == 1
        assert await uow.templates.get_default(product.id) == v1


async def test_duplicate_template_version(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    other = await stored_product(uow_factory)
    v1 = make_template(product.id, 1, is_default=True)
    async with uow_factory() as uow:
        await uow.templates.add(v1)
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(DuplicateTemplateVersion):
            await uow.templates.add(make_template(product.id, 1, is_default=False))
    async with uow_factory() as uow:
        # The version clash is reported even when the newcomer would also clash as a default.
        with pytest.raises(DuplicateTemplateVersion):
            await uow.templates.add(make_template(product.id, 1, is_default=True))
    async with uow_factory() as uow:
        assert await uow.templates.count_for_product(product.id) == 1
        assert await uow.templates.get_default(product.id) == v1
        # Versions are per product.
        same_number = make_template(other.id, 1, is_default=True)
        await uow.templates.add(same_number)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.get_default(other.id) == same_number


async def test_templates_are_listed_newest_first_in_pages(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    other = await stored_product(uow_factory)
    versions = {v: make_template(product.id, v, is_default=v == 3) for v in (2, 5, 1, 4, 3)}
    async with uow_factory() as uow:
        for template in versions.values():
            await uow.templates.add(template)
        await uow.templates.add(make_template(other.id, 9, is_default=True))
        await uow.commit()

    async with uow_factory() as uow:
        page = await uow.templates.list_for_product(product.id, before_version=None, limit=2)
        assert page.items == [versions[5], versions[4]]
        assert page.next_after == "4"
        assert page.next_after is not None
        page = await uow.templates.list_for_product(product.id, before_version=int(page.next_after), limit=2)
        assert page.items == [versions[3], versions[2]]
        assert page.next_after == "2"
        assert page.next_after is not None
        page = await uow.templates.list_for_product(product.id, before_version=int(page.next_after), limit=2)
        assert page.items == [versions[1]]
        assert page.next_after is None

        whole = await uow.templates.list_for_product(product.id, before_version=None, limit=5)
        assert whole.items == [versions[v] for v in (5, 4, 3, 2, 1)]
        assert whole.next_after is None
        below = await uow.templates.list_for_product(product.id, before_version=3, limit=10)
        assert [t.version for t in below.items] == [2, 1]
        assert (await uow.templates.list_for_product(product.id, before_version=1, limit=10)).items == []
        none = await uow.templates.list_for_product(IDS.new_id(), before_version=None, limit=10)
        assert none.items == []
        assert none.next_after is None


async def test_uses_option_set(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    used = make_option_set(product.id, name="Size")
    also_used = make_option_set(product.id, name="Gift box")
    unused = make_option_set(product.id, name="Colour")
    async with uow_factory() as uow:
        for option_set in (used, also_used, unused):
            await uow.option_sets.add(option_set)
        await uow.templates.add(make_template(product.id, 1, is_default=True, option_sets=(used,)))
        assert await uow.templates.uses_option_set(used.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.uses_option_set(used.id)
        assert not await uow.templates.uses_option_set(also_used.id)
        assert not await uow.templates.uses_option_set(unused.id)
        assert not await uow.templates.uses_option_set(IDS.new_id())
        await uow.templates.add(make_template(product.id, 2, is_default=False, option_sets=(used, also_used)))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.uses_option_set(used.id)
        assert await uow.templates.uses_option_set(also_used.id)
        assert not await uow.templates.uses_option_set(unused.id)


# -- API keys --------------------------------------------------------------------------------------


async def test_api_keys(uow_factory: UnitOfWorkFactory) -> None:
    ids = new_ids(3)
    keys = [
        replace(make_api_key(name, *scopes), id=key_id)
        for key_id, name, scopes in zip(
            ids,
            ["ci", "studio", "root"],
            [(Scope.CATALOG_WRITE,), (Scope.ORDERS_READ, Scope.REPORTS_READ), (Scope.ADMIN,)],
            strict=True,
        )
    ]
    async with uow_factory() as uow:
        assert await uow.api_keys.list() == []
        for key in reversed(keys):
            await uow.api_keys.add(key)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.api_keys.list() == keys  # ordered by id
        for key in keys:
            assert await uow.api_keys.get(key.id) == key
            assert await uow.api_keys.get_by_hash(key.key_hash) == key
        assert await uow.api_keys.get(IDS.new_id()) is None
        assert await uow.api_keys.get_by_hash(hash_secret("csk_unknown")) is None

    at = now()
    async with uow_factory() as uow:
        await uow.api_keys.revoke(keys[1].id, at)
        await uow.api_keys.revoke(IDS.new_id(), at)  # unknown: nothing happens
        await uow.commit()

    async with uow_factory() as uow:
        revoked = await uow.api_keys.get(keys[1].id)
        assert revoked == replace(keys[1], revoked_at=at)
        assert revoked is not None
        assert not revoked.active
        assert await uow.api_keys.get_by_hash(keys[1].key_hash) == revoked
        assert await uow.api_keys.list() == [keys[0], revoked, keys[2]]
        for untouched in (keys[0], keys[2]):
            got = await uow.api_keys.get(untouched.id)
            assert got == untouched
            assert got is not None
            assert got.active


# -- the unit of work ------------------------------------------------------------------------------


async def add_one_of_each(uow: UnitOfWork) -> tuple[Product, OptionSet, Template, ApiKey]:
    product = make_product()
    option_set = make_option_set(product.id)
    template = make_template(product.id, 1, is_default=True, option_sets=(option_set,))
    key = make_api_key()
    await uow.products.add(product)
    await uow.option_sets.add(option_set)
    await uow.templates.add(template)
    await uow.api_keys.add(key)
    return product, option_set, template, key


async def nothing_stored(uow_factory: UnitOfWorkFactory, product: Product, option_set: OptionSet) -> None:
    async with uow_factory() as uow:
        assert await uow.products.get(product.id) is None
        assert (await uow.products.list(active_only=False, after=None, limit=10)).items == []
        assert await uow.option_sets.get(option_set.id) is None
        assert await uow.templates.get_default(product.id) is None
        assert await uow.templates.count_for_product(product.id) == 0
        assert not await uow.templates.uses_option_set(option_set.id)
        assert await uow.api_keys.list() == []


async def test_writes_are_visible_inside_the_unit_of_work(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        product, option_set, template, key = await add_one_of_each(uow)
        assert await uow.products.get(product.id) == product
        assert await uow.option_sets.get(option_set.id) == option_set
        assert await uow.templates.get_default(product.id) == template
        assert await uow.templates.uses_option_set(option_set.id)
        assert await uow.api_keys.get_by_hash(key.key_hash) == key
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.products.get(product.id) == product
        assert await uow.option_sets.get(option_set.id) == option_set
        assert await uow.templates.get_default(product.id) == template
        assert await uow.api_keys.list() == [key]


async def test_nothing_is_kept_without_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        product, option_set, _, _ = await add_one_of_each(uow)
    await nothing_stored(uow_factory, product, option_set)


class Boom(Exception):
    """Raised inside a unit of work to abandon it."""


async def test_an_exception_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    written: list[tuple[Product, OptionSet]] = []

    async def write_then_fail() -> None:
        async with uow_factory() as uow:
            product, option_set, _, _ = await add_one_of_each(uow)
            written.append((product, option_set))
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()
    ((product, option_set),) = written
    await nothing_stored(uow_factory, product, option_set)

    # Updates are undone as well, and the factory keeps working afterwards.
    stored = await stored_product(uow_factory, slug="kept")

    async def update_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.products.update(replace(stored, name="Changed", slug="changed"))
            assert await uow.products.get(stored.id) != stored
            raise Boom

    with pytest.raises(Boom):
        await update_then_fail()
    async with uow_factory() as uow:
        assert await uow.products.get(stored.id) == stored


async def test_rollback_discards_pending_changes(uow_factory: UnitOfWorkFactory) -> None:
    kept = make_product("kept")
    async with uow_factory() as uow:
        product, option_set, _, _ = await add_one_of_each(uow)
        await uow.rollback()
        assert await uow.products.get(product.id) is None
        assert await uow.option_sets.get(option_set.id) is None
        assert await uow.api_keys.list() == []
        # The unit of work goes on after a rollback.
        await uow.products.add(kept)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.products.get(product.id) is None
        assert await uow.option_sets.get(option_set.id) is None
        assert await uow.products.get(kept.id) == kept
        assert await uow.api_keys.list() == []

    async with uow_factory() as uow:
        await uow.products.update(replace(kept, name="Renamed"))
        await uow.rollback()
        assert await uow.products.get(kept.id) == kept
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.products.get(kept.id) == kept


async def test_only_committed_work_survives_the_block(uow_factory: UnitOfWorkFactory) -> None:
    first = make_product("first")
    second = make_product("second")
    async with uow_factory() as uow:
        await uow.products.add(first)
        await uow.commit()
        await uow.products.add(second)  # after the commit, never committed itself
        await uow.products.update(replace(first, name="Renamed"))
    async with uow_factory() as uow:
        assert await uow.products.get(first.id) == first
        assert await uow.products.get(second.id) is None
        # The slug of an uncommitted product is free again.
        await uow.products.add(make_product("second"))
        await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.products.list(active_only=False, after=None, limit=10)
        assert sorted(p.slug for p in listed.items) == ["first", "second"]


async def test_committed_state_is_shared_by_later_units_of_work(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory, slug="shared")
    for name in ("One", "Two", "Three"):
        async with uow_factory() as uow:
            current = await uow.products.get(product.id)
            assert current is not None
            await uow.products.update(replace(current, name=f"{current.name} {name}".strip()))
            await uow.commit()
    async with uow_factory() as uow:
        got = await uow.products.get(product.id)
    assert got is not None
    assert got.name == "Classic T-shirt One Two Three"
