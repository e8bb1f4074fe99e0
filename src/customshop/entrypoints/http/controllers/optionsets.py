"""Option sets: public reads, ``catalog:write`` writes."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from msgspec.json import encode

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
    decode_cursor,
    encode_cursor,
    requires,
)
from customshop.entrypoints.http.schemas import OptionSetList, OptionSetRead, OptionSetWrite

ProductFilter = Annotated[str | None, Parameter(max_length=64, description="Only this product's sets.")]


class OptionSetController(Controller):
    path = "/optionsets"
    tags = ("catalog",)

    @get("/", operation_id="listOptionSets", responses=problems(400), opt=CACHED_CATALOG)
    async def list_option_sets(
        self,
        request: Request[Any, Any, Any],
        catalog: NamedDependency[Catalog],
        catalog_cache: NamedDependency[CatalogCache],
        product_id: ProductFilter = None,
        limit: Limit = 50,
        cursor: CursorParam = None,
    ) -> Response[OptionSetList]:
        """Option sets, oldest first, optionally of one product."""

        async def page_bytes() -> bytes:
            page = await catalog.list_option_sets(
                product_id=product_id, after=decode_cursor(cursor), limit=limit
            )
            return encode(
                OptionSetList([OptionSetRead.of(s) for s in page.items], encode_cursor(page.next_after))
            )

        return cached_json(await catalog_cache.get(catalog_key(request), page_bytes))

    @get(
        "/{option_set_id:str}",
        operation_id="getOptionSet",
        responses=problems(404),
        opt=CACHED_CATALOG,
    )
    async def get_option_set(
        self,
        request: Request[Any, Any, Any],
        catalog: NamedDependency[Catalog],
        catalog_cache: NamedDependency[CatalogCache],
        option_set_id: FromPath[str],
    ) -> Response[OptionSetRead]:
        async def set_bytes() -> bytes:
            return encode(OptionSetRead.of(await catalog.get_option_set(option_set_id)))

        return cached_json(await catalog_cache.get(catalog_key(request), set_bytes))

    @post(
        "/",
        operation_id="createOptionSet",
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(400, 403, 415),
    )
    async def create_option_set(
        self, catalog: NamedDependency[Catalog], data: JSONBody[OptionSetWrite]
    ) -> OptionSetRead:
        """Create an option set; option codes must be unique within it (400 naming the duplicate)."""
        return OptionSetRead.of(await catalog.create_option_set(data.to_input()))

    @put(
        "/{option_set_id:str}",
        operation_id="replaceOptionSet",
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(400, 403, 404, 409, 415),
    )
    async def replace_option_set(
        self, catalog: NamedDependency[Catalog], option_set_id: FromPath[str], data: JSONBody[OptionSetWrite]
    ) -> OptionSetRead:
        """Replace name and options. Carted designs keep their snapshot; moving a set that
        templates use to another product is 409."""
        return OptionSetRead.of(await catalog.replace_option_set(option_set_id, data.to_input()))

    @delete(
        "/{option_set_id:str}",
        operation_id="deleteOptionSet",
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(403, 404, 409),
    )
    async def delete_option_set(
        self, catalog: NamedDependency[Catalog], option_set_id: FromPath[str]
    ) -> None:
        """Delete an option set; 409 while a template uses it."""
        await catalog.delete_option_set(option_set_id)
