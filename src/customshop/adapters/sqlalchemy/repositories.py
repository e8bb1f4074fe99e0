"""Repositories over one ``AsyncConnection``, in SQLAlchemy Core: rows map straight to domain objects,
with no ORM identity map or object graph on the hot read paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import Row, guarded
from customshop.application.ports import Page
from customshop.domain.access import ApiKey, Scope
from customshop.domain.catalog import MediaItem, Option, OptionSet, Product, VolumeTier
from customshop.domain.errors import Conflict, DuplicateSlug, DuplicateTemplateVersion
from customshop.domain.template_parsing import load_definition
from customshop.domain.templates import Template, TemplateStatus


def _page(rows: list[Any], limit: int, key: str) -> tuple[list[Any], str | None]:
    if len(rows) > limit:
        return rows[:limit], str(getattr(rows[limit - 1], key))
    return rows, None


# -- products --------------------------------------------------------------------------------------


def _product(row: Sequence[Any]) -> Product:
    # The one row read by position (the table's column order), not by name as the others are:
    # attribute access on a Row is a keyed lookup per field (about 0.5 µs), which dominated reading
    # product lists (docs/performance.md). What was stored was checked
    # when written, so it is restored without checking again.
    (
        id_,
        slug,
        name,
        description,
        base_price,
        currency,
        media,
        active,
        created_at,
        updated_at,
        tax_class,
        volume_pricing,
    ) = row
    return Product.restore(
        id_,
        slug,
        name,
        description,
        base_price,
        currency,
        tuple(MediaItem(m["url"], m.get("alt", "")) for m in media) if media else (),
        active,
        created_at,
        updated_at,
        tax_class,
        tuple(VolumeTier(t["min_quantity"], t["discount_bps"]) for t in volume_pricing)
        if volume_pricing
        else (),
    )


def _product_page(active_only: bool, after: bool) -> sa.Select[Any]:
    query = sa.select(t.products).order_by(t.products.c.id).limit(sa.bindparam("limit"))
    if active_only:
        query = query.where(t.products.c.active)
    if after:
        query = query.where(t.products.c.id > sa.bindparam("after"))
    return query


#: The four shapes of a product page, built once (building a statement costs more than running it).
_PRODUCT_PAGES = {
    (active, after): _product_page(active, after) for active in (True, False) for after in (True, False)
}


def _product_values(product: Product) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "base_price": product.base_price,
        "currency": product.currency,
        "media": [{"url": m.url, "alt": m.alt} for m in product.media],
        "active": product.active,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "tax_class": product.tax_class,
        "volume_pricing": [
            {"min_quantity": t.min_quantity, "discount_bps": t.discount_bps} for t in product.volume_pricing
        ],
    }


class SqlProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _check_slug(self, product: Product) -> None:
        taken = await self._conn.scalar(
            sa.select(t.products.c.id).where(t.products.c.slug == product.slug, t.products.c.id != product.id)
        )
        if taken is not None:
            raise DuplicateSlug(f"another product already uses the slug {product.slug!r}")

    async def add(self, product: Product) -> None:
        await self._check_slug(product)
        try:
            async with guarded(self._conn):
                await self._conn.execute(
                    t.products.insert().values(id=product.id, **_product_values(product))
                )
        except IntegrityError:
            raise DuplicateSlug(f"another product already uses the slug {product.slug!r}") from None

    async def update(self, product: Product) -> None:
        await self._check_slug(product)
        try:
            async with guarded(self._conn):
                await self._conn.execute(
                    t.products.update()
                    .where(t.products.c.id == product.id)
                    .values(**_product_values(product))
                )
        except IntegrityError:
            raise DuplicateSlug(f"another product already uses the slug {product.slug!r}") from None

    async def get(self, product_id: str) -> Product | None:
        row = (await self._conn.execute(sa.select(t.products).where(t.products.c.id == product_id))).first()
        return _product(row) if row else None

    async def list(self, *, active_only: bool, after: str | None, limit: int) -> Page[Product]:
        query = _PRODUCT_PAGES[(active_only, after is not None)]
        params: dict[str, Any] = (
            {"limit": limit + 1} if after is None else {"limit": limit + 1, "after": after}
        )
        rows, next_after = _page(list(await self._conn.execute(query, params)), limit, "id")
        return Page([_product(row) for row in rows], next_after)


# -- option sets -----------------------------------------------------------------------------------


def _option_set(row: Row) -> OptionSet:
    return OptionSet(
        id=row.id,
        product_id=row.product_id,
        name=row.name,
        options=tuple(Option(o["code"], o["label"], o["price_delta"]) for o in row.options),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _option_set_values(option_set: OptionSet) -> dict[str, Any]:
    return {
        "product_id": option_set.product_id,
        "name": option_set.name,
        "options": [
            {"code": o.code, "label": o.label, "price_delta": o.price_delta} for o in option_set.options
        ],
        "created_at": option_set.created_at,
        "updated_at": option_set.updated_at,
    }


class SqlOptionSetRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, option_set: OptionSet) -> None:
        await self._conn.execute(
            t.option_sets.insert().values(id=option_set.id, **_option_set_values(option_set))
        )

    async def update(self, option_set: OptionSet) -> None:
        await self._conn.execute(
            t.option_sets.update()
            .where(t.option_sets.c.id == option_set.id)
            .values(**_option_set_values(option_set))
        )

    async def delete(self, option_set_id: str) -> None:
        await self._conn.execute(t.option_sets.delete().where(t.option_sets.c.id == option_set_id))

    async def get(self, option_set_id: str) -> OptionSet | None:
        row = (
            await self._conn.execute(sa.select(t.option_sets).where(t.option_sets.c.id == option_set_id))
        ).first()
        return _option_set(row) if row else None

    async def get_many(self, option_set_ids: Iterable[str]) -> Mapping[str, OptionSet]:
        wanted = list(set(option_set_ids))
        if not wanted:
            return {}
        rows = await self._conn.execute(sa.select(t.option_sets).where(t.option_sets.c.id.in_(wanted)))
        return {row.id: _option_set(row) for row in rows}

    async def list(self, *, product_id: str | None, after: str | None, limit: int) -> Page[OptionSet]:
        query = sa.select(t.option_sets).order_by(t.option_sets.c.id).limit(limit + 1)
        if product_id is not None:
            query = query.where(t.option_sets.c.product_id == product_id)
        if after is not None:
            query = query.where(t.option_sets.c.id > after)
        rows, next_after = _page(list(await self._conn.execute(query)), limit, "id")
        return Page([_option_set(row) for row in rows], next_after)


# -- templates -------------------------------------------------------------------------------------


def _template(row: Row) -> Template:
    return Template(
        id=row.id,
        product_id=row.product_id,
        version=row.version,
        definition=load_definition(row.definition),
        is_default=row.is_default,
        created_at=row.created_at,
        status=TemplateStatus(row.status),
    )


class SqlTemplateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, template: Template) -> None:
        exists = await self._conn.scalar(
            sa.select(t.templates.c.id).where(
                t.templates.c.product_id == template.product_id, t.templates.c.version == template.version
            )
        )
        if exists is not None:
            raise DuplicateTemplateVersion(f"version {template.version} of this product exists already")
        try:
            async with guarded(self._conn):
                await self._conn.execute(
                    t.templates.insert().values(
                        id=template.id,
                        product_id=template.product_id,
                        version=template.version,
                        definition=template.definition.to_dict(),
                        is_default=template.is_default,
                        created_at=template.created_at,
                        status=template.status.value,
                    )
                )
        except IntegrityError:
            raise Conflict("this product's templates were changed concurrently; try again") from None
        await self._link_option_sets(template)

    async def update(self, template: Template) -> None:
        try:
            async with guarded(self._conn):
                result = await self._conn.execute(
                    t.templates.update()
                    .where(t.templates.c.id == template.id)
                    .values(
                        definition=template.definition.to_dict(),
                        is_default=template.is_default,
                        status=template.status.value,
                    )
                )
        except IntegrityError:
            raise Conflict("this product's templates were changed concurrently; try again") from None
        if result.rowcount:
            await self._conn.execute(
                t.template_option_sets.delete().where(t.template_option_sets.c.template_id == template.id)
            )
            await self._link_option_sets(template)

    async def _link_option_sets(self, template: Template) -> None:
        set_ids = template.definition.option_set_ids
        if set_ids:
            await self._conn.execute(
                t.template_option_sets.insert(),
                [{"template_id": template.id, "option_set_id": set_id} for set_id in sorted(set_ids)],
            )

    async def get(self, template_id: str, *, for_update: bool = False) -> Template | None:
        query = sa.select(t.templates).where(t.templates.c.id == template_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _template(row) if row else None

    async def get_version(self, product_id: str, version: int) -> Template | None:
        row = (
            await self._conn.execute(
                sa.select(t.templates).where(
                    t.templates.c.product_id == product_id, t.templates.c.version == version
                )
            )
        ).first()
        return _template(row) if row else None

    async def get_default(self, product_id: str) -> Template | None:
        row = (
            await self._conn.execute(
                sa.select(t.templates).where(t.templates.c.product_id == product_id, t.templates.c.is_default)
            )
        ).first()
        return _template(row) if row else None

    async def clear_default(self, product_id: str) -> None:
        await self._conn.execute(
            t.templates.update()
            .where(t.templates.c.product_id == product_id, t.templates.c.is_default)
            .values(is_default=False)
        )

    async def list_for_product(
        self, product_id: str, *, before_version: int | None, limit: int, include_drafts: bool = True
    ) -> Page[Template]:
        query = (
            sa.select(t.templates)
            .where(t.templates.c.product_id == product_id)
            .order_by(t.templates.c.version.desc())
            .limit(limit + 1)
        )
        if before_version is not None:
            query = query.where(t.templates.c.version < before_version)
        if not include_drafts:
            query = query.where(t.templates.c.status != TemplateStatus.DRAFT.value)
        rows, next_after = _page(list(await self._conn.execute(query)), limit, "version")
        return Page([_template(row) for row in rows], next_after)

    async def uses_option_set(self, option_set_id: str) -> bool:
        found = await self._conn.scalar(
            sa.select(t.template_option_sets.c.template_id)
            .where(t.template_option_sets.c.option_set_id == option_set_id)
            .limit(1)
        )
        return found is not None


# -- API keys --------------------------------------------------------------------------------------


def _api_key(row: Row) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        hint=row.hint,
        key_hash=row.key_hash,
        scopes=frozenset(Scope(s) for s in row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class SqlApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        await self._conn.execute(
            t.api_keys.insert().values(
                id=key.id,
                name=key.name,
                hint=key.hint,
                key_hash=key.key_hash,
                scopes=sorted(s.value for s in key.scopes),
                created_at=key.created_at,
                revoked_at=key.revoked_at,
            )
        )

    async def get(self, key_id: str) -> ApiKey | None:
        row = (await self._conn.execute(sa.select(t.api_keys).where(t.api_keys.c.id == key_id))).first()
        return _api_key(row) if row else None

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        row = (
            await self._conn.execute(sa.select(t.api_keys).where(t.api_keys.c.key_hash == key_hash))
        ).first()
        return _api_key(row) if row else None

    async def list(self) -> list[ApiKey]:
        return [
            _api_key(row) for row in await self._conn.execute(sa.select(t.api_keys).order_by(t.api_keys.c.id))
        ]

    async def revoke(self, key_id: str, at: datetime) -> None:
        await self._conn.execute(t.api_keys.update().where(t.api_keys.c.id == key_id).values(revoked_at=at))


# -- catalog version -------------------------------------------------------------------------------


class SqlCatalogVersion:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def current(self) -> int:
        version = await self._conn.scalar(
            sa.select(t.catalog_state.c.version).where(t.catalog_state.c.id == 1)
        )
        return int(version or 0)

    async def bump(self) -> None:
        await self._conn.execute(
            t.catalog_state.update()
            .where(t.catalog_state.c.id == 1)
            .values(version=t.catalog_state.c.version + 1)
        )
