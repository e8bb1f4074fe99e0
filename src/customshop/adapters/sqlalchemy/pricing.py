"""The commerce rules' repositories on SQL: regions (their countries in ``region_countries``, their tax
rates as JSON), shipping methods (the rate as JSON), promotions and the uses orders hold of them.

A country belongs to at most one region because ``region_countries.country`` is a primary key: two
writers racing for the same country cannot both insert it, and the loser's ``IntegrityError``
becomes :class:`~customshop.domain.regions.CountryTaken`. Promotion codes are unique the same way.

Claiming a use of a promotion is one conditional ``UPDATE`` of that promotion's row
(``times_used = times_used + 1`` while under ``usage_limit``): the database checks and counts in one
step, and the row stays locked until the transaction ends, so the per-email count that follows is
read while no other claim of the same promotion can slip in. On PostgreSQL that lock serializes the
claims of one promotion only; SQLite serializes every writer anyway.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import Row, dialect_of, guarded, insert_if_new
from customshop.domain.errors import Conflict
from customshop.domain.promotions import (
    DuplicatePromotionCode,
    Promotion,
    PromotionKind,
    counts_uses,
    normalize_code,
    normalize_email,
)
from customshop.domain.regions import CountryTaken, Region, RegionInUse, TaxRate
from customshop.domain.shipping import ShippingMethod, load_rate, rate_document

# -- regions ---------------------------------------------------------------------------------------

_R = t.regions.c
_RC = t.region_countries.c


def _tax_rates_document(rates: tuple[TaxRate, ...]) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "rate_bps": r.rate_bps, "subdivision": r.subdivision, "tax_class": r.tax_class}
        for r in rates
    ]


def _tax_rates(document: list[Mapping[str, Any]]) -> tuple[TaxRate, ...]:
    return tuple(
        TaxRate(r["name"], r["rate_bps"], r.get("subdivision"), r.get("tax_class") or "standard")
        for r in document
    )


def _region(row: Row, countries: tuple[str, ...]) -> Region:
    return Region(
        id=row.id,
        name=row.name,
        countries=countries,
        prices_include_tax=row.prices_include_tax,
        tax_shipping=row.tax_shipping,
        tax_rates=_tax_rates(row.tax_rates),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _region_values(region: Region) -> dict[str, Any]:
    return {
        "name": region.name,
        "prices_include_tax": region.prices_include_tax,
        "tax_shipping": region.tax_shipping,
        "tax_rates": _tax_rates_document(region.tax_rates),
        "created_at": region.created_at,
        "updated_at": region.updated_at,
    }


# Built once: the reads a cart's quote and a checkout make (building a statement costs more than
# running it).
_REGION = sa.select(t.regions).where(_R.id == sa.bindparam("region_id"))
_REGION_OF_COUNTRY = (
    sa.select(t.regions)
    .join(t.region_countries, _RC.region_id == _R.id)
    .where(_RC.country == sa.bindparam("country"))
)
_COUNTRIES_OF = (
    sa.select(_RC.region_id, _RC.country)
    .where(_RC.region_id == sa.bindparam("region_id"))
    .order_by(_RC.position)
)
_ANY_REGION = sa.select(sa.literal(1)).select_from(t.regions).limit(1)


class SqlRegionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _taken(self, region: Region) -> CountryTaken | None:
        """The first of the region's countries another region holds, if any."""
        if not region.countries:
            return None
        holders = await self._conn.execute(
            sa.select(_RC.country).where(_RC.country.in_(region.countries), _RC.region_id != region.id)
        )
        taken = {row.country for row in holders}
        for index, country in enumerate(region.countries):
            if country in taken:
                return CountryTaken(country, index)
        return None

    async def _insert_countries(self, region: Region, countries: list[tuple[int, str]]) -> None:
        """Insert ``(position, country)`` rows of ``region``.

        Raises:
            CountryTaken: another writer took one of them since :meth:`_taken` looked (the failed
                statement is undone; nothing else was written by it).
        """
        if not countries:
            return
        rows = [{"country": country, "region_id": region.id, "position": n} for n, country in countries]
        try:
            async with guarded(self._conn):
                await self._conn.execute(t.region_countries.insert(), rows)
        except IntegrityError:
            raise await self._taken(region) or Conflict("the region changed meanwhile") from None

    async def add(self, region: Region) -> None:
        if taken := await self._taken(region):
            raise taken
        await self._conn.execute(t.regions.insert().values(id=region.id, **_region_values(region)))
        try:
            await self._insert_countries(region, list(enumerate(region.countries)))
        except Conflict:
            # Lost a race for a country: the unit of work goes on without the region.
            await self._conn.execute(t.regions.delete().where(_R.id == region.id))
            raise

    async def update(self, region: Region) -> None:
        """Written in an order that changes nothing until the new countries are taken: a race lost
        for one of them leaves the region as it was, and the unit of work goes on."""
        if taken := await self._taken(region):
            raise taken
        if await self._conn.scalar(sa.select(_R.id).where(_R.id == region.id)) is None:
            return  # like every UPDATE: an unknown id changes nothing
        held = set((await self._countries([region.id])).get(region.id, ()))
        wanted = list(enumerate(region.countries))
        await self._insert_countries(region, [(n, c) for n, c in wanted if c not in held])
        await self._conn.execute(
            t.region_countries.delete().where(
                _RC.region_id == region.id, _RC.country.not_in(region.countries)
            )
        )
        kept = [{"at": c, "at_position": n} for n, c in wanted if c in held]
        if kept:
            await self._conn.execute(
                t.region_countries.update()
                .where(_RC.country == sa.bindparam("at"))
                .values(position=sa.bindparam("at_position")),
                kept,
            )
        await self._conn.execute(
            t.regions.update().where(_R.id == region.id).values(**_region_values(region))
        )

    async def delete(self, region_id: str) -> None:
        in_use = RegionInUse("the region has shipping methods; delete them first")
        has_methods = await self._conn.scalar(
            sa.select(sa.literal(1)).where(t.shipping_methods.c.region_id == region_id).limit(1)
        )
        if has_methods:
            raise in_use
        try:
            async with guarded(self._conn):
                await self._conn.execute(t.region_countries.delete().where(_RC.region_id == region_id))
                await self._conn.execute(t.regions.delete().where(_R.id == region_id))
        except IntegrityError:  # a method was added to it meanwhile
            raise in_use from None

    async def _countries(self, region_ids: list[str]) -> dict[str, tuple[str, ...]]:
        if not region_ids:
            return {}
        if len(region_ids) == 1:
            rows = await self._conn.execute(_COUNTRIES_OF, {"region_id": region_ids[0]})
        else:
            rows = await self._conn.execute(
                sa.select(_RC.region_id, _RC.country)
                .where(_RC.region_id.in_(region_ids))
                .order_by(_RC.region_id, _RC.position)
            )
        countries: defaultdict[str, list[str]] = defaultdict(list)
        for row in rows:
            countries[row.region_id].append(row.country)
        return {region_id: tuple(codes) for region_id, codes in countries.items()}

    async def get(self, region_id: str) -> Region | None:
        return await self._with_countries(await self._conn.execute(_REGION, {"region_id": region_id}))

    async def _with_countries(self, result: sa.Result[Any]) -> Region | None:
        row = result.first()
        if row is None:
            return None
        countries = await self._countries([row.id])
        return _region(row, countries.get(row.id, ()))

    async def list(self) -> list[Region]:
        rows = list(await self._conn.execute(sa.select(t.regions).order_by(_R.name, _R.id)))
        countries = await self._countries([row.id for row in rows])
        return [_region(row, countries.get(row.id, ())) for row in rows]

    async def for_country(self, country: str) -> Region | None:
        return await self._with_countries(await self._conn.execute(_REGION_OF_COUNTRY, {"country": country}))

    async def any(self) -> bool:
        return bool(await self._conn.scalar(_ANY_REGION))


# -- shipping methods ------------------------------------------------------------------------------

_S = t.shipping_methods.c


def _method(row: Row) -> ShippingMethod:
    return ShippingMethod(
        id=row.id,
        region_id=row.region_id,
        name=row.name,
        rate=load_rate(row.rate),
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        free_over=row.free_over,
        min_days=row.min_days,
        max_days=row.max_days,
    )


def _method_values(method: ShippingMethod) -> dict[str, Any]:
    return {
        "region_id": method.region_id,
        "name": method.name,
        "rate": rate_document(method.rate),
        "free_over": method.free_over,
        "min_days": method.min_days,
        "max_days": method.max_days,
        "active": method.active,
        "created_at": method.created_at,
        "updated_at": method.updated_at,
    }


def _methods(of_region: bool, active_only: bool) -> sa.Select[Any]:
    query = sa.select(t.shipping_methods).order_by(_S.name, _S.id)
    if of_region:
        query = query.where(_S.region_id == sa.bindparam("region_id"))
    if active_only:
        query = query.where(_S.active)
    return query


#: The four shapes of a method listing, built once.
_METHODS = {
    (region, active): _methods(region, active) for region in (True, False) for active in (True, False)
}


class SqlShippingMethodRepository:
    """Shipping methods. ``add`` and ``update`` raise ``Conflict`` when the region was deleted
    meanwhile (the use case checks that it exists first)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, method: ShippingMethod) -> None:
        try:
            async with guarded(self._conn):
                await self._conn.execute(
                    t.shipping_methods.insert().values(id=method.id, **_method_values(method))
                )
        except IntegrityError:
            raise Conflict("the method's region was deleted meanwhile") from None

    async def update(self, method: ShippingMethod) -> None:
        try:
            async with guarded(self._conn):
                await self._conn.execute(
                    t.shipping_methods.update().where(_S.id == method.id).values(**_method_values(method))
                )
        except IntegrityError:
            raise Conflict("the method's region was deleted meanwhile") from None

    async def delete(self, method_id: str) -> None:
        await self._conn.execute(t.shipping_methods.delete().where(_S.id == method_id))

    async def get(self, method_id: str) -> ShippingMethod | None:
        row = (await self._conn.execute(sa.select(t.shipping_methods).where(_S.id == method_id))).first()
        return _method(row) if row else None

    async def list(self, *, region_id: str | None = None, active_only: bool = False) -> list[ShippingMethod]:
        query = _METHODS[(region_id is not None, active_only)]
        params = {} if region_id is None else {"region_id": region_id}
        return [_method(row) for row in await self._conn.execute(query, params)]


# -- promotions ------------------------------------------------------------------------------------

_P = t.promotions.c


def _promotion(row: Row) -> Promotion:
    return Promotion(
        id=row.id,
        code=row.code,
        description=row.description,
        kind=PromotionKind(row.kind),
        combinable=row.combinable,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        value=row.value,
        product_ids=tuple(row.product_ids),
        min_subtotal=row.min_subtotal,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        usage_limit=row.usage_limit,
        per_email_limit=row.per_email_limit,
        buy_quantity=row.buy_quantity,
        get_quantity=row.get_quantity,
        times_used=row.times_used,
    )


def _promotion_values(promotion: Promotion) -> dict[str, Any]:
    """Every column but ``id`` and ``times_used`` (which only claims and releases move)."""
    return {
        "code": None if promotion.code is None else normalize_code(promotion.code),
        "description": promotion.description,
        "kind": promotion.kind.value,
        "value": promotion.value,
        "product_ids": list(promotion.product_ids),
        "min_subtotal": promotion.min_subtotal,
        "starts_at": promotion.starts_at,
        "ends_at": promotion.ends_at,
        "usage_limit": promotion.usage_limit,
        "per_email_limit": promotion.per_email_limit,
        "buy_quantity": promotion.buy_quantity,
        "get_quantity": promotion.get_quantity,
        "combinable": promotion.combinable,
        "active": promotion.active,
        "created_at": promotion.created_at,
        "updated_at": promotion.updated_at,
    }


_BY_CODE = sa.select(t.promotions).where(_P.code == sa.bindparam("code"))
_AUTOMATIC = sa.select(t.promotions).where(_P.code.is_(None), _P.active).order_by(_P.created_at, _P.id)


class SqlPromotionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _check_code(self, promotion: Promotion) -> None:
        if promotion.code is None:
            return
        code = normalize_code(promotion.code)
        taken = await self._conn.scalar(sa.select(_P.id).where(_P.code == code, _P.id != promotion.id))
        if taken is not None:
            raise DuplicatePromotionCode(code)

    async def _write(self, promotion: Promotion, statement: sa.Executable) -> None:
        await self._check_code(promotion)
        try:
            async with guarded(self._conn):
                await self._conn.execute(statement)
        except IntegrityError:  # another writer took the code since the check
            raise DuplicatePromotionCode(normalize_code(promotion.code or "")) from None

    async def add(self, promotion: Promotion) -> None:
        values = _promotion_values(promotion)
        await self._write(promotion, t.promotions.insert().values(id=promotion.id, times_used=0, **values))

    async def update(self, promotion: Promotion) -> None:
        values = _promotion_values(promotion)
        await self._write(promotion, t.promotions.update().where(_P.id == promotion.id).values(**values))

    async def get(self, promotion_id: str) -> Promotion | None:
        row = (await self._conn.execute(sa.select(t.promotions).where(_P.id == promotion_id))).first()
        return _promotion(row) if row else None

    async def by_code(self, code: str) -> Promotion | None:
        row = (await self._conn.execute(_BY_CODE, {"code": normalize_code(code)})).first()
        return _promotion(row) if row else None

    async def list(self, *, active_only: bool = False) -> list[Promotion]:
        query = sa.select(t.promotions).order_by(_P.created_at, _P.id)
        if active_only:
            query = query.where(_P.active)
        return [_promotion(row) for row in await self._conn.execute(query)]

    async def automatic(self) -> builtins.list[Promotion]:
        return [_promotion(row) for row in await self._conn.execute(_AUTOMATIC)]


# -- promotion uses --------------------------------------------------------------------------------

_U = t.promotion_uses.c

#: Count one more use while under the limit; the row stays locked until the transaction ends.
_TAKE = (
    t.promotions.update()
    .where(
        _P.id == sa.bindparam("promotion_id"),
        sa.or_(_P.usage_limit.is_(None), _P.times_used < _P.usage_limit),
    )
    .values(times_used=_P.times_used + 1)
    .returning(_P.per_email_limit)
)
#: Give a use back (a claim that failed on its per-email limit, or a use released).
_GIVE_BACK = (
    t.promotions.update()
    .where(_P.id == sa.bindparam("promotion_id"))
    .values(times_used=_P.times_used - sa.bindparam("uses", type_=sa.Integer))
)
_HELD_BY_EMAIL = (
    sa.select(sa.func.count())
    .select_from(t.promotion_uses)
    .where(_U.promotion_id == sa.bindparam("promotion_id"), _U.email == sa.bindparam("email"))
)
_RECORD = {
    "postgresql": insert_if_new(postgresql.insert(t.promotion_uses), _U.promotion_id, _U.order_id),
    "sqlite": insert_if_new(sqlite.insert(t.promotion_uses), _U.promotion_id, _U.order_id),
}


class SqlPromotionUses:
    """Implements ``PromotionUses``: see the module's docstring for how claims stay atomic."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._record = _RECORD[dialect_of(conn)]

    async def claim(self, promotion: Promotion, *, order_id: str, email: str) -> bool:
        if not counts_uses(promotion):
            return True
        taken = (await self._conn.execute(_TAKE, {"promotion_id": promotion.id})).first()
        if taken is None:  # exhausted, or gone
            return False
        email = normalize_email(email)
        if taken.per_email_limit is not None:
            held = await self._conn.scalar(_HELD_BY_EMAIL, {"promotion_id": promotion.id, "email": email})
            if (held or 0) >= taken.per_email_limit:
                await self._conn.execute(_GIVE_BACK, {"promotion_id": promotion.id, "uses": 1})
                return False
        recorded = await self._conn.execute(
            self._record,
            {"promotion_id": promotion.id, "order_id": order_id, "email": email},
        )
        if recorded.rowcount == 0:  # the order held this use already: count it once
            await self._conn.execute(_GIVE_BACK, {"promotion_id": promotion.id, "uses": 1})
        return True

    async def release(self, order_id: str) -> None:
        released = await self._conn.execute(
            t.promotion_uses.delete().where(_U.order_id == order_id).returning(_U.promotion_id)
        )
        uses: defaultdict[str, int] = defaultdict(int)
        for row in released:
            uses[row.promotion_id] += 1
        for promotion_id in sorted(uses):  # one order of row locks, so releases never deadlock
            await self._conn.execute(_GIVE_BACK, {"promotion_id": promotion_id, "uses": uses[promotion_id]})
