"""The contract of the commerce rules' repositories (regions, shipping methods, promotions and their
uses), run against every implementation: the in-memory adapter, SQLite and PostgreSQL. Only the
ports' methods are used, so whatever passes here holds for each of them alike, the races included."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from customshop.application.ports import UnitOfWorkFactory
from customshop.domain.promotions import DuplicatePromotionCode, Promotion, PromotionKind
from customshop.domain.regions import CountryTaken, Region, RegionInUse, TaxRate
from customshop.domain.shipping import FlatRate, PerItemRate, Tier, TierBasis, TieredRate
from tests.builders import IDS, make_promotion, make_region, make_shipping_method

pytestmark = pytest.mark.parametrize(
    "backend", ["memory", "sqlite", "postgresql"], indirect=True, scope="session"
)

#: Concurrent checkouts racing for the last uses of one promotion.
RACERS = 200
#: How many of them hold a database connection at once.
IN_FLIGHT = 16


async def add(uow_factory: UnitOfWorkFactory, *records: Region | Promotion) -> None:
    async with uow_factory() as uow:
        for record in records:
            if isinstance(record, Region):
                await uow.regions.add(record)
            else:
                await uow.promotions.add(record)
        await uow.commit()


async def stored_promotion(uow_factory: UnitOfWorkFactory, promotion_id: str) -> Promotion:
    async with uow_factory(read_only=True) as uow:
        promotion = await uow.promotions.get(promotion_id)
    assert promotion is not None
    return promotion


# -- regions ---------------------------------------------------------------------------------------


async def test_region_add_get_list_update_delete(uow_factory: UnitOfWorkFactory) -> None:
    rates = (
        TaxRate("Sales tax", 600),
        TaxRate("CA district", 125, subdivision="CA"),
        TaxRate("Books", 0, tax_class="books"),
    )
    us = make_region("US", "PR", name="United States", tax_rates=rates, prices_include_tax=False)
    eu = make_region("FR", "DE", "AT", name="European Union")
    async with uow_factory() as uow:
        assert not await uow.regions.any()
        await uow.regions.add(us)
        await uow.regions.add(eu)
        await uow.commit()

    async with uow_factory(read_only=True) as uow:
        assert await uow.regions.get(us.id) == us
        assert await uow.regions.get(eu.id) == eu  # the countries keep their order
        assert await uow.regions.get("nope") is None
        assert await uow.regions.list() == [eu, us]  # by name
        assert await uow.regions.for_country("DE") == eu
        assert await uow.regions.for_country("PR") == us
        assert await uow.regions.for_country("GB") is None
        assert await uow.regions.any()

    moved = replace(eu, name="EU", countries=("DE", "IT"), tax_rates=(TaxRate("VAT", 2000),))
    async with uow_factory() as uow:
        await uow.regions.update(moved)
        await uow.regions.update(replace(moved, id=IDS.new_id(), countries=("ES",)))  # unknown: nothing
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.regions.get(eu.id) == moved
        assert await uow.regions.for_country("FR") is None  # given up by the update
        assert await uow.regions.for_country("IT") == moved
        assert await uow.regions.for_country("ES") is None
        assert len(await uow.regions.list()) == 2

    async with uow_factory() as uow:
        await uow.regions.delete(eu.id)
        await uow.regions.delete(eu.id)  # gone already: nothing happens
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.regions.list() == [us]
        assert await uow.regions.for_country("DE") is None


async def test_a_country_belongs_to_one_region(uow_factory: UnitOfWorkFactory) -> None:
    eu = make_region("DE", "FR")
    other = make_region("IT", "FR", name="Rest")
    await add(uow_factory, eu)

    async with uow_factory() as uow:
        with pytest.raises(CountryTaken) as taken:
            await uow.regions.add(other)
        assert taken.value.country == "FR"
        assert [(v.field, v.code) for v in taken.value.violations] == [("countries[1]", "taken")]
        # The unit of work goes on after the conflict.
        await uow.regions.add(replace(other, countries=("IT",)))
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(CountryTaken) as taken:
            await uow.regions.update(replace(other, countries=("IT", "ES", "DE")))
        assert [v.field for v in taken.value.violations] == ["countries[2]"]
        await uow.regions.update(replace(eu, countries=("FR", "DE", "BE")))  # its own countries: fine
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert (await uow.regions.for_country("BE")) == replace(eu, countries=("FR", "DE", "BE"))
        assert await uow.regions.for_country("IT") == replace(other, countries=("IT",))


async def test_racing_regions_never_share_a_country(uow_factory: UnitOfWorkFactory) -> None:
    """Many writers at once each want DE: exactly one region gets it."""

    async def create(n: int) -> bool:
        async with uow_factory() as uow:
            try:
                await uow.regions.add(make_region("DE", name=f"Region {n:02d}"))
            except CountryTaken:
                return False
            await asyncio.sleep(0.001)
            await uow.commit()
            return True

    results = await asyncio.gather(*(create(n) for n in range(12)))
    assert sum(results) == 1
    async with uow_factory(read_only=True) as uow:
        assert len(await uow.regions.list()) == 1


async def test_a_region_that_lost_a_race_for_a_country_leaves_nothing(uow_factory: UnitOfWorkFactory) -> None:
    """The second writer of DE does not see the first one's region before it commits (its check
    finds the country free), then loses at the country's key: that unit of work goes on."""
    first = make_region("DE", name="First")
    kept = make_region("IT", name="Kept")
    first_wrote = asyncio.Event()

    async def take_first() -> None:
        async with uow_factory() as uow:
            await uow.regions.add(first)
            first_wrote.set()
            await asyncio.sleep(0.2)
            await uow.commit()

    async def take_second() -> None:
        await first_wrote.wait()
        async with uow_factory() as uow:
            with pytest.raises(CountryTaken):
                await uow.regions.add(make_region("FR", "DE", name="Second"))
            await uow.regions.add(kept)
            await uow.commit()

    await asyncio.gather(take_first(), take_second())
    async with uow_factory(read_only=True) as uow:
        assert await uow.regions.list() == [first, kept]
        assert await uow.regions.for_country("FR") is None


async def test_a_region_with_shipping_methods_is_not_deleted(uow_factory: UnitOfWorkFactory) -> None:
    region = make_region("DE")
    method = make_shipping_method(region)
    await add(uow_factory, region)
    async with uow_factory() as uow:
        await uow.shipping_methods.add(method)
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(RegionInUse):
            await uow.regions.delete(region.id)
        await uow.shipping_methods.delete(method.id)
        await uow.regions.delete(region.id)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert not await uow.regions.any()
    await add(uow_factory, make_region("DE"))  # the country is free again


# -- shipping methods ------------------------------------------------------------------------------


async def test_shipping_method_add_get_list_update_delete(uow_factory: UnitOfWorkFactory) -> None:
    eu, us = make_region("DE"), make_region("US", name="US")
    tiers = TieredRate(TierBasis.SUBTOTAL, (Tier(0, 900), Tier(5000, 400), Tier(10000, 0)))
    standard = make_shipping_method(eu, name="Standard", rate=tiers)
    express = make_shipping_method(eu, name="Express", rate=PerItemRate(1500, 250), active=False)
    ground = replace(make_shipping_method(us, name="Ground"), free_over=None, min_days=None, max_days=None)
    await add(uow_factory, eu, us)
    async with uow_factory() as uow:
        for method in (standard, express, ground):
            await uow.shipping_methods.add(method)
        await uow.commit()

    async with uow_factory(read_only=True) as uow:
        assert await uow.shipping_methods.get(standard.id) == standard
        assert await uow.shipping_methods.get(express.id) == express
        assert await uow.shipping_methods.get(ground.id) == ground
        assert await uow.shipping_methods.get("nope") is None
        assert await uow.shipping_methods.list() == [express, ground, standard]  # by name
        assert await uow.shipping_methods.list(region_id=eu.id) == [express, standard]
        assert await uow.shipping_methods.list(region_id=eu.id, active_only=True) == [standard]
        assert await uow.shipping_methods.list(region_id="nope") == []

    changed = replace(express, rate=FlatRate(1200), active=True, region_id=us.id, name="Express air")
    async with uow_factory() as uow:
        await uow.shipping_methods.update(changed)
        await uow.shipping_methods.delete(ground.id)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.shipping_methods.get(express.id) == changed
        assert await uow.shipping_methods.list(region_id=us.id) == [changed]
        assert await uow.shipping_methods.get(ground.id) is None


# -- promotions ------------------------------------------------------------------------------------


async def test_promotion_add_get_by_code_list_update(uow_factory: UnitOfWorkFactory) -> None:
    code = make_promotion("summer10", usage_limit=100, per_email_limit=1)
    automatic = replace(
        make_promotion(None, kind=PromotionKind.FREE_SHIPPING),
        min_subtotal=5000,
        product_ids=("p1", "p2"),
        starts_at=code.created_at,
        ends_at=None,
    )
    inactive_automatic = make_promotion(None, active=False)
    await add(uow_factory, code, automatic, inactive_automatic)

    normalized = replace(code, code="SUMMER10")
    async with uow_factory(read_only=True) as uow:
        assert await uow.promotions.get(code.id) == normalized
        assert await uow.promotions.get(automatic.id) == automatic
        assert await uow.promotions.by_code(" Summer10 ") == normalized
        assert await uow.promotions.by_code("WINTER") is None
        assert await uow.promotions.list() == [normalized, automatic, inactive_automatic]
        assert await uow.promotions.list(active_only=True) == [normalized, automatic]
        assert await uow.promotions.automatic() == [automatic]

    # Updates change every field but times_used, which only claims move.
    async with uow_factory() as uow:
        assert await uow.promotion_uses.claim(normalized, order_id="o1", email="a@example.com")
        await uow.commit()
    changed = replace(normalized, code="sun-20", value=2000, description="20 %", times_used=99)
    async with uow_factory() as uow:
        await uow.promotions.update(changed)
        await uow.commit()
    assert await stored_promotion(uow_factory, code.id) == replace(changed, code="SUN-20", times_used=1)


async def test_codes_are_unique_whatever_their_case(uow_factory: UnitOfWorkFactory) -> None:
    first = make_promotion("WELCOME10")
    second = make_promotion("spring")
    await add(uow_factory, first, second)
    async with uow_factory() as uow:
        with pytest.raises(DuplicatePromotionCode) as duplicate:
            await uow.promotions.add(make_promotion("welcome10"))
        assert duplicate.value.code == "WELCOME10"
        assert [v.field for v in duplicate.value.violations] == ["code"]
        with pytest.raises(DuplicatePromotionCode):
            await uow.promotions.update(replace(second, code="Welcome10"))
        await uow.promotions.add(make_promotion(None))  # automatic ones have no code to clash
        await uow.promotions.add(make_promotion(None))
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert len(await uow.promotions.list()) == 4
        assert await uow.promotions.by_code("spring") == replace(second, code="SPRING")


# -- promotion uses --------------------------------------------------------------------------------


async def test_claims_count_up_to_the_usage_limit_and_release_gives_them_back(
    uow_factory: UnitOfWorkFactory,
) -> None:
    limited = make_promotion("LIMITED", usage_limit=2)
    other = make_promotion("OTHER", usage_limit=1)
    await add(uow_factory, limited, other)

    async with uow_factory() as uow:
        assert await uow.promotion_uses.claim(limited, order_id="o1", email="a@example.com")
        assert await uow.promotion_uses.claim(limited, order_id="o1", email="a@example.com")  # held: once
        assert await uow.promotion_uses.claim(other, order_id="o1", email="a@example.com")
        assert await uow.promotion_uses.claim(limited, order_id="o2", email="b@example.com")
        assert not await uow.promotion_uses.claim(limited, order_id="o3", email="c@example.com")
        await uow.commit()
    assert (await stored_promotion(uow_factory, limited.id)).times_used == 2
    assert (await stored_promotion(uow_factory, other.id)).times_used == 1

    async with uow_factory() as uow:
        await uow.promotion_uses.release("o1")
        await uow.promotion_uses.release("o1")  # nothing left: nothing happens
        await uow.promotion_uses.release("unknown")
        await uow.commit()
    assert (await stored_promotion(uow_factory, limited.id)).times_used == 1
    assert (await stored_promotion(uow_factory, other.id)).times_used == 0

    async with uow_factory() as uow:
        assert await uow.promotion_uses.claim(limited, order_id="o3", email="c@example.com")
        assert not await uow.promotion_uses.claim(limited, order_id="o4", email="d@example.com")
        await uow.rollback()  # nothing claimed is kept
    assert (await stored_promotion(uow_factory, limited.id)).times_used == 1


async def test_claims_follow_the_stored_limits(uow_factory: UnitOfWorkFactory) -> None:
    promotion = make_promotion("CHANGING", usage_limit=5)
    await add(uow_factory, promotion)
    async with uow_factory() as uow:
        for n in range(3):
            assert await uow.promotion_uses.claim(promotion, order_id=f"o{n}", email="a@example.com")
        await uow.promotions.update(replace(promotion, usage_limit=2))  # lowered below the uses held
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.promotion_uses.claim(promotion, order_id="o9", email="b@example.com")
        assert not await uow.promotion_uses.claim(
            make_promotion("GONE", usage_limit=1), order_id="o9", email="b@example.com"
        )
    assert (await stored_promotion(uow_factory, promotion.id)).times_used == 3


async def test_per_email_limits_ignore_case(uow_factory: UnitOfWorkFactory) -> None:
    promotion = make_promotion("ONCE", per_email_limit=1)
    await add(uow_factory, promotion)
    async with uow_factory() as uow:
        assert await uow.promotion_uses.claim(promotion, order_id="o1", email="Ada@Example.com")
        assert not await uow.promotion_uses.claim(promotion, order_id="o2", email=" ada@example.COM")
        assert await uow.promotion_uses.claim(promotion, order_id="o3", email="grace@example.com")
        await uow.commit()
    assert (await stored_promotion(uow_factory, promotion.id)).times_used == 2
    async with uow_factory() as uow:
        await uow.promotion_uses.release("o1")
        assert await uow.promotion_uses.claim(promotion, order_id="o2", email="ada@example.com")
        await uow.commit()


async def test_unlimited_automatic_promotions_record_no_use(uow_factory: UnitOfWorkFactory) -> None:
    automatic = make_promotion(None)
    unlimited_code = make_promotion("FOREVER")
    await add(uow_factory, automatic, unlimited_code)
    async with uow_factory() as uow:
        assert await uow.promotion_uses.claim(automatic, order_id="o1", email="a@example.com")
        assert await uow.promotion_uses.claim(unlimited_code, order_id="o1", email="a@example.com")
        await uow.commit()
    assert (await stored_promotion(uow_factory, automatic.id)).times_used == 0
    assert (await stored_promotion(uow_factory, unlimited_code.id)).times_used == 1  # codes count
    async with uow_factory() as uow:
        await uow.promotion_uses.release("o1")
        await uow.commit()
    assert (await stored_promotion(uow_factory, automatic.id)).times_used == 0
    assert (await stored_promotion(uow_factory, unlimited_code.id)).times_used == 0


async def race(
    uow_factory: UnitOfWorkFactory, promotion: Promotion, emails: list[str], prefix: str = "order"
) -> list[bool]:
    """Each email's checkout claims ``promotion`` in a unit of work of its own, all at once, and
    holds its transaction a moment after claiming, so that the others queue behind it. At most
    :data:`IN_FLIGHT` hold a connection at a time (the pool's size is 20, and a checkout waits at
    most 2 s for one: on a loaded machine 200 would time out waiting, not race)."""
    in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def checkout(n: int, email: str) -> bool:
        async with in_flight, uow_factory() as uow:
            if not await uow.promotion_uses.claim(promotion, order_id=f"{prefix}-{n}", email=email):
                return False
            await asyncio.sleep(0.001)
            await uow.commit()
            return True

    return list(await asyncio.gather(*(checkout(n, email) for n, email in enumerate(emails))))


async def test_racing_checkouts_use_a_limited_code_exactly_as_often_as_it_allows(
    uow_factory: UnitOfWorkFactory,
) -> None:
    promotion = make_promotion("LAST10", usage_limit=15)
    await add(uow_factory, promotion)
    async with uow_factory() as uow:  # 10 uses left
        for n in range(5):
            assert await uow.promotion_uses.claim(promotion, order_id=f"early-{n}", email=f"e{n}@example.com")
        await uow.commit()

    granted = await race(uow_factory, promotion, [f"guest{n}@example.com" for n in range(RACERS)])

    assert sum(granted) == 10
    assert (await stored_promotion(uow_factory, promotion.id)).times_used == 15
    # A cancelled order gives its use back: one more checkout gets it, and only one.
    async with uow_factory() as uow:
        await uow.promotion_uses.release(f"order-{granted.index(True)}")
        await uow.commit()
    again = await race(uow_factory, promotion, [f"late{n}@example.com" for n in range(20)], "late")
    assert sum(again) == 1
    assert (await stored_promotion(uow_factory, promotion.id)).times_used == 15


async def test_racing_checkouts_of_one_email_respect_its_limit(uow_factory: UnitOfWorkFactory) -> None:
    promotion = make_promotion("TWICE", per_email_limit=2)
    await add(uow_factory, promotion)
    emails = [("ADA@example.com" if n % 2 else "ada@example.com") for n in range(50)]
    emails += [f"guest{n}@example.com" for n in range(10)]

    granted = await race(uow_factory, promotion, emails)

    assert sum(granted[:50]) == 2
    assert all(granted[50:])
    assert (await stored_promotion(uow_factory, promotion.id)).times_used == 12
