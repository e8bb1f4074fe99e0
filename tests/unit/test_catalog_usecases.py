"""Catalog use cases on the in-memory adapters."""

from __future__ import annotations

from typing import Any

import pytest

from customshop.adapters.memory import ManualClock, MemoryStore
from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.domain.catalog import Option
from customshop.domain.errors import (
    DuplicateSlug,
    DuplicateTemplateVersion,
    InvalidDefinition,
    InvalidInput,
    InvalidProduct,
    OptionSetInUse,
    OptionSetNotFound,
    ProductNotFound,
)


def tee(**changes: Any) -> ProductInput:
    fields: dict[str, Any] = {"name": "Classic Tee", "description": "", "base_price": 1900} | changes
    return ProductInput(**fields)


def text_definition(option_set_id: str | None = None) -> dict[str, Any]:
    zones: list[dict[str, Any]] = [
        {"id": "line", "type": "text", "area": {"x": 0, "y": 0, "width": 50, "height": 10}}
    ]
    if option_set_id:
        zones.append({"id": "size", "type": "option", "option_set_id": option_set_id})
    return {"canvas": {"width": 100, "height": 100}, "zones": zones}


async def test_create_product_fills_slug_currency_and_times(catalog: Catalog, clock: ManualClock) -> None:
    product = await catalog.create_product(tee(name="Café Tee #1"))
    assert product.slug == "cafe-tee-1"
    assert product.currency == "USD"
    assert product.created_at == product.updated_at == clock.now()
    assert product.active


async def test_product_rules_are_reported_together_and_nothing_is_stored(
    catalog: Catalog, store: MemoryStore
) -> None:
    with pytest.raises(InvalidProduct) as caught:
        await catalog.create_product(tee(name=" ", base_price=-5, currency="XXY"))
    assert {v.field for v in caught.value.violations} == {"name", "base_price", "currency"}
    assert store.products == {}


async def test_slug_clash_is_a_conflict(catalog: Catalog) -> None:
    await catalog.create_product(tee())
    with pytest.raises(DuplicateSlug):
        await catalog.create_product(tee())
    other = await catalog.create_product(tee(slug="other-tee"))
    with pytest.raises(DuplicateSlug):
        await catalog.replace_product(other.id, tee(slug="classic-tee"))


async def test_replace_keeps_identity_slug_and_creation_time(catalog: Catalog, clock: ManualClock) -> None:
    product = await catalog.create_product(tee(currency="EUR"))
    clock.advance(minutes=5)
    replaced = await catalog.replace_product(product.id, tee(name="Renamed", base_price=2100))
    assert (replaced.id, replaced.slug, replaced.created_at) == (product.id, product.slug, product.created_at)
    assert replaced.currency == "EUR"  # an omitted currency keeps the current one
    assert replaced.updated_at == clock.now() != product.updated_at
    with pytest.raises(ProductNotFound):
        await catalog.replace_product("missing", tee())


async def test_deactivation_is_idempotent_and_hides_the_product(catalog: Catalog, clock: ManualClock) -> None:
    product = await catalog.create_product(tee())
    await catalog.create_template(TemplateInput(product.id, 1, text_definition()))
    clock.advance(seconds=1)
    first = await catalog.deactivate_product(product.id)
    clock.advance(seconds=1)
    again = await catalog.deactivate_product(product.id)
    assert first == again
    assert not first.active
    with pytest.raises(ProductNotFound):
        await catalog.product_with_default_template(product.id)
    assert (await catalog.list_products(include_inactive=False, after=None, limit=10)).items == []
    assert (await catalog.list_products(include_inactive=True, after=None, limit=10)).items == [first]


async def test_listing_pages_in_creation_order(catalog: Catalog) -> None:
    made = [await catalog.create_product(tee(name=f"Tee {n}")) for n in range(7)]
    seen = []
    after = None
    while True:
        page = await catalog.list_products(include_inactive=False, after=after, limit=3)
        seen += page.items
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == made


async def test_first_template_becomes_default_and_a_new_default_replaces_it(catalog: Catalog) -> None:
    product = await catalog.create_product(tee())
    v1 = await catalog.create_template(TemplateInput(product.id, 1, text_definition()))
    v2 = await catalog.create_template(TemplateInput(product.id, 2, text_definition()))
    assert v1.is_default and not v2.is_default
    assert (await catalog.product_with_default_template(product.id))[1] == v1
    v3 = await catalog.create_template(TemplateInput(product.id, 3, text_definition(), is_default=True))
    assert (await catalog.product_with_default_template(product.id))[1] == v3
    page = await catalog.list_templates(product.id, include_inactive=False, before_version=None, limit=10)
    assert [(t.version, t.is_default) for t in page.items] == [(3, True), (2, False), (1, False)]
    with pytest.raises(DuplicateTemplateVersion):
        await catalog.create_template(TemplateInput(product.id, 2, text_definition()))


async def test_first_template_may_be_created_as_not_default(catalog: Catalog) -> None:
    product = await catalog.create_product(tee())
    await catalog.create_template(TemplateInput(product.id, 1, text_definition(), is_default=False))
    with pytest.raises(ProductNotFound):
        await catalog.product_with_default_template(product.id)


async def test_templates_refer_only_to_their_products_option_sets(
    catalog: Catalog, store: MemoryStore
) -> None:
    product = await catalog.create_product(tee())
    other = await catalog.create_product(tee(name="Other"))
    sizes = await catalog.create_option_set(OptionSetInput(other.id, "Size", (Option("M", "Medium"),)))
    with pytest.raises(InvalidDefinition) as caught:
        await catalog.create_template(TemplateInput(product.id, 1, text_definition(sizes.id)))
    (violation,) = caught.value.violations
    assert (violation.field, violation.code, violation.zone_id) == (
        "definition.zones[1].option_set_id",
        "wrong_product",
        "size",
    )
    assert store.templates == {}
    with pytest.raises(InvalidInput) as unknown:
        await catalog.create_template(TemplateInput("nope", 1, text_definition()))
    assert unknown.value.violations[0].field == "product_id"


async def test_option_sets_in_use_cannot_be_deleted_or_moved(catalog: Catalog) -> None:
    product = await catalog.create_product(tee())
    other = await catalog.create_product(tee(name="Other"))
    sizes = await catalog.create_option_set(OptionSetInput(product.id, "Size", (Option("M", "Medium"),)))
    spare = await catalog.create_option_set(OptionSetInput(product.id, "Spare", (Option("x", "X"),)))
    await catalog.create_template(TemplateInput(product.id, 1, text_definition(sizes.id)))

    with pytest.raises(OptionSetInUse):
        await catalog.delete_option_set(sizes.id)
    with pytest.raises(OptionSetInUse):
        await catalog.replace_option_set(sizes.id, OptionSetInput(other.id, "Size", (Option("M", "M"),)))
    renamed = await catalog.replace_option_set(
        sizes.id, OptionSetInput(product.id, "Sizes", (Option("M", "M"), Option("L", "L", 100)))
    )
    assert renamed.codes == {"M", "L"}
    assert renamed.created_at == sizes.created_at

    moved = await catalog.replace_option_set(spare.id, OptionSetInput(other.id, "Spare", (Option("x", "X"),)))
    assert moved.product_id == other.id
    await catalog.delete_option_set(spare.id)
    with pytest.raises(OptionSetNotFound):
        await catalog.get_option_set(spare.id)
    with pytest.raises(OptionSetNotFound):
        await catalog.delete_option_set(spare.id)
    with pytest.raises(InvalidInput):
        await catalog.create_option_set(OptionSetInput("nope", "Size", (Option("M", "M"),)))


async def test_list_option_sets_filters_by_product(catalog: Catalog) -> None:
    a = await catalog.create_product(tee(name="A"))
    b = await catalog.create_product(tee(name="B"))
    sa = await catalog.create_option_set(OptionSetInput(a.id, "Size", (Option("M", "M"),)))
    sb = await catalog.create_option_set(OptionSetInput(b.id, "Size", (Option("M", "M"),)))
    assert (await catalog.list_option_sets(product_id=a.id, after=None, limit=10)).items == [sa]
    assert (await catalog.list_option_sets(product_id=None, after=None, limit=10)).items == [sa, sb]
