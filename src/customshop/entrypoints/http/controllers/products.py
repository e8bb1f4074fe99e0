"""Products: public reads, ``catalog:write`` writes."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, SkipValidation
from msgspec.json import encode

from customshop.application.access import AccessKeys
from customshop.application.catalog import Catalog
from customshop.application.catalog_cache import CatalogCache
from customshop.application.ports import ProductPages
from customshop.domain.access import Scope
from customshop.domain.errors import AccessDenied
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
    is_allowed,
    requires,
)
from customshop.entrypoints.http.schemas import ProductDetail, ProductList, ProductRead, ProductWrite

IncludeInactive = Annotated[
    bool, Parameter(description="Also list inactive products (needs a `catalog:write` key).")
]

#: A port, not a class: Litestar cannot check a Protocol's instances, so the container's is taken as is.
Pages = NamedDependency[SkipValidation[ProductPages]]


class ProductController(Controller):
    path = "/products"
    tags = ("catalog",)

    @get("/", operation_id="listProducts", responses=problems(400, 403), opt=CACHED_CATALOG)
    async def list_products(
        self,
        request: Request[Any, Any, Any],
        product_pages: Pages,
        catalog_cache: NamedDependency[CatalogCache],
        access: NamedDependency[AccessKeys],
        limit: Limit = 50,
        cursor: CursorParam = None,
        include_inactive: IncludeInactive = False,
    ) -> Response[ProductList]:
        """List active products, oldest first, in pages."""

        async def page_bytes() -> bytes:
            page = await product_pages.page_json(
                include_inactive=include_inactive, after=decode_cursor(cursor), limit=limit
            )
            # The products are written already: only the envelope is left.
            return (
                b'{"items":' + page.items + b',"next_cursor":' + encode(encode_cursor(page.next_after)) + b"}"
            )

        if include_inactive:  # an admin view: never cached
            if not await is_allowed(request, access, Scope.CATALOG_WRITE):
                raise AccessDenied("include_inactive needs an API key with the 'catalog:write' scope")
            return cached_json(await page_bytes())
        return cached_json(await catalog_cache.get(catalog_key(request), page_bytes))

    @get(
        "/{product_id:str}",
        operation_id="getProduct",
        responses=problems(404),
        opt=CACHED_CATALOG,
    )
    async def get_product(
        self,
        request: Request[Any, Any, Any],
        catalog: NamedDependency[Catalog],
        catalog_cache: NamedDependency[CatalogCache],
        product_id: FromPath[str],
    ) -> Response[ProductDetail]:
        """An active product with its default template (404 if unknown, inactive or without one)."""

        async def detail_bytes() -> bytes:
            product, template = await catalog.product_with_default_template(product_id)
            return encode(ProductDetail.of_template(product, template))

        return cached_json(await catalog_cache.get(catalog_key(request), detail_bytes))

    @post(
        "/",
        operation_id="createProduct",
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(400, 403, 409, 415),
    )
    async def create_product(
        self, catalog: NamedDependency[Catalog], data: JSONBody[ProductWrite]
    ) -> ProductRead:
        """Create a product. The slug defaults to one made from the name; 409 if it is taken."""
        return ProductRead.of(await catalog.create_product(data.to_input()))

    @put(
        "/{product_id:str}",
        operation_id="replaceProduct",
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(400, 403, 404, 409, 415),
    )
    async def replace_product(
        self, catalog: NamedDependency[Catalog], product_id: FromPath[str], data: JSONBody[ProductWrite]
    ) -> ProductRead:
        """Replace a product's fields; an omitted slug keeps the current one."""
        return ProductRead.of(await catalog.replace_product(product_id, data.to_input()))

    @delete(
        "/{product_id:str}",
        operation_id="deactivateProduct",
        status_code=200,
        opt=requires(Scope.CATALOG_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(403, 404),
    )
    async def deactivate_product(
        self, catalog: NamedDependency[Catalog], product_id: FromPath[str]
    ) -> ProductRead:
        """Deactivate a product (it leaves the storefront; its data stays). Idempotent."""
        return ProductRead.of(await catalog.deactivate_product(product_id))
