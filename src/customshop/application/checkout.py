"""Checkout: turn a guest's cart into an order, its stock reserved and its payment started.

All or nothing, in four named steps:

1. **claim** the ``Idempotency-Key`` (when given), first in the reservation's transaction;
2. **reserve** (:meth:`Checkout._reserve`), in that same transaction: the cart re-priced and
   re-checked against the catalog as the database holds it now, and quoted by the same function as
   the cart's answers (:func:`~customshop.application.quotes.quote_cart`: region, shipping method,
   promotions); the order created with that quote, the cart emptied (and its promotion code
   cleared), the uses of its counted promotions claimed (``PromotionUses.claim``: atomic per
   promotion, so a limited code is never used by more orders than its limit), and the stock of the
   whole cart reserved (the promotions' and the stock's rows locked last, so that they stay locked
   only until the commit). It returns
   :class:`Reserved`, or :class:`CartChanged` when a line's price or availability moved: then the
   cart's new prices are stored and the claim dropped in the same transaction, and the guest is
   told (409), never charged silently. The cart's promotion code no longer applying (expired,
   deactivated, used up, this email's limit reached, the cart no longer qualifying) is a 409 too,
   :class:`PromotionUnavailable`, naming the code and why;
3. **start the payment** with the provider, outside any transaction; when it cannot start, the
   order is abandoned (removed, its stock and promotion uses released, its lines and code back in
   the cart);
4. **confirm** (:meth:`Checkout._confirm`): a second transaction records the payment handle and
   places the order (its token), and stores the result under the key.

``Idempotency-Key``: the first request with a key claims it in that first transaction, so a
concurrent repeat waits on the claim (a unique index) rather than doing the work twice, and a
failure rolls the claim back with everything else. A repeat with the same body replays the first
result, waiting for it while the first is still running; a different body is a 409. A claim whose
process died is taken over after a lease and the work resumed where it stopped; keys are kept for
``CUSTOMSHOP_RETENTION_IDEMPOTENCY_HOURS`` (48 by default), then the retention purge forgets them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from customshop.application.cart import destination_problems
from customshop.application.catalog_cache import CatalogCache
from customshop.application.customization import GuestKeyNotFound, live_guest
from customshop.application.design_source import design_source
from customshop.application.inventory import apply_stock
from customshop.application.ports import (
    Clock,
    IdGenerator,
    PaymentGateway,
    PaymentRejected,
    PaymentRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from customshop.application.quotes import CartQuote, quote_cart, quote_line
from customshop.domain.cart import CartDetails, CartLine, design_key
from customshop.domain.catalog import Product
from customshop.domain.errors import Conflict, InvalidInput, NotFound, Violation
from customshop.domain.hashing import hash_secret
from customshop.domain.idempotency import IdempotencyRecord
from customshop.domain.inventory import OutOfStock, Shortage
from customshop.domain.orders import (
    IllegalTransition,
    Order,
    OrderLine,
    OrderStatus,
    ShippingAddress,
    check_contact,
    stock_wanted,
)
from customshop.domain.payments import Payment, PaymentStatus
from customshop.domain.pricing import quote_design
from customshop.domain.promotions import Promotion
from customshop.domain.quote import FlatRates
from customshop.domain.regions import Destination
from customshop.domain.validation import AssetInfo, check_design

log = logging.getLogger("customshop.checkout")

#: How every order token starts.
ORDER_TOKEN_PREFIX = "otk_"  # noqa: S105 - a prefix, not a secret


class OrderNotFound(NotFound):
    pass


class CartChanged(Conflict):
    """The catalog changed under the cart: ``violations`` name each line concerned (``items[i]...``).

    Also the outcome :meth:`Checkout._reserve` returns (not raises) once it stored the cart's new
    prices, for the caller to raise."""


class PromotionUnavailable(Conflict):
    """A promotion of the cart can no longer be used at checkout: its ``code`` (None for an
    automatic promotion) and ``reason``: ``unknown`` (deactivated or deleted), ``expired``,
    ``exhausted`` (its uses are all taken), ``per_email_limit`` (this email used it as often as it
    may), ``not_applicable`` or ``min_subtotal`` (the cart no longer qualifies)."""

    def __init__(self, promotion: Promotion | None, code: str | None, reason: str) -> None:
        name = code or (promotion.description if promotion is not None else "a promotion")
        super().__init__(
            f"The promotion {name} can no longer be used ({reason}): remove it from the cart, or "
            "review the cart, and check out again.",
            [Violation("code", reason, f"{name}: {_REASONS.get(reason, 'it can no longer be used')}")],
        )
        self.promotion_id = promotion.id if promotion is not None else None
        self.code = code
        self.reason = reason


_REASONS = {
    "unknown": "the promotion is no longer offered",
    "expired": "the promotion is not valid now",
    "exhausted": "the promotion has been used as often as it may be",
    "per_email_limit": "this email has used the promotion as often as it may",
    "not_applicable": "the promotion applies to nothing in the cart any more",
    "min_subtotal": "the cart's eligible items no longer reach the promotion's minimum",
}


class IdempotencyKeyReused(Conflict):
    pass


class IdempotencyKeyInProgress(Conflict):
    pass


class _KeyTaken(Exception):
    """The idempotency key is claimed already (by ``record``); the claiming transaction rolled back."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


class _LeftOut(Exception):
    """An automatic promotion's use could not be claimed; the placing transaction rolled back, to be
    run again without it."""

    def __init__(self, promotion_id: str) -> None:
        super().__init__(promotion_id)
        self.promotion_id = promotion_id


class PaymentNotStarted(InvalidInput):
    """The provider refused to start the payment."""


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What a checkout body asks for. ``shipping_method_id`` None: the one the cart chose, or the
    cheapest."""

    email: str
    shipping_address: ShippingAddress
    payment_provider: str
    shipping_method_id: str | None = None

    def fingerprint(self) -> str:
        """The body's digest, which an ``Idempotency-Key`` is bound to. Fields left out (None) that
        bodies did not have before are left out of it too, so a key's fingerprint stays the same."""
        given = asdict(self)
        if self.shipping_method_id is None:
            del given["shipping_method_id"]
        if self.shipping_address.subdivision is None:
            del given["shipping_address"]["subdivision"]
        canonical = json.dumps(given, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def destination(self, details: CartDetails | None) -> Destination:
        """Where the order goes, for pricing: the address's country and postal code, and its
        subdivision, or else the one the cart's details gave for the same country."""
        address = self.shipping_address
        subdivision = address.subdivision
        told = details.address if details is not None else None
        if subdivision is None and told is not None and told.country == address.country:
            subdivision = told.subdivision
        return Destination(address.country, subdivision, address.postal_code)


@dataclass(frozen=True, slots=True)
class PaymentView:
    provider: str
    payment_id: str
    client_secret: str | None = None
    approval_url: str | None = None
    payment_url: str | None = None

    @classmethod
    def of(cls, payment: Payment) -> PaymentView:
        return cls(
            payment.provider, payment.id, payment.client_secret, payment.approval_url, payment.payment_url
        )


@dataclass(frozen=True, slots=True)
class Placed:
    """What checkout answers: the order, the token that lets its guest read it, how to pay."""

    order_id: str
    order_token: str
    status: str
    total: int
    currency: str
    payment: PaymentView

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Placed:
        raw = json.loads(data)
        return cls(**{**raw, "payment": PaymentView(**raw["payment"])})


@dataclass(frozen=True, slots=True)
class Reserved:
    """Step 2's outcome: the order created with its stock reserved, its payment not started yet,
    and the claim of the idempotency key (if any) naming the order."""

    order: Order
    payment: Payment
    claim: IdempotencyRecord | None


@dataclass(frozen=True, slots=True)
class _Priced:
    """The cart's lines as order lines (each with its cart line's id), priced against the catalog
    as the database holds it now, and their products."""

    lines: list[OrderLine]
    products: dict[str, Product]


@dataclass(frozen=True, slots=True)
class _Repriced:
    """The cart no longer matches the catalog: what to tell the guest, and the lines whose price
    moved, to store with their new prices."""

    problems: list[Violation]
    lines: list[CartLine]


class Checkout:
    """Placing orders and (re)starting their payments."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        flat: FlatRates,
        gateways: Mapping[str, PaymentGateway],
        reservation_ttl: timedelta,
        catalog_cache: CatalogCache | None = None,
        idempotency_wait: timedelta = timedelta(seconds=10),
        idempotency_lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._flat = flat
        self._gateways = gateways
        self._ttl = reservation_ttl
        self._cache = catalog_cache
        self._wait = idempotency_wait
        self._lease = idempotency_lease

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(sorted(self._gateways))

    async def body_problems(self, given: Mapping[str, object]) -> list[Violation]:
        """What the stored rules and this shop's providers say of a checkout body's raw fields while
        the rest of it may be malformed: a provider not enabled, a country not shipped to, an
        unknown shipping method (see :meth:`place`)."""
        address = given.get("shipping_address")
        country = address.get("country") if isinstance(address, Mapping) else None
        async with self._uow(read_only=True) as uow:
            stored = await destination_problems(
                uow, country, given.get("shipping_method_id"), country_field="shipping_address.country"
            )
        return self.provider_problems(given.get("payment_provider")) + stored

    def provider_problems(self, provider: object) -> list[Violation]:
        """A violation when ``provider`` (raw: any value) is not a payment provider this shop has
        enabled; none for an enabled one, or for a value that is not even a string (the body's own
        check names that)."""
        if not isinstance(provider, str) or provider in self._gateways:
            return []
        enabled = ", ".join(self.providers) or "none"
        return [Violation("payment_provider", "unavailable", f"this shop takes payments through: {enabled}")]

    async def place(
        self, session_key: str | None, request: CheckoutRequest, idempotency_key: str | None = None
    ) -> Placed:
        """Place an order for the guest's cart.

        Raises:
            InvalidInput: a bad email or address, an unknown or disabled provider, a country this
                shop does not ship to once regions exist (``shipping_address.country``,
                ``not_shippable``), a shipping method that is not an active one of its region
                (``shipping_method_id``, ``unknown``), each field named; an empty cart (``cart``).
            GuestKeyNotFound: a session key that was never issued, or expired.
            CartChanged: prices or availability changed since the lines were carted (the cart now
                shows the current prices).
            PromotionUnavailable: a promotion of the cart can no longer be used; nothing is kept.
            OutOfStock: some units are short; nothing is reserved.
            IdempotencyKeyReused: the key was used with another body.
            IdempotencyKeyInProgress: the first request with this key is still running.
            PaymentUnavailable: the provider cannot be reached; nothing is kept.
            PaymentNotStarted: the provider refused the payment; nothing is kept.
        """
        problems = check_contact(request.email, request.shipping_address)
        problems += self.provider_problems(request.payment_provider)
        async with self._uow(read_only=True) as uow:
            if problems:  # named with what the stored rules say of the destination, all at once
                problems += await destination_problems(
                    uow,
                    request.shipping_address.country,
                    request.shipping_method_id,
                    country_field="shipping_address.country",
                )
                raise InvalidInput(problems, "The checkout details are invalid.")
            # Otherwise the destination is judged where the order is quoted (``_quote``), from the
            # rules the quote reads anyway.
            guest = await live_guest(uow, session_key, self._clock.now())
        if guest is None:
            raise _empty_cart()
        if idempotency_key is None:
            return await self._run(guest, request, None, resume=False)
        return await self._idempotent(guest, request, idempotency_key)

    async def retry_payment(
        self, order_id: str, session_key: str | None, token: str | None, provider: str | None = None
    ) -> PaymentView:
        """A new payment for a ``created`` order whose payment failed (or was abandoned); the pending
        one, if any, is cancelled, and the reservation is extended.

        Raises:
            OrderNotFound: unknown, or not this guest's. IllegalTransition: the order is not ``created``.
            InvalidInput: a provider that is not enabled. PaymentUnavailable, PaymentNotStarted.
        """
        if provider is not None and provider not in self._gateways:
            raise InvalidInput(
                [Violation("payment_provider", "unavailable", f"enabled: {', '.join(self.providers)}")]
            )
        now = self._clock.now()
        async with self._uow() as uow:
            order = await uow.orders.get(order_id, for_update=True)
            if order is None or not await owns(uow, order, session_key, token, now):
                raise OrderNotFound(f"there is no order {order_id!r}")
            if order.status is not OrderStatus.CREATED:
                raise IllegalTransition(f"an order that is {order.status} takes no new payment")
            previous = await uow.payments.get(order.payment_id) if order.payment_id else None
            payment = self._new_payment(self._ids.new_id(), order, provider or order.payment_provider, now)
            await uow.payments.add(payment)
            await uow.commit()
        try:
            started = await self._start(order, payment, payment.id)
        except Exception as exc:
            async with self._uow() as uow:
                await uow.payments.update(payment.settled(PaymentStatus.FAILED, self._clock.now(), str(exc)))
                await uow.commit()
            raise
        if previous is not None and previous.status is PaymentStatus.PENDING and previous.reference:
            await stop_payment(self._gateways, previous)
        now = self._clock.now()
        async with self._uow() as uow:
            order = await uow.orders.get(order_id, for_update=True)
            if order is None or order.status is not OrderStatus.CREATED:
                raise IllegalTransition(
                    "the order stopped waiting for payment meanwhile (it expired or was paid)"
                )
            if previous is not None and previous.status is PaymentStatus.PENDING:
                current = await uow.payments.get(previous.id)
                if current is not None and current.status is PaymentStatus.PENDING:
                    await uow.payments.update(current.settled(PaymentStatus.CANCELLED, now))
            order.restart_payment(started.id, started.provider, now + self._ttl, now)
            await uow.payments.update(started)
            await uow.orders.update(order)
            await uow.commit()
        return PaymentView.of(started)

    # -- idempotency -----------------------------------------------------------------------------

    async def _idempotent(self, guest: str, request: CheckoutRequest, key: str) -> Placed:
        fingerprint = request.fingerprint()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait.total_seconds()
        delay = 0.02
        while True:
            now = self._clock.now()
            claim = IdempotencyRecord(guest, key, fingerprint, None, None, now, now)
            try:
                return await self._run(guest, request, claim, resume=False)
            except _KeyTaken as taken:
                existing = taken.record
            if existing.request_hash != fingerprint:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with another request body; use a new key"
                )
            if existing.result is not None:
                return Placed.from_json(existing.result)
            if existing.updated_at < now - self._lease:
                async with self._uow() as uow:
                    mine = await uow.idempotency.take_over(guest, key, now - self._lease, now)
                    await uow.commit()
                if mine:
                    return await self._run(guest, request, replace(existing, updated_at=now), resume=True)
            if loop.time() >= deadline:
                raise IdempotencyKeyInProgress(
                    "a request with this Idempotency-Key is still being processed; retry shortly"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def _forget_key(self, claim: IdempotencyRecord | None) -> None:
        if claim is None:
            return
        async with self._uow() as uow:
            await uow.idempotency.delete(claim.scope, claim.key)
            await uow.commit()

    # -- the work --------------------------------------------------------------------------------

    async def _run(
        self, guest: str, request: CheckoutRequest, claim: IdempotencyRecord | None, *, resume: bool
    ) -> Placed:
        """Place the order: reserve, start the payment, confirm. ``claim`` is the idempotency record
        to store the outcome in: a new one is claimed by the reservation's transaction (raising
        ``_KeyTaken`` when the key is claimed already), a taken-over one (``resume``) names the
        order to pick up, if any."""
        left_out: frozenset[str] = frozenset()
        while True:
            try:
                outcome = await self._reserve(guest, request, claim, resume=resume, left_out=left_out)
            except _KeyTaken:
                raise
            except _LeftOut as exc:  # rolled back: again, without that automatic promotion
                left_out |= {exc.promotion_id}
                continue
            except BaseException:
                if resume:
                    await self._forget_key(claim)  # otherwise the claim was rolled back with the rest
                raise
            break
        if isinstance(outcome, CartChanged):
            raise outcome
        try:
            # The payment's id is the provider's idempotency key: a resumed checkout reuses it.
            started = await self._start(outcome.order, outcome.payment, outcome.payment.id)
        except BaseException:
            await self._abandon(outcome.order.id)
            await self._forget_key(outcome.claim)
            raise
        return await self._confirm(outcome, started)

    async def _reserve(
        self,
        guest: str,
        request: CheckoutRequest,
        claim: IdempotencyRecord | None,
        *,
        resume: bool,
        left_out: frozenset[str] = frozenset(),
    ) -> Reserved | CartChanged:
        """Steps 1 and 2, one transaction: claim the key, re-price, reserve, create the order and
        its (not yet started) payment. Resuming a claim whose process died picks up the order it
        had created.

        The claim rides in this transaction, naming the order to be: a concurrent request with the
        same key waits on it (a unique index) and then finds the claim with its order, and a
        failure rolls it back too. When the cart changed, the transaction stores the cart's new
        prices, drops the claim and commits, and :class:`CartChanged` is returned.

        The uses of the order's counted promotions are claimed last but the stock, in promotion id
        order, so that concurrent checkouts take the promotions' row locks in one order and hold them
        only to the commit. An automatic promotion whose claim fails (its uses ran out since the cart
        was quoted, or this email used it up) is left out (``left_out``): the transaction is rolled
        back (:class:`_LeftOut`) and the order quoted again without it, for automatic promotions are
        the shop's offer to every cart they fit, not the guest's to insist on. The cart's code is:
        when it does not apply or its claim fails, the checkout stops.

        Raises:
            _KeyTaken: the key is claimed already. InvalidInput: the cart is empty, or the country
                is in no region while regions exist (``not_shippable``).
            PromotionUnavailable: the cart's promotion code no longer applies, or its claim failed.
            _LeftOut: an automatic promotion's claim failed (nothing is kept).
            OutOfStock: some units are short (nothing is kept).
        """
        now = self._clock.now()
        order_id = self._ids.new_id()
        async with self._uow() as uow:
            if claim is not None and not resume:
                claim = replace(claim, order_id=order_id)
                await self._claim(uow, claim)
            if claim is not None and resume and claim.order_id is not None:
                order = await uow.orders.get(claim.order_id)
                payment = await uow.payments.get(order.payment_id) if order and order.payment_id else None
                if order is not None and payment is not None and order.status is OrderStatus.CREATED:
                    return Reserved(order, payment, claim)
            # Locked: a concurrent checkout of the same cart waits here, then finds it empty.
            cart = await uow.carts.lines(guest, for_update=True)
            if not cart:
                raise _empty_cart()
            priced = await self._reprice(uow, cart)
            if isinstance(priced, _Repriced):
                for line in priced.lines:
                    await uow.carts.reprice(line)
                if claim is not None:
                    await uow.idempotency.delete(claim.scope, claim.key)
                await uow.commit()
                return CartChanged(
                    "The cart changed since it was filled; review it and check out again.", priced.problems
                )
            details = await uow.cart_details.get(guest)
            quoted = await self._quote(uow, priced, request, details, cart[0].currency, left_out)
            holds = await uow.inventory.holds_for(stock_wanted(priced.lines))
            payment_id = self._ids.new_id()
            order = Order.place(
                id=order_id,
                guest=guest,
                email=request.email,
                shipping_address=request.shipping_address,
                lines=tuple(priced.lines),
                quote=quoted.quote,
                stock=holds,
                reserved_until=now + self._ttl,
                payment_provider=request.payment_provider,
                payment_id=payment_id,
                at=now,
            )
            payment = self._new_payment(payment_id, order, request.payment_provider, now)
            await uow.orders.add(order)
            await uow.payments.add(payment)
            for line in cart:  # the cart is emptied once the order exists
                await uow.carts.delete(line.id)
            if details is not None and details.promotion_code is not None:  # a code is used once
                await uow.cart_details.save(replace(details, promotion_code=None, updated_at=now))
            if claim is not None and claim.order_id != order.id:  # resumed, its order gone
                claim = replace(claim, order_id=order.id, updated_at=now)
                await uow.idempotency.update(claim)
            refused = await self._claim_uses(uow, quoted.applied, order.id, request.email)
            if refused is not None and refused.automatic:
                raise _LeftOut(refused.id)
            if refused is not None:
                raise PromotionUnavailable(refused, refused.code, await self._why_refused(uow, refused))
            try:
                # Last: the levels' row locks are held only from here to the commit.
                await uow.inventory.reserve_holds(holds, now)
            except OutOfStock as exc:
                raise OutOfStock(exc.shortages, _short_lines(priced.lines, exc.shortages)) from None
            await uow.commit()
        order.events.clear()
        return Reserved(order, payment, claim)

    async def _quote(
        self,
        uow: UnitOfWork,
        priced: _Priced,
        request: CheckoutRequest,
        details: CartDetails | None,
        currency: str,
        left_out: frozenset[str],
    ) -> CartQuote:
        """The order's quote, by the function that quotes carts, without the automatic promotions
        ``left_out``.

        Raises:
            InvalidInput: the country is in no region while regions exist (``not_shippable``), or
                the method asked for is not one of its region's active methods (``unknown``).
            PromotionUnavailable: the cart's promotion code no longer applies.
        """
        destination = request.destination(details)
        lines = [
            quote_line(
                line.id,
                line.product_id,
                line.carted_unit_price,
                line.quantity,
                priced.products[line.product_id],
            )
            for line in priced.lines
        ]
        quoted = await quote_cart(
            uow,
            lines,
            currency=currency,
            flat=self._flat,
            now=self._clock.now(),
            destination=destination,
            shipping_method_id=request.shipping_method_id
            or (details.shipping_method_id if details else None),
            code=details.promotion_code if details is not None else None,
            leave_out=left_out,
        )
        problems: list[Violation] = []
        if not quoted.shippable:
            problems.append(
                Violation(
                    "shipping_address.country",
                    "not_shippable",
                    f"this shop does not ship to {destination.country}",
                )
            )
        method = request.shipping_method_id
        if method is not None and all(option.id != method for option in quoted.quote.shipping_options):
            problems.append(
                Violation(
                    "shipping_method_id",
                    "unknown",
                    f"there is no active shipping method {method!r} to {destination.country}",
                )
            )
        if problems:
            raise InvalidInput(problems, "The checkout details are invalid.")
        if quoted.code is not None and quoted.code_refusal is not None:
            raise PromotionUnavailable(quoted.code_promotion, quoted.code, quoted.code_refusal)
        return quoted

    @staticmethod
    async def _claim_uses(
        uow: UnitOfWork, promotions: tuple[Promotion, ...], order_id: str, email: str
    ) -> Promotion | None:
        """Claim a use of each promotion for the order; the first one refused (nothing more claimed
        then), or None when every claim succeeded."""
        for promotion in sorted(promotions, key=lambda p: p.id):
            if not await uow.promotion_uses.claim(promotion, order_id=order_id, email=email):
                return promotion
        return None

    @staticmethod
    async def _why_refused(uow: UnitOfWork, promotion: Promotion) -> str:
        """Why a claim of ``promotion`` was refused, from the promotion as stored now."""
        current = await uow.promotions.get(promotion.id)
        if current is None or not current.active:
            return "unknown"
        if current.usage_limit is not None and current.times_used >= current.usage_limit:
            return "exhausted"
        return "per_email_limit"

    @staticmethod
    async def _claim(uow: UnitOfWork, claim: IdempotencyRecord) -> None:
        """Step 1, the first statement of the reservation's transaction: insert the claim of the
        key, which names the order to be. A concurrent claim of the same key waits here until this
        transaction ends.

        Raises:
            _KeyTaken: the key is claimed already (the transaction is to be rolled back).
        """
        existing = await uow.idempotency.claim(claim)
        if existing is not None:
            raise _KeyTaken(existing)

    async def _confirm(self, reserved: Reserved, started: Payment) -> Placed:
        """Step 4, the second transaction: the started payment recorded, the order placed (given
        its token), the result stored under the idempotency key.

        Raises:
            OrderNotFound: the order is no longer ``created`` (moving it needs its id, known so far
                only to operators' listings); nothing is stored.
        """
        order = reserved.order
        token = ORDER_TOKEN_PREFIX + secrets.token_urlsafe(24)
        now = self._clock.now()
        async with self._uow() as uow:
            order.confirm_placement(hash_secret(token), started.id, now)
            # Stored only while still `created`: the one statement both checks and locks its row.
            if not await uow.orders.update(order, if_status=OrderStatus.CREATED):
                raise OrderNotFound(f"the order {order.id!r} was cancelled while its payment started")
            await uow.payments.update(started)
            placed = Placed(
                order.id,
                token,
                order.status.value,
                order.total.amount,
                order.currency,
                PaymentView.of(started),
            )
            if reserved.claim is not None:
                await uow.idempotency.update(replace(reserved.claim, result=placed.to_json(), updated_at=now))
            await uow.commit()
        return placed

    async def _reprice(self, uow: UnitOfWork, cart: list[CartLine]) -> _Priced | _Repriced:
        """Each cart line checked and priced against the catalog as the database holds it now (the
        catalog cache only when its entries are of the database's catalog version), as an order
        line of the same id at its carted price. Writes nothing: lines whose price moved come back
        in :class:`_Repriced`, with what to tell the guest."""
        problems: list[Violation] = []
        repriced: list[CartLine] = []
        lines: list[OrderLine] = []
        products: dict[str, Product] = {}
        now = self._clock.now()
        version = await uow.catalog_version.current() if self._cache is not None else None
        for index, line in enumerate(cart):
            where = f"items[{index}]"
            source = await design_source(uow, line.product_id, line.template_id, self._cache, version=version)
            product, template = source.product, source.template
            if product is None or not product.active or template is None:
                problems.append(
                    Violation(
                        f"{where}.product_id", "not_available", f"{line.product_name} is no longer for sale"
                    )
                )
                continue
            assets = await self._assets(uow, line.options)
            design, wrong = check_design(
                template.definition,
                source.option_sets,
                line.options,
                assets=assets,
                complete=True,
                path=f"{where}.options",
            )
            if design is None:
                problems.extend(wrong)
                continue
            quote = quote_design(product, template.definition, source.option_sets, design)
            if quote.unit_price != line.unit_price or quote.currency != line.currency:
                problems.append(
                    Violation(
                        f"{where}.unit_price",
                        "price_changed",
                        f"{line.product_name} now costs {quote.unit_price} {quote.currency} "
                        f"(was {line.unit_price} {line.currency}); the cart shows the new price",
                    )
                )
                repriced.append(
                    replace(
                        line,
                        unit_price=quote.unit_price,
                        components=quote.components,
                        currency=quote.currency,
                        updated_at=now,
                    )
                )
                continue
            products[product.id] = product
            lines.append(
                OrderLine(
                    id=line.id,
                    product_id=line.product_id,
                    product_name=product.name,
                    template_id=line.template_id,
                    template_version=line.template_version,
                    template_snapshot=line.template_snapshot,
                    options=line.options,
                    components=quote.components,
                    unit_price=quote.unit_price,
                    quantity=line.quantity,
                )
            )
        if problems:
            return _Repriced(problems, repriced)
        return _Priced(lines, products)

    @staticmethod
    async def _assets(uow: UnitOfWork, options: Mapping[str, object]) -> dict[str, AssetInfo]:
        infos: dict[str, AssetInfo] = {}
        for value in options.values():
            if isinstance(value, Mapping) and isinstance(value.get("asset_id"), str):
                asset = await uow.assets.get(str(value["asset_id"]))
                if asset is not None:
                    infos[asset.id] = AssetInfo(
                        asset.id, asset.content_type, asset.width, asset.height, asset.bytes
                    )
        return infos

    @staticmethod
    def _new_payment(payment_id: str, order: Order, provider: str, now: datetime) -> Payment:
        return Payment(
            id=payment_id,
            order_id=order.id,
            provider=provider,
            reference=None,
            status=PaymentStatus.NEW,
            amount=order.total.amount,
            currency=order.currency,
            client_secret=None,
            approval_url=None,
            payment_url=None,
            failure=None,
            created_at=now,
            updated_at=now,
        )

    async def _start(self, order: Order, payment: Payment, idempotency_key: str) -> Payment:
        """The payment started with its provider (no transaction is open meanwhile)."""
        gateway = self._gateways.get(payment.provider)
        if gateway is None:
            raise InvalidInput([Violation("payment_provider", "unavailable", "this provider is not enabled")])
        try:
            handle = await gateway.start(
                PaymentRequest(
                    payment_id=payment.id,
                    order_id=order.id,
                    amount=payment.amount,
                    currency=payment.currency,
                    email=order.email,
                    description=f"Order {order.id}",
                    idempotency_key=idempotency_key,
                )
            )
        except PaymentRejected as exc:
            raise PaymentNotStarted(
                [Violation("payment_provider", "rejected", f"the provider refused the payment: {exc}")],
                "The payment could not be started.",
            ) from None
        return payment.started(
            handle.reference, handle.client_secret, handle.approval_url, handle.payment_url, self._clock.now()
        )

    async def _abandon(self, order_id: str) -> None:
        """Undo transaction 1: the payment never started, so the order never existed for anyone.
        Its stock is released and its lines go back into the guest's cart."""
        now = self._clock.now()
        async with self._uow() as uow:
            order = await uow.orders.get(order_id, for_update=True)
            if order is not None and order.status is OrderStatus.CREATED and not order.is_placed:
                await apply_stock(uow, order.abandon(), now)
                if order.discounts:
                    await uow.promotion_uses.release(order.id)
                for line in order.lines:
                    await uow.carts.add(_back_in_cart(order, line, self._ids.new_id(), now))
                if order.codes:  # the code goes back into the cart with its lines
                    details = await uow.cart_details.get(order.guest)
                    back = (
                        replace(details, promotion_code=order.codes[0], updated_at=now)
                        if details is not None
                        else CartDetails(order.guest, now, promotion_code=order.codes[0])
                    )
                    await uow.cart_details.save(back)
                await uow.orders.delete(order.id)
                await uow.commit()


async def owns(
    uow: UnitOfWork, order: Order, session_key: str | None, token: str | None, now: datetime
) -> bool:
    """Whether a guest presenting ``session_key`` (a live one, see ``live_guest``) or the order
    ``token`` may see the order. A key that was never issued, or expired, owns nothing."""
    if (
        token is not None
        and order.token_hash
        and secrets.compare_digest(hash_secret(token), order.token_hash)
    ):
        return True
    try:
        guest = await live_guest(uow, session_key, now)
    except GuestKeyNotFound:
        return False
    return guest is not None and secrets.compare_digest(guest, order.guest)


async def stop_payment(gateways: Mapping[str, PaymentGateway], payment: Payment) -> None:
    """Ask the provider to stop a pending payment, best effort: if this fails and the buyer pays
    anyway, the success report finds the order settled or cancelled and refunds the payment."""
    gateway = gateways.get(payment.provider)
    if gateway is None or payment.reference is None:
        return
    try:
        await gateway.cancel(payment.reference)
    except Exception as exc:
        log.warning("could not stop %s payment %s: %s", payment.provider, payment.reference, exc)


def _back_in_cart(order: Order, line: OrderLine, line_id: str, now: datetime) -> CartLine:
    return CartLine(
        id=line_id,
        guest=order.guest,
        product_id=line.product_id,
        product_name=line.product_name,
        template_id=line.template_id,
        template_version=line.template_version,
        template_snapshot=line.template_snapshot,
        options=line.options,
        components=line.components,
        currency=order.currency,
        unit_price=line.carted_unit_price,
        quantity=line.quantity,
        design_key=design_key(line.product_id, line.template_id, line.options),
        created_at=now,
        updated_at=now,
    )


def _short_lines(lines: list[OrderLine], shortages: tuple[Shortage, ...]) -> list[Violation]:
    """One violation per cart line drawing on a short level, at ``items[i].quantity``."""
    problems = []
    for index, line in enumerate(lines):
        for shortage in shortages:
            if shortage.key in stock_wanted([line]):
                what = (
                    line.product_name if shortage.key.option_code is None else f"{shortage.key.option_code!r}"
                )
                problems.append(
                    Violation(
                        f"items[{index}].quantity",
                        "out_of_stock",
                        f"not enough {what} in stock: the cart needs {shortage.wanted} in all, "
                        f"{shortage.available} available",
                    )
                )
    return problems


def _empty_cart() -> InvalidInput:
    return InvalidInput([Violation("cart", "empty", "the cart is empty")], "There is nothing to check out.")
