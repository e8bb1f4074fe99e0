"""The commerce rules' repositories: regions, shipping methods, promotions and promotion uses."""

from __future__ import annotations

import builtins
from typing import Protocol

from customshop.domain.promotions import Promotion
from customshop.domain.regions import Region
from customshop.domain.shipping import ShippingMethod


class RegionRepository(Protocol):
    """Regions with their tax rates. Never commits.

    ``add`` and ``update`` raise ``Conflict`` naming the country when another region already holds
    one of the region's countries (a country belongs to at most one region), however many writers race:
    :class:`~customshop.domain.regions.CountryTaken`, whose violation names ``countries[i]``.
    ``delete`` raises :class:`~customshop.domain.regions.RegionInUse` (a ``Conflict``) while shipping
    methods belong to the region: they are not deleted with it.
    """

    async def add(self, region: Region) -> None: ...

    async def update(self, region: Region) -> None: ...

    async def delete(self, region_id: str) -> None: ...

    async def get(self, region_id: str) -> Region | None: ...

    async def list(self) -> list[Region]:
        """Every region, ordered by name then id."""
        ...

    async def for_country(self, country: str) -> Region | None:
        """The region holding ``country`` (ISO 3166-1 alpha-2), if any."""
        ...

    async def any(self) -> bool:
        """Whether at least one region exists (then an address outside every region is not shippable)."""
        ...


class ShippingMethodRepository(Protocol):
    """Shipping methods. Never commits."""

    async def add(self, method: ShippingMethod) -> None: ...

    async def update(self, method: ShippingMethod) -> None: ...

    async def delete(self, method_id: str) -> None: ...

    async def get(self, method_id: str) -> ShippingMethod | None: ...

    async def list(self, *, region_id: str | None = None, active_only: bool = False) -> list[ShippingMethod]:
        """Methods ordered by name then id, of one region when ``region_id`` is given."""
        ...


class PromotionRepository(Protocol):
    """Promotions. Never commits.

    ``add`` and ``update`` raise ``Conflict`` when another promotion holds the code (compared as
    :func:`customshop.domain.promotions.normalize_code` gives it):
    :class:`~customshop.domain.promotions.DuplicatePromotionCode`; the code is stored normalized.
    ``times_used`` on the promotions read here is the number of uses currently held (see
    :class:`PromotionUses`); ``add`` stores 0 and ``update`` leaves it as it is (only claims and
    releases move it).
    """

    async def add(self, promotion: Promotion) -> None: ...

    async def update(self, promotion: Promotion) -> None: ...

    async def get(self, promotion_id: str) -> Promotion | None: ...

    async def by_code(self, code: str) -> Promotion | None:
        """The promotion with this code, case-insensitively, active or not."""
        ...

    async def list(self, *, active_only: bool = False) -> list[Promotion]:
        """Promotions ordered by creation time then id."""
        ...

    async def automatic(self) -> builtins.list[Promotion]:
        """The active promotions without a code (whether their dates hold is the caller's judgement)."""
        ...


class PromotionUses(Protocol):
    """The uses of limited promotions by placed orders. Never commits.

    Claiming is atomic per promotion: two transactions claiming the last use of the same promotion
    cannot both succeed, while claims on different promotions never wait on each other (there is no
    shop-wide counter row). A claim holds the promotion's row until the transaction ends, so the
    checkouts using the same counted promotion wait on each other: claim last, just before commit,
    and an order's promotions in the order of their ids (two checkouts claiming the same two
    promotions in opposite orders could deadlock).

    Which uses are counted is :func:`customshop.domain.promotions.counts_uses`: every code, and
    automatic promotions with a ``usage_limit`` or ``per_email_limit``. The caller may claim every
    promotion an order applies: claiming an unlimited automatic promotion records nothing, touches
    no row and answers True (such a promotion fits every cart; counting it would serialize every
    checkout of the shop on its row).
    """

    async def claim(self, promotion: Promotion, *, order_id: str, email: str) -> bool:
        """Record that ``order_id`` uses ``promotion``; False, recording nothing, when its
        ``usage_limit`` or its ``per_email_limit`` for ``email`` (case-insensitive) is reached, or
        when the promotion no longer exists. The limits are those stored when the claim runs (an
        admin's change made meanwhile counts), not those of the ``promotion`` passed. Claiming again
        a use the order already holds answers True and counts nothing more."""
        ...

    async def release(self, order_id: str) -> None:
        """Give back every use ``order_id`` holds (its unpaid order was cancelled or expired); an
        order holding none changes nothing, so releasing twice is harmless."""
        ...
