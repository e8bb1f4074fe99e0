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
from customshop.domain.templates import (
    DefinitionOutOfDate,
    Template,
    TemplateNotFound,
    TemplateStatus,
    can_be_default,
)


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
    status: TemplateStatus = TemplateStatus.PUBLISHED


def default_problems(status: TemplateStatus, is_default: bool | None, path: str = "") -> list[Violation]:
    """``is_default: true`` asked of a version that cannot be the default (a draft, a retired one)."""
    if is_default and not can_be_default(status):
        return [
            Violation(
                f"{path}is_default",
                "not_published",
                f"a {status} version cannot be the default; only a published one can",
            )
        ]
    return []


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
        """Add a template version, ``published`` unless ``status`` says otherwise. A published
        version becomes the product's default when the product has none (its first one) unless
        ``is_default`` is false; ``is_default: true`` makes it the default in place of the old one.

        Raises:
            InvalidDefinition: every problem of the definition (nothing is stored), with the others.
            InvalidInput: the product does not exist, or ``is_default`` is true of a version that is
                not published.
            DuplicateTemplateVersion: the product already has this version.
        """
        async with self._uow() as uow:
            unknown = await self._product_problems(uow, data.product_id)
            unknown += default_problems(data.status, data.is_default)
            option_sets = await uow.option_sets.get_many(referenced_option_sets(data.definition))
            definition, wrong = check_definition(
                data.definition, product_id=data.product_id, option_sets=option_sets
            )
            if definition is None:  # every problem at once, the product's too
                raise InvalidDefinition([*unknown, *wrong], "The template definition is invalid.")
            if unknown:
                raise InvalidInput(unknown, "The request is invalid.")
            is_default = data.is_default
            if is_default is None:
                is_default = (
                    can_be_default(data.status) and await uow.templates.get_default(data.product_id) is None
                )
            template = Template(
                id=self._ids.new_id(),
                product_id=data.product_id,
                version=data.version,
                definition=definition,
                is_default=is_default,
                created_at=self._clock.now(),
                status=data.status,
            )
            if is_default:
                await uow.templates.clear_default(data.product_id)
            await uow.templates.add(template)
            await self._commit(uow)
        return template

    async def revise_template(self, template_id: str, definition: Mapping[str, Any]) -> Template:
        """Replace a draft's definition (checked like a new version's).

        Raises:
            TemplateNotFound.
            TemplateNotDraft: the version is published or retired (checked before the definition).
            InvalidDefinition: every problem of the definition (nothing is stored).
        """
        async with self._uow() as uow:
            current = await self._template(uow, template_id)
            current.require_draft()  # a 409 before any 400: the definition of a published one is moot
            option_sets = await uow.option_sets.get_many(referenced_option_sets(definition))
            checked, wrong = check_definition(
                definition, product_id=current.product_id, option_sets=option_sets
            )
            if checked is None:
                raise InvalidDefinition(wrong, "The template definition is invalid.")
            revised = current.revise(checked)
            await uow.templates.update(revised)
            await self._commit(uow)
        return revised

    async def publish_template(self, template_id: str) -> Template:
        """Publish a draft, or a retired version again. Its definition is checked once more against
        the option sets as they are now. A product without a default gets this version as its
        default.

        Raises:
            TemplateNotFound.
            IllegalTemplateMove: it is published already.
            DefinitionOutOfDate: an option set it names changed so that it no longer fits.
        """
        async with self._uow() as uow:
            current = await self._template(uow, template_id)
            published = current.publish()
            raw = current.definition.to_dict()
            option_sets = await uow.option_sets.get_many(current.definition.option_set_ids)
            _, wrong = check_definition(raw, product_id=current.product_id, option_sets=option_sets)
            if wrong:
                raise DefinitionOutOfDate(
                    f"version {current.version} no longer fits the product's option sets", wrong
                )
            if await uow.templates.get_default(current.product_id) is None:
                published = published.make_default()
            await uow.templates.update(published)
            await self._commit(uow)
        return published

    async def retire_template(self, template_id: str) -> Template:
        """Retire a published version: it starts no new session, while the sessions, carts and
        orders on it go on. The default cannot be retired (make another version the default first).

        Raises:
            TemplateNotFound.
            DefaultTemplateRetirement: it is the product's default.
            IllegalTemplateMove: it is a draft, or retired already.
        """
        async with self._uow() as uow:
            retired = (await self._template(uow, template_id)).retire()
            await uow.templates.update(retired)
            await self._commit(uow)
        return retired

    async def make_default_template(self, template_id: str) -> Template:
        """Make a published version its product's default (new sessions and designs carted without
        a session start on it). Idempotent: the default stays the default, and nothing is written.

        Raises:
            TemplateNotFound.
            IllegalTemplateMove: it is a draft or retired.
        """
        async with self._uow() as uow:
            current = await self._template(uow, template_id)
            if current.is_default:
                return current
            made = current.make_default()
            await uow.templates.clear_default(current.product_id)
            await uow.templates.update(made)
            await self._commit(uow)
        return made

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
                product_id, before_version=before_version, limit=limit, include_drafts=include_inactive
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
    async def _template(uow: UnitOfWork, template_id: str) -> Template:
        """The version, locked until the transaction ends (its moves happen one after the other)."""
        template = await uow.templates.get(template_id, for_update=True)
        if template is None:
            raise TemplateNotFound(f"there is no template {template_id!r}")
        return template

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
