"""Template versions: public reads, ``catalog:write`` creation and lifecycle (edit a draft, publish,
retire, make the default). A published version's definition never changes again."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post
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
from customshop.entrypoints.http.schemas import TemplateCreate, TemplateList, TemplateRead, TemplateRevision


class TemplateController(Controller):
    path = "/templates"
    tags = ("catalog",)

    # Litestar serves /templates/{template_id} (this edit) and /templates/{product_id} (the listing)
    # as one node of its router, parsing each method's parameters by its own path, and labels it
    # with the path of the route it meets last, in the order of its handlers' names: this one's name
    # sorts before list_templates, so metrics and logs keep the listing's /templates/{product_id}.
    @patch(
        "/{template_id:str}",
        operation_id="reviseTemplate",
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(400, 403, 404, 409, 415),
    )
    async def edit_template(
        self, catalog: NamedDependency[Catalog], template_id: FromPath[str], data: JSONBody[TemplateRevision]
    ) -> TemplateRead:
        """Replace a draft's definition, checked like a new version's (400 naming every problem). A
        published or retired version is 409: its definition is fixed; create a new version."""
        return TemplateRead.of(await catalog.revise_template(template_id, data.definition))

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
        """A product's templates, newest version first: published and retired ones (a retired version
        starts no new session but stays readable for those on it). Drafts, and inactive products'
        templates, are shown only to `catalog:write` keys."""
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
        """Add a template version, `published` unless `status` says otherwise. Every problem of the
        definition is reported at once (400); a version the product already has is 409. A published
        version becomes the default when the product has none, unless `is_default` is false;
        `is_default: true` (of a published version only) makes it the default."""
        return TemplateRead.of(await catalog.create_template(data.to_input()))

    @post(
        "/{template_id:str}/publish",
        operation_id="publishTemplate",
        status_code=200,
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(403, 404, 409),
    )
    async def publish_template(
        self, catalog: NamedDependency[Catalog], template_id: FromPath[str]
    ) -> TemplateRead:
        """Publish a draft, or a retired version again: guests may start sessions on it. A product
        without a default gets it as its default. 409 when it is published already, or when its
        definition no longer fits the product's option sets (each problem named)."""
        return TemplateRead.of(await catalog.publish_template(template_id))

    @post(
        "/{template_id:str}/retire",
        operation_id="retireTemplate",
        status_code=200,
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(403, 404, 409),
    )
    async def retire_template(
        self, catalog: NamedDependency[Catalog], template_id: FromPath[str]
    ) -> TemplateRead:
        """Retire a published version: it starts no new session, while the sessions, carts and
        orders already on it go on. 409 for the product's default (make another version the default
        first), a draft, or a version retired already."""
        return TemplateRead.of(await catalog.retire_template(template_id))

    @post(
        "/{template_id:str}/make-default",
        operation_id="makeTemplateDefault",
        status_code=200,
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(403, 404, 409),
    )
    async def make_default(
        self, catalog: NamedDependency[Catalog], template_id: FromPath[str]
    ) -> TemplateRead:
        """Make a published version its product's default: the product page shows it and new
        sessions start on it (an older version may be made the default again). Idempotent; 409 for a
        draft or a retired version."""
        return TemplateRead.of(await catalog.make_default_template(template_id))
