"""The cart's quote under the commerce rules, on the in-memory adapters: cart details, promotion
codes, the same quote in the cart, at checkout and on the order, and the uses of limited
promotions claimed at checkout and given back when an unpaid order is called off."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.cart import Carts, CartView, DetailsInput, PromotionNotInCart
from customshop.application.catalog import Catalog, ProductInput, TemplateInput
from customshop.application.checkout import Checkout, CheckoutRequest, PromotionUnavailable
from customshop.application.customization import SESSION_KEY_PREFIX
from customshop.application.orders import Orders
from customshop.application.ports import PaymentGateway, PaymentUnavailable
from customshop.domain.cart import CartAddress
from customshop.domain.catalog import Product, VolumeTier
from customshop.domain.errors import InvalidInput
from customshop.domain.orders import Order, OrderStatus, ShippingAddress
from customshop.domain.promotions import Promotion, PromotionKind
from customshop.domain.quote import FlatRates, Quote
from customshop.domain.regions import Region, TaxRate
from customshop.domain.shipping import FlatRate, PerItemRate, ShippingMethod
from tests.builders import T0
from tests.fakes import FakeGateway
from tests.unit.conftest import issue_keys

KEY = SESSION_KEY_PREFIX + "A" * 43
OTHER = SESSION_KEY_PREFIX + "B" * 43
FLAT = FlatRates(1000, 500, 100)
US_CA = ShippingAddress("Ada", "1 Market St", "San Francisco", "94103", "US", subdivision="CA")
DE = ShippingAddress("Ada", "Unter den Linden 1", "Berlin", "10117", "DE")
JP = ShippingAddress("Ada", "1-1 Chiyoda", "Tokyo", "100-0001", "JP")


@dataclass
class PricedShop:
    """A shop with a US region (state tax in California), an EU region with VAT included, each
    with two shipping methods, and promotions added by each test."""

    store: MemoryStore
    clock: ManualClock
    carts: Carts
    checkout: Checkout
    orders: Orders
    gateway: FakeGateway
    tee: Product
    mug: Product
    us: Region
    eu: Region
    ground: ShippingMethod
    express: ShippingMethod
    dhl: ShippingMethod

    async def add(self, *records: Any) -> None:
        async with MemoryUnitOfWork(self.store) as uow:
            for record in records:
                if isinstance(record, Promotion):
                    await uow.promotions.add(record)
                elif isinstance(record, Region):
                    await uow.regions.add(record)
                elif isinstance(record, ShippingMethod):
                    await uow.shipping_methods.add(record)
                else:
                    await uow.products.update(record)
            await uow.commit()

    async def cart(self, product: Product, quantity: int = 1, text: str = "Hi", key: str = KEY) -> CartView:
        return await self.carts.add_design(key, product.id, {"line": {"text": text}}, quantity)

    async def order(self, order_id: str) -> Order:
        return await self.orders.get(order_id)


def promotion(**fields: Any) -> Promotion:
    defaults: dict[str, Any] = {
        "id": UuidV7Ids().new_id(),
        "code": "SAVE10",
        "description": "10 % off",
        "kind": PromotionKind.PERCENTAGE,
        "value": 1000,
        "combinable": True,
        "active": True,
        "created_at": T0,
        "updated_at": T0,
    }
    return Promotion(**{**defaults, **fields})


async def make_shop() -> PricedShop:
    store, clock, ids = MemoryStore(), ManualClock(T0), UuidV7Ids()
    issue_keys(store, KEY, OTHER)
    uow = partial(MemoryUnitOfWork, store)
    catalog = Catalog(uow, clock, ids, "USD")
    line = {
        "id": "line",
        "type": "text",
        "price_delta": 250,
        "area": {"x": 0, "y": 0, "width": 50, "height": 10},
    }
    definition = {"canvas": {"width": 100, "height": 100}, "zones": [line]}
    tee = await catalog.create_product(ProductInput(name="Tee", description="", base_price=2000))
    await catalog.create_template(TemplateInput(tee.id, 1, definition))
    mug = await catalog.create_product(ProductInput(name="Mug", description="", base_price=1000))
    await catalog.create_template(TemplateInput(mug.id, 1, definition))
    us = Region(
        ids.new_id(), "United States", ("US",), False, False, (TaxRate("CA sales tax", 725, "CA"),), T0, T0
    )
    eu = Region(ids.new_id(), "EU", ("DE", "FR"), True, True, (TaxRate("VAT", 1900),), T0, T0)
    ground = ShippingMethod(ids.new_id(), us.id, "Ground", PerItemRate(500, 100), True, T0, T0, min_days=3)
    express = ShippingMethod(ids.new_id(), us.id, "Express", FlatRate(1500), True, T0, T0, max_days=1)
    dhl = ShippingMethod(ids.new_id(), eu.id, "DHL", FlatRate(700), True, T0, T0, free_over=10_000)
    gateway = FakeGateway()
    gateways: dict[str, PaymentGateway] = {"fake": gateway}
    shop = PricedShop(
        store=store,
        clock=clock,
        carts=Carts(uow, clock, ids, FLAT, "USD"),
        checkout=Checkout(uow, clock, ids, FLAT, gateways, reservation_ttl=timedelta(minutes=30)),
        orders=Orders(uow, clock, gateways, ids),
        gateway=gateway,
        tee=tee,
        mug=mug,
        us=us,
        eu=eu,
        ground=ground,
        express=express,
        dhl=dhl,
    )
    await shop.add(us, eu, ground, express, dhl)
    return shop


@pytest.fixture
async def shop() -> PricedShop:
    return await make_shop()


def identities_hold(q: Quote) -> None:
    assert q.subtotal == sum(line.line_total for line in q.lines)
    assert q.tax == sum(t.amount for t in q.tax_lines)
    assert (
        q.discount_total
        == sum(d.amount for d in q.discounts)
        == sum(x.discount for x in q.lines) + (q.shipping_discount)
    )
    included = 0 if q.prices_include_tax else q.tax
    assert q.total == q.subtotal - q.discount_total + q.shipping + included


def order_breakdown(order: Order) -> dict[str, Any]:
    return {
        "lines": [
            (line.id, line.unit_price, line.line_total, line.volume_discount, line.discount, line.tax)
            for line in order.lines
        ],
        "subtotal": order.subtotal.amount,
        "discounts": order.discounts,
        "discount_total": order.discount_total.amount,
        "shipping": order.shipping.amount,
        "shipping_method": order.shipping_method,
        "tax_lines": order.tax_lines,
        "tax": order.tax.amount,
        "total": order.total.amount,
        "prices_include_tax": order.prices_include_tax,
        "region_id": order.region_id,
    }


def quote_breakdown(q: Quote) -> dict[str, Any]:
    return {
        "lines": [
            (line.id, line.unit_price, line.line_total, line.volume_discount, line.discount, line.tax)
            for line in q.lines
        ],
        "subtotal": q.subtotal,
        "discounts": q.discounts,
        "discount_total": q.discount_total,
        "shipping": q.shipping,
        "shipping_method": q.shipping_method,
        "tax_lines": q.tax_lines,
        "tax": q.tax,
        "total": q.total,
        "prices_include_tax": q.prices_include_tax,
        "region_id": q.region_id,
    }


def request(address: ShippingAddress = US_CA, email: str = "ada@example.com", **more: Any) -> CheckoutRequest:
    return CheckoutRequest(email, address, "fake", **more)


# -- the cart's answers -----------------------------------------------------------------------------


async def test_until_an_address_is_known_the_flat_rates_apply(shop: PricedShop) -> None:
    q = (await shop.cart(shop.tee, 2)).quote.quote  # 2 × 2250
    assert (q.subtotal, q.tax, q.shipping, q.total) == (4500, 450, 600, 5550)
    assert (q.region_id, q.shipping_method, q.shipping_options) == (None, None, ())
    identities_hold(q)


async def test_an_address_in_a_region_brings_its_tax_and_shipping_options(shop: PricedShop) -> None:
    await shop.cart(shop.tee, 2)
    view = await shop.carts.set_details(KEY, DetailsInput(CartAddress("US", "CA", "94103")))
    q = view.quote.quote
    assert q.region_id == shop.us.id
    assert [(o.name, o.amount) for o in q.shipping_options] == [("Ground", 600), ("Express", 1500)]
    assert q.shipping_method is not None and q.shipping_method.name == "Ground"  # the cheapest
    assert [(t.name, t.rate_bps, t.amount) for t in q.tax_lines] == [("CA sales tax", 725, 326)]
    assert q.total == 4500 + 600 + 326
    identities_hold(q)

    chosen = await shop.carts.set_details(
        KEY, DetailsInput(CartAddress("US", "NY"), shipping_method_id=shop.express.id)
    )
    q = chosen.quote.quote
    assert (q.shipping, q.tax, q.total) == (1500, 0, 6000)  # no New York rate in this shop
    assert chosen.details is not None and chosen.details.shipping_method_id == shop.express.id


async def test_a_tax_inclusive_region_extracts_its_vat(shop: PricedShop) -> None:
    await shop.cart(shop.mug)  # 1250, VAT included
    q = (await shop.carts.set_details(KEY, DetailsInput(CartAddress("DE")))).quote.quote
    assert q.prices_include_tax
    assert q.total == 1250 + 700  # shipping taxed too, inside its price
    assert q.tax == sum(t.amount for t in q.tax_lines) > 0
    identities_hold(q)


async def test_details_name_every_bad_field_and_store_nothing(shop: PricedShop) -> None:
    with pytest.raises(InvalidInput) as refused:
        await shop.carts.set_details(
            KEY,
            DetailsInput(CartAddress("JP", "tk"), shipping_method_id="nope", email="not an email"),
        )
    assert sorted((v.field, v.code) for v in refused.value.violations) == [
        ("email", "invalid_format"),
        ("shipping_address.country", "not_shippable"),
        ("shipping_address.subdivision", "invalid_format"),
        ("shipping_method_id", "unknown"),
    ]
    with pytest.raises(InvalidInput) as elsewhere:  # a method of another region
        await shop.carts.set_details(KEY, DetailsInput(CartAddress("DE"), shipping_method_id=shop.ground.id))
    assert [(v.field, v.code) for v in elsewhere.value.violations] == [("shipping_method_id", "unknown")]
    assert shop.store.cart_details == {}


async def test_a_guest_without_a_key_gets_one_with_its_details(shop: PricedShop) -> None:
    view = await shop.carts.set_details(None, DetailsInput(CartAddress("US"), email="ada@example.com"))
    assert view.session_key is not None
    again = await shop.carts.view(view.session_key)
    assert again.details is not None and again.details.email == "ada@example.com"


# -- promotion codes --------------------------------------------------------------------------------


async def test_a_code_applies_and_a_new_code_replaces_it(shop: PricedShop) -> None:
    ten, five = promotion(code="SAVE10"), promotion(code="FIVE", kind=PromotionKind.FIXED, value=500)
    await shop.add(ten, five)
    await shop.cart(shop.tee, 2)
    view = await shop.carts.apply_code(KEY, " save10 ")
    q = view.quote.quote
    assert [(d.code, d.amount) for d in q.discounts] == [("SAVE10", 450)]
    assert (view.quote.code, view.quote.code_refusal) == ("SAVE10", None)
    identities_hold(q)
    q = (await shop.carts.apply_code(KEY, "five")).quote.quote
    assert [(d.code, d.amount) for d in q.discounts] == [("FIVE", 500)]  # one code per cart
    q = (await shop.carts.remove_code(KEY, "Five")).quote.quote
    assert q.discounts == ()
    with pytest.raises(PromotionNotInCart):
        await shop.carts.remove_code(KEY, "FIVE")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"code": "OTHER"}, "unknown"),
        ({"active": False}, "unknown"),
        ({"ends_at": T0}, "expired"),
        ({"usage_limit": 1}, "exhausted"),
        ({"product_ids": ("not-in-the-cart",)}, "not_applicable"),
        ({"min_subtotal": 100_000}, "min_subtotal"),
    ],
)
async def test_a_code_that_cannot_be_used_is_refused_on_code(
    shop: PricedShop, fields: dict[str, Any], reason: str
) -> None:
    offered = promotion(**fields)
    await shop.add(offered)
    if offered.usage_limit is not None:  # its one use taken by an order
        async with MemoryUnitOfWork(shop.store) as uow:
            assert await uow.promotion_uses.claim(offered, order_id="order", email="bob@example.com")
            await uow.commit()
    await shop.cart(shop.tee)
    with pytest.raises(InvalidInput) as refused:
        await shop.carts.apply_code(KEY, "SAVE10")
    assert [(v.field, v.code) for v in refused.value.violations] == [("code", reason)]
    assert shop.store.cart_details == {}


async def test_a_code_the_cart_stops_qualifying_for_shows_why(shop: PricedShop) -> None:
    await shop.add(promotion(product_ids=(shop.mug.id,)))
    view = await shop.cart(shop.mug)
    await shop.carts.apply_code(KEY, "SAVE10")
    after = await shop.carts.remove(KEY, view.lines[0].id)
    assert (after.quote.code, after.quote.code_refusal) == ("SAVE10", "not_applicable")


# -- checkout: the same quote ----------------------------------------------------------------------


async def test_the_order_keeps_the_quote_the_cart_showed(shop: PricedShop) -> None:
    await shop.add(
        promotion(code="SAVE10"),
        promotion(code=None, description="Free shipping", kind=PromotionKind.FREE_SHIPPING, value=None),
        replace(shop.tee, volume_pricing=(VolumeTier(3, 1000),)),
    )
    await shop.cart(shop.tee, 3)
    await shop.cart(shop.mug, 1)
    await shop.carts.set_details(
        KEY, DetailsInput(CartAddress("US", "CA"), shipping_method_id=shop.express.id)
    )
    shown = (await shop.carts.apply_code(KEY, "SAVE10")).quote.quote
    assert sum(line.volume_discount for line in shown.lines) == 3 * 225
    assert {d.description for d in shown.discounts} == {"10 % off", "Free shipping"}

    placed = await shop.checkout.place(KEY, request())

    order = await shop.order(placed.order_id)
    assert order_breakdown(order) == quote_breakdown(shown)
    assert placed.total == shown.total
    assert shop.gateway.started[f"fk_{order.payment_id}"].amount == shown.total
    assert (await shop.carts.view(KEY)).details.promotion_code is None  # type: ignore[union-attr]


async def test_checkout_takes_the_method_asked_for_and_the_subdivision_the_cart_was_told(
    shop: PricedShop,
) -> None:
    await shop.cart(shop.tee)
    await shop.carts.set_details(KEY, DetailsInput(CartAddress("US", "CA")))
    address = replace(US_CA, subdivision=None)
    placed = await shop.checkout.place(KEY, request(address, shipping_method_id=shop.express.id))
    order = await shop.order(placed.order_id)
    assert order.shipping_method is not None and order.shipping_method.id == shop.express.id
    assert [t.name for t in order.tax_lines] == ["CA sales tax"]


async def test_checkout_refuses_a_country_outside_every_region(shop: PricedShop) -> None:
    await shop.cart(shop.tee)
    with pytest.raises(InvalidInput) as refused:
        await shop.checkout.place(KEY, request(JP, shipping_method_id="nope"))
    assert sorted((v.field, v.code) for v in refused.value.violations) == [
        ("shipping_address.country", "not_shippable"),
        ("shipping_method_id", "unknown"),
    ]
    assert shop.store.orders == {}


async def test_a_code_that_expired_since_the_cart_showed_it_is_a_conflict_naming_it(shop: PricedShop) -> None:
    await shop.add(promotion(ends_at=T0 + timedelta(hours=1)))
    await shop.cart(shop.tee)
    await shop.carts.apply_code(KEY, "SAVE10")
    shop.clock.advance(hours=2)
    with pytest.raises(PromotionUnavailable) as lapsed:
        await shop.checkout.place(KEY, request())
    assert (lapsed.value.code, lapsed.value.reason) == ("SAVE10", "expired")
    assert [(v.field, v.code) for v in lapsed.value.violations] == [("code", "expired")]
    assert "SAVE10" in lapsed.value.message
    assert shop.store.orders == {}
    assert len((await shop.carts.view(KEY)).lines) == 1  # nothing changed: remove the code and go on
    await shop.carts.remove_code(KEY, "SAVE10")
    await shop.checkout.place(KEY, request())


async def test_a_limited_code_is_used_up_and_given_back_when_its_unpaid_order_is_cancelled(
    shop: PricedShop,
) -> None:
    await shop.add(promotion(usage_limit=1))
    await shop.cart(shop.tee)
    await shop.carts.apply_code(KEY, "SAVE10")
    await shop.cart(shop.tee, key=OTHER)
    await shop.carts.apply_code(OTHER, "SAVE10")  # both carts show it: one order gets it
    first = await shop.checkout.place(KEY, request())
    with pytest.raises(PromotionUnavailable) as second:
        await shop.checkout.place(OTHER, request(email="bob@example.com"))
    assert second.value.reason == "exhausted"
    with pytest.raises(InvalidInput):  # the cart's answer says so too
        await shop.carts.apply_code(OTHER, "SAVE10")

    await shop.orders.cancel(first.order_id)  # unpaid: its use comes back
    await shop.checkout.place(OTHER, request(email="bob@example.com"))


async def test_an_expired_reservation_gives_the_use_back(shop: PricedShop) -> None:
    await shop.add(promotion(usage_limit=1))
    await shop.cart(shop.tee)
    await shop.carts.apply_code(KEY, "SAVE10")
    await shop.checkout.place(KEY, request())
    shop.clock.advance(minutes=31)
    assert await shop.orders.expire_reservations() == 1
    async with MemoryUnitOfWork(shop.store, read_only=True) as uow:
        again = await uow.promotions.by_code("SAVE10")
    assert again is not None and again.times_used == 0


async def test_a_code_this_email_used_up_is_refused_at_checkout(shop: PricedShop) -> None:
    await shop.add(promotion(per_email_limit=1))
    for key in (KEY, OTHER):
        await shop.cart(shop.tee, key=key)
        await shop.carts.apply_code(key, "SAVE10")
    await shop.checkout.place(KEY, request())
    with pytest.raises(PromotionUnavailable) as refused:
        await shop.checkout.place(OTHER, request(email="ADA@example.com"))
    assert (refused.value.code, refused.value.reason) == ("SAVE10", "per_email_limit")


async def test_an_automatic_promotion_this_email_used_up_is_left_out(shop: PricedShop) -> None:
    welcome = promotion(code=None, description="Welcome", per_email_limit=1)
    await shop.add(welcome)
    for key in (KEY, OTHER):
        view = await shop.cart(shop.tee, key=key)
        assert [d.description for d in view.quote.quote.discounts] == ["Welcome"]
    first = await shop.order((await shop.checkout.place(KEY, request())).order_id)
    placed = await shop.checkout.place(OTHER, request())
    order = await shop.order(placed.order_id)
    assert [d.description for d in first.discounts] == ["Welcome"]
    assert order.discounts == ()
    assert order.total == order.subtotal + order.shipping + order.tax
    assert order.total.amount == 2250 + 500 + 163  # Ground, and 7.25 % of 2250


async def test_a_payment_that_cannot_start_gives_the_use_and_the_code_back(shop: PricedShop) -> None:
    await shop.add(promotion(usage_limit=1))
    await shop.cart(shop.tee)
    await shop.carts.apply_code(KEY, "SAVE10")
    shop.gateway.fail_start = PaymentUnavailable("down")
    with pytest.raises(PaymentUnavailable):
        await shop.checkout.place(KEY, request())
    view = await shop.carts.view(KEY)
    assert (view.quote.code, view.quote.code_refusal) == ("SAVE10", None)
    assert [line.unit_price for line in view.lines] == [2250]
    shop.gateway.fail_start = None
    placed = await shop.checkout.place(KEY, request())
    assert (await shop.order(placed.order_id)).codes == ("SAVE10",)


# -- the property ------------------------------------------------------------------------------------

carts = st.lists(
    st.tuples(st.sampled_from(["tee", "mug"]), st.integers(1, 12), st.text("abc", max_size=3)), max_size=4
)
destinations = st.sampled_from([None, ("US", "CA"), ("US", "NY"), ("DE", None)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cart=carts.filter(bool),
    destination=destinations,
    express=st.booleans(),
    code=st.sampled_from([None, "SAVE10", "FIVE", "B2G1"]),
    tiers=st.lists(st.tuples(st.integers(2, 6), st.integers(1, 5000)), max_size=2),
)
async def test_the_quote_is_the_same_in_the_cart_at_checkout_and_on_the_order(
    cart: list[tuple[str, int, str]],
    destination: tuple[str, str | None] | None,
    express: bool,
    code: str | None,
    tiers: list[tuple[int, int]],
) -> None:
    shop = await make_shop()
    ordered = sorted(dict(tiers).items())
    volume = tuple(VolumeTier(q, max(b for _, b in ordered[: n + 1])) for n, (q, _) in enumerate(ordered))
    await shop.add(
        replace(shop.tee, volume_pricing=volume),
        promotion(code="SAVE10", combinable=False),
        promotion(code="FIVE", kind=PromotionKind.FIXED, value=500),
        promotion(code="B2G1", kind=PromotionKind.BUY_X_GET_Y, value=None, buy_quantity=2, get_quantity=1),
        promotion(code=None, description="Mugs 5 % off", value=500, product_ids=(shop.mug.id,)),
    )
    for name, quantity, text in cart:
        await shop.cart(shop.tee if name == "tee" else shop.mug, quantity, text or "x")
    address = {"US": US_CA, "DE": DE}[destination[0]] if destination else US_CA
    if destination is not None:
        method = shop.express.id if express and destination[0] == "US" else None
        await shop.carts.set_details(KEY, DetailsInput(CartAddress(*destination), shipping_method_id=method))
        address = replace(address, subdivision=destination[1])
    view = await shop.carts.view(KEY)
    if code is not None:
        with contextlib.suppress(InvalidInput):  # a code this cart does not qualify for
            view = await shop.carts.apply_code(KEY, code)
    shown = view.quote.quote
    identities_hold(shown)
    if destination is None:
        # No address in the cart: checkout's address decides, so the cart is told the same first.
        await shop.carts.set_details(KEY, DetailsInput(CartAddress("US", "CA")))
        shown = (await shop.carts.view(KEY)).quote.quote

    placed = await shop.checkout.place(KEY, request(address))

    order = await shop.order(placed.order_id)
    assert order_breakdown(order) == quote_breakdown(shown)
    assert order.status is OrderStatus.CREATED
