"""The catalog's repositories and its version stamp."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from customshop.application.ports.basics import Page
from customshop.domain.access import ApiKey
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.templates import Template


class ProductRepository(Protocol):
    """Products. Never commits; the unit of work does.

    ``add`` and ``update`` raise ``DuplicateSlug`` when another product holds the slug.
    """

    async def add(self, product: Product) -> None: ...

    async def update(self, product: Product) -> None: ...

    async def get(self, product_id: str) -> Product | None: ...

    async def list(self, *, active_only: bool, after: str | None, limit: int) -> Page[Product]:
        """Products ordered by id, those with an id greater than ``after``, at most ``limit``."""
        ...


class OptionSetRepository(Protocol):
    """Option sets. Never commits."""

    async def add(self, option_set: OptionSet) -> None: ...

    async def update(self, option_set: OptionSet) -> None: ...

    async def delete(self, option_set_id: str) -> None: ...

    async def get(self, option_set_id: str) -> OptionSet | None: ...

    async def get_many(self, option_set_ids: Iterable[str]) -> Mapping[str, OptionSet]:
        """The sets among ``option_set_ids`` that exist, by id."""
        ...

    async def list(self, *, product_id: str | None, after: str | None, limit: int) -> Page[OptionSet]:
        """Sets ordered by id (of one product when ``product_id`` is given)."""
        ...


class TemplateRepository(Protocol):
    """Template versions. Never commits.

    ``add`` raises ``DuplicateTemplateVersion`` when the product already has that version; ``add``
    and ``update`` raise ``Conflict`` when a concurrent writer made another template the default
    first.
    """

    async def add(self, template: Template) -> None: ...

    async def update(self, template: Template) -> None:
        """Store a version's definition, status and default flag (its id, product, version and
        creation time never change), and which option sets it uses. An unknown id stores nothing."""
        ...

    async def get_default(self, product_id: str) -> Template | None: ...

    async def get(self, template_id: str, *, for_update: bool = False) -> Template | None:
        """The version; ``for_update`` locks it until the transaction ends (PostgreSQL), so that
        two moves of one version (an edit and its publication, say) happen one after the other."""
        ...

    async def get_version(self, product_id: str, version: int) -> Template | None: ...

    async def clear_default(self, product_id: str) -> None:
        """Make none of the product's templates the default (before making another the default)."""
        ...

    async def list_for_product(
        self, product_id: str, *, before_version: int | None, limit: int, include_drafts: bool = True
    ) -> Page[Template]:
        """The product's templates, newest version first, those below ``before_version``; drafts
        only with ``include_drafts``."""
        ...

    async def uses_option_set(self, option_set_id: str) -> bool:
        """Whether any template refers to this option set."""
        ...


class ApiKeyRepository(Protocol):
    """Admin API keys. Never commits."""

    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: str) -> ApiKey | None: ...

    async def get_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list(self) -> list[ApiKey]: ...

    async def revoke(self, key_id: str, at: datetime) -> None: ...


class CatalogVersion(Protocol):
    """A number that changes with every catalog write, in the same transaction. Never commits."""

    async def current(self) -> int: ...

    async def bump(self) -> None: ...


class ProductPages(Protocol):
    """The storefront's product list as a read model: pages written straight as JSON, apart from the
    repositories that writes go through (the catalog's hottest read, ``GET /products``).

    A page holds the products ``ProductRepository.list`` gives for the same arguments (ordered by
    id, after ``after``, at most ``limit``; only active ones unless ``include_inactive``), each in
    its public form: ``id, slug, name, description, base_price, currency, media: [{url, alt}],
    active, created_at, updated_at``, times in RFC 3339, UTC, as msgspec writes them.
    """

    async def page_json(self, *, include_inactive: bool, after: str | None, limit: int) -> JsonPage: ...


@dataclass(frozen=True, slots=True)
class JsonPage:
    """One page of a listing already written as JSON: ``items`` is a UTF-8 JSON array, ``next_after``
    the sort key to continue after, or ``None`` at the end (as in :class:`Page`)."""

    items: bytes
    next_after: str | None
