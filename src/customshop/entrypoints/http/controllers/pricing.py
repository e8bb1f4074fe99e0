"""The commerce rules (``pricing:write``, reads too): regions with their tax rates, shipping methods,
promotions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from customshop.application.pricing_rules import PricingRules
from customshop.domain.access import Scope
from customshop.domain.errors import Violation
from customshop.entrypoints.http.body import StoredRules, Unchecked
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.params import (
    ADMIN_SECURITY,
    CursorParam,
    Limit,
    decode_cursor,
    encode_cursor,
    requires,
)
from customshop.entrypoints.http.schemas import (
    PromotionList,
    PromotionPatch,
    PromotionRead,
    PromotionWrite,
    RegionList,
    RegionRead,
    RegionWrite,
    ShippingMethodList,
    ShippingMethodRead,
    ShippingMethodWrite,
)

Rules = NamedDependency[PricingRules]
RegionFilter = Annotated[str | None, Parameter(max_length=64, description="Only this region's methods.")]
ActiveOnly = Annotated[bool, Parameter(description="Only active promotions.")]
PRICING_WRITE = requires(Scope.PRICING_WRITE)


class RegionController(Controller):
    path = "/regions"
    tags = ("commerce rules",)
    opt = PRICING_WRITE
    security = ADMIN_SECURITY

    @post("/", operation_id="createRegion", responses=problems(400, 403, 409, 415))
    async def create_region(self, pricing_rules: Rules, data: JSONBody[RegionWrite]) -> RegionRead:
        """Create a region: its countries (each in no other region: 409 naming the country), whether
        its prices include tax, whether shipping is taxed, and its tax rates (a rate with a
        `subdivision` applies only there, `tax_class` to products of that class)."""
        return RegionRead.of(await pricing_rules.create_region(data.to_input()))

    @get("/", operation_id="listRegions", responses=problems(400, 403))
    async def list_regions(
        self, pricing_rules: Rules, limit: Limit = 50, cursor: CursorParam = None
    ) -> RegionList:
        """Regions, oldest first, a page at a time."""
        page = await pricing_rules.list_regions(after=decode_cursor(cursor), limit=limit)
        return RegionList([RegionRead.of(r) for r in page.items], encode_cursor(page.next_after))

    @get("/{region_id:str}", operation_id="getRegion", responses=problems(403, 404))
    async def get_region(self, pricing_rules: Rules, region_id: FromPath[str]) -> RegionRead:
        return RegionRead.of(await pricing_rules.get_region(region_id))

    @put("/{region_id:str}", operation_id="replaceRegion", responses=problems(400, 403, 404, 409, 415))
    async def replace_region(
        self, pricing_rules: Rules, region_id: FromPath[str], data: JSONBody[RegionWrite]
    ) -> RegionRead:
        """Replace every field of a region (a country of another region is 409)."""
        return RegionRead.of(await pricing_rules.replace_region(region_id, data.to_input()))

    @delete("/{region_id:str}", operation_id="deleteRegion", responses=problems(403, 404, 409))
    async def delete_region(self, pricing_rules: Rules, region_id: FromPath[str]) -> None:
        """Delete a region; 409 while shipping methods belong to it (delete or move them first)."""
        await pricing_rules.delete_region(region_id)


def _region_exists(pricing_rules: PricingRules) -> StoredRules:
    """The check of a method body's region, for :meth:`Unchecked.decode`."""

    async def check(given: Mapping[str, Any]) -> list[Violation]:
        return await pricing_rules.region_id_problems(given.get("region_id"))

    return check


def _products_exist(pricing_rules: PricingRules) -> StoredRules:
    """The check of a promotion body's products, for :meth:`Unchecked.decode`."""

    async def check(given: Mapping[str, Any]) -> list[Violation]:
        return await pricing_rules.product_ids_problems(given.get("product_ids"))

    return check


class ShippingMethodController(Controller):
    path = "/shipping-methods"
    tags = ("commerce rules",)
    opt = PRICING_WRITE
    security = ADMIN_SECURITY

    @post("/", operation_id="createShippingMethod", responses=problems(400, 403, 409, 415))
    async def create_method(
        self, pricing_rules: Rules, data: JSONBody[Unchecked[ShippingMethodWrite]]
    ) -> ShippingMethodRead:
        """Create a shipping method of a region (an unknown `region_id` is a 400 on that field):
        its rate, free shipping from `free_over`, the delivery estimate in days."""
        body = await data.decode(_region_exists(pricing_rules))
        return ShippingMethodRead.of(await pricing_rules.create_shipping_method(body.to_input()))

    @get("/", operation_id="listShippingMethods", responses=problems(400, 403))
    async def list_methods(
        self,
        pricing_rules: Rules,
        region_id: RegionFilter = None,
        limit: Limit = 50,
        cursor: CursorParam = None,
    ) -> ShippingMethodList:
        """Shipping methods, oldest first, optionally of one region, a page at a time."""
        page = await pricing_rules.list_shipping_methods(
            region_id=region_id, after=decode_cursor(cursor), limit=limit
        )
        return ShippingMethodList(
            [ShippingMethodRead.of(m) for m in page.items], encode_cursor(page.next_after)
        )

    @get("/{method_id:str}", operation_id="getShippingMethod", responses=problems(403, 404))
    async def get_method(self, pricing_rules: Rules, method_id: FromPath[str]) -> ShippingMethodRead:
        return ShippingMethodRead.of(await pricing_rules.get_shipping_method(method_id))

    @put(
        "/{method_id:str}", operation_id="replaceShippingMethod", responses=problems(400, 403, 404, 409, 415)
    )
    async def replace_method(
        self, pricing_rules: Rules, method_id: FromPath[str], data: JSONBody[Unchecked[ShippingMethodWrite]]
    ) -> ShippingMethodRead:
        """Replace every field of a shipping method."""
        body = await data.decode(_region_exists(pricing_rules))
        return ShippingMethodRead.of(await pricing_rules.replace_shipping_method(method_id, body.to_input()))

    @delete("/{method_id:str}", operation_id="deleteShippingMethod", responses=problems(403, 404))
    async def delete_method(self, pricing_rules: Rules, method_id: FromPath[str]) -> None:
        """Delete a shipping method (orders keep what they were charged)."""
        await pricing_rules.delete_shipping_method(method_id)


class PromotionController(Controller):
    path = "/promotions"
    tags = ("commerce rules",)
    opt = PRICING_WRITE
    security = ADMIN_SECURITY

    @post("/", operation_id="createPromotion", responses=problems(400, 403, 409, 415))
    async def create_promotion(
        self, pricing_rules: Rules, data: JSONBody[Unchecked[PromotionWrite]]
    ) -> PromotionRead:
        """Create a promotion: a code (case-insensitive, unique: 409 when taken) or none for an
        automatic one; `percentage` (`value` in basis points), `fixed` (`value` in minor units),
        `free_shipping` or `buy_x_get_y` (`buy_quantity`, `get_quantity`)."""
        body = await data.decode(_products_exist(pricing_rules))
        return PromotionRead.of(await pricing_rules.create_promotion(body.to_input()))

    @get("/", operation_id="listPromotions", responses=problems(400, 403))
    async def list_promotions(
        self,
        pricing_rules: Rules,
        active: ActiveOnly = False,
        limit: Limit = 50,
        cursor: CursorParam = None,
    ) -> PromotionList:
        """Promotions with their `times_used`, oldest first, a page at a time."""
        page = await pricing_rules.list_promotions(
            active_only=active, after=decode_cursor(cursor), limit=limit
        )
        return PromotionList([PromotionRead.of(p) for p in page.items], encode_cursor(page.next_after))

    @get("/{promotion_id:str}", operation_id="getPromotion", responses=problems(403, 404))
    async def get_promotion(self, pricing_rules: Rules, promotion_id: FromPath[str]) -> PromotionRead:
        return PromotionRead.of(await pricing_rules.get_promotion(promotion_id))

    @patch("/{promotion_id:str}", operation_id="updatePromotion", responses=problems(400, 403, 404, 409, 415))
    async def update_promotion(
        self, pricing_rules: Rules, promotion_id: FromPath[str], data: JSONBody[Unchecked[PromotionPatch]]
    ) -> PromotionRead:
        """Change the fields given (`null` clears an optional one); the promotion as changed must
        hold every rule. `times_used` is not changed."""
        body = await data.decode(_products_exist(pricing_rules))
        return PromotionRead.of(await pricing_rules.update_promotion(promotion_id, body.changes()))

    @delete(
        "/{promotion_id:str}",
        operation_id="deactivatePromotion",
        status_code=200,
        responses=problems(403, 404),
    )
    async def deactivate_promotion(self, pricing_rules: Rules, promotion_id: FromPath[str]) -> PromotionRead:
        """Deactivate a promotion: it no longer applies to carts; its history stays. Idempotent."""
        return PromotionRead.of(await pricing_rules.deactivate_promotion(promotion_id))
