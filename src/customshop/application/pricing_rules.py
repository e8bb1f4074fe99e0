"""The commerce rules as admins keep them: regions with their tax rates, shipping methods and
promotions (``pricing:write`` over HTTP, ``customshop promotions|regions`` on the command line).

Quoting a cart with them is the pure ``customshop.domain.quote``; this module only stores them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, TypeGuard, TypeVar

from customshop.application.ports import Clock, IdGenerator, Page, UnitOfWork, UnitOfWorkFactory
from customshop.domain.errors import InvalidInput, NotFound, Violation
from customshop.domain.promotions import (
    Promotion,
    PromotionKind,
    normalize_code,
    promotion_problems,
)
from customshop.domain.regions import Region, TaxRate, region_problems
from customshop.domain.shipping import FlatRate, ShippingMethod, check_rate, shipping_method_problems

T = TypeVar("T")

#: What a method is checked with while its own rate is broken.
_NO_RATE = FlatRate(0)


class RegionNotFound(NotFound):
    pass


class ShippingMethodNotFound(NotFound):
    pass


class PromotionNotFound(NotFound):
    pass


@dataclass(frozen=True, slots=True)
class RegionInput:
    """A region as an admin writes it (create, or replace every field)."""

    name: str
    countries: tuple[str, ...]
    prices_include_tax: bool
    tax_shipping: bool
    tax_rates: tuple[TaxRate, ...] = ()


@dataclass(frozen=True, slots=True)
class ShippingMethodInput:
    """A shipping method as an admin writes it; ``rate`` is the rate's JSON shape
    (``{"type": "flat", "amount": 500}``...), checked by :func:`customshop.domain.shipping.check_rate`."""

    region_id: str
    name: str
    rate: Mapping[str, Any]
    active: bool = True
    free_over: int | None = None
    min_days: int | None = None
    max_days: int | None = None


@dataclass(frozen=True, slots=True)
class PromotionInput:
    """A promotion as an admin writes it. No ``code``: an automatic promotion."""

    description: str
    kind: PromotionKind
    combinable: bool = False
    active: bool = True
    code: str | None = None
    value: int | None = None
    product_ids: tuple[str, ...] = ()
    min_subtotal: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_email_limit: int | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None


#: The fields of a promotion a PATCH may change.
PROMOTION_FIELDS = frozenset(f.name for f in fields(PromotionInput))


def _page(items: Sequence[T], key: Callable[[T], str], after: str | None, limit: int) -> Page[T]:
    """One page of ``items`` in ``key`` order (ids: creation order), after the key ``after``."""
    ordered = sorted((item for item in items if after is None or key(item) > after), key=key)
    if len(ordered) > limit:
        return Page(ordered[:limit], key(ordered[limit - 1]))
    return Page(ordered, None)


class PricingRules:
    """Regions, shipping methods and promotions.

    Every method runs in its own unit of work and commits before returning. Errors:
    ``InvalidInput`` naming every bad field (nothing is stored), ``NotFound`` (unknown id),
    ``Conflict``: a country of another region (``CountryTaken``), a code another promotion holds
    (``DuplicatePromotionCode``), a region that still has shipping methods (``RegionInUse``).

    Listings hold every record of a kind (a shop has tens of regions and methods, hundreds of
    promotions), so their pages are cut here, oldest first.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    # -- the rules that need stored state, for a request whose body is broken elsewhere ---------

    async def region_id_problems(self, region_id: object) -> list[Violation]:
        """``region_id`` when it is an id no region has (nothing for a value of another type)."""
        if not _storable(region_id):
            return []
        async with self._uow(read_only=True) as uow:
            return await _unknown_region(uow, region_id)

    async def product_ids_problems(self, product_ids: object) -> list[Violation]:
        """``product_ids[i]`` for each id no product has (nothing for values of another type)."""
        if not isinstance(product_ids, list | tuple):
            return []
        async with self._uow(read_only=True) as uow:
            return await _unknown_products(uow, product_ids, set())

    # -- regions -------------------------------------------------------------------------------

    async def create_region(self, data: RegionInput) -> Region:
        now = self._clock.now()
        region = Region(
            id=self._ids.new_id(),
            name=data.name,
            countries=data.countries,
            prices_include_tax=data.prices_include_tax,
            tax_shipping=data.tax_shipping,
            tax_rates=data.tax_rates,
            created_at=now,
            updated_at=now,
        )
        _check(region_problems(region), "The region is invalid.")
        async with self._uow() as uow:
            await uow.regions.add(region)
            await uow.commit()
        return region

    async def replace_region(self, region_id: str, data: RegionInput) -> Region:
        """Replace every field of a region (404 when unknown)."""
        async with self._uow() as uow:
            current = await self._region(uow, region_id)
            region = replace(
                current,
                name=data.name,
                countries=data.countries,
                prices_include_tax=data.prices_include_tax,
                tax_shipping=data.tax_shipping,
                tax_rates=data.tax_rates,
                updated_at=self._clock.now(),
            )
            _check(region_problems(region), "The region is invalid.")
            await uow.regions.update(region)
            await uow.commit()
        return region

    async def delete_region(self, region_id: str) -> None:
        """Delete a region and its countries; 409 (``RegionInUse``) while it has shipping methods."""
        async with self._uow() as uow:
            await self._region(uow, region_id)
            await uow.regions.delete(region_id)
            await uow.commit()

    async def get_region(self, region_id: str) -> Region:
        async with self._uow(read_only=True) as uow:
            return await self._region(uow, region_id)

    async def all_regions(self) -> list[Region]:
        """Every region, by name."""
        async with self._uow(read_only=True) as uow:
            return await uow.regions.list()

    async def list_regions(self, *, after: str | None, limit: int) -> Page[Region]:
        """Regions, oldest first, a page at a time."""
        return _page(await self.all_regions(), lambda r: r.id, after, limit)

    @staticmethod
    async def _region(uow: UnitOfWork, region_id: str) -> Region:
        region = await uow.regions.get(region_id)
        if region is None:
            raise RegionNotFound(f"there is no region {region_id!r}")
        return region

    # -- shipping methods ----------------------------------------------------------------------

    async def create_shipping_method(self, data: ShippingMethodInput) -> ShippingMethod:
        """Create a method of an existing region (an unknown ``region_id`` is a 400 on that field)."""
        now = self._clock.now()
        async with self._uow() as uow:
            method = await self._checked_method(uow, data, self._ids.new_id(), now, now)
            await uow.shipping_methods.add(method)
            await uow.commit()
        return method

    async def replace_shipping_method(self, method_id: str, data: ShippingMethodInput) -> ShippingMethod:
        """Replace every field of a method (404 when unknown); it may move to another region."""
        async with self._uow() as uow:
            current = await self._method(uow, method_id)
            method = await self._checked_method(uow, data, method_id, current.created_at, self._clock.now())
            await uow.shipping_methods.update(method)
            await uow.commit()
        return method

    async def delete_shipping_method(self, method_id: str) -> None:
        async with self._uow() as uow:
            await self._method(uow, method_id)
            await uow.shipping_methods.delete(method_id)
            await uow.commit()

    async def get_shipping_method(self, method_id: str) -> ShippingMethod:
        async with self._uow(read_only=True) as uow:
            return await self._method(uow, method_id)

    async def all_shipping_methods(self) -> list[ShippingMethod]:
        """Every method, by name."""
        async with self._uow(read_only=True) as uow:
            return await uow.shipping_methods.list()

    async def list_shipping_methods(
        self, *, region_id: str | None, after: str | None, limit: int
    ) -> Page[ShippingMethod]:
        """Methods, oldest first, of one region when ``region_id`` is given, a page at a time."""
        async with self._uow(read_only=True) as uow:
            methods = await uow.shipping_methods.list(region_id=region_id)
        return _page(methods, lambda m: m.id, after, limit)

    @staticmethod
    async def _checked_method(
        uow: UnitOfWork, data: ShippingMethodInput, method_id: str, created_at: datetime, now: datetime
    ) -> ShippingMethod:
        """The method ``data`` describes, once every rule holds (its region exists among them).

        Raises:
            InvalidInput: every bad field at once.
        """
        rate, rate_problems = check_rate(data.rate)
        method = ShippingMethod(
            id=method_id,
            region_id=data.region_id,
            name=data.name,
            # A broken rate is named by check_rate; the rest is checked with a stand-in, so that one
            # answer names every bad field.
            rate=rate or _NO_RATE,
            active=data.active,
            created_at=created_at,
            updated_at=now,
            free_over=data.free_over,
            min_days=data.min_days,
            max_days=data.max_days,
        )
        problems = shipping_method_problems(method) if rate is not None else rate_problems
        if rate is None:
            problems += [p for p in shipping_method_problems(method) if not p.field.startswith("rate")]
        problems += await _unknown_region(uow, data.region_id)
        _check(problems, "The shipping method is invalid.")
        return method

    @staticmethod
    async def _method(uow: UnitOfWork, method_id: str) -> ShippingMethod:
        method = await uow.shipping_methods.get(method_id)
        if method is None:
            raise ShippingMethodNotFound(f"there is no shipping method {method_id!r}")
        return method

    # -- promotions ----------------------------------------------------------------------------

    async def create_promotion(self, data: PromotionInput) -> Promotion:
        """Create a promotion; its code is stored upper case (``normalize_code``)."""
        now = self._clock.now()
        promotion = Promotion(
            id=self._ids.new_id(),
            code=data.code,
            description=data.description,
            kind=data.kind,
            combinable=data.combinable,
            active=data.active,
            created_at=now,
            updated_at=now,
            value=data.value,
            product_ids=data.product_ids,
            min_subtotal=data.min_subtotal,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            usage_limit=data.usage_limit,
            per_email_limit=data.per_email_limit,
            buy_quantity=data.buy_quantity,
            get_quantity=data.get_quantity,
        )
        async with self._uow() as uow:
            promotion = await self._checked_promotion(uow, promotion)
            await uow.promotions.add(promotion)
            await uow.commit()
        return promotion

    async def update_promotion(self, promotion_id: str, changes: Mapping[str, Any]) -> Promotion:
        """Change the fields named in ``changes`` (names of :class:`PromotionInput`; ``None`` clears
        an optional one), then check the promotion as a whole. ``times_used`` is not changed.

        Raises:
            ValueError: ``changes`` names a field that is not a promotion's.
        """
        unknown = set(changes) - PROMOTION_FIELDS
        if unknown:
            raise ValueError(f"not fields of a promotion: {sorted(unknown)}")
        async with self._uow() as uow:
            current = await self._promotion(uow, promotion_id)
            promotion = replace(current, **changes, updated_at=self._clock.now())
            promotion = await self._checked_promotion(uow, promotion)
            await uow.promotions.update(promotion)
            await uow.commit()
        return promotion

    async def deactivate_promotion(self, promotion_id: str) -> Promotion:
        """Deactivate a promotion (``DELETE``): it stops applying; its uses and history stay."""
        return await self.update_promotion(promotion_id, {"active": False})

    async def deactivate_promotion_by_code(self, code: str) -> Promotion:
        """Deactivate the promotion with this code (any case)."""
        async with self._uow(read_only=True) as uow:
            promotion = await uow.promotions.by_code(code)
        if promotion is None:
            raise PromotionNotFound(f"there is no promotion with the code {normalize_code(code)!r}")
        return await self.deactivate_promotion(promotion.id)

    async def get_promotion(self, promotion_id: str) -> Promotion:
        async with self._uow(read_only=True) as uow:
            return await self._promotion(uow, promotion_id)

    async def all_promotions(self, *, active_only: bool = False) -> list[Promotion]:
        """Every promotion, oldest first."""
        async with self._uow(read_only=True) as uow:
            return await uow.promotions.list(active_only=active_only)

    async def list_promotions(self, *, active_only: bool, after: str | None, limit: int) -> Page[Promotion]:
        """Promotions, oldest first, a page at a time."""
        return _page(await self.all_promotions(active_only=active_only), lambda p: p.id, after, limit)

    @staticmethod
    async def _checked_promotion(uow: UnitOfWork, promotion: Promotion) -> Promotion:
        """``promotion`` with its code normalized and its dates in UTC, once every rule holds (its
        products exist).

        Raises:
            InvalidInput: every bad field at once.
        """
        problems = promotion_problems(promotion)
        problems += await _unknown_products(uow, promotion.product_ids, {p.field for p in problems})
        _check(problems, "The promotion is invalid.")
        # Stored and shown as given, but in UTC and with the code in the form it is compared in.
        return replace(
            promotion,
            code=None if promotion.code is None else normalize_code(promotion.code),
            starts_at=None if promotion.starts_at is None else promotion.starts_at.astimezone(UTC),
            ends_at=None if promotion.ends_at is None else promotion.ends_at.astimezone(UTC),
        )

    @staticmethod
    async def _promotion(uow: UnitOfWork, promotion_id: str) -> Promotion:
        promotion = await uow.promotions.get(promotion_id)
        if promotion is None:
            raise PromotionNotFound(f"there is no promotion {promotion_id!r}")
        return promotion


def _check(problems: list[Violation], message: str) -> None:
    if problems:
        raise InvalidInput(problems, message)


async def _unknown_region(uow: UnitOfWork, region_id: str) -> list[Violation]:
    if await uow.regions.get(region_id) is None:
        return [Violation("region_id", "unknown", f"there is no region {region_id!r}")]
    return []


async def _unknown_products(
    uow: UnitOfWork, product_ids: Sequence[object], named: set[str]
) -> list[Violation]:
    """``product_ids[i]`` for each id (a string, not named already) that no product has."""
    problems: list[Violation] = []
    for index, product_id in enumerate(product_ids):
        field = f"product_ids[{index}]"
        if _storable(product_id) and field not in named and await uow.products.get(product_id) is None:
            problems.append(Violation(field, "unknown", f"there is no product {product_id!r}"))
    return problems


def _storable(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a string a database can be asked about (no NUL, a sane length): other
    values are named by the body's own checks."""
    return isinstance(value, str) and "\x00" not in value and 0 < len(value) <= 64
