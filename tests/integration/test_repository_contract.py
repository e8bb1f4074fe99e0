"""One contract for the ``UnitOfWork`` port and its repositories, run against every implementation:
the in-memory adapter, SQLite and PostgreSQL. Only the port's methods are used, so whatever passes
here holds for each of them alike."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from customshop.application.ports import UnitOfWork, UnitOfWorkFactory
from customshop.domain.access import ApiKey, Scope
from customshop.domain.cart import CartAddress, CartDetails, CartLine
from customshop.domain.catalog import MediaItem, Option, OptionSet, Product, VolumeTier
from customshop.domain.customization import CustomizationSession, PreviewJob, PreviewStatus
from customshop.domain.errors import Conflict, DuplicateSlug, DuplicateTemplateVersion
from customshop.domain.events import (
    OrderCreated,
    OrderEvent,
    OrderPaid,
    OrderShipped,
    OrderStatusChanged,
    PaymentFailed,
    event_payload,
)
from customshop.domain.hashing import hash_secret
from customshop.domain.inventory import OutOfStock, Shortage, StockInconsistent, StockKey, StockLevel
from customshop.domain.money import Money
from customshop.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PrintFile,
    PrintStatus,
    StockHold,
    StockState,
    TimelineEntry,
)
from customshop.domain.outbox import OutboxMessage
from customshop.domain.payments import Payment, PaymentStatus
from customshop.domain.pricing import PriceComponent
from customshop.domain.prints import PrintJob
from customshop.domain.quote import AppliedDiscount, ShippingOption, TaxLine
from customshop.domain.template_parsing import parse_definition
from customshop.domain.templates import Template, TemplateStatus
from tests.builders import ADDRESS, IDS, make_delivery, make_email, make_endpoint, make_log, make_record, now

# Memory once, SQLite once, PostgreSQL once: ``backend`` (conftest) is given the value directly, and
# only the SQL implementations ask for a database.
pytestmark = pytest.mark.parametrize(
    "backend", ["memory", "sqlite", "postgresql"], indirect=True, scope="session"
)

S = OrderStatus


# -- domain objects --------------------------------------------------------------------------------


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
    product_id: str,
    version: int,
    *,
    is_default: bool,
    option_sets: tuple[OptionSet, ...] = (),
    status: TemplateStatus = TemplateStatus.PUBLISHED,
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
        status=status,
    )


async def count_templates(uow: UnitOfWork, product_id: str) -> int:
    return len((await uow.templates.list_for_product(product_id, before_version=None, limit=200)).items)


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
    assert (product.tax_class, product.volume_pricing) == ("standard", ())

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
        tax_class="reduced_2",
        volume_pricing=(VolumeTier(10, 1500), VolumeTier(50, 1500), VolumeTier(99, 10_000)),
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
    products[1] = replace(products[1], tax_class="books", volume_pricing=(VolumeTier(3, 500),))
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
        assert await count_templates(uow, product.id) == 0
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
        assert await count_templates(uow, product.id) == 2
        assert await uow.templates.get_default(product.id) == first
        await uow.commit()

    async with uow_factory() as uow:
        assert await count_templates(uow, product.id) == 2
        assert await count_templates(uow, IDS.new_id()) == 0
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
        assert await count_templates(uow, product.id) == 2
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
        assert await count_templates(uow, product.id) == 1

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
        assert await count_templates(uow, product.id) == 3
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
        assert await count_templates(uow, product.id) == 1
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
        assert await count_templates(uow, product.id) == 1
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


async def test_drafts_are_listed_only_when_asked_for(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    v1 = make_template(product.id, 1, is_default=True)
    v2 = make_template(product.id, 2, is_default=False, status=TemplateStatus.DRAFT)
    v3 = make_template(product.id, 3, is_default=False, status=TemplateStatus.RETIRED)
    v4 = make_template(product.id, 4, is_default=False, status=TemplateStatus.DRAFT)
    async with uow_factory() as uow:
        for template in (v1, v2, v3, v4):
            await uow.templates.add(template)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.templates.get(v2.id) == v2
        everything = await uow.templates.list_for_product(product.id, before_version=None, limit=10)
        assert everything.items == [v4, v3, v2, v1]
        public = await uow.templates.list_for_product(
            product.id, before_version=None, limit=1, include_drafts=False
        )
        assert public.items == [v3]
        assert public.next_after == "3"
        rest = await uow.templates.list_for_product(
            product.id, before_version=3, limit=1, include_drafts=False
        )
        assert rest.items == [v1]
        assert rest.next_after is None


async def test_a_template_update_stores_its_definition_status_and_default(
    uow_factory: UnitOfWorkFactory,
) -> None:
    product = await stored_product(uow_factory)
    sizes = make_option_set(product.id, name="Size")
    boxes = make_option_set(product.id, name="Gift box")
    v1 = make_template(product.id, 1, is_default=True)
    draft = make_template(product.id, 2, is_default=False, option_sets=(sizes,), status=TemplateStatus.DRAFT)
    async with uow_factory() as uow:
        await uow.option_sets.add(sizes)
        await uow.option_sets.add(boxes)
        await uow.templates.add(v1)
        await uow.templates.add(draft)
        await uow.commit()

    revised = replace(
        draft, definition=make_template(product.id, 9, is_default=False, option_sets=(boxes,)).definition
    )
    async with uow_factory() as uow:
        assert await uow.templates.get(draft.id, for_update=True) == draft
        await uow.templates.update(revised)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.get(draft.id) == revised
        assert not await uow.templates.uses_option_set(sizes.id)  # the links follow the definition
        assert await uow.templates.uses_option_set(boxes.id)

    published = replace(revised, status=TemplateStatus.PUBLISHED)
    async with uow_factory() as uow:
        await uow.templates.update(published)
        await uow.templates.clear_default(product.id)
        await uow.templates.update(replace(published, is_default=True))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.get_default(product.id) == replace(published, is_default=True)
        assert await uow.templates.get(v1.id) == replace(v1, is_default=False)
        # What never changes is kept, whatever the update says.
        await uow.templates.update(
            replace(v1, is_default=False, version=7, created_at=now(), product_id=IDS.new_id())
        )
        assert await uow.templates.get(v1.id) == replace(v1, is_default=False)
        # An unknown version stores nothing.
        ghost = make_template(product.id, 8, is_default=False)
        await uow.templates.update(ghost)
        assert await uow.templates.get(ghost.id) is None
        assert await count_templates(uow, product.id) == 2


async def test_a_second_default_by_update_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    v1 = make_template(product.id, 1, is_default=True)
    v2 = make_template(product.id, 2, is_default=False)
    async with uow_factory() as uow:
        await uow.templates.add(v1)
        await uow.templates.add(v2)
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.templates.update(replace(v2, is_default=True))
        assert await uow.templates.get_default(product.id) == v1
        await uow.templates.update(replace(v1, status=TemplateStatus.PUBLISHED))  # the unit of work goes on
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.templates.get(v2.id) == v2


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
        assert await count_templates(uow, product.id) == 0
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


# -- orders ----------------------------------------------------------------------------------------


def order_state(order: Order) -> dict[str, Any]:
    """Every stored field of an order (``Order`` compares by identity; its events are never stored)."""
    return {f.name: getattr(order, f.name) for f in fields(Order) if f.name != "events"}


def assert_utc(*moments: datetime | None) -> None:
    for moment in moments:
        assert moment is not None
        assert moment.tzinfo is not None
        assert moment.utcoffset() == timedelta(0)


def make_order_lines(count: int = 3) -> tuple[OrderLine, ...]:
    # Ids in descending order: lines must come back in the order's own order, not by id.
    return tuple(
        OrderLine(
            id=line_id,
            product_id=IDS.new_id(),
            product_name=f"Mug n°{n}",
            template_id=IDS.new_id(),
            template_version=n + 1,
            template_snapshot={"canvas": {"width": 1000, "height": 800}, "zones": [{"id": "front", "n": n}]},
            options={"front": {"text": "Grüße", "font": "Serif"}, "size": "XL"},
            components=(
                PriceComponent("front", None, "Text on the front", 300),
                PriceComponent("size", "XL", "Extra large", 200 + n),
            ),
            unit_price=2500 + n,
            quantity=n + 1,
            # Rendered (production waits for print files), each under its own id.
            print_file=PrintFile(PrintStatus.READY, IDS.new_id()),
            volume_discount=10 * n,
            discount=100 + n,
            tax=60 + n,
        )
        for n, line_id in enumerate(reversed(new_ids(count)))
    )


def make_order(
    *,
    order_id: str | None = None,
    status: OrderStatus = OrderStatus.CREATED,
    created_at: datetime | None = None,
    reserved_until: datetime | None = None,
    line2: str | None = "Flat 4",
) -> Order:
    """An order with its whole breakdown: two discounts (a code and an automatic one), two tax
    lines, a shipping method and a region, prices including tax."""
    at = created_at or now()
    lines = make_order_lines()
    subtotal = sum(line.line_total for line in lines)
    product_id = lines[0].product_id
    discounts = (
        AppliedDiscount(IDS.new_id(), "SUMMER10", "Summer: 10 % off", 300),
        AppliedDiscount(IDS.new_id(), None, "Free shipping over 50", 95),
    )
    return Order(
        id=order_id or IDS.new_id(),
        guest=hash_secret("guest-" + secrets.token_hex(4)),
        token_hash=hash_secret("order-token"),
        email="ada@example.com",
        shipping_address=replace(ADDRESS, line2=line2, subdivision="ENG" if line2 else None),
        lines=lines,
        subtotal=Money(subtotal, "EUR"),
        discount_total=Money(395, "EUR"),
        shipping=Money(495, "EUR"),
        tax=Money(190, "EUR"),
        total=Money(subtotal - 395 + 495, "EUR"),
        status=status,
        timeline=(TimelineEntry(OrderStatus.CREATED, at),),
        stock=(StockHold(StockKey(product_id), 1), StockHold(StockKey(product_id, "XL"), 1)),
        stock_state=StockState.RESERVED,
        reserved_until=reserved_until or at + timedelta(minutes=30),
        payment_provider="stripe",
        payment_id=None,
        paid_amount=Money(0, "EUR"),
        refunded_amount=Money(0, "EUR"),
        payment_failure=None,
        tracking_url=None,
        created_at=at,
        updated_at=at,
        discounts=discounts,
        tax_lines=(TaxLine("VAT", 2000, 150), TaxLine("Reduced VAT", 550, 40)),
        shipping_method=ShippingOption(IDS.new_id(), "Colissimo", 495, 2, None),
        prices_include_tax=True,
        region_id=IDS.new_id(),
    )


async def stored_orders(uow_factory: UnitOfWorkFactory, *orders: Order) -> None:
    async with uow_factory() as uow:
        for order in orders:
            await uow.orders.add(order)
        await uow.commit()


async def test_order_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    order = make_order(created_at=at)
    # Every optional field filled in, a timeline with notes, events that must not be stored.
    order.timeline = (
        TimelineEntry(OrderStatus.CREATED, at),
        TimelineEntry(OrderStatus.PAID, at + timedelta(minutes=1)),
        TimelineEntry(
            OrderStatus.REFUNDED, at + timedelta(minutes=2, microseconds=7), "Refunded: wrong size"
        ),
    )
    order.status = OrderStatus.REFUNDED
    order.stock_state = StockState.RESTOCKED
    order.payment_id = IDS.new_id()
    order.paid_amount = order.total
    order.refunded_amount = order.total
    order.payment_failure = "card_declined"
    order.tracking_url = "https://track.example.com/1Z999"
    order.paid_at = at + timedelta(minutes=1)
    order.updated_at = at + timedelta(minutes=2)
    order.events.append(OrderCreated(order.id, at, order.total.amount, order.currency))
    failed = PrintFile(PrintStatus.FAILED, IDS.new_id(), "ValueError: an image is gone")
    order.lines = (order.lines[0], replace(order.lines[1], print_file=failed), order.lines[2])
    bare = make_order(line2=None)
    bare.lines = tuple(replace(line, print_file=PrintFile()) for line in bare.lines)
    bare.reserved_until = None
    # The flat rates' breakdown: no discounts, no method, no region.
    bare.discounts, bare.tax_lines, bare.shipping_method, bare.region_id = (), (), None, None
    bare.discount_total, bare.prices_include_tax = Money(0, "EUR"), False
    bare.total = bare.subtotal + bare.shipping + bare.tax

    async with uow_factory() as uow:
        assert await uow.orders.get(order.id) is None
        await uow.orders.add(order)
        await uow.orders.add(bare)
        seen = await uow.orders.get(order.id)
        assert seen is not None
        assert order_state(seen) == order_state(order)
        await uow.commit()

    async with uow_factory() as uow:
        got = await uow.orders.get(order.id)
        locked = await uow.orders.get(order.id, for_update=True)
        got_bare = await uow.orders.get(bare.id)
        assert await uow.orders.get(IDS.new_id()) is None
        assert await uow.orders.get(IDS.new_id(), for_update=True) is None
    assert got is not None
    assert locked is not None
    assert got_bare is not None
    assert got is not order
    assert order_state(got) == order_state(order)
    assert order_state(locked) == order_state(order)
    assert order_state(got_bare) == order_state(bare)
    assert got.events == []
    assert [line.id for line in got.lines] == [line.id for line in order.lines]
    assert got.lines[0].components[1] == PriceComponent("size", "XL", "Extra large", 200)
    assert got.lines[1].option_codes == ("XL",)
    assert got.lines[1].print_file == failed
    assert {line.print_file for line in got_bare.lines} == {PrintFile(PrintStatus.PENDING, None, None)}
    assert [entry.note for entry in got.timeline] == [None, None, "Refunded: wrong size"]
    assert got.stock == (StockHold(StockKey(order.lines[0].product_id), 1), order.stock[1])
    assert got.stock[0].key.option_code is None
    assert got.shipping_address.line2 == "Flat 4"
    assert got_bare.shipping_address.line2 is None
    assert got_bare.reserved_until is None
    assert got_bare.paid_at is None
    assert_utc(got.created_at, got.updated_at, got.reserved_until, got.paid_at, *(e.at for e in got.timeline))


async def test_print_files_are_scheduled_leased_found_and_updated(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    order, other = make_order(created_at=at), make_order(created_at=at)
    for placed in (order, other):
        placed.lines = tuple(replace(line, print_file=PrintFile()) for line in placed.lines)
    await stored_orders(uow_factory, order, other)
    lease = at + timedelta(minutes=2)
    file_ids = {line.id: IDS.new_id() for line in order.lines}

    async with uow_factory() as uow:
        assert await uow.prints.due(at, lease, 10) == []  # nothing is wanted before the payment
        await uow.prints.update(
            *(
                PrintJob(line_id, order.id, PrintFile(PrintStatus.PENDING, file_id), 0, at)
                for line_id, file_id in file_ids.items()
            ),
            PrintJob(
                IDS.new_id(), order.id, PrintFile(PrintStatus.PENDING, IDS.new_id()), 0, at
            ),  # no such line
        )
        await uow.commit()
    async with uow_factory() as uow:
        first = await uow.prints.due(at, lease, 2)
        rest = await uow.prints.due(at, lease, 10)
        assert await uow.prints.due(at, lease, 10) == []  # every one is leased now
        await uow.commit()
    taken = first + rest
    assert len(first) == 2 and len(rest) == 1
    assert {job.line_id: job.file.id for job in taken} == file_ids
    assert {(job.order_id, job.file.status, job.attempts, job.due_at) for job in taken} == {
        (order.id, PrintStatus.PENDING, 0, at)
    }
    async with uow_factory() as uow:
        assert await uow.prints.due(lease - timedelta(seconds=1), lease, 10) == []
        again = await uow.prints.due(lease, lease + timedelta(minutes=2), 10)  # the leases ran out
        assert {job.line_id for job in again} == set(file_ids)
        line_id = order.lines[1].id
        job = await uow.prints.get(line_id, for_update=True)
        assert job is not None and job.due_at == lease + timedelta(minutes=2)
        ready = replace(job, file=PrintFile(PrintStatus.READY, file_ids[line_id]), attempts=1, due_at=None)
        await uow.prints.update(ready)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.prints.get(line_id) == ready
        assert await uow.prints.find(file_ids[line_id]) == ready
        assert await uow.prints.find(IDS.new_id()) is None
        assert await uow.prints.get(IDS.new_id()) is None
        listed = await uow.prints.for_order(order.id)
        assert [job.line_id for job in listed] == [line.id for line in order.lines]
        assert await uow.prints.for_order(IDS.new_id()) == []
        got = await uow.orders.get(order.id)
        untouched = await uow.orders.get(other.id)
    assert got is not None and untouched is not None
    assert [line.print_file.status for line in got.lines] == [
        PrintStatus.PENDING,
        PrintStatus.READY,
        PrintStatus.PENDING,
    ]
    assert got.lines[1].print_file == ready.file
    assert {line.print_file for line in untouched.lines} == {PrintFile()}
    assert_utc(*(job.due_at for job in taken))


async def test_order_update_stores_the_mutable_fields(uow_factory: UnitOfWorkFactory) -> None:
    order = make_order()
    other = make_order()
    await stored_orders(uow_factory, order, other)
    at = order.created_at

    async with uow_factory() as uow:
        current = await uow.orders.get(order.id, for_update=True)
        assert current is not None
        current.confirm_placement(hash_secret("another token"), IDS.new_id(), at)
        current.restart_payment(IDS.new_id(), "paypal", at + timedelta(hours=1), at + timedelta(seconds=1))
        current.payment_failed("insufficient_funds", at + timedelta(seconds=2))
        await uow.orders.update(current)
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.orders.get(order.id)
    assert got is not None
    assert order_state(got) == order_state(current)
    assert (got.token_hash, got.payment_provider, got.payment_failure) == (
        hash_secret("another token"),
        "paypal",
        "insufficient_funds",
    )

    async with uow_factory() as uow:
        current = await uow.orders.get(order.id, for_update=True)
        assert current is not None
        payment_id = IDS.new_id()
        current.mark_paid(payment_id, current.total.amount, current.currency, at + timedelta(minutes=1))
        for step, status in enumerate((OrderStatus.IN_PRODUCTION, OrderStatus.FULFILLED), start=2):
            current.advance(status, at + timedelta(minutes=step))
        current.advance(OrderStatus.SHIPPED, at + timedelta(minutes=4), tracking_url="https://t.example/1")
        current.refund(at + timedelta(minutes=5), note="lost in transit")
        current.stock_state = StockState.RESTOCKED  # a state the aggregate never reaches from shipped
        current.stock = (StockHold(StockKey(IDS.new_id(), "L"), 3),)
        await uow.orders.update(current)
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.orders.get(order.id)
        untouched = await uow.orders.get(other.id)
    assert got is not None
    assert untouched is not None
    assert order_state(got) == order_state(current)
    assert got.status is OrderStatus.REFUNDED
    assert [e.status for e in got.timeline] == [
        OrderStatus.CREATED,
        OrderStatus.PAID,
        OrderStatus.IN_PRODUCTION,
        OrderStatus.FULFILLED,
        OrderStatus.SHIPPED,
        OrderStatus.REFUNDED,
    ]
    assert got.timeline[-1].note == "lost in transit"
    assert (got.payment_id, got.paid_amount, got.refunded_amount) == (payment_id, got.total, got.total)
    assert got.reserved_until is None
    assert got.tracking_url == "https://t.example/1"
    assert got.lines == order.lines
    assert_utc(got.paid_at, got.updated_at, *(e.at for e in got.timeline))
    assert order_state(untouched) == order_state(other)

    ghost = make_order()
    async with uow_factory() as uow:
        assert await uow.orders.update(ghost) is False  # unknown: nothing is stored
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.orders.get(ghost.id) is None


async def test_an_order_update_with_if_status_stores_only_while_the_status_holds(
    uow_factory: UnitOfWorkFactory,
) -> None:
    order = make_order(status=OrderStatus.CREATED)
    await stored_orders(uow_factory, order)
    at = order.created_at
    async with uow_factory(read_only=True) as uow:
        stale = await uow.orders.get(order.id)  # as a checkout read it, before the cancellation
    async with uow_factory() as uow:
        current = await uow.orders.get(order.id, for_update=True)
        assert current is not None
        current.cancel("changed their mind", at + timedelta(seconds=1))
        assert await uow.orders.update(current, if_status=OrderStatus.CREATED) is True
        await uow.commit()

    assert stale is not None
    stale.confirm_placement(hash_secret("a late token"), IDS.new_id(), at + timedelta(seconds=2))
    async with uow_factory() as uow:
        assert await uow.orders.update(stale, if_status=OrderStatus.CREATED) is False
        assert await uow.orders.update(make_order(), if_status=OrderStatus.CREATED) is False  # unknown
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.orders.get(order.id)
    assert got is not None
    assert order_state(got) == order_state(current)  # the cancellation, and nothing of the late change


async def test_order_delete_removes_its_payments(uow_factory: UnitOfWorkFactory) -> None:
    doomed = make_order()
    kept = make_order()
    await stored_orders(uow_factory, doomed, kept)
    doomed_payments = [make_payment(doomed, reference=f"pi_{n}") for n in range(2)]
    kept_payment = make_payment(kept, reference="pi_kept")
    async with uow_factory() as uow:
        for payment in (*doomed_payments, kept_payment):
            await uow.payments.add(payment)
        await uow.commit()

    async with uow_factory() as uow:
        await uow.orders.delete(doomed.id)
        await uow.orders.delete(IDS.new_id())  # unknown: nothing happens
        assert await uow.orders.get(doomed.id) is None
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.orders.get(doomed.id) is None
        for payment in doomed_payments:
            assert await uow.payments.get(payment.id) is None
        assert await uow.payments.by_reference("stripe", "pi_0") is None
        got = await uow.orders.get(kept.id)
        assert got is not None
        assert order_state(got) == order_state(kept)
        assert await uow.payments.get(kept_payment.id) == kept_payment
        page = await uow.orders.list(status=None, created_from=None, created_to=None, before=None, limit=10)
        assert [o.id for o in page.items] == [kept.id]


async def test_orders_are_listed_newest_first_with_filters(uow_factory: UnitOfWorkFactory) -> None:
    base = now().replace(microsecond=0)
    ids = new_ids(6)
    statuses = [S.CREATED, S.PAID, S.CREATED, S.CANCELLED, S.CREATED, S.PAID]
    orders = [
        make_order(order_id=i, status=s, created_at=base + timedelta(hours=n))
        for n, (i, s) in enumerate(zip(ids, statuses, strict=True))
    ]
    await stored_orders(uow_factory, *reversed(orders))

    async def listed(
        *,
        status: OrderStatus | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        before: str | None = None,
        limit: int = 10,
    ) -> tuple[list[str], str | None]:
        async with uow_factory(read_only=True) as uow:
            page = await uow.orders.list(
                status=status, created_from=created_from, created_to=created_to, before=before, limit=limit
            )
        return [o.id for o in page.items], page.next_after

    newest_first = ids[::-1]
    assert await listed() == (newest_first, None)
    assert await listed(limit=6) == (newest_first, None)
    assert await listed(limit=4) == (newest_first[:4], newest_first[3])
    assert await listed(limit=4, before=newest_first[3]) == (newest_first[4:], None)
    assert await listed(limit=2, before=ids[4]) == ([ids[3], ids[2]], ids[2])
    assert await listed(before=ids[0]) == ([], None)

    created = [i for i, s in zip(ids, statuses, strict=True) if s is S.CREATED][::-1]
    assert await listed(status=S.CREATED) == (created, None)
    assert await listed(status=S.CREATED, limit=1) == (created[:1], created[0])
    assert await listed(status=S.CREATED, limit=1, before=created[0]) == (created[1:2], created[1])
    assert await listed(status=S.CREATED, limit=1, before=created[1]) == (created[2:], None)
    assert await listed(status=S.REFUNDED) == ([], None)

    # [from, to): the start is included, the end is not.
    window = {"created_from": base + timedelta(hours=1), "created_to": base + timedelta(hours=4)}
    assert await listed(**window) == ([ids[3], ids[2], ids[1]], None)
    assert await listed(**window, status=S.PAID) == ([ids[1]], None)
    assert await listed(**window, limit=2) == ([ids[3], ids[2]], ids[2])
    assert await listed(**window, before=ids[2]) == ([ids[1]], None)
    assert await listed(created_from=base + timedelta(hours=5)) == ([ids[5]], None)
    assert await listed(created_to=base + timedelta(hours=1)) == ([ids[0]], None)
    assert await listed(created_to=base) == ([], None)

    # Listed orders are whole, lines included.
    async with uow_factory(read_only=True) as uow:
        page = await uow.orders.list(status=None, created_from=None, created_to=None, before=None, limit=10)
    assert [order_state(o) for o in page.items] == [order_state(o) for o in reversed(orders)]


async def test_expired_orders(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    ids = new_ids(6)
    due_early = make_order(order_id=ids[3], reserved_until=at - timedelta(minutes=10))
    due_late = make_order(order_id=ids[1], reserved_until=at - timedelta(seconds=1))
    due_third = make_order(order_id=ids[4], reserved_until=at - timedelta(hours=1))
    boundary = make_order(order_id=ids[0], reserved_until=at)  # ends exactly now: not yet over
    future = make_order(order_id=ids[2], reserved_until=at + timedelta(minutes=5))
    cancelled = make_order(order_id=ids[5], status=S.CANCELLED, reserved_until=at - timedelta(hours=2))
    paid = make_order(status=S.PAID)
    paid.reserved_until = None
    await stored_orders(uow_factory, due_early, due_late, due_third, boundary, future, cancelled, paid)

    async with uow_factory() as uow:
        assert await uow.orders.expired(at, 10) == [ids[1], ids[3], ids[4]]
        assert await uow.orders.expired(at, 2) == [ids[1], ids[3]]
        assert await uow.orders.expired(at - timedelta(days=1), 10) == []
        assert await uow.orders.expired(at + timedelta(seconds=1), 10) == [ids[0], ids[1], ids[3], ids[4]]


# -- payments --------------------------------------------------------------------------------------


def make_payment(order: Order, *, provider: str = "stripe", reference: str | None = None) -> Payment:
    at = now()
    payment = Payment(
        id=IDS.new_id(),
        order_id=order.id,
        provider=provider,
        reference=None,
        status=PaymentStatus.NEW,
        amount=order.total.amount,
        currency=order.currency,
        client_secret=None,
        approval_url=None,
        payment_url=None,
        failure=None,
        created_at=at,
        updated_at=at,
    )
    if reference is None:
        return payment
    return payment.started(reference, f"{reference}_secret", None, None, at)


async def test_payment_add_get_by_reference_update(uow_factory: UnitOfWorkFactory) -> None:
    order = make_order()
    await stored_orders(uow_factory, order)
    payment = make_payment(order)
    async with uow_factory() as uow:
        assert await uow.payments.get(payment.id) is None
        await uow.payments.add(payment)
        assert await uow.payments.get(payment.id) == payment
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.get(payment.id) == payment
        assert await uow.payments.get(IDS.new_id()) is None
        assert await uow.payments.by_reference("stripe", "pi_123") is None

    started = payment.started(
        "pi_123", "pi_123_secret_x", "https://pay.example/approve", "https://pay.example/p", now()
    )
    async with uow_factory() as uow:
        await uow.payments.update(started)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.get(payment.id) == started
        assert await uow.payments.by_reference("stripe", "pi_123") == started
        assert await uow.payments.by_reference("paypal", "pi_123") is None
        assert await uow.payments.by_reference("stripe", "pi_124") is None

    failed = started.settled(PaymentStatus.FAILED, started.updated_at + timedelta(seconds=3), "card_declined")
    ghost = make_payment(order, reference="pi_ghost")
    async with uow_factory() as uow:
        await uow.payments.update(failed)
        await uow.payments.update(ghost)  # unknown: nothing is stored
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.payments.get(payment.id)
        assert got == failed
        assert await uow.payments.by_reference("stripe", "pi_123") == failed
        assert await uow.payments.get(ghost.id) is None
        assert await uow.payments.by_reference("stripe", "pi_ghost") is None
    assert got is not None
    assert got.status is PaymentStatus.FAILED
    assert_utc(got.created_at, got.updated_at)


async def test_payment_references_are_unique_per_provider(uow_factory: UnitOfWorkFactory) -> None:
    order = make_order()
    await stored_orders(uow_factory, order)
    first = make_payment(order, reference="ref_1")
    async with uow_factory() as uow:
        await uow.payments.add(first)
        await uow.payments.add(make_payment(order))  # payments not started yet never clash
        await uow.payments.add(make_payment(order))
        await uow.commit()

    clash = make_payment(order, reference="ref_1")
    elsewhere = make_payment(order, provider="paypal", reference="ref_1")
    later = make_payment(order)
    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.payments.add(clash)
        await uow.payments.add(elsewhere)  # another provider may use the same reference
        await uow.payments.add(later)
        with pytest.raises(Conflict):
            await uow.payments.update(later.started("ref_1", None, None, None, now()))
        # The unit of work goes on after a refused write.
        await uow.payments.update(later.started("ref_2", None, None, None, now()))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.payments.get(clash.id) is None
        assert await uow.payments.by_reference("stripe", "ref_1") == first
        assert await uow.payments.by_reference("paypal", "ref_1") == elsewhere
        got = await uow.payments.get(later.id)
        assert got is not None
        assert got.reference == "ref_2"
        # Storing a payment again under its own reference is no clash.
        await uow.payments.update(first.settled(PaymentStatus.SUCCEEDED, now()))
        await uow.commit()
    async with uow_factory() as uow:
        settled = await uow.payments.by_reference("stripe", "ref_1")
    assert settled is not None
    assert settled.status is PaymentStatus.SUCCEEDED


# -- stock levels ----------------------------------------------------------------------------------


def level(product_id: str, code: str | None, on_hand: int, reserved: int = 0, sold: int = 0) -> StockLevel:
    return StockLevel(StockKey(product_id, code), on_hand, reserved, sold, now())


async def stored_levels(uow_factory: UnitOfWorkFactory, *levels: StockLevel) -> None:
    async with uow_factory() as uow:
        for stock in levels:
            await uow.inventory.save(stock)
        await uow.commit()


async def current_level(uow_factory: UnitOfWorkFactory, key: StockKey) -> StockLevel:
    async with uow_factory(read_only=True) as uow:
        got = await uow.inventory.get(key)
    assert got is not None
    return got


async def test_stock_levels_save_get_list(uow_factory: UnitOfWorkFactory) -> None:
    tee, mug = new_ids(2)
    # Codes in code point order ("L" < "S" < "XL" < "m"), the product's own level first.
    tee_levels = [
        level(tee, None, 40, 2, 7),
        level(tee, "L", 10),
        level(tee, "S", 0),
        level(tee, "XL", 3, 3),
        level(tee, "m", 8, 1, 1),
    ]
    mug_levels = [level(mug, None, 5), level(mug, "gift-box", 12)]
    everything = tee_levels + mug_levels
    async with uow_factory() as uow:
        assert await uow.inventory.get(StockKey(tee)) is None
        for stock in (everything[3], everything[6], everything[0], everything[4], *everything):
            await uow.inventory.save(stock)
        await uow.commit()

    async with uow_factory() as uow:
        for stock in everything:
            assert await uow.inventory.get(stock.key) == stock
        got = await uow.inventory.get(StockKey(tee))
        assert got is not None
        assert got.key.option_code is None
        assert got.available == 38
        assert_utc(got.updated_at)
        assert await uow.inventory.get(StockKey(tee, "XXL")) is None
        assert await uow.inventory.get(StockKey(IDS.new_id())) is None

        assert await uow.inventory.list(product_id=None, after=None, limit=100) == everything
        assert await uow.inventory.list(product_id=tee, after=None, limit=100) == tee_levels
        assert await uow.inventory.list(product_id=mug, after=None, limit=100) == mug_levels
        assert await uow.inventory.list(product_id=IDS.new_id(), after=None, limit=100) == []
        # Paging by key.
        assert await uow.inventory.list(product_id=None, after=None, limit=2) == everything[:2]
        assert await uow.inventory.list(product_id=None, after=everything[1].key, limit=2) == everything[2:4]
        assert await uow.inventory.list(product_id=None, after=everything[4].key, limit=3) == everything[5:]
        assert await uow.inventory.list(product_id=tee, after=tee_levels[3].key, limit=5) == tee_levels[4:]
        assert await uow.inventory.list(product_id=tee, after=tee_levels[4].key, limit=5) == []
        assert await uow.inventory.list(product_id=mug, after=StockKey(mug), limit=5) == mug_levels[1:]
        # A key that has no level still places the page.
        assert await uow.inventory.list(product_id=tee, after=StockKey(tee, "M"), limit=5) == tee_levels[2:]

    # Saving again replaces the level.
    recount = replace(tee_levels[1], on_hand=25, reserved=4, sold=9, updated_at=now())
    async with uow_factory() as uow:
        await uow.inventory.save(recount)
        await uow.commit()
    assert await current_level(uow_factory, recount.key) == recount


async def reserve(uow: UnitOfWork, wanted: Mapping[StockKey, int], at: datetime) -> tuple[StockHold, ...]:
    """Reserve ``wanted`` as checkout does: the holds that levels count, then all of them or none."""
    holds = await uow.inventory.holds_for(wanted)
    await uow.inventory.reserve_holds(holds, at)
    return holds


async def test_reserve_is_all_or_nothing(uow_factory: UnitOfWorkFactory) -> None:
    tee, mug, unlimited = new_ids(3)
    own, large, box = StockKey(tee), StockKey(tee, "L"), StockKey(mug)
    await stored_levels(uow_factory, level(tee, None, 5), level(tee, "L", 1), level(mug, None, 2, 1))
    free, free_code = StockKey(unlimited), StockKey(tee, "M")

    # The second key is short: nothing stays reserved once the caller rolls back.
    async with uow_factory() as uow:
        with pytest.raises(OutOfStock) as raised:
            await reserve(uow, {own: 2, large: 2}, now())
        assert raised.value.shortages == (Shortage(large, 2, 1),)
        await uow.rollback()
        got = await uow.inventory.get(own)
        assert got is not None
        assert got.reserved == 0
    assert (await current_level(uow_factory, own)).reserved == 0
    assert (await current_level(uow_factory, large)).reserved == 0

    # Every short level is named with what it has; levels that would do and unlimited keys are not.
    async with uow_factory() as uow:
        with pytest.raises(OutOfStock) as raised:
            await reserve(uow, {own: 6, free_code: 50, box: 1, free: 99}, now())
        assert raised.value.shortages == (Shortage(own, 6, 5),)
    async with uow_factory() as uow:
        with pytest.raises(OutOfStock) as raised:
            await reserve(uow, {own: 6, large: 1, free_code: 50, box: 2, free: 99}, now())
        assert raised.value.shortages == (Shortage(own, 6, 5), Shortage(box, 2, 1))
        assert "available 5" in str(raised.value)
    async with uow_factory() as uow:
        with pytest.raises(OutOfStock) as raised:
            await reserve(uow, {own: 2, large: 1, box: 2}, now())
        assert raised.value.shortages == (Shortage(box, 2, 1),)
    for key, reserved in ((own, 0), (large, 0), (box, 1)):
        assert (await current_level(uow_factory, key)).reserved == reserved

    # Enough of everything: the levels are held, unlimited keys are not.
    at = now()
    async with uow_factory() as uow:
        holds = await reserve(uow, {own: 5, large: 1, free_code: 3, box: 1, free: 7}, at)
        await uow.commit()
    assert holds == (StockHold(own, 5), StockHold(large, 1), StockHold(box, 1))
    assert await current_level(uow_factory, own) == StockLevel(own, 5, 5, 0, at)
    assert await current_level(uow_factory, large) == StockLevel(large, 1, 1, 0, at)
    assert await current_level(uow_factory, box) == StockLevel(box, 2, 2, 0, at)
    async with uow_factory() as uow:
        assert await uow.inventory.get(free) is None
        assert await uow.inventory.get(free_code) is None
        # Nothing is left: even one unit is short now, and an unlimited key alone needs nothing.
        with pytest.raises(OutOfStock) as raised:
            await reserve(uow, {own: 1}, now())
        assert raised.value.shortages == (Shortage(own, 1, 0),)
        assert await reserve(uow, {free: 1000}, now()) == ()
        assert await reserve(uow, {}, now()) == ()


async def test_release_commit_restock(uow_factory: UnitOfWorkFactory) -> None:
    (tee,) = new_ids(1)
    own, large = StockKey(tee), StockKey(tee, "L")
    await stored_levels(uow_factory, level(tee, None, 10), level(tee, "L", 4))
    async with uow_factory() as uow:
        await reserve(uow, {own: 6, large: 2}, now())
        await uow.commit()

    steps = [
        ("release", [StockHold(own, 1)], (10, 5, 0)),
        ("commit", [StockHold(own, 3), StockHold(large, 2)], (7, 2, 3)),
        ("restock", [StockHold(own, 1)], (8, 2, 2)),
        ("release", [StockHold(own, 2)], (8, 0, 2)),
        ("restock", [StockHold(own, 2)], (10, 0, 0)),
    ]
    for movement, holds, (on_hand, reserved, sold) in steps:
        at = now()
        async with uow_factory() as uow:
            await getattr(uow.inventory, movement)(holds, at)
            await uow.commit()
        assert await current_level(uow_factory, own) == StockLevel(own, on_hand, reserved, sold, at)
        assert on_hand + sold == 10  # units are conserved
    got = await current_level(uow_factory, large)
    assert (got.on_hand, got.reserved, got.sold) == (2, 0, 2)

    # Moving more than a level holds (or from a level that does not exist) is refused.
    refused = [
        ("release", StockHold(own, 1)),
        ("commit", StockHold(own, 1)),
        ("restock", StockHold(own, 1)),
        ("restock", StockHold(large, 3)),
        ("release", StockHold(large, -1)),
        ("release", StockHold(StockKey(tee, "XL"), 1)),
        ("commit", StockHold(StockKey(IDS.new_id()), 1)),
    ]
    for movement, hold in refused:
        async with uow_factory() as uow:
            with pytest.raises(StockInconsistent):
                await getattr(uow.inventory, movement)([hold], now())
    assert (await current_level(uow_factory, own)).on_hand == 10
    got = await current_level(uow_factory, large)
    assert (got.on_hand, got.reserved, got.sold) == (2, 0, 2)


# -- idempotency keys ------------------------------------------------------------------------------


async def test_idempotency_claim_get_update_delete(uow_factory: UnitOfWorkFactory) -> None:
    first = make_record()
    async with uow_factory() as uow:
        assert await uow.idempotency.get("guest-a", "key-1") is None
        assert await uow.idempotency.claim(first) is None
        # A second claim, even of another request, gets the first record back.
        assert await uow.idempotency.claim(make_record(request_hash="h2")) == first
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.claim(make_record(request_hash="h3")) == first
        assert await uow.idempotency.get("guest-a", "key-1") == first
        # Keys are per scope.
        other_scope = make_record("guest-b")
        assert await uow.idempotency.claim(other_scope) is None
        assert await uow.idempotency.get("guest-a", "key-2") is None
        await uow.commit()

    order_id = IDS.new_id()
    progressed = replace(first, order_id=order_id, updated_at=first.updated_at + timedelta(seconds=1))
    done = replace(progressed, result=b'{"order_id": "x", "status": "created"}', updated_at=now())
    async with uow_factory() as uow:
        await uow.idempotency.update(progressed)
        assert await uow.idempotency.get("guest-a", "key-1") == progressed
        await uow.idempotency.update(done)
        await uow.idempotency.update(make_record("guest-c"))  # unknown: nothing is stored
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.idempotency.get("guest-a", "key-1")
        assert got == done
        assert got is not None
        assert got.result == b'{"order_id": "x", "status": "created"}'
        assert_utc(got.created_at, got.updated_at)
        assert await uow.idempotency.claim(make_record()) == done
        assert await uow.idempotency.get("guest-c", "key-1") is None

        await uow.idempotency.delete("guest-a", "key-1")
        await uow.idempotency.delete("guest-a", "unknown")
        assert await uow.idempotency.get("guest-a", "key-1") is None
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.get("guest-a", "key-1") is None
        assert await uow.idempotency.get("guest-b", "key-1") == other_scope
        again = make_record(request_hash="h4")
        assert await uow.idempotency.claim(again) is None
        assert await uow.idempotency.get("guest-a", "key-1") == again


async def test_idempotency_take_over_only_stale_unfinished_records(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    stale = make_record(key="stale", at=at - timedelta(minutes=5))
    fresh = make_record(key="fresh", at=at)
    finished = replace(make_record(key="finished", at=at - timedelta(minutes=5)), result=b"{}")
    async with uow_factory() as uow:
        for record in (stale, fresh, finished):
            assert await uow.idempotency.claim(record) is None
        await uow.commit()

    cutoff = at - timedelta(minutes=1)
    async with uow_factory() as uow:
        assert await uow.idempotency.take_over("guest-a", "stale", cutoff, at)
        # Now held by this caller: no one else can take it over with the same cut-off.
        assert not await uow.idempotency.take_over("guest-a", "stale", cutoff, at)
        assert not await uow.idempotency.take_over("guest-a", "fresh", cutoff, at)
        assert not await uow.idempotency.take_over("guest-a", "finished", cutoff, at)
        assert not await uow.idempotency.take_over("guest-a", "unknown", cutoff, at)
        assert not await uow.idempotency.take_over("guest-b", "stale", at + timedelta(hours=1), at)
        # Touched exactly at the cut-off is not stale.
        assert not await uow.idempotency.take_over("guest-a", "fresh", at, at + timedelta(seconds=1))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.get("guest-a", "stale") == replace(stale, updated_at=at)
        assert await uow.idempotency.get("guest-a", "fresh") == fresh
        assert await uow.idempotency.get("guest-a", "finished") == finished


async def test_idempotency_purge(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    records = [make_record(key=f"k{n}", at=at - timedelta(days=n)) for n in range(4)]
    async with uow_factory() as uow:
        for record in records:
            await uow.idempotency.claim(record)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.purge(at - timedelta(days=1)) == 2  # created before: strictly
        assert await uow.idempotency.purge(at - timedelta(days=1)) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert [await uow.idempotency.get("guest-a", r.key) for r in records] == [*records[:2], None, None]
        assert await uow.idempotency.purge(at + timedelta(seconds=1)) == 2
        await uow.commit()
    async with uow_factory() as uow:
        assert [await uow.idempotency.get("guest-a", r.key) for r in records] == [None] * 4


# -- webhook receipts ------------------------------------------------------------------------------


async def test_webhook_receipts(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    async with uow_factory() as uow:
        assert await uow.receipts.first_time("stripe", "evt_1", at)
        assert not await uow.receipts.first_time("stripe", "evt_1", at)
        assert await uow.receipts.first_time("paypal", "evt_1", at)  # per provider
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.receipts.first_time("stripe", "evt_1", now())
        assert not await uow.receipts.first_time("paypal", "evt_1", now())
        assert await uow.receipts.first_time("stripe", "evt_2", now())
        # Not committed: the event counts as never handled.
    async with uow_factory() as uow:
        assert await uow.receipts.first_time("stripe", "evt_2", now())
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.receipts.first_time("stripe", "evt_2", now())
        assert await uow.receipts.first_time("stripe", "evt_old", at - timedelta(days=40))
        assert await uow.receipts.purge(at - timedelta(days=30)) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.receipts.first_time("stripe", "evt_old", now())  # forgotten
        assert not await uow.receipts.first_time("stripe", "evt_1", now())  # kept


# -- cart ------------------------------------------------------------------------------------------


async def test_cart_reprice_stores_only_the_price(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    template = make_template(product.id, 1, is_default=True)
    async with uow_factory() as uow:
        await uow.templates.add(template)
        await uow.commit()
    at = now()
    line = CartLine(
        id=IDS.new_id(),
        guest=hash_secret("guest"),
        product_id=product.id,
        product_name=product.name,
        template_id=template.id,
        template_version=1,
        template_snapshot=template.definition.to_dict(),
        options={"front_text": {"text": "Hi", "font": "Serif", "color": "#000000"}},
        components=(PriceComponent("front_text", None, "Text", 300),),
        currency="USD",
        unit_price=2800,
        quantity=2,
        design_key="d" * 64,
        created_at=at,
        updated_at=at,
    )
    async with uow_factory() as uow:
        await uow.carts.add(line)
        await uow.commit()

    later = at + timedelta(minutes=3)
    repriced = replace(
        line,
        components=(PriceComponent("front_text", None, "Text", 350), PriceComponent("size", "XL", "XL", 200)),
        currency="EUR",
        unit_price=3050,
        updated_at=later,
    )
    async with uow_factory() as uow:
        # Only the price is stored: the quantity and the snapshot stay as they are.
        await uow.carts.reprice(replace(repriced, quantity=7, product_name="Renamed", options={}))
        await uow.carts.reprice(replace(line, id=IDS.new_id()))  # unknown: nothing happens
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.carts.lines(line.guest) == [repriced]


async def test_cart_details_are_kept_per_guest_and_replaced_whole(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    ada, bob = hash_secret("ada"), hash_secret("bob")
    full = CartDetails(
        guest=ada,
        updated_at=at,
        email="ada@example.com",
        address=CartAddress("US", "CA", "94103", "Ada", "1 Market St", "Suite 5", "San Francisco"),
        shipping_method_id=IDS.new_id(),
        promotion_code="SUMMER10",
    )
    bare = CartDetails(guest=bob, updated_at=at, address=CartAddress("DE"))
    async with uow_factory() as uow:
        assert await uow.cart_details.get(ada) is None
        await uow.cart_details.save(full)
        await uow.cart_details.save(bare)
        assert await uow.cart_details.get(ada) == full
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cart_details.get(ada) == full
        assert await uow.cart_details.get(bob) == bare
    later = CartDetails(guest=ada, updated_at=at + timedelta(minutes=1), promotion_code="WINTER")
    async with uow_factory() as uow:
        await uow.cart_details.save(later)  # replaces every field: those left out are cleared
        await uow.cart_details.save(replace(bare, email="bob@example.com"))
        await uow.rollback()
        await uow.cart_details.save(later)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.cart_details.get(ada) == later
        assert await uow.cart_details.get(bob) == bare  # rolled back


async def test_an_order_can_be_locked_for_its_status(uow_factory: UnitOfWorkFactory) -> None:
    order = make_order(status=OrderStatus.PAID)
    await stored_orders(uow_factory, order)
    async with uow_factory() as uow:
        assert await uow.orders.lock(order.id) is OrderStatus.PAID
        assert await uow.orders.lock("nope") is None


async def test_holds_for_then_reserve_holds(uow_factory: UnitOfWorkFactory) -> None:
    (tee,) = new_ids(1)
    async with uow_factory() as uow:
        await uow.inventory.save(level(tee, "L", 3))
        await uow.commit()
    wanted = {StockKey(tee): 2, StockKey(tee, "L"): 2, StockKey(tee, "S"): 2}
    async with uow_factory() as uow:
        holds = await uow.inventory.holds_for(wanted)
        assert holds == (StockHold(StockKey(tee, "L"), 2),)  # only the level that exists
        assert await uow.inventory.holds_for({}) == ()
        await uow.inventory.reserve_holds(holds, now())
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(OutOfStock) as short:
            await uow.inventory.reserve_holds(holds, now())
        assert [(s.key, s.wanted, s.available) for s in short.value.shortages] == [(StockKey(tee, "L"), 2, 1)]
    async with uow_factory() as uow:
        stored = await uow.inventory.get(StockKey(tee, "L"))
        assert stored is not None and (stored.reserved, stored.available) == (2, 1)


# -- outbox ----------------------------------------------------------------------------------------


def assert_message_of(message: OutboxMessage, event: OrderEvent) -> None:
    assert (message.name, message.order_id, message.payload, message.created_at) == (
        type(event).name,
        event.order_id,
        event_payload(event),
        event.at,
    )
    assert_utc(message.created_at)


async def test_outbox_add_get_pending_mark_relayed(uow_factory: UnitOfWorkFactory) -> None:
    order_id, other_id = new_ids(2)
    at = now()
    first = [
        OrderCreated(order_id, at, 4200, "EUR"),
        OrderShipped(order_id, at + timedelta(minutes=1), None),
        PaymentFailed(other_id, at + timedelta(minutes=2), "card_declined"),
    ]
    async with uow_factory() as uow:
        assert await uow.outbox.pending(10, now()) == []
        await uow.outbox.add(first)
        await uow.outbox.add([])
        messages = await uow.outbox.pending(10, now())
        assert len(messages) == 3
        for message, event in zip(messages, first, strict=True):
            assert_message_of(message, event)
            assert message.relayed_at is None
            assert await uow.outbox.get(message.id) == message
        assert len({m.id for m in messages}) == 3
        assert await uow.outbox.get(IDS.new_id()) is None
        await uow.commit()

    async with uow_factory() as uow:
        await uow.outbox.add([OrderCreated(other_id, now(), 1, "EUR")])
        # Not committed: never stored.
    second = [OrderPaid(order_id, now(), 4200, "EUR"), OrderStatusChanged(order_id, now(), "paid", "shipped")]
    async with uow_factory() as uow:
        assert await uow.outbox.pending(10, now()) == messages  # committed, in the same order
        await uow.outbox.add(second)
        await uow.commit()

    relayed_at = now()
    async with uow_factory() as uow:
        pending = await uow.outbox.pending(10, now())
        assert pending[:3] == messages  # oldest first
        for message, event in zip(pending[3:], second, strict=True):
            assert_message_of(message, event)
        assert await uow.outbox.pending(2, now()) == messages[:2]
        await uow.outbox.mark_relayed([messages[0].id, pending[3].id, IDS.new_id()], relayed_at)
        await uow.outbox.mark_relayed([], relayed_at)
        assert await uow.outbox.pending(10, now()) == [messages[1], messages[2], pending[4]]
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.outbox.pending(10, now()) == [messages[1], messages[2], pending[4]]
        assert await uow.outbox.pending(1, now()) == [messages[1]]
        done = await uow.outbox.get(messages[0].id)
        assert done == replace(messages[0], relayed_at=relayed_at)
        assert done is not None
        assert_utc(done.relayed_at)
        await uow.outbox.mark_relayed([m.id for m in await uow.outbox.pending(10, now())], relayed_at)
        # Not committed: they stay pending.
    async with uow_factory() as uow:
        assert len(await uow.outbox.pending(10, now())) == 3


async def test_order_events_reach_the_outbox_at_commit(uow_factory: UnitOfWorkFactory) -> None:
    order = make_order()
    created = OrderCreated(order.id, order.created_at, order.total.amount, order.currency)
    order.events.append(created)
    async with uow_factory() as uow:
        await uow.orders.add(order)
        assert await uow.outbox.pending(10, now()) == []  # not before the commit
        await uow.commit()
        assert order.events == []
        await uow.commit()  # nothing stored since: nothing added again
    async with uow_factory() as uow:
        (message,) = await uow.outbox.pending(10, now())
    assert_message_of(message, created)

    # Events of an update, in the order they happened.
    async with uow_factory() as uow:
        current = await uow.orders.get(order.id, for_update=True)
        assert current is not None
        assert current.events == []
        current.mark_paid(IDS.new_id(), current.total.amount, current.currency, now())
        paid_events = list(current.events)
        assert [type(e) for e in paid_events] == [OrderStatusChanged, OrderPaid]
        await uow.orders.update(current)
        await uow.commit()
        assert current.events == []
    async with uow_factory() as uow:
        messages = await uow.outbox.pending(10, now())
    assert messages[0] == message
    assert len(messages) == 3
    for got, event in zip(messages[1:], paid_events, strict=True):
        assert_message_of(got, event)

    # Rolled back, abandoned or failed units of work add nothing.
    rolled_back = make_order()
    rolled_back.events.append(OrderCreated(rolled_back.id, now(), rolled_back.total.amount, "EUR"))
    abandoned = make_order()
    abandoned.events.append(OrderCreated(abandoned.id, now(), abandoned.total.amount, "EUR"))
    async with uow_factory() as uow:
        await uow.orders.add(rolled_back)
        await uow.rollback()
        await uow.commit()
    async with uow_factory() as uow:
        await uow.orders.add(abandoned)

    async def update_then_fail() -> None:
        async with uow_factory() as uow:
            current = await uow.orders.get(order.id)
            assert current is not None
            current.advance(OrderStatus.IN_PRODUCTION, now())
            await uow.orders.update(current)
            raise Boom

    with pytest.raises(Boom):
        await update_then_fail()
    async with uow_factory() as uow:
        assert await uow.outbox.pending(10, now()) == messages
        assert await uow.orders.get(rolled_back.id) is None
        assert await uow.orders.get(abandoned.id) is None

    # An order stored twice in one unit of work adds its events once.
    twice = make_order()
    twice.confirm_placement(hash_secret("order-token"), IDS.new_id(), now())
    (placed,) = twice.events
    async with uow_factory() as uow:
        await uow.orders.add(twice)
        await uow.orders.update(twice)
        await uow.commit()
    async with uow_factory() as uow:
        pending = await uow.outbox.pending(10, now())
    assert pending[:3] == messages
    assert len(pending) == 4
    assert_message_of(pending[3], placed)
    messages = pending

    # An order without events adds nothing; an update of an unknown order neither.
    ghost = make_order()
    ghost.events.append(OrderCreated(ghost.id, now(), ghost.total.amount, "EUR"))
    async with uow_factory() as uow:
        await uow.orders.add(make_order())
        await uow.orders.update(ghost)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.pending(10, now()) == messages


# -- partner webhooks ------------------------------------------------------------------------------


async def test_webhook_endpoints_add_get_list_update_delete(uow_factory: UnitOfWorkFactory) -> None:
    first = make_endpoint("https://a.example.com/hooks")
    second = make_endpoint("https://b.example.com/" + "x" * 1900, "order.shipped")
    async with uow_factory() as uow:
        assert await uow.webhooks.list_endpoints() == []
        await uow.webhooks.add_endpoint(first)
        await uow.webhooks.add_endpoint(second)
        assert await uow.webhooks.get_endpoint(first.id) == first
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.webhooks.get_endpoint(second.id)
        assert await uow.webhooks.get_endpoint(IDS.new_id()) is None
        assert await uow.webhooks.list_endpoints() == [first, second]  # oldest first
    assert got == second
    assert got.events == ("order.shipped",)
    assert_utc(got.created_at)

    disabled = replace(first, active=False, disabled_reason="410 Gone", events=("order.refunded",))
    async with uow_factory() as uow:
        await uow.webhooks.update_endpoint(disabled)
        await uow.webhooks.update_endpoint(make_endpoint())  # unknown: nothing is stored
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.list_endpoints() == [disabled, second]
    enabled = replace(disabled, active=True, disabled_reason=None, url="https://a2.example.com/h")
    async with uow_factory() as uow:
        await uow.webhooks.update_endpoint(enabled)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.get_endpoint(first.id) == enabled

    # Deleting an endpoint removes its deliveries and logs, and nothing of the other endpoint's.
    doomed = [make_delivery(first), make_delivery(first)]
    kept = make_delivery(second)
    async with uow_factory() as uow:
        for delivery in (*doomed, kept):
            assert await uow.webhooks.add_delivery(delivery)
        for log in (make_log(doomed[0]), make_log(doomed[0], 2), make_log(doomed[1])):
            await uow.webhooks.add_log(log)
        kept_log = make_log(kept)
        await uow.webhooks.add_log(kept_log)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.webhooks.delete_endpoint(first.id)
        await uow.webhooks.delete_endpoint(IDS.new_id())  # unknown: nothing happens
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.get_endpoint(first.id) is None
        assert await uow.webhooks.list_endpoints() == [second]
        assert [await uow.webhooks.get_delivery(d.id) for d in doomed] == [None, None]
        assert await uow.webhooks.get_delivery(kept.id) == kept
        logs = await uow.webhooks.list_logs(event=None, before=None, limit=10)
        assert logs.items == [kept_log]
        assert await uow.webhooks.due_deliveries(now(), 10) == [kept]
        # The event may be delivered to a new endpoint of the same partner.
        again = make_endpoint()
        await uow.webhooks.add_endpoint(again)
        assert await uow.webhooks.add_delivery(replace(doomed[0], id=IDS.new_id(), endpoint_id=again.id))


async def test_webhook_deliveries_add_get_update_due(uow_factory: UnitOfWorkFactory) -> None:
    endpoint = make_endpoint()
    other = make_endpoint()
    base = now()
    delivery = make_delivery(endpoint, next_attempt_at=base)
    async with uow_factory() as uow:
        await uow.webhooks.add_endpoint(endpoint)
        await uow.webhooks.add_endpoint(other)
        assert await uow.webhooks.add_delivery(delivery)
        # A second delivery of the same event to the same endpoint is refused; to another, stored.
        duplicate = replace(delivery, id=IDS.new_id(), body=b"other")
        assert not await uow.webhooks.add_delivery(duplicate)
        assert await uow.webhooks.get_delivery(duplicate.id) is None
        same_event = replace(delivery, id=IDS.new_id(), endpoint_id=other.id)
        assert await uow.webhooks.add_delivery(same_event)
        assert await uow.webhooks.get_delivery(delivery.id) == delivery
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.webhooks.get_delivery(delivery.id)
        assert await uow.webhooks.get_delivery(IDS.new_id()) is None
        assert not await uow.webhooks.add_delivery(replace(delivery, id=IDS.new_id()))
    assert got == delivery
    assert isinstance(got.body, bytes)
    assert_utc(got.created_at, got.updated_at, got.next_attempt_at)

    attempted = replace(
        delivery,
        attempts=1,
        next_attempt_at=base + timedelta(minutes=1),
        updated_at=base + timedelta(seconds=1),
    )
    async with uow_factory() as uow:
        await uow.webhooks.update_delivery(attempted)
        await uow.webhooks.update_delivery(make_delivery(endpoint))  # unknown: nothing is stored
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.get_delivery(delivery.id) == attempted
        assert await uow.webhooks.get_delivery(delivery.id, for_update=True) == attempted
    delivered = replace(attempted, attempts=2, status="delivered", next_attempt_at=None)
    async with uow_factory() as uow:
        await uow.webhooks.update_delivery(delivered)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.get_delivery(delivery.id) == delivered


async def test_due_deliveries_are_pending_and_due_oldest_first(uow_factory: UnitOfWorkFactory) -> None:
    endpoint = make_endpoint()
    base = now()
    # Created in this order, due in another: the one due longest is first.
    late, early, middle, future, delivered, failed = (
        make_delivery(endpoint, next_attempt_at=base - timedelta(seconds=10)),
        make_delivery(endpoint, next_attempt_at=base - timedelta(minutes=10)),
        make_delivery(endpoint, next_attempt_at=base - timedelta(minutes=1)),
        make_delivery(endpoint, next_attempt_at=base + timedelta(seconds=1)),
        make_delivery(endpoint, status="delivered"),
        make_delivery(endpoint, status="failed"),
    )
    exactly_due = make_delivery(endpoint, next_attempt_at=base)
    async with uow_factory() as uow:
        await uow.webhooks.add_endpoint(endpoint)
        assert await uow.webhooks.due_deliveries(base, 10) == []
        for delivery in (late, early, middle, future, delivered, failed, exactly_due):
            assert await uow.webhooks.add_delivery(delivery)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.webhooks.due_deliveries(base, 10) == [early, middle, late, exactly_due]
        assert await uow.webhooks.due_deliveries(base, 2) == [early, middle]
        assert await uow.webhooks.due_deliveries(base - timedelta(hours=1), 10) == []
        assert await uow.webhooks.due_deliveries(base + timedelta(seconds=1), 10) == [
            early,
            middle,
            late,
            exactly_due,
            future,
        ]
        # A delivery leased for a later attempt is not due until then.
        await uow.webhooks.update_delivery(replace(early, next_attempt_at=base + timedelta(minutes=5)))
        assert await uow.webhooks.due_deliveries(base, 10) == [middle, late, exactly_due]


async def test_webhook_logs_newest_first_by_event_in_pages(uow_factory: UnitOfWorkFactory) -> None:
    endpoint = make_endpoint()
    paid = make_delivery(endpoint)
    shipped = replace(make_delivery(endpoint), event="order.shipped")
    logs = [
        make_log(paid, 1),
        make_log(shipped, 1),
        make_log(paid, 2),
        make_log(shipped, 2),
        make_log(paid, 3),
    ]
    async with uow_factory() as uow:
        await uow.webhooks.add_endpoint(endpoint)
        await uow.webhooks.add_delivery(paid)
        await uow.webhooks.add_delivery(shipped)
        empty = await uow.webhooks.list_logs(event=None, before=None, limit=10)
        assert (empty.items, empty.next_after) == ([], None)
        for log in logs:
            await uow.webhooks.add_log(log)
        await uow.commit()

    newest_first = logs[::-1]
    async with uow_factory() as uow:
        page = await uow.webhooks.list_logs(event=None, before=None, limit=10)
        assert (page.items, page.next_after) == (newest_first, None)
        page = await uow.webhooks.list_logs(event=None, before=None, limit=5)
        assert (page.items, page.next_after) == (newest_first, None)
        pages = []
        before = None
        while True:
            page = await uow.webhooks.list_logs(event=None, before=before, limit=2)
            pages.append(page.items)
            if page.next_after is None:
                break
            before = page.next_after
        assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]

        of_paid = await uow.webhooks.list_logs(event="order.paid", before=None, limit=2)
        assert (of_paid.items, of_paid.next_after) == ([logs[4], logs[2]], logs[2].id)
        rest = await uow.webhooks.list_logs(event="order.paid", before=of_paid.next_after, limit=2)
        assert (rest.items, rest.next_after) == ([logs[0]], None)
        of_shipped = await uow.webhooks.list_logs(event="order.shipped", before=None, limit=10)
        assert of_shipped.items == [logs[3], logs[1]]
        nothing = await uow.webhooks.list_logs(event="order.refunded", before=None, limit=10)
        assert nothing.items == []

    (stored,) = [log for log in of_paid.items if log.attempt == 3]
    assert stored.response_status == 500
    assert stored.error is None
    (failed,) = of_shipped.items[:1]
    assert (failed.response_status, failed.error) == (None, "connection refused")
    assert_utc(stored.sent_at)


async def test_leased_outbox_messages_wait_for_their_lease(uow_factory: UnitOfWorkFactory) -> None:
    at = now()
    async with uow_factory() as uow:
        await uow.outbox.add([OrderPaid("o1", at, 100, "USD"), OrderPaid("o2", at, 200, "USD")])
        await uow.commit()
    async with uow_factory() as uow:
        first, second = await uow.outbox.pending(10, at)
        await uow.outbox.lease([first.id], at + timedelta(minutes=2))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.pending(10, at + timedelta(minutes=1)) == [second]
        assert await uow.outbox.pending(10, at + timedelta(minutes=3)) == [first, second]
        await uow.outbox.mark_relayed([first.id], at)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.pending(10, at + timedelta(minutes=3)) == [second]


# -- emails ----------------------------------------------------------------------------------------


async def test_emails_add_get_update(uow_factory: UnitOfWorkFactory) -> None:
    email = make_email()
    async with uow_factory() as uow:
        assert await uow.emails.add(email)
        # A second email of the same kind for the same event is refused; of another kind, stored.
        duplicate = replace(email, id=IDS.new_id(), order_id=IDS.new_id())
        assert not await uow.emails.add(duplicate)
        assert await uow.emails.get(duplicate.id) is None
        other_kind = replace(email, id=IDS.new_id(), kind="shipping_update")
        assert await uow.emails.add(other_kind)
        assert await uow.emails.get(email.id) == email
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.emails.get(email.id, for_update=True)
        assert await uow.emails.get(IDS.new_id()) is None
        assert not await uow.emails.add(replace(email, id=IDS.new_id()))
    assert got == email
    assert_utc(got.created_at, got.updated_at, got.next_attempt_at)

    base = now()
    attempted = replace(
        email,
        attempts=1,
        next_attempt_at=base + timedelta(minutes=1),
        error="connection refused",
        updated_at=base + timedelta(seconds=1),
    )
    async with uow_factory() as uow:
        await uow.emails.update(attempted)
        await uow.emails.update(make_email())  # unknown: nothing is stored
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.emails.get(email.id) == attempted
        # Only the progress is written: kind, event and order never change.
        await uow.emails.update(replace(attempted, kind="shipping_update", order_id=IDS.new_id()))
        assert await uow.emails.get(email.id) == attempted
    sent = replace(attempted, attempts=2, status="sent", next_attempt_at=None, error=None)
    async with uow_factory() as uow:
        await uow.emails.update(sent)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.emails.get(email.id) == sent


async def test_due_emails_are_pending_and_due_oldest_first(uow_factory: UnitOfWorkFactory) -> None:
    base = now()
    late, early, future, sent, failed = (
        make_email(next_attempt_at=base - timedelta(seconds=10)),
        make_email(next_attempt_at=base - timedelta(minutes=10)),
        make_email(next_attempt_at=base + timedelta(seconds=1)),
        make_email(status="sent"),
        make_email(status="failed"),
    )
    exactly_due = make_email(next_attempt_at=base)
    async with uow_factory() as uow:
        assert await uow.emails.due(base, 10) == []
        for email in (late, early, future, sent, failed, exactly_due):
            assert await uow.emails.add(email)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.emails.due(base, 10) == [early, late, exactly_due]
        assert await uow.emails.due(base, 1) == [early]
        assert await uow.emails.due(base - timedelta(hours=1), 10) == []
        assert await uow.emails.due(base + timedelta(seconds=1), 10) == [early, late, exactly_due, future]
        # An email leased for a later attempt is not due until then.
        await uow.emails.update(replace(early, attempts=1, next_attempt_at=base + timedelta(minutes=2)))
        assert await uow.emails.due(base, 10) == [late, exactly_due]


# -- preview jobs ----------------------------------------------------------------------------------


async def test_preview_job_add_get_update(uow_factory: UnitOfWorkFactory) -> None:
    product = await stored_product(uow_factory)
    template = make_template(product.id, 1, is_default=True)
    base = now()
    session = CustomizationSession(
        id=IDS.new_id(),
        guest=hash_secret("gsk_contract"),
        product_id=product.id,
        template_id=template.id,
        template_version=1,
        options={},
        created_at=base,
        updated_at=base,
        expires_at=base + timedelta(hours=1),
    )
    job = PreviewJob(
        id=IDS.new_id(),
        session_id=session.id,
        design_hash="0" * 64,
        status=PreviewStatus.QUEUED,
        attempts=0,
        storage_key="previews/contract.png",
        created_at=base,
        updated_at=base,
    )
    async with uow_factory() as uow:
        await uow.templates.add(template)
        await uow.sessions.add(session)
        await uow.previews.add(job)
        await uow.commit()
    running = replace(job, status=PreviewStatus.RUNNING, attempts=1, updated_at=base + timedelta(seconds=1))
    async with uow_factory() as uow:
        assert await uow.previews.get(job.id) == job
        assert await uow.previews.get(job.id, for_update=True) == job  # the row locked (PostgreSQL)
        await uow.previews.update(running)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.previews.get(job.id) == running
        assert await uow.previews.get(IDS.new_id(), for_update=True) is None
