"""Template versions: public reads, ``catalog:write`` creation. Versions are immutable."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec.json import encode

from customshop.application.access import AccessKeys
from customshop.application.catalog import Catalog
from customshop.application.catalog_cache import CatalogCache
from customshop.domain.access import Scope
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.params import (
    ADMIN_SECURITY,
    CACHED_CATALOG,
    CursorParam,
    Limit,
    cached_json,
    catalog_key,
    decode_int_cursor,
    encode_cursor,
    is_allowed,
    requires,
)
from customshop.entrypoints.http.schemas import TemplateCreate, TemplateList, TemplateRead


class TemplateController(Controller):
    path = "/templates"
    tags = ("catalog",)

    @get(
        "/{product_id:str}",
        operation_id="listTemplates",
        responses=problems(400, 404),
        opt=CACHED_CATALOG,
    )
    async def list_templates(
        self,
        request: Request[Any, Any, Any],
        catalog: NamedDependency[Catalog],
        catalog_cache: NamedDependency[CatalogCache],
        access: NamedDependency[AccessKeys],
        product_id: FromPath[str],
        limit: Limit = 50,
        cursor: CursorParam = None,
    ) -> Response[TemplateList]:
        """A product's templates, newest version first. Inactive products' templates are shown only
        to `catalog:write` keys."""
        admin = await is_allowed(request, access, Scope.CATALOG_WRITE)

        async def page_bytes() -> bytes:
            page = await catalog.list_templates(
                product_id, include_inactive=admin, before_version=decode_int_cursor(cursor), limit=limit
            )
            return encode(
                TemplateList([TemplateRead.of(t) for t in page.items], encode_cursor(page.next_after))
            )

        if admin:  # may include inactive products: never cached
            return cached_json(await page_bytes())
        return cached_json(await catalog_cache.get(catalog_key(request), page_bytes))

    @post(
        "/",
        operation_id="createTemplate",
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(400, 403, 409, 415),
    )
    async def create_template(
        self, catalog: NamedDependency[Catalog], data: JSONBody[TemplateCreate]
    ) -> TemplateRead:
        """Add a template version. Every problem of the definition is reported at once (400); a
        version the product already has is 409. The first version becomes the default unless
        `is_default` is false; `is_default: true` makes the new version the default."""
        return TemplateRead.of(await catalog.create_template(data.to_input()))
