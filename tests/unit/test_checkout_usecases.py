"""Checkout, payment reports, operators' moves and stock on the in-memory adapters: fakes, not mocks.

The ``test`` provider pays without a network; where a gateway must fail or be watched, a hand-written
``FakeGateway`` implements the port and keeps what it was asked to do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from customshop.adapters.imaging.render import PillowRenderer
from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.memory.cache import MemoryCache
from customshop.adapters.memory.storage import MemoryFileStorage
from customshop.adapters.payments.sandbox import TestPaymentGateway
from customshop.adapters.system import UuidV7Ids
from customshop.application.cart import Carts
from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.application.catalog_cache import CatalogCache
from customshop.application.checkout import (
    CartChanged,
    Checkout,
    CheckoutRequest,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    OrderNotFound,
    PaymentNotStarted,
    Placed,
)
from customshop.application.customization import SESSION_KEY_PREFIX, GuestKeyNotFound
from customshop.application.inventory import Inventory
from customshop.application.orders import EXPIRED, NoticeOutcome, Orders
from customshop.application.ports import PaymentGateway, PaymentNotice, PaymentRejected, PaymentUnavailable
from customshop.application.prints import RENDER_PRINT, PrintFiles
from customshop.application.webhooks import Webhooks
from customshop.domain.catalog import Option, Product
from customshop.domain.errors import InvalidInput
from customshop.domain.events import OrderShipped, event_payload
from customshop.domain.hashing import hash_secret
from customshop.domain.idempotency import IdempotencyRecord
from customshop.domain.inventory import OutOfStock, StockBelowReserved, StockKey, StockLevel
from customshop.domain.orders import (
    IllegalTransition,
    Order,
    OrderStatus,
    PrintFilesNotReady,
    PrintStatus,
    StockState,
)
from customshop.domain.payments import Payment, PaymentStatus
from customshop.domain.quote import FlatRates
from tests.builders import ADDRESS
from tests.fakes import FakeGateway, NoSender, RecordingQueue, Refund, refuse_all
from tests.unit.conftest import issue_keys

S = OrderStatus
KEY = SESSION_KEY_PREFIX + "A" * 43
OTHER = SESSION_KEY_PREFIX + "B" * 43
BY_TEST = CheckoutRequest("ada@example.com", ADDRESS, "test")
BY_FAKE = CheckoutRequest("ada@example.com", ADDRESS, "fake")
TTL = timedelta(minutes=30)
#: How long a claimed Idempotency-Key may go untouched before another request takes it over.
LEASE = timedelta(seconds=60)
#: The tee: 2000 base, 250 for the printed line, 300 more in size L; 10 % tax; 500 + 100 per extra unit.
TEE_PRICE = {"S": 2250, "M": 2250, "L": 2550}


@dataclass
class Shop:
    store: MemoryStore
    clock: ManualClock
    catalog: Catalog
    carts: Carts
    checkout: Checkout
    orders: Orders
    prints: PrintFiles
    jobs: RecordingQueue
    inventory: Inventory
    gateway: FakeGateway
    tee: Product
    mug: Product

    async def cart_tee(self, size: str = "M", quantity: int = 1, text: str = "Hello", key: str = KEY) -> None:
        await self.carts.add_design(key, self.tee.id, {"line": {"text": text}, "size": size}, quantity)

    async def render_prints(self) -> None:
        """Render the print files that are due, as a worker would."""
        await self.prints.render_due()
        for payload in self.jobs.take(RENDER_PRINT):
            await self.prints.render(payload["line_id"], payload["file_id"])

    async def level(self, product_id: str, code: str | None = None) -> StockLevel | None:
        async with MemoryUnitOfWork(self.store, read_only=True) as uow:
            return await uow.inventory.get(StockKey(product_id, code))

    async def counts(self, product_id: str, code: str | None = None) -> tuple[int, int, int]:
        """``(on_hand, reserved, sold)`` of a level."""
        level = await self.level(product_id, code)
        assert level is not None
        return level.on_hand, level.reserved, level.sold

    async def cart_lines(self, key: str = KEY) -> list[Any]:
        return (await self.carts.view(key)).lines

    async def payment(self, payment_id: str) -> Payment:
        async with MemoryUnitOfWork(self.store, read_only=True) as uow:
            payment = await uow.payments.get(payment_id)
        assert payment is not None
        return payment

    async def payment_of(self, order_id: str) -> Payment:
        order = await self.orders.get(order_id)
        assert order.payment_id is not None
        return await self.payment(order.payment_id)

    async def paid_order(self) -> Order:
        """Two tees in size M, ordered through the fake gateway and paid."""
        await self.cart_tee("M", 2)
        placed = await self.checkout.place(KEY, BY_FAKE)
        payment = await self.payment(placed.payment.payment_id)
        assert payment.reference is not None
        await self.orders.apply("fake", success(payment.reference, placed.total))
        order = await self.orders.get(placed.order_id)
        assert order.status is S.PAID
        return order


def success(reference: str, amount: int, event: str | None = None) -> PaymentNotice:
    return PaymentNotice(event or f"{reference}:ok", reference, "succeeded", amount, "USD")


def failure(reference: str, event: str | None = None) -> PaymentNotice:
    return PaymentNotice(event or f"{reference}:failed", reference, "failed", failure="card declined")


async def make_shop(**checkout_options: Any) -> Shop:
    store, clock, ids, jobs = MemoryStore(), ManualClock(), UuidV7Ids(), RecordingQueue()
    issue_keys(store, KEY, OTHER)
    uow = partial(MemoryUnitOfWork, store)
    catalog = Catalog(uow, clock, ids, "USD")
    tee = await catalog.create_product(ProductInput(name="Classic Tee", description="", base_price=2000))
    sizes = await catalog.create_option_set(
        OptionSetInput(
            tee.id, "Size", (Option("S", "Small"), Option("M", "Medium"), Option("L", "Large", 300))
        )
    )
    text_zone = {
        "id": "line",
        "type": "text",
        "price_delta": 250,
        "area": {"x": 0, "y": 0, "width": 50, "height": 10},
    }
    await catalog.create_template(
        TemplateInput(
            tee.id,
            1,
            {
                "canvas": {"width": 100, "height": 100},
                "zones": [
                    text_zone,
                    {"id": "size", "type": "option", "option_set_id": sizes.id, "required": True},
                ],
            },
        )
    )
    mug = await catalog.create_product(ProductInput(name="Mug", description="", base_price=1200))
    await catalog.create_template(
        TemplateInput(mug.id, 1, {"canvas": {"width": 100, "height": 100}, "zones": [text_zone]})
    )
    gateway = FakeGateway()
    gateways: dict[str, PaymentGateway] = {"test": TestPaymentGateway(), "fake": gateway}
    inventory = Inventory(uow, clock)
    # Tees are limited, and so are sizes M and L; size S and mugs are made to order.
    await inventory.set_level(tee.id, None, 10)
    await inventory.set_level(tee.id, "M", 5)
    await inventory.set_level(tee.id, "L", 2)
    return Shop(
        store=store,
        clock=clock,
        catalog=catalog,
        carts=Carts(uow, clock, ids, FlatRates(1000, 500, 100), "USD"),
        checkout=Checkout(
            uow,
            clock,
            ids,
            FlatRates(1000, 500, 100),
            gateways,
            reservation_ttl=TTL,
            **{"idempotency_wait": timedelta(seconds=2), "idempotency_lease": LEASE, **checkout_options},
        ),
        orders=Orders(uow, clock, gateways, ids),
        prints=PrintFiles(
            uow,
            clock,
            ids,
            jobs,
            MemoryFileStorage(),
            PillowRenderer(),
            Webhooks(uow, clock, ids, jobs, NoSender(), refuse_all, (5,)),
            public_url="https://shop.example",
            render_timeout=timedelta(seconds=30),
            preview_side=100,
            fulfillment=False,
        ),
        jobs=jobs,
        inventory=inventory,
        gateway=gateway,
        tee=tee,
        mug=mug,
    )


@pytest.fixture
async def shop() -> Shop:
    return await make_shop()


def fields_of(error: InvalidInput | CartChanged) -> list[tuple[str, str]]:
    return [(v.field, v.code) for v in error.violations]


async def nothing_stored(shop: Shop) -> None:
    assert shop.store.orders == {} and shop.store.payments == {} and shop.store.idempotency == {}
    assert await shop.counts(shop.tee.id) == (10, 0, 0)
    assert await shop.counts(shop.tee.id, "M") == (5, 0, 0)
    assert await shop.counts(shop.tee.id, "L") == (2, 0, 0)


# -- the happy path ---------------------------------------------------------------------------------


async def test_a_guest_orders_pays_and_the_order_is_produced_shipped_and_delivered(shop: Shop) -> None:
    await shop.cart_tee("M", 2, text="Hi")
    carted = await shop.cart_lines()

    placed = await shop.checkout.place(KEY, BY_TEST, "first-try")

    subtotal = 2 * TEE_PRICE["M"]
    assert (placed.status, placed.currency) == ("created", "USD")
    assert placed.total == subtotal + subtotal // 10 + 500 + 100
    assert placed.order_token.startswith("otk_")
    payment = await shop.payment(placed.payment.payment_id)
    assert (payment.status, payment.provider, payment.amount) == (PaymentStatus.PENDING, "test", placed.total)
    assert placed.payment.payment_url == payment.payment_url == f"/test-payments/{payment.id}"
    assert await shop.cart_lines() == []
    order = await shop.orders.view(placed.order_id, session_key=KEY)
    assert (order.status, order.stock_state, order.payment_id) == (S.CREATED, StockState.RESERVED, payment.id)
    assert order.reserved_until == shop.clock.now() + TTL
    (line,) = order.lines
    assert (line.product_id, line.unit_price, line.quantity, line.option_codes) == (
        shop.tee.id,
        TEE_PRICE["M"],
        2,
        ("M",),
    )
    assert (line.template_snapshot, line.options) == (carted[0].template_snapshot, carted[0].options)
    assert await shop.counts(shop.tee.id) == (10, 2, 0)
    assert await shop.counts(shop.tee.id, "M") == (5, 2, 0)

    shop.clock.advance(minutes=1)
    outcome = await shop.orders.settle_test_payment(payment.id, succeed=True)

    assert outcome == NoticeOutcome("applied", order.id)
    order = await shop.orders.get(order.id)
    assert (order.status, order.stock_state, order.paid_amount.amount) == (
        S.PAID,
        StockState.COMMITTED,
        placed.total,
    )
    assert order.reserved_until is None
    assert (await shop.payment(payment.id)).status is PaymentStatus.SUCCEEDED
    assert await shop.counts(shop.tee.id) == (8, 0, 2)
    assert await shop.counts(shop.tee.id, "M") == (3, 0, 2)

    # Production waits for the print files, rendered once the order was paid.
    assert [line.print_file.status for line in order.lines] == [PrintStatus.PENDING]
    with pytest.raises(PrintFilesNotReady):
        await shop.orders.advance(order.id, S.IN_PRODUCTION)
    await shop.render_prints()
    assert [line.print_file.status for line in (await shop.orders.get(order.id)).lines] == [PrintStatus.READY]
    shop.clock.advance(minutes=1)
    await shop.render_prints()
    await shop.orders.advance(order.id, S.IN_PRODUCTION)
    shop.clock.advance(minutes=1)
    await shop.orders.advance(order.id, S.FULFILLED)
    shop.clock.advance(minutes=1)
    shipped = await shop.orders.advance(order.id, S.SHIPPED, tracking_url="https://track.example/1Z999")
    assert shipped.tracking_url == "https://track.example/1Z999"
    assert shipped.events == []  # committed: the events went to the outbox with the change
    async with MemoryUnitOfWork(shop.store) as uow:
        messages = await uow.outbox.pending(100, shop.clock.now())
    shipped_event = OrderShipped(order.id, shop.clock.now(), "https://track.example/1Z999")
    assert [(m.name, m.payload) for m in messages if m.name == "order.shipped"] == [
        ("order.shipped", event_payload(shipped_event))
    ]
    shop.clock.advance(minutes=1)
    await shop.orders.advance(order.id, S.DELIVERED)

    order = await shop.orders.view(order.id, token=placed.order_token)
    start = order.created_at
    assert [(entry.status, entry.at - start) for entry in order.timeline] == [
        (status, timedelta(minutes=n))
        for n, status in enumerate([S.CREATED, S.PAID, S.IN_PRODUCTION, S.FULFILLED, S.SHIPPED, S.DELIVERED])
    ]
    assert order.tracking_url == "https://track.example/1Z999"
    assert order.updated_at == shop.clock.now()
    assert await shop.counts(shop.tee.id) == (8, 0, 2)  # delivering moves no stock


# -- refusals: nothing is kept ------------------------------------------------------------------------


async def test_an_empty_cart_cannot_be_checked_out(shop: Shop) -> None:
    for key in (KEY, None):
        with pytest.raises(InvalidInput) as caught:
            await shop.checkout.place(key, BY_TEST, "k")
        assert fields_of(caught.value) == [("cart", "empty")]
    await nothing_stored(shop)


async def test_a_key_the_shop_did_not_issue_owns_nothing(shop: Shop) -> None:
    for key in ("not-a-session-key", SESSION_KEY_PREFIX + "C" * 43):
        with pytest.raises(GuestKeyNotFound):
            await shop.checkout.place(key, BY_TEST, "k")
    await nothing_stored(shop)


async def test_bad_contact_details_name_each_field_and_store_nothing(shop: Shop) -> None:
    await shop.cart_tee()
    request = CheckoutRequest(
        "ada.example.com", replace(ADDRESS, city=" ", country="gbr", line2="x" * 201), "test"
    )
    with pytest.raises(InvalidInput) as caught:
        await shop.checkout.place(KEY, request, "k")
    assert sorted(fields_of(caught.value)) == [
        ("email", "invalid_format"),
        ("shipping_address.city", "required"),
        ("shipping_address.country", "too_long"),
        ("shipping_address.line2", "too_long"),
    ]
    await nothing_stored(shop)
    assert len(await shop.cart_lines()) == 1


async def test_a_provider_that_is_not_enabled_is_refused(shop: Shop) -> None:
    await shop.cart_tee()
    with pytest.raises(InvalidInput) as caught:
        await shop.checkout.place(KEY, replace(BY_TEST, payment_provider="paypal"), "k")
    assert fields_of(caught.value) == [("payment_provider", "unavailable")]
    await nothing_stored(shop)


async def test_a_price_change_is_shown_in_the_cart_and_charged_only_on_the_next_checkout(shop: Shop) -> None:
    await shop.cart_tee("L", 1)
    await shop.catalog.replace_product(
        shop.tee.id, ProductInput(name="Classic Tee", description="", base_price=2400)
    )

    with pytest.raises(CartChanged) as caught:
        await shop.checkout.place(KEY, BY_TEST, "k")

    assert fields_of(caught.value) == [("items[0].unit_price", "price_changed")]
    (line,) = await shop.cart_lines()
    assert line.unit_price == TEE_PRICE["L"] + 400
    await nothing_stored(shop)
    placed = await shop.checkout.place(KEY, BY_TEST, "k")  # the key was released with the refusal
    order = await shop.orders.get(placed.order_id)
    assert order.subtotal.amount == TEE_PRICE["L"] + 400
    assert order.total.amount == placed.total
    assert order.total == order.subtotal + order.tax + order.shipping


async def test_checkout_prices_against_the_database_even_when_the_catalog_cache_is_behind(
    shop: Shop,
) -> None:
    uow = partial(MemoryUnitOfWork, shop.store)
    cache = CatalogCache(uow, MemoryCache(), ttl=60)
    await cache.refresh()  # and never again: this process has not noticed anything since
    checkout = Checkout(
        uow,
        shop.clock,
        UuidV7Ids(),
        FlatRates(1000, 500, 100),
        {"test": TestPaymentGateway()},
        reservation_ttl=TTL,
        catalog_cache=cache,
    )
    await shop.cart_tee("L", 1, key=OTHER)
    await shop.cart_tee("L", 1)
    await checkout.place(OTHER, BY_TEST)  # the tee is in this process's cache now
    # Another process raises the price; this process's cache still holds the old product.
    await shop.catalog.replace_product(
        shop.tee.id, ProductInput(name="Classic Tee", description="", base_price=2400)
    )

    with pytest.raises(CartChanged) as caught:
        await checkout.place(KEY, BY_TEST, "k")

    assert fields_of(caught.value) == [("items[0].unit_price", "price_changed")]
    placed = await checkout.place(KEY, BY_TEST, "k")
    assert (await shop.orders.get(placed.order_id)).subtotal.amount == TEE_PRICE["L"] + 400


async def test_a_product_no_longer_for_sale_is_named_by_its_line(shop: Shop) -> None:
    await shop.cart_tee("S", 1)
    await shop.carts.add_design(KEY, shop.mug.id, {"line": {"text": "Mum"}}, 1)
    await shop.catalog.deactivate_product(shop.mug.id)
    index = [line.product_id for line in await shop.cart_lines()].index(shop.mug.id)

    with pytest.raises(CartChanged) as caught:
        await shop.checkout.place(KEY, BY_TEST)

    assert fields_of(caught.value) == [(f"items[{index}].product_id", "not_available")]
    await nothing_stored(shop)
    assert len(await shop.cart_lines()) == 2


async def test_short_stock_is_refused_with_nothing_reserved(shop: Shop) -> None:
    await shop.cart_tee("L", 3)
    with pytest.raises(OutOfStock) as caught:
        await shop.checkout.place(KEY, BY_TEST, "k")
    assert [(s.key, s.wanted, s.available) for s in caught.value.shortages] == [
        (StockKey(shop.tee.id, "L"), 3, 2)
    ]
    await nothing_stored(shop)
    assert len(await shop.cart_lines()) == 1


async def test_two_lines_on_the_same_limited_size_are_counted_together(shop: Shop) -> None:
    await shop.cart_tee("L", 1, text="Front")
    await shop.cart_tee("L", 2, text="Back")
    assert len(await shop.cart_lines()) == 2  # two designs, one size: 3 units of L, 2 on the shelf
    with pytest.raises(OutOfStock) as caught:
        await shop.checkout.place(KEY, BY_TEST)
    assert [(s.key.option_code, s.wanted, s.available) for s in caught.value.shortages] == [("L", 3, 2)]
    await nothing_stored(shop)

    back = next(line for line in await shop.cart_lines() if line.quantity == 2)
    await shop.carts.change_quantity(KEY, back.id, 1)
    placed = await shop.checkout.place(KEY, BY_TEST)
    order = await shop.orders.get(placed.order_id)
    assert [(hold.key.option_code, hold.units) for hold in order.stock] == [(None, 2), ("L", 2)]
    assert await shop.counts(shop.tee.id, "L") == (2, 2, 0)
    assert await shop.counts(shop.tee.id) == (10, 2, 0)


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (PaymentUnavailable("the provider is down"), PaymentUnavailable),
        (PaymentRejected("no"), PaymentNotStarted),
    ],
)
async def test_a_payment_that_cannot_start_leaves_no_order_and_frees_the_key(
    shop: Shop, error: Exception, raised: type[Exception]
) -> None:
    await shop.cart_tee("M", 2)
    shop.gateway.fail_start = error

    with pytest.raises(raised):
        await shop.checkout.place(KEY, BY_FAKE, "k")

    await nothing_stored(shop)
    assert [line.quantity for line in await shop.cart_lines()] == [2]
    shop.gateway.fail_start = None
    placed = await shop.checkout.place(KEY, BY_FAKE, "k")
    assert placed.status == "created"
    assert list(shop.store.orders) == [placed.order_id]
    assert await shop.counts(shop.tee.id, "M") == (5, 2, 0)


# -- idempotency -------------------------------------------------------------------------------------


async def test_the_same_key_and_body_replay_the_first_answer(shop: Shop) -> None:
    await shop.cart_tee()
    first = await shop.checkout.place(KEY, BY_FAKE, "k")
    again = await shop.checkout.place(KEY, BY_FAKE, "k")

    assert again == first
    assert len(shop.store.orders) == len(shop.store.payments) == len(shop.gateway.started) == 1
    assert (await shop.orders.view(first.order_id, token=again.order_token)).id == first.order_id
    with pytest.raises(IdempotencyKeyReused):
        await shop.checkout.place(KEY, replace(BY_FAKE, email="someone@example.com"), "k")
    with pytest.raises(IdempotencyKeyReused):
        await shop.checkout.place(KEY, BY_TEST, "k")
    assert len(shop.store.orders) == 1


async def test_concurrent_requests_with_one_key_make_one_order() -> None:
    shop = await make_shop(idempotency_wait=timedelta(seconds=2))
    await shop.cart_tee()
    shop.gateway.hold = asyncio.Event()
    tasks = [asyncio.create_task(shop.checkout.place(KEY, BY_FAKE, "k")) for _ in range(4)]
    await shop.gateway.entered.wait()
    for _ in range(10):  # let the others find the key in progress
        await asyncio.sleep(0)
    assert not any(task.done() for task in tasks)
    shop.gateway.hold.set()

    answers = await asyncio.gather(*tasks)

    assert all(answer == answers[0] for answer in answers)
    assert len(shop.store.orders) == len(shop.store.payments) == len(shop.gateway.started) == 1
    assert await shop.counts(shop.tee.id, "M") == (5, 1, 0)


async def test_a_request_while_the_first_is_still_running_gives_up_after_the_wait() -> None:
    shop = await make_shop(idempotency_wait=timedelta(milliseconds=50))
    await shop.cart_tee()
    shop.gateway.hold = asyncio.Event()
    first = asyncio.create_task(shop.checkout.place(KEY, BY_FAKE, "k"))
    await shop.gateway.entered.wait()

    with pytest.raises(IdempotencyKeyInProgress):
        await shop.checkout.place(KEY, BY_FAKE, "k")

    shop.gateway.hold.set()
    placed = await first
    assert await shop.checkout.place(KEY, BY_FAKE, "k") == placed


async def test_a_claim_whose_process_died_is_taken_over_after_the_lease() -> None:
    shop = await make_shop(idempotency_wait=timedelta(milliseconds=50))
    await shop.cart_tee()
    now = shop.clock.now()
    shop.store.idempotency[(hash_secret(KEY), "k")] = IdempotencyRecord(
        hash_secret(KEY), "k", BY_TEST.fingerprint(), None, None, now, now
    )

    shop.clock.advance(seconds=LEASE.total_seconds() - 1)
    with pytest.raises(IdempotencyKeyInProgress):  # it may still be running
        await shop.checkout.place(KEY, BY_TEST, "k")
    shop.clock.advance(seconds=2)
    placed = await shop.checkout.place(KEY, BY_TEST, "k")

    assert list(shop.store.orders) == [placed.order_id]
    assert shop.store.idempotency[(hash_secret(KEY), "k")].result == placed.to_json()
    assert await shop.checkout.place(KEY, BY_TEST, "k") == placed


def frozen_copy(store: MemoryStore) -> MemoryStore:
    """The committed state of ``store`` as a process that stopped now would have left it."""
    copied = store.copy()
    copied.lock = asyncio.Lock()  # its own: the other process's locks died with it
    return copied


async def test_a_takeover_resumes_the_order_the_dead_process_had_created(shop: Shop) -> None:
    await shop.cart_tee("M", 2)
    shop.gateway.hold = asyncio.Event()
    running = asyncio.create_task(shop.checkout.place(KEY, BY_FAKE, "k"))
    await shop.gateway.entered.wait()  # order created and stock reserved; the payment is starting
    left_behind = frozen_copy(shop.store)
    (order_id,) = left_behind.orders
    (payment_id,) = left_behind.payments

    running.cancel()  # in this process, a cancelled request undoes its work
    with pytest.raises(asyncio.CancelledError):
        await running
    await nothing_stored(shop)

    # Another process finds the claim of the one that died, over the left-behind state.
    shop.store = left_behind
    uow = partial(MemoryUnitOfWork, left_behind)
    gateway = FakeGateway()
    checkout = Checkout(
        uow,
        shop.clock,
        UuidV7Ids(),
        FlatRates(1000, 500, 100),
        {"fake": gateway},
        TTL,
        idempotency_wait=timedelta(milliseconds=50),
        idempotency_lease=LEASE,
    )
    shop.clock.advance(seconds=LEASE.total_seconds() + 1)
    placed = await checkout.place(KEY, BY_FAKE, "k")

    assert (placed.order_id, placed.payment.payment_id) == (order_id, payment_id)
    assert [request.idempotency_key for request in gateway.started.values()] == [payment_id]
    assert list(left_behind.orders) == [order_id] and list(left_behind.payments) == [payment_id]
    assert await shop.counts(shop.tee.id, "M") == (5, 2, 0)  # reserved once, not twice
    async with uow(read_only=True) as reader:
        assert await reader.carts.lines(hash_secret(KEY)) == []


# -- payment reports ------------------------------------------------------------------------------------


async def test_a_failed_payment_keeps_the_order_and_a_retry_can_pay_it(shop: Shop) -> None:
    await shop.cart_tee("M", 1)
    placed = await shop.checkout.place(KEY, BY_TEST)
    first = placed.payment.payment_id

    assert (await shop.orders.settle_test_payment(first, succeed=False)).result == "applied"
    order = await shop.orders.get(placed.order_id)
    assert (order.status, order.payment_failure) == (S.CREATED, "the test card was declined")
    assert (await shop.payment(first)).status is PaymentStatus.FAILED
    assert await shop.counts(shop.tee.id, "M") == (5, 1, 0)  # still held for the guest

    shop.clock.advance(minutes=20)
    with pytest.raises(OrderNotFound):
        await shop.checkout.retry_payment(placed.order_id, OTHER, None)
    retried = await shop.checkout.retry_payment(placed.order_id, None, placed.order_token)

    assert retried.payment_id != first and retried.payment_url == f"/test-payments/{retried.payment_id}"
    order = await shop.orders.get(placed.order_id)
    assert (order.status, order.payment_id, order.payment_failure) == (S.CREATED, retried.payment_id, None)
    assert order.reserved_until == shop.clock.now() + TTL
    assert (await shop.orders.settle_test_payment(retried.payment_id, succeed=True)).result == "applied"
    order = await shop.orders.get(placed.order_id)
    assert (order.status, order.paid_amount.amount) == (S.PAID, placed.total)
    assert await shop.counts(shop.tee.id, "M") == (4, 0, 1)
    with pytest.raises(IllegalTransition):
        await shop.checkout.retry_payment(placed.order_id, KEY, None)


async def test_a_retry_stops_the_payment_still_pending(shop: Shop) -> None:
    await shop.cart_tee()
    placed = await shop.checkout.place(KEY, BY_FAKE)
    first = await shop.payment(placed.payment.payment_id)

    retried = await shop.checkout.retry_payment(placed.order_id, KEY, None)

    assert shop.gateway.cancels == [first.reference]
    assert (await shop.payment(first.id)).status is PaymentStatus.CANCELLED
    assert (await shop.payment(retried.payment_id)).status is PaymentStatus.PENDING
    assert retried.client_secret is not None


async def test_the_same_report_twice_is_applied_once(shop: Shop) -> None:
    await shop.cart_tee()
    placed = await shop.checkout.place(KEY, BY_TEST)
    assert (
        await shop.orders.settle_test_payment(placed.payment.payment_id, succeed=True)
    ).result == "applied"
    before = await shop.orders.get(placed.order_id)
    assert (
        await shop.orders.settle_test_payment(placed.payment.payment_id, succeed=True)
    ).result == "duplicate"
    after = await shop.orders.get(placed.order_id)
    assert after.timeline == before.timeline and after.status is S.PAID
    assert await shop.counts(shop.tee.id, "M") == (4, 0, 1)


async def test_a_success_for_a_cancelled_order_is_refunded(shop: Shop) -> None:
    await shop.cart_tee("M", 2)
    placed = await shop.checkout.place(KEY, BY_FAKE)
    payment = await shop.payment(placed.payment.payment_id)
    await shop.orders.cancel(placed.order_id)
    assert shop.gateway.cancels == [payment.reference]
    assert payment.reference is not None

    await shop.orders.apply("fake", success(payment.reference, placed.total))

    assert shop.gateway.refunds == [Refund(payment.reference, placed.total, "USD", f"refund-{payment.id}")]
    assert (await shop.payment(payment.id)).status is PaymentStatus.REFUNDED
    order = await shop.orders.get(placed.order_id)
    assert (order.status, order.paid_amount.amount) == (S.CANCELLED, 0)
    assert await shop.counts(shop.tee.id, "M") == (5, 0, 0)


async def test_a_success_of_the_wrong_amount_is_refunded_and_the_order_waits(shop: Shop) -> None:
    await shop.cart_tee()
    placed = await shop.checkout.place(KEY, BY_FAKE)
    payment = await shop.payment(placed.payment.payment_id)
    assert payment.reference is not None

    await shop.orders.apply("fake", success(payment.reference, placed.total - 1))

    assert shop.gateway.refunds == [
        Refund(payment.reference, placed.total - 1, "USD", f"refund-{payment.id}")
    ]
    order = await shop.orders.get(placed.order_id)
    assert order.status is S.CREATED and order.payment_failure is not None
    assert await shop.counts(shop.tee.id, "M") == (5, 1, 0)


async def test_a_failure_reported_after_the_success_changes_nothing(shop: Shop) -> None:
    await shop.cart_tee()
    placed = await shop.checkout.place(KEY, BY_FAKE)
    payment = await shop.payment(placed.payment.payment_id)
    assert payment.reference is not None
    await shop.orders.apply("fake", success(payment.reference, placed.total))
    before = await shop.orders.get(placed.order_id)

    await shop.orders.apply("fake", failure(payment.reference))

    after = await shop.orders.get(placed.order_id)
    assert (after.status, after.payment_failure, after.timeline) == (S.PAID, None, before.timeline)
    assert (await shop.payment(payment.id)).status is PaymentStatus.SUCCEEDED


# -- cancellation and refunds ---------------------------------------------------------------------------


async def test_cancelling_an_unpaid_order_releases_its_stock_and_stops_its_payment(shop: Shop) -> None:
    await shop.cart_tee("M", 2)
    placed = await shop.checkout.place(KEY, BY_FAKE)
    payment = await shop.payment(placed.payment.payment_id)

    order = await shop.orders.cancel(placed.order_id)

    assert (order.status, order.stock_state) == (S.CANCELLED, StockState.RELEASED)
    assert await shop.counts(shop.tee.id, "M") == (5, 0, 0)
    assert await shop.counts(shop.tee.id) == (10, 0, 0)
    assert shop.gateway.cancels == [payment.reference]
    assert (await shop.payment(payment.id)).status is PaymentStatus.CANCELLED
    assert shop.gateway.refunds == []
    with pytest.raises(IllegalTransition):
        await shop.orders.cancel(placed.order_id)


async def test_cancelling_a_paid_order_refunds_the_total_and_restocks(shop: Shop) -> None:
    order = await shop.paid_order()
    payment = await shop.payment_of(order.id)
    assert payment.reference is not None
    assert await shop.counts(shop.tee.id, "M") == (3, 0, 2)

    refunded = await shop.orders.cancel(order.id)

    assert (refunded.status, refunded.refunded_amount, refunded.stock_state) == (
        S.REFUNDED,
        order.total,
        StockState.RESTOCKED,
    )
    assert shop.gateway.refunds == [
        Refund(payment.reference, order.total.amount, "USD", f"refund-{order.id}")
    ]
    assert (await shop.payment(payment.id)).status is PaymentStatus.REFUNDED
    assert await shop.counts(shop.tee.id, "M") == (5, 0, 0)
    assert await shop.counts(shop.tee.id) == (10, 0, 0)
    with pytest.raises(IllegalTransition):  # once
        await shop.orders.cancel(order.id)
    assert len(shop.gateway.refunds) == 1


async def test_a_refund_after_production_started_does_not_restock(shop: Shop) -> None:
    order = await shop.paid_order()
    await shop.render_prints()
    await shop.orders.advance(order.id, S.IN_PRODUCTION)

    refunded = await shop.orders.cancel(order.id)

    assert (refunded.status, refunded.stock_state) == (S.REFUNDED, StockState.COMMITTED)
    assert [refund.amount for refund in shop.gateway.refunds] == [order.total.amount]
    assert await shop.counts(shop.tee.id, "M") == (3, 0, 2)


async def test_a_refund_the_gateway_cannot_make_changes_nothing(shop: Shop) -> None:
    order = await shop.paid_order()
    shop.gateway.fail_refund = PaymentUnavailable("the provider is down")

    with pytest.raises(PaymentUnavailable):
        await shop.orders.cancel(order.id)

    after = await shop.orders.get(order.id)
    assert (after.status, after.refunded_amount.amount, after.timeline) == (S.PAID, 0, order.timeline)
    assert (await shop.payment_of(order.id)).status is PaymentStatus.SUCCEEDED
    assert await shop.counts(shop.tee.id, "M") == (3, 0, 2)
    shop.gateway.fail_refund = None
    assert (await shop.orders.cancel(order.id)).status is S.REFUNDED  # a retry goes through


async def test_operators_cannot_make_illegal_moves(shop: Shop) -> None:
    await shop.cart_tee()
    placed = await shop.checkout.place(KEY, BY_FAKE)
    for status in (S.PAID, S.IN_PRODUCTION, S.SHIPPED, S.DELIVERED, S.REFUNDED, S.CREATED):
        with pytest.raises(IllegalTransition):
            await shop.orders.advance(placed.order_id, status)
    paid = await shop.paid_order()
    for status in (S.CANCELLED, S.FULFILLED, S.DELIVERED, S.PAID, S.CREATED):
        with pytest.raises(IllegalTransition):
            await shop.orders.advance(paid.id, status)
    assert [entry.status for entry in (await shop.orders.get(placed.order_id)).timeline] == [S.CREATED]
    assert (await shop.orders.get(paid.id)).status is S.PAID
    assert shop.gateway.refunds == []


async def test_moving_a_paid_order_to_refunded_refunds_it(shop: Shop) -> None:
    order = await shop.paid_order()
    await shop.render_prints()
    await shop.orders.advance(order.id, S.IN_PRODUCTION)
    await shop.orders.advance(order.id, S.FULFILLED)

    refunded = await shop.orders.advance(order.id, S.REFUNDED)

    assert (refunded.status, refunded.refunded_amount) == (S.REFUNDED, order.total)
    assert [refund.amount for refund in shop.gateway.refunds] == [order.total.amount]
    assert [entry.status for entry in refunded.timeline][-3:] == [S.IN_PRODUCTION, S.FULFILLED, S.REFUNDED]


# -- expiry ----------------------------------------------------------------------------------------------


async def test_unpaid_orders_expire_after_the_reservation(shop: Shop) -> None:
    await shop.cart_tee("L", 2)
    placed = await shop.checkout.place(KEY, BY_FAKE)
    payment = await shop.payment(placed.payment.payment_id)
    paid = await shop.paid_order()

    shop.clock.advance(minutes=30)
    assert await shop.orders.expire_reservations() == 0
    assert (await shop.orders.get(placed.order_id)).status is S.CREATED
    assert await shop.counts(shop.tee.id, "L") == (2, 2, 0)

    shop.clock.advance(seconds=1)
    assert await shop.orders.expire_reservations() == 1

    order = await shop.orders.get(placed.order_id)
    assert (order.status, order.timeline[-1].note) == (S.CANCELLED, EXPIRED)
    assert await shop.counts(shop.tee.id, "L") == (2, 0, 0)
    assert await shop.counts(shop.tee.id) == (8, 0, 2)  # the paid order's two tees stay sold
    assert shop.gateway.cancels == [payment.reference]
    assert (await shop.orders.get(paid.id)).status is S.PAID
    assert await shop.orders.expire_reservations() == 0


# -- inventory --------------------------------------------------------------------------------------------


async def test_setting_a_level_checks_the_product_the_option_code_and_the_count(shop: Shop) -> None:
    cases = [
        (("no-such-product", None, 3), [("product_id", "unknown")]),
        ((shop.tee.id, "XXL", 3), [("option_code", "unknown")]),
        ((shop.tee.id, "S", -1), [("on_hand", "out_of_range")]),
        (("no-such-product", None, -1), [("on_hand", "out_of_range"), ("product_id", "unknown")]),
    ]
    for args, expected in cases:
        with pytest.raises(InvalidInput) as caught:
            await shop.inventory.set_level(*args)
        assert sorted(fields_of(caught.value)) == expected
    assert await shop.level(shop.tee.id, "S") is None  # still made to order

    level = await shop.inventory.set_level(shop.tee.id, "S", 4)
    assert (level.on_hand, level.reserved, level.available) == (4, 0, 4)


async def test_a_level_cannot_go_below_what_unpaid_orders_hold(shop: Shop) -> None:
    await shop.cart_tee("M", 3)
    await shop.checkout.place(KEY, BY_TEST)
    with pytest.raises(StockBelowReserved):
        await shop.inventory.set_level(shop.tee.id, "M", 2)
    assert await shop.counts(shop.tee.id, "M") == (5, 3, 0)
    level = await shop.inventory.set_level(shop.tee.id, "M", 3)
    assert (level.on_hand, level.reserved, level.available) == (3, 3, 0)


# -- guest access -----------------------------------------------------------------------------------------


async def test_only_the_guest_that_ordered_can_see_the_order(shop: Shop) -> None:
    await shop.cart_tee()
    placed: Placed = await shop.checkout.place(KEY, BY_TEST)

    assert (await shop.orders.view(placed.order_id, session_key=KEY)).id == placed.order_id
    assert (await shop.orders.view(placed.order_id, token=placed.order_token)).id == placed.order_id
    assert (
        await shop.orders.view(placed.order_id, session_key=OTHER, token=placed.order_token)
    ).id == placed.order_id
    for credentials in (
        {"session_key": OTHER},
        {"token": "otk_" + "x" * 32},
        {"token": placed.order_token + "x"},
        {},
    ):
        with pytest.raises(OrderNotFound):
            await shop.orders.view(placed.order_id, **credentials)
    with pytest.raises(OrderNotFound):
        await shop.orders.view("no-such-order", session_key=KEY)
