"""In-memory repositories of the commerce rules: regions, shipping methods, promotions and their uses."""

from __future__ import annotations

import builtins
from dataclasses import replace
from typing import TYPE_CHECKING

from customshop.domain.promotions import (
    DuplicatePromotionCode,
    Promotion,
    counts_uses,
    normalize_code,
    normalize_email,
)
from customshop.domain.regions import CountryTaken, Region, RegionInUse
from customshop.domain.shipping import ShippingMethod

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore


class MemoryRegionRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    def _check_countries(self, region: Region) -> None:
        for index, country in enumerate(region.countries):
            for other in self._state.regions.values():
                if other.id != region.id and country in other.countries:
                    raise CountryTaken(country, index)

    async def add(self, region: Region) -> None:
        self._check_countries(region)
        self._state.regions[region.id] = region

    async def update(self, region: Region) -> None:
        self._check_countries(region)
        if region.id in self._state.regions:  # like SQL UPDATE: an unknown id changes nothing
            self._state.regions[region.id] = region

    async def delete(self, region_id: str) -> None:
        if any(m.region_id == region_id for m in self._state.shipping_methods.values()):
            raise RegionInUse("the region has shipping methods; delete them first")
        self._state.regions.pop(region_id, None)

    async def get(self, region_id: str) -> Region | None:
        return self._state.regions.get(region_id)

    async def list(self) -> list[Region]:
        return sorted(self._state.regions.values(), key=lambda r: (r.name, r.id))

    async def for_country(self, country: str) -> Region | None:
        return next((r for r in self._state.regions.values() if country in r.countries), None)

    async def any(self) -> bool:
        return bool(self._state.regions)


class MemoryShippingMethodRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, method: ShippingMethod) -> None:
        self._state.shipping_methods[method.id] = method

    async def update(self, method: ShippingMethod) -> None:
        if method.id in self._state.shipping_methods:
            self._state.shipping_methods[method.id] = method

    async def delete(self, method_id: str) -> None:
        self._state.shipping_methods.pop(method_id, None)

    async def get(self, method_id: str) -> ShippingMethod | None:
        return self._state.shipping_methods.get(method_id)

    async def list(self, *, region_id: str | None = None, active_only: bool = False) -> list[ShippingMethod]:
        methods = (
            m
            for m in self._state.shipping_methods.values()
            if (region_id is None or m.region_id == region_id) and (m.active or not active_only)
        )
        return sorted(methods, key=lambda m: (m.name, m.id))


class MemoryPromotionRepository:
    """Promotions; ``times_used`` is kept on the stored record and moved only by
    :class:`MemoryPromotionUses` (``update`` keeps the stored count)."""

    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    def _check_code(self, promotion: Promotion) -> None:
        if promotion.code is None:
            return
        code = normalize_code(promotion.code)
        for other in self._state.promotions.values():
            if other.id != promotion.id and other.code is not None and normalize_code(other.code) == code:
                raise DuplicatePromotionCode(code)

    async def add(self, promotion: Promotion) -> None:
        self._check_code(promotion)
        code = None if promotion.code is None else normalize_code(promotion.code)
        self._state.promotions[promotion.id] = replace(promotion, code=code, times_used=0)

    async def update(self, promotion: Promotion) -> None:
        self._check_code(promotion)
        stored = self._state.promotions.get(promotion.id)
        if stored is not None:
            code = None if promotion.code is None else normalize_code(promotion.code)
            self._state.promotions[promotion.id] = replace(promotion, code=code, times_used=stored.times_used)

    async def get(self, promotion_id: str) -> Promotion | None:
        return self._state.promotions.get(promotion_id)

    async def by_code(self, code: str) -> Promotion | None:
        wanted = normalize_code(code)
        return next((p for p in self._state.promotions.values() if p.code == wanted), None)

    async def list(self, *, active_only: bool = False) -> list[Promotion]:
        promotions = (p for p in self._state.promotions.values() if p.active or not active_only)
        return sorted(promotions, key=lambda p: (p.created_at, p.id))

    async def automatic(self) -> builtins.list[Promotion]:
        return sorted(
            (p for p in self._state.promotions.values() if p.code is None and p.active),
            key=lambda p: (p.created_at, p.id),
        )


class MemoryPromotionUses:
    """Uses by ``(promotion_id, order_id)``, with the email (lower case) that placed the order.
    Atomic because memory units of work are serialized on the store's lock."""

    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def claim(self, promotion: Promotion, *, order_id: str, email: str) -> bool:
        if not counts_uses(promotion):
            return True
        stored = self._state.promotions.get(promotion.id)
        if stored is None:
            return False
        if (stored.id, order_id) in self._state.promotion_uses:
            return True  # claimed already by this order
        if stored.usage_limit is not None and stored.times_used >= stored.usage_limit:
            return False
        email = normalize_email(email)
        if stored.per_email_limit is not None:
            held = sum(
                1
                for (promotion_id, _), used_by in self._state.promotion_uses.items()
                if promotion_id == stored.id and used_by == email
            )
            if held >= stored.per_email_limit:
                return False
        self._state.promotion_uses[(stored.id, order_id)] = email
        self._state.promotions[stored.id] = replace(stored, times_used=stored.times_used + 1)
        return True

    async def release(self, order_id: str) -> None:
        for promotion_id, used_by_order in list(self._state.promotion_uses):
            if used_by_order != order_id:
                continue
            del self._state.promotion_uses[(promotion_id, used_by_order)]
            stored = self._state.promotions.get(promotion_id)
            if stored is not None:
                self._state.promotions[promotion_id] = replace(
                    stored, times_used=max(0, stored.times_used - 1)
                )
