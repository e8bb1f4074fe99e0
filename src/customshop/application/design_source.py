"""What a design is checked and priced against: a product, one of its templates, the template's
option sets. Read on every design change and cart add, so it is served from the catalog cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from customshop.application.catalog_cache import CatalogCache
from customshop.application.ports import UnitOfWork
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.templates import Template


@dataclass(frozen=True, slots=True)
class DesignSource:
    """``product`` is None when unknown; ``template`` when the product has no such (or no default)
    template. Inactive products are returned as they are: callers decide."""

    product: Product | None
    template: Template | None
    option_sets: Mapping[str, OptionSet]


async def design_source(
    uow: UnitOfWork,
    product_id: str,
    template_id: str | None,
    cache: CatalogCache | None = None,
    *,
    version: int | None = None,
) -> DesignSource:
    """The product, its template ``template_id`` (its default one when None) and its option sets.

    With a ``cache``, served from it; with the catalog ``version`` the caller read in ``uow``'s
    transaction as well, exactly as the database holds it now (the cache only when its entries
    are of that version, see ``CatalogCache.get_current``)."""

    async def load() -> DesignSource:
        product = await uow.products.get(product_id)
        if product is None:
            return DesignSource(None, None, {})
        if template_id is None:
            template = await uow.templates.get_default(product_id)
        else:
            template = await uow.templates.get(template_id)
        if template is None or template.product_id != product_id:
            return DesignSource(product, None, {})
        option_sets = await uow.option_sets.get_many(template.definition.option_set_ids)
        return DesignSource(product, template, option_sets)

    if cache is None:
        return await load()
    key = f"design/{product_id}/{template_id or 'default'}"
    if version is not None:
        return await cache.get_current(key, version, load)
    return await cache.get_object(key, load)
