"""Stock levels: ``PUT /inventory`` (``catalog:write``) and ``GET /inventory`` (``orders:read``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from customshop.application.inventory import Inventory
from customshop.domain.access import Scope
from customshop.domain.inventory import StockKey
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.params import (
    ADMIN_SECURITY,
    CursorParam,
    Limit,
    decode_cursor,
    encode_cursor,
    requires,
)
from customshop.entrypoints.http.schemas import StockLevelList, StockLevelRead, StockLevelWrite

ProductFilter = Annotated[str | None, Parameter(max_length=64, description="Only this product's levels.")]


def _cursor_key(cursor: str | None) -> StockKey | None:
    text = decode_cursor(cursor)
    if text is None:
        return None
    product_id, _, code = text.partition("\n")
    return StockKey(product_id, code or None)


class InventoryController(Controller):
    path = "/inventory"
    tags = ("inventory",)
    security = ADMIN_SECURITY

    @put(
        "/",
        operation_id="setStockLevel",
        opt=requires(Scope.CATALOG_WRITE),
        responses=problems(400, 403, 409, 415),
    )
    async def set_level(
        self, inventory: NamedDependency[Inventory], data: JSONBody[StockLevelWrite]
    ) -> StockLevelRead:
        """Set the units on the shelf of a product, or of one option code of it (a size, a gift-box
        component). A product or code without a level is made to order and unlimited. Setting fewer
        units than unpaid orders hold is 409."""
        return StockLevelRead.of(await inventory.set_level(data.product_id, data.option_code, data.on_hand))

    @get(
        "/",
        operation_id="listStockLevels",
        opt=requires(Scope.ORDERS_READ),
        responses=problems(400, 403),
    )
    async def list_levels(
        self,
        inventory: NamedDependency[Inventory],
        product_id: ProductFilter = None,
        limit: Limit = 50,
        cursor: CursorParam = None,
    ) -> StockLevelList:
        """Stock levels by product (its own level first, then by option code)."""
        levels, after = await inventory.list(product_id, _cursor_key(cursor), limit)
        next_cursor = encode_cursor(f"{after.product_id}\n{after.option_code or ''}") if after else None
        return StockLevelList([StockLevelRead.of(level) for level in levels], next_cursor)
