"""The commerce rules as admins keep them (``application/pricing_rules.py``) on the memory adapters,
and the checks of their input: a body with k broken fields names exactly those k, through what the
routes run (the body decoder of the HTTP edge, then the use case), whichever path the body takes."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.catalog import Catalog, ProductInput
from customshop.application.pricing_rules import (
    PricingRules,
    PromotionInput,
    PromotionNotFound,
    RegionInput,
    ShippingMethodInput,
)
from customshop.domain.errors import InvalidInput
from customshop.domain.promotions import PromotionKind, counts_uses, promotion_rule_problems
from customshop.domain.regions import COUNTRY_CODES, CountryTaken, RegionInUse, TaxRate, countries_problems
from customshop.domain.shipping import (
    FlatRate,
    PerItemRate,
    ShippingRate,
    Tier,
    TierBasis,
    TieredRate,
    check_rate,
    rate_document,
)
from customshop.entrypoints.http.body import Unchecked
from customshop.entrypoints.http.schemas import (
    PromotionPatch,
    PromotionWrite,
    RegionWrite,
    ShippingMethodWrite,
)
from tests.builders import make_promotion

Body = dict[str, Any]
Breakage = Callable[[Body], None]


class Shop:
    """The use cases on one memory store, with a product and a region to point at."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        uow = partial(MemoryUnitOfWork, self.store)
        self.catalog = Catalog(uow, ManualClock(), UuidV7Ids(), "USD")
        self.rules = PricingRules(uow, ManualClock(), UuidV7Ids())

    async def prepare(self) -> tuple[str, str]:
        product = await self.catalog.create_product(ProductInput(name="Tee", description="", base_price=1900))
        region = await self.rules.create_region(RegionInput("US", ("US",), False, False))
        return product.id, region.id


def shop_with(run: Callable[[Shop], Any]) -> Any:
    return asyncio.run(run(Shop()))


# -- regions ---------------------------------------------------------------------------------------


async def test_regions_are_created_replaced_and_deleted() -> None:
    shop = Shop()
    rates = (TaxRate("State tax", 725, "CA"),)
    us = await shop.rules.create_region(RegionInput("United States", ("US",), False, False, rates))
    eu = await shop.rules.create_region(RegionInput("EU", ("DE", "FR"), True, True))
    assert await shop.rules.get_region(us.id) == us
    assert (await shop.rules.list_regions(after=None, limit=1)).items == [us]
    assert (await shop.rules.list_regions(after=us.id, limit=1)).items == [eu]

    with pytest.raises(CountryTaken) as taken:
        await shop.rules.create_region(RegionInput("France", ("FR",), True, True))
    assert [v.field for v in taken.value.violations] == ["countries[0]"]
    with pytest.raises(InvalidInput) as invalid:
        await shop.rules.replace_region(eu.id, RegionInput(" ", ("DE", "DE", "UK"), True, True))
    assert {v.field: v.code for v in invalid.value.violations} == {
        "name": "invalid_length",
        "countries[1]": "duplicate",
        "countries[2]": "unknown_country",
    }
    replaced = await shop.rules.replace_region(eu.id, RegionInput("EU", ("DE",), True, False))
    assert (replaced.countries, replaced.tax_shipping, replaced.created_at) == (("DE",), False, eu.created_at)

    method = await shop.rules.create_shipping_method(
        ShippingMethodInput(eu.id, "Standard", {"type": "flat", "amount": 500})
    )
    with pytest.raises(RegionInUse):
        await shop.rules.delete_region(eu.id)
    await shop.rules.delete_shipping_method(method.id)
    await shop.rules.delete_region(eu.id)
    assert await shop.rules.all_regions() == [us]


def test_any_assigned_countries_once_each_are_fine() -> None:
    @settings(max_examples=200)
    @given(st.lists(st.sampled_from(sorted(COUNTRY_CODES)), min_size=1, max_size=20, unique=True))
    def check(countries: list[str]) -> None:
        assert countries_problems(countries) == []
        repeated = [*countries, countries[0]]
        assert [(v.field, v.code) for v in countries_problems(repeated)] == [
            (f"countries[{len(countries)}]", "duplicate")
        ]

    check()


# -- shipping rates --------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10**12)


@st.composite
def rates(draw: st.DrawFn) -> ShippingRate:
    kind = draw(st.sampled_from(["flat", "per_item", "tiers"]))
    if kind == "flat":
        return FlatRate(draw(amounts))
    if kind == "per_item":
        return PerItemRate(draw(amounts), draw(amounts))
    mins = sorted(draw(st.sets(amounts, min_size=1, max_size=10)))
    return TieredRate(draw(st.sampled_from(TierBasis)), tuple(Tier(m, draw(amounts)) for m in mins))


@settings(max_examples=300)
@given(rates())
def test_every_sound_rate_reads_back_from_its_document(rate: ShippingRate) -> None:
    document = msgspec.json.decode(msgspec.json.encode(rate_document(rate)))  # as JSON carries it
    assert check_rate(document) == (rate, [])


@settings(max_examples=200)
@given(st.lists(amounts, min_size=2, max_size=10), st.data())
def test_tiers_whose_min_does_not_ascend_are_named(mins: list[int], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=1, max_value=len(mins) - 1))
    ascending = sorted(set(mins))
    if len(ascending) < 2:
        ascending = [0, 1]
    index = min(index, len(ascending) - 1)
    broken = [*ascending]
    broken[index] = broken[index - 1]  # equal to the previous one
    document = {"type": "tiers", "by": "quantity", "tiers": [{"min": m, "amount": 1} for m in broken]}
    rate, problems = check_rate(document)
    assert rate is None
    assert [(p.field, p.code) for p in problems] == [(f"rate.tiers[{index}].min", "not_ascending")]


# -- promotions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "named"),
    [
        (PromotionKind.PERCENTAGE, {}, {"value": "required"}),
        (PromotionKind.PERCENTAGE, {"value": 10_001}, {"value": "out_of_range"}),
        (PromotionKind.FIXED, {"value": 0}, {"value": "out_of_range"}),
        (PromotionKind.FREE_SHIPPING, {"value": 100}, {"value": "not_allowed"}),
        (PromotionKind.BUY_X_GET_Y, {}, {"buy_quantity": "required", "get_quantity": "required"}),
        (PromotionKind.BUY_X_GET_Y, {"buy_quantity": 2, "get_quantity": 1, "value": 5},
         {"value": "not_allowed"}),
        (PromotionKind.FIXED, {"value": 5, "buy_quantity": 2}, {"buy_quantity": "not_allowed"}),
        (PromotionKind.FREE_SHIPPING, {"usage_limit": 0, "per_email_limit": 0},
         {"usage_limit": "out_of_range", "per_email_limit": "out_of_range"}),
    ],
)  # fmt: skip
def test_what_each_kind_requires_and_refuses(
    kind: PromotionKind, fields: Body, named: dict[str, str]
) -> None:
    assert {p.field: p.code for p in promotion_rule_problems(kind=kind, **fields)} == named


def test_which_uses_are_counted() -> None:
    assert counts_uses(make_promotion("CODE"))
    assert counts_uses(make_promotion(None, usage_limit=5))
    assert counts_uses(make_promotion(None, per_email_limit=1))
    assert not counts_uses(make_promotion(None))


async def test_promotions_are_created_changed_and_deactivated() -> None:
    shop = Shop()
    product_id, _ = await shop.prepare()
    created = await shop.rules.create_promotion(
        PromotionInput(
            "10 % off tees", PromotionKind.PERCENTAGE, code=" tees10", value=1000, product_ids=(product_id,)
        )
    )
    assert created.code == "TEES10"
    async with MemoryUnitOfWork(shop.store) as uow:
        assert await uow.promotion_uses.claim(created, order_id="o1", email="a@example.com")
        await uow.commit()

    changed = await shop.rules.update_promotion(created.id, {"kind": PromotionKind.FIXED, "value": 300})
    assert (changed.kind, changed.value, changed.times_used, changed.code) == (
        PromotionKind.FIXED,
        300,
        1,
        "TEES10",
    )
    with pytest.raises(InvalidInput) as invalid:
        await shop.rules.update_promotion(
            created.id, {"kind": PromotionKind.FREE_SHIPPING, "product_ids": ("x",)}
        )
    assert {v.field: v.code for v in invalid.value.violations} == {
        "value": "not_allowed",
        "product_ids[0]": "unknown",
    }
    with pytest.raises(ValueError, match="times_used"):
        await shop.rules.update_promotion(created.id, {"times_used": 0})

    disabled = await shop.rules.deactivate_promotion_by_code("tees10")
    assert not disabled.active
    assert await shop.rules.all_promotions(active_only=True) == []
    with pytest.raises(PromotionNotFound):
        await shop.rules.deactivate_promotion_by_code("NOPE")


# -- one pass: k broken fields, exactly k named ----------------------------------------------------


def _set(path: str, value: Any) -> Breakage:
    def apply(body: Body) -> None:
        *parents, name = path.split(".")
        for parent in parents:
            body = body[parent]
        body[name] = value

    return apply


def _drop(name: str) -> Breakage:
    return lambda body: body.pop(name)


REGION_BODY: Body = {
    "name": "Europe",
    "countries": ["DE", "FR"],
    "prices_include_tax": True,
    "tax_shipping": True,
    "tax_rates": [
        {"name": "VAT", "rate_bps": 1900},
        {"name": "Reduced", "rate_bps": 700, "tax_class": "books"},
    ],
}
REGION_BREAKAGES: dict[str, list[Breakage]] = {
    "name": [_drop("name"), _set("name", 5), _set("name", "  "), _set("name", "x" * 101)],
    "countries": [_drop("countries"), _set("countries", []), _set("countries", "DE")],
    "prices_include_tax": [_set("prices_include_tax", "yes")],
    "tax_rates[0].rate_bps": [lambda b: b["tax_rates"][0].update(rate_bps=10_001),
                              lambda b: b["tax_rates"][0].update(rate_bps=-1)],
    "tax_rates[1].subdivision": [lambda b: b["tax_rates"][1].update(subdivision="ca")],
    "tax_rates[1].tax_class": [lambda b: b["tax_rates"][1].update(tax_class="Books")],
    "colour": [_set("colour", "red")],
}  # fmt: skip
METHOD_BODY: Body = {
    "region_id": "<region>",
    "name": "Standard",
    "rate": {"type": "flat", "amount": 500},
    "free_over": 10_000,
    "min_days": 2,
    "max_days": 5,
    "active": True,
}
METHOD_BREAKAGES: dict[str, list[Breakage]] = {
    "region_id": [_drop("region_id"), _set("region_id", 5), _set("region_id", "no-such-region")],
    "name": [_drop("name"), _set("name", 12), _set("name", "   "), _set("name", "x" * 101)],
    "rate.amount": [_set("rate.amount", -1), _set("rate.amount", "5"), _set("rate.amount", 10**13),
                    lambda b: b["rate"].pop("amount")],
    "rate.first": [_set("rate.first", 100)],
    "free_over": [_set("free_over", -1), _set("free_over", "lots")],
    "min_days": [_set("min_days", -1), _set("min_days", 400)],
    "max_days": [_set("max_days", "soon"), _set("max_days", 366)],
    "active": [_set("active", "yes")],
    "colour": [_set("colour", 1)],
}  # fmt: skip
PROMOTION_BODY: Body = {
    "code": "SPRING",
    "description": "Spring sale",
    "kind": "percentage",
    "value": 1000,
    "product_ids": ["<product>"],
    "min_subtotal": 1000,
    "starts_at": "2027-03-01T00:00:00Z",
    "ends_at": "2027-06-01T00:00:00Z",
    "usage_limit": 10,
    "per_email_limit": 1,
    "combinable": True,
    "active": True,
}
PROMOTION_BREAKAGES: dict[str, list[Breakage]] = {
    "code": [_set("code", "ab"), _set("code", "bad code!"), _set("code", 5)],
    "description": [_drop("description"), _set("description", ""), _set("description", "  "),
                    _set("description", "x" * 501)],
    "value": [_drop("value"), _set("value", 20_000), _set("value", 0), _set("value", "ten")],
    "product_ids[0]": [_set("product_ids", ["no-such-product"]), _set("product_ids", [""]),
                       _set("product_ids", [5])],
    "min_subtotal": [_set("min_subtotal", -1), _set("min_subtotal", "x")],
    "starts_at": [_set("starts_at", "2027-03-01"), _set("starts_at", "2027-03-01T00:00:00"),
                  _set("starts_at", 5)],
    "ends_at": [_set("ends_at", "later")],
    "usage_limit": [_set("usage_limit", 0), _set("usage_limit", -5)],
    "per_email_limit": [_set("per_email_limit", 0), _set("per_email_limit", True)],
    "buy_quantity": [_set("buy_quantity", 2)],
    "get_quantity": [_set("get_quantity", 1)],
    "combinable": [_set("combinable", "yes")],
    "colour": [_set("colour", 1)],
}  # fmt: skip


@st.composite
def broken(draw: st.DrawFn, body: Body, breakages: dict[str, list[Breakage]]) -> tuple[Body, set[str]]:
    """``body`` with k >= 1 independently broken fields, and their paths."""
    fields = draw(st.sets(st.sampled_from(sorted(breakages)), min_size=1))
    broken_body = copy.deepcopy(body)
    for field in sorted(fields):
        draw(st.sampled_from(breakages[field]))(broken_body)
    return broken_body, fields


async def answer(shop: Shop, kind: str, body: Body) -> list[str]:
    """The fields the route of ``kind`` names in its 400 for ``body``, as it answers it."""
    product_id, region_id = await shop.prepare()
    text = (
        msgspec.json.encode(body)
        .replace(b"<product>", product_id.encode())
        .replace(b"<region>", region_id.encode())
    )
    try:
        if kind == "region":
            region = Unchecked(RegionWrite, text)
            await shop.rules.create_region((await region.decode(_nothing)).to_input())
        elif kind == "method":
            method = await Unchecked(ShippingMethodWrite, text).decode(
                lambda given: shop.rules.region_id_problems(given.get("region_id"))
            )
            await shop.rules.create_shipping_method(method.to_input())
        else:
            promotion = await Unchecked(PromotionWrite, text).decode(
                lambda given: shop.rules.product_ids_problems(given.get("product_ids"))
            )
            await shop.rules.create_promotion(promotion.to_input())
    except InvalidInput as exc:
        named = [v.field for v in exc.violations]
    else:
        raise AssertionError(f"the {kind} was not refused")
    assert len(named) == len(set(named)), named  # one entry a field
    return named


async def _nothing(given: Any) -> list[Any]:
    return []


CASES = {
    "region": (REGION_BODY, REGION_BREAKAGES),
    "method": (METHOD_BODY, METHOD_BREAKAGES),
    "promotion": (PROMOTION_BODY, PROMOTION_BREAKAGES),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_body_with_k_broken_fields_names_exactly_those_k(kind: str) -> None:
    body, breakages = CASES[kind]

    @settings(max_examples=100, deadline=None)
    @given(broken(body, breakages))
    def check(case: tuple[Body, set[str]]) -> None:
        broken_body, fields = case
        assert sorted(shop_with(lambda shop: answer(shop, kind, broken_body))) == sorted(fields)

    check()


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_sound_body_is_accepted_and_every_breakage_caught_alone(kind: str) -> None:
    body, breakages = CASES[kind]
    with pytest.raises(AssertionError, match="not refused"):
        shop_with(lambda shop: answer(shop, kind, body))
    for field, ways in breakages.items():
        for breakage in ways:
            broken_body = copy.deepcopy(body)
            breakage(broken_body)
            assert shop_with(lambda shop, b=broken_body: answer(shop, kind, b)) == [field], (
                field,
                broken_body,
            )


def test_rules_across_fields_are_named_with_the_rest() -> None:
    method = {**METHOD_BODY, "min_days": 6, "region_id": "nope", "name": " "}
    assert sorted(shop_with(lambda shop: answer(shop, "method", method))) == ["max_days", "name", "region_id"]
    promotion = {**PROMOTION_BODY, "ends_at": "2027-01-01T00:00:00Z", "kind": "free_shipping", "code": 5}
    named = shop_with(lambda shop: answer(shop, "promotion", promotion))
    assert sorted(named) == ["code", "ends_at", "value"]


def test_a_patch_is_judged_with_the_stored_promotion() -> None:
    async def run(shop: Shop) -> list[str]:
        await shop.prepare()
        created = await shop.rules.create_promotion(PromotionInput("5 off", PromotionKind.FIXED, value=500))
        patch = await Unchecked(PromotionPatch, b'{"kind": "buy_x_get_y", "buy_quantity": 2}').decode(
            _nothing
        )
        try:
            await shop.rules.update_promotion(created.id, patch.changes())
        except InvalidInput as exc:
            return sorted(v.field for v in exc.violations)
        raise AssertionError("not refused")

    assert shop_with(run) == ["get_quantity", "value"]


def test_changes_name_only_what_a_patch_gives() -> None:
    patch = msgspec.json.decode(b'{"value": null, "product_ids": ["a"]}', type=PromotionPatch)
    assert patch.changes() == {"value": None, "product_ids": ("a",)}
    assert replace(make_promotion(), **patch.changes()).value is None
