"""Catalog use cases: what studio designers write and storefronts read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from customshop.application.ports import Clock, IdGenerator, Page, UnitOfWork, UnitOfWorkFactory
from customshop.domain.catalog import MediaItem, Option, OptionSet, Product, VolumeTier, slugify
from customshop.domain.errors import (
    InvalidDefinition,
    InvalidInput,
    InvalidOptionSet,
    OptionSetInUse,
    OptionSetNotFound,
    ProductNotFound,
    Violation,
)
from customshop.domain.regions import STANDARD_TAX_CLASS
from customshop.domain.template_parsing import check_definition
from customshop.domain.templates import Template


@dataclass(frozen=True, slots=True)
class ProductInput:
    """What a designer supplies for a product. ``None`` leaves a field to its default on creation
    (a slug made from the name, the shop's currency, the ``standard`` tax class, no volume pricing)
    and to its current value on replacement."""

    name: str
    description: str
    base_price: int
    media: tuple[MediaItem, ...] = ()
    active: bool = True
    slug: str | None = None
    currency: str | None = None
    tax_class: str | None = None
    volume_pricing: tuple[VolumeTier, ...] | None = None


@dataclass(frozen=True, slots=True)
class OptionSetInput:
    product_id: str
    name: str
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class TemplateInput:
    product_id: str
    version: int
    definition: Mapping[str, Any]
    is_default: bool | None = None


def referenced_option_sets(raw: object) -> set[str]:
    """The option set ids a raw (unchecked) template definition names, to look them up before
    checking it."""
    zones = raw.get("zones") if isinstance(raw, Mapping) else None
    if not isinstance(zones, list):
        return set()
    return {
        zone["option_set_id"]
        for zone in zones
        if isinstance(zone, Mapping) and isinstance(zone.get("option_set_id"), str)
    }


class Catalog:
    """Products, option sets and template versions.

    Every method runs in its own unit of work and commits before returning; every write also bumps the
    catalog's version stamp and calls ``on_change``. Errors: ``InvalidInput`` subclasses for bad input
    (nothing is stored), ``NotFound`` subclasses, ``Conflict`` subclasses.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        default_currency: str,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._currency = default_currency
        self._on_change = on_change

    async def _commit(self, uow: UnitOfWork) -> None:
        """Commit a catalog write with a bump of the catalog's version stamp in the same transaction
        (so every process's cache learns of it), then tell this process's observer at once."""
        await uow.catalog_version.bump()
        await uow.commit()
        if self._on_change is not None:
            self._on_change()

    # -- products ------------------------------------------------------------------------------

    async def create_product(self, data: ProductInput) -> Product:
        now = self._clock.now()
        product = Product(
            id=self._ids.new_id(),
            slug=data.slug or slugify(data.name),
            name=data.name,
            description=data.description,
            base_price=data.base_price,
            currency=data.currency or self._currency,
            media=data.media,
            active=data.active,
            created_at=now,
            updated_at=now,
            tax_class=STANDARD_TAX_CLASS if data.tax_class is None else data.tax_class,
            volume_pricing=() if data.volume_pricing is None else data.volume_pricing,
        )
        async with self._uow() as uow:
            await uow.products.add(product)
            await self._commit(uow)
        return product

    async def replace_product(self, product_id: str, data: ProductInput) -> Product:
        """Replace every field. An omitted slug keeps the current one, so links stay stable; so do
        an omitted currency, tax class and volume pricing, so that a client that does not know
        them leaves them as they are."""
        async with self._uow() as uow:
            current = await self._product(uow, product_id, active_only=False)
            product = replace(
                current,
                slug=data.slug or current.slug,
                name=data.name,
                description=data.description,
                base_price=data.base_price,
                currency=data.currency or current.currency,
                media=data.media,
                active=data.active,
                updated_at=self._clock.now(),
                tax_class=current.tax_class if data.tax_class is None else data.tax_class,
                volume_pricing=current.volume_pricing if data.volume_pricing is None else data.volume_pricing,
            )
            await uow.products.update(product)
            await self._commit(uow)
        return product

    async def deactivate_product(self, product_id: str) -> Product:
        """Hide a product from the storefront. Idempotent; orders and templates are kept."""
        async with self._uow() as uow:
            current = await self._product(uow, product_id, active_only=False)
            if not current.active:
                return current
            product = replace(current, active=False, updated_at=self._clock.now())
            await uow.products.update(product)
            await self._commit(uow)
        return product

    async def list_products(self, *, include_inactive: bool, after: str | None, limit: int) -> Page[Product]:
        async with self._uow(read_only=True) as uow:
            return await uow.products.list(active_only=not include_inactive, after=after, limit=limit)

    async def product_with_default_template(self, product_id: str) -> tuple[Product, Template]:
        """An active product and its default template.

        Raises:
            ProductNotFound: unknown, inactive, or without a default template (the storefront cannot
                sell it, so it does not exist for it).
        """
        async with self._uow(read_only=True) as uow:
            product = await self._product(uow, product_id, active_only=True)
            template = await uow.templates.get_default(product_id)
        if template is None:
            raise ProductNotFound(f"product {product_id!r} has no default template")
        return product, template

    # -- templates -----------------------------------------------------------------------------

    async def create_template(self, data: TemplateInput) -> Template:
        """Add a template version; the first version of a product becomes its default unless
        ``is_default`` is false, and a new default replaces the old one.

        Raises:
            InvalidDefinition: every problem of the definition (nothing is stored).
            InvalidInput: the product does not exist.
            DuplicateTemplateVersion: the product already has this version.
        """
        async with self._uow() as uow:
            unknown = await self._product_problems(uow, data.product_id)
            option_sets = await uow.option_sets.get_many(referenced_option_sets(data.definition))
            definition, wrong = check_definition(
                data.definition, product_id=data.product_id, option_sets=option_sets
            )
            if definition is None:  # every problem at once, the product's too
                raise InvalidDefinition([*unknown, *wrong], "The template definition is invalid.")
            if unknown:
                raise InvalidInput(unknown, "The request names an unknown product.")
            is_default = data.is_default
            if is_default is None:
                is_default = await uow.templates.count_for_product(data.product_id) == 0
            template = Template(
                id=self._ids.new_id(),
                product_id=data.product_id,
                version=data.version,
                definition=definition,
                is_default=is_default,
                created_at=self._clock.now(),
            )
            if is_default:
                await uow.templates.clear_default(data.product_id)
            await uow.templates.add(template)
            await self._commit(uow)
        return template

    async def list_templates(
        self, product_id: str, *, include_inactive: bool, before_version: int | None, limit: int
    ) -> Page[Template]:
        """A product's templates, newest version first.

        Raises:
            ProductNotFound: unknown product, or inactive unless ``include_inactive``.
        """
        async with self._uow(read_only=True) as uow:
            await self._product(uow, product_id, active_only=not include_inactive)
            return await uow.templates.list_for_product(
                product_id, before_version=before_version, limit=limit
            )

    # -- option sets ---------------------------------------------------------------------------

    async def create_option_set(self, data: OptionSetInput) -> OptionSet:
        """Add an option set to a product.

        Raises:
            InvalidOptionSet: every broken rule of the set, and an unknown product, at once.
            InvalidInput: the product does not exist (and the set is sound).
        """
        now = self._clock.now()
        async with self._uow() as uow:
            unknown = await self._product_problems(uow, data.product_id)
            try:
                option_set = OptionSet(
                    id=self._ids.new_id(),
                    product_id=data.product_id,
                    name=data.name,
                    options=data.options,
                    created_at=now,
                    updated_at=now,
                )
            except InvalidOptionSet as exc:
                raise InvalidOptionSet([*unknown, *exc.violations], exc.message) from None
            if unknown:
                raise InvalidInput(unknown, "The request names an unknown product.")
            await uow.option_sets.add(option_set)
            await self._commit(uow)
        return option_set

    async def replace_option_set(self, option_set_id: str, data: OptionSetInput) -> OptionSet:
        """Replace name and options. Moving a set to another product is refused while templates use it.

        Raises:
            OptionSetNotFound, InvalidOptionSet, InvalidInput (unknown product), OptionSetInUse.
        """
        async with self._uow() as uow:
            current = await self._option_set(uow, option_set_id)
            moved = data.product_id != current.product_id
            unknown = await self._product_problems(uow, data.product_id) if moved else []
            try:
                option_set = OptionSet(
                    id=current.id,
                    product_id=data.product_id,
                    name=data.name,
                    options=data.options,
                    created_at=current.created_at,
                    updated_at=self._clock.now(),
                )
            except InvalidOptionSet as exc:
                raise InvalidOptionSet([*unknown, *exc.violations], exc.message) from None
            if moved:
                await self._known_product_field(uow, data.product_id)
                if await uow.templates.uses_option_set(option_set_id):
                    raise OptionSetInUse(
                        f"option set {option_set_id!r} is used by templates of product {current.product_id!r}"
                    )
            await uow.option_sets.update(option_set)
            await self._commit(uow)
        return option_set

    async def delete_option_set(self, option_set_id: str) -> None:
        """Delete a set no template refers to.

        Raises:
            OptionSetNotFound, OptionSetInUse.
        """
        async with self._uow() as uow:
            await self._option_set(uow, option_set_id)
            if await uow.templates.uses_option_set(option_set_id):
                raise OptionSetInUse(f"option set {option_set_id!r} is used by a template")
            await uow.option_sets.delete(option_set_id)
            await self._commit(uow)

    async def get_option_set(self, option_set_id: str) -> OptionSet:
        async with self._uow(read_only=True) as uow:
            return await self._option_set(uow, option_set_id)

    async def list_option_sets(
        self, *, product_id: str | None, after: str | None, limit: int
    ) -> Page[OptionSet]:
        async with self._uow(read_only=True) as uow:
            return await uow.option_sets.list(product_id=product_id, after=after, limit=limit)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    async def _product(uow: UnitOfWork, product_id: str, *, active_only: bool) -> Product:
        product = await uow.products.get(product_id)
        if product is None or (active_only and not product.active):
            raise ProductNotFound(f"there is no product {product_id!r}")
        return product

    @staticmethod
    async def _product_problems(uow: UnitOfWork, product_id: str) -> list[Violation]:
        if await uow.products.get(product_id) is None:
            return [Violation("product_id", "not_found", f"there is no product {product_id!r}")]
        return []

    @classmethod
    async def _known_product_field(cls, uow: UnitOfWork, product_id: str) -> None:
        if unknown := await cls._product_problems(uow, product_id):
            raise InvalidInput(unknown, "The request names an unknown product.")

    @staticmethod
    async def _option_set(uow: UnitOfWork, option_set_id: str) -> OptionSet:
        option_set = await uow.option_sets.get(option_set_id)
        if option_set is None:
            raise OptionSetNotFound(f"there is no option set {option_set_id!r}")
        return option_set
