"""Orders: the snapshot of what a guest bought, and the one state machine it moves through.

::

    created → paid → in_production → fulfilled → shipped → delivered
    created → cancelled
    paid, in_production, fulfilled, shipped, delivered → refunded

Nothing else. :data:`TRANSITIONS` is that table; every move goes through :meth:`Order._move`, which
checks it, appends ``(status, at)`` to the timeline (never rewriting it) and records the events.
Money never moves by more than was paid: a refund returns exactly what was paid, once.

An order keeps the whole price it was placed with (:meth:`Order.place` takes the
:class:`~customshop.domain.quote.Quote` of its cart): every total as :class:`Money`, its discounts,
tax lines, shipping method and region, and each line's volume discount, discount and tax.

The aggregate changes only through its methods, and each returns what follows from it for the
caller to carry out: the :class:`StockMovement` of its units (``mark_paid``, ``cancel``,
``abandon``, inside :class:`Refund` for ``refund``), never a state the caller compares before and
after. Print files are the one exception to "through the aggregate": they are written by the print
repository alone, line by line (see docs/architecture.md), and the order only reads them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from customshop.domain.errors import Conflict, InvalidInput, Violation
from customshop.domain.events import (
    OrderCancelled,
    OrderCreated,
    OrderEvent,
    OrderPaid,
    OrderRefunded,
    OrderShipped,
    OrderStatusChanged,
    PaymentFailed,
)
from customshop.domain.inventory import StockKey, demand
from customshop.domain.money import Money
from customshop.domain.pricing import PriceComponent, line_total
from customshop.domain.quote import AppliedDiscount, Quote, ShippingOption, TaxLine
from customshop.domain.retries import JobStatus


class OrderStatus(StrEnum):
    CREATED = "created"
    PAID = "paid"
    IN_PRODUCTION = "in_production"
    FULFILLED = "fulfilled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


S = OrderStatus

#: The states in which the order's money has been received (and not returned).
PAID_STATES: frozenset[OrderStatus] = frozenset(
    {S.PAID, S.IN_PRODUCTION, S.FULFILLED, S.SHIPPED, S.DELIVERED}
)

#: Every legal move, and no other.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.IN_PRODUCTION, S.REFUNDED}),
    S.IN_PRODUCTION: frozenset({S.FULFILLED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.SHIPPED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

#: Moves an operator makes by hand (``POST /orders/{id}/status``); payment, cancellation and
#: refund have their own paths, which also move money and stock.
OPERATOR_MOVES: frozenset[OrderStatus] = frozenset({S.IN_PRODUCTION, S.FULFILLED, S.SHIPPED, S.DELIVERED})


class IllegalTransition(Conflict):
    """The order cannot move from its status to the one asked for."""


class PrintFilesNotReady(IllegalTransition):
    """An order goes into production only once every line's print file is ready."""


class PaymentMismatch(Conflict):
    """A payment does not match the order (another amount or currency)."""


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raises ``IllegalTransition`` unless ``current → target`` is in :data:`TRANSITIONS`."""
    if not can_move(current, target):
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (it is final)"
        raise IllegalTransition(f"an order that is {current} cannot become {target}; it can become {allowed}")


class StockState(StrEnum):
    """Where the order's units stand: held for it, sold to it, or given back."""

    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"
    RESTOCKED = "restocked"


class StockMove(StrEnum):
    """What happens to an order's units at the stock levels (``InventoryRepository`` methods)."""

    RELEASE = "release"  # reserved units go back to available
    COMMIT = "commit"  # reserved units are sold
    RESTOCK = "restock"  # sold units come back on the shelf


@dataclass(frozen=True, slots=True)
class StockMovement:
    """A stock movement an order's change calls for: ``move`` applied to every one of ``holds``.
    The caller applies it in the same transaction that stores the order."""

    move: StockMove
    holds: tuple[StockHold, ...]


@dataclass(frozen=True, slots=True)
class Refund:
    """What refunding an order calls for: ``amount`` to pay back through the payment's gateway
    (zero when nothing is left to return) and the stock movement, if any."""

    amount: Money
    stock: StockMovement | None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    status: OrderStatus
    at: datetime
    note: str | None = None


EMAIL_MAX = 254
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f.]{2,}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SUBDIVISION = re.compile(r"^[A-Z0-9]{1,3}$")
ADDRESS_LIMITS = {
    "name": 200,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "postal_code": 20,
    "country": 2,
    "subdivision": 3,
}
#: The fields of an address that may be left out.
OPTIONAL_ADDRESS_FIELDS = frozenset({"line2", "subdivision"})


@dataclass(frozen=True, slots=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    #: The ISO 3166-2 subdivision after the dash (``"CA"`` for US-CA), where tax rates may differ.
    subdivision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
            "subdivision": self.subdivision,
        }


def email_problems(email: str, path: str = "email") -> list[Violation]:
    """What is wrong with an order's email (empty when nothing), at ``path``."""
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        return [Violation(path, "invalid_format", "email must be an address like name@example.com")]
    return []


def address_field_problems(name: str, value: str, path: str | None = None) -> list[Violation]:
    """What is wrong with one field of a shipping address (``name`` is a key of
    :data:`ADDRESS_LIMITS`), at ``path`` (``shipping_address.<name>`` by default): at most one."""
    field_name = path or f"shipping_address.{name}"
    limit = ADDRESS_LIMITS[name]
    if name not in OPTIONAL_ADDRESS_FIELDS and not value.strip():
        return [Violation(field_name, "required", f"{name} must not be blank")]
    if len(value) > limit:
        return [Violation(field_name, "too_long", f"{name} is limited to {limit} characters")]
    if any(ord(char) < 32 for char in value):
        return [Violation(field_name, "invalid_character", f"{name} holds control characters")]
    if name == "country" and not _COUNTRY.fullmatch(value):
        return [
            Violation(
                field_name,
                "invalid_format",
                "country is an ISO 3166-1 alpha-2 code in capitals, like US or DE",
            )
        ]
    if name == "subdivision" and not _SUBDIVISION.fullmatch(value):
        return [
            Violation(
                field_name,
                "invalid_format",
                "subdivision is the ISO 3166-2 part after the dash, in capitals, like CA for US-CA",
            )
        ]
    return []


def check_contact(email: str, address: ShippingAddress) -> list[Violation]:
    """Every problem with an order's email and shipping address, each naming its field."""
    problems = email_problems(email)
    for name in ADDRESS_LIMITS:
        value = getattr(address, name)
        if value is not None:
            problems += address_field_problems(name, value)
    return problems


#: A print file's status: ``PENDING``, ``READY`` or ``FAILED``, of the one status of retried jobs.
PrintStatus = JobStatus


@dataclass(frozen=True, slots=True)
class PrintFile:
    """A line's design rendered at print resolution, which production works from.

    Rendered once the order is paid (``pending`` until then, and while a rendering is under way),
    then ``ready``, or ``failed`` with the reason once the renderings tried have all failed. ``id``
    names one rendering: a reprint gets a new one, and its files.
    """

    status: PrintStatus = PrintStatus.PENDING
    id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A carted line frozen into the order: the design, its template snapshot and its price.

    ``unit_price`` is after the volume discount (``volume_discount`` is what the volume tier took
    off the whole line), ``line_total = unit_price × quantity``; ``discount`` is the line's share of
    the order's discounts and ``tax`` its share of the tax (included in ``line_total`` when the
    order's prices include tax), as the order's quote gave them.
    """

    id: str
    product_id: str
    product_name: str
    template_id: str
    template_version: int
    template_snapshot: dict[str, Any]
    options: dict[str, Any]
    components: tuple[PriceComponent, ...]
    unit_price: int
    quantity: int
    print_file: PrintFile = PrintFile()
    volume_discount: int = 0
    discount: int = 0
    tax: int = 0

    @property
    def line_total(self) -> int:
        return line_total(self.unit_price, self.quantity)

    @property
    def carted_unit_price(self) -> int:
        """The unit price before the volume discount (the design's price as it was carted): the
        quote takes a volume discount off each unit, so it divides the line's exactly."""
        return (self.line_total + self.volume_discount) // self.quantity

    @property
    def option_codes(self) -> tuple[str, ...]:
        """The chosen option codes (each may have a stock level of its own)."""
        return tuple(c.code for c in self.components if c.code is not None)


@dataclass(frozen=True, slots=True)
class StockHold:
    """Units of one stock level the order holds (only levels that exist: the rest is unlimited)."""

    key: StockKey
    units: int


def stock_wanted(lines: tuple[OrderLine, ...] | list[OrderLine]) -> dict[StockKey, int]:
    """The units an order's lines draw on, per level (see ``inventory.demand``)."""
    return demand((line.product_id, line.option_codes, line.quantity) for line in lines)


@dataclass(eq=False)
class Order:
    """An order aggregate. Change it only through its methods: each checks the move against
    :data:`TRANSITIONS`, appends to the timeline and records events in ``events``.

    Its money is :class:`Money` in the order's currency: ``total = subtotal − discount_total +
    shipping + tax``, or without ``+ tax`` when ``prices_include_tax`` (then ``tax`` is the part
    included); ``Σ tax_lines.amount = tax``; ``Σ discounts.amount = discount_total``.
    """

    id: str
    guest: str
    #: SHA-256 of the order token handed to the guest once the order is placed (its payment
    #: started); None until then (see :meth:`confirm_placement`).
    token_hash: str | None
    email: str
    shipping_address: ShippingAddress
    lines: tuple[OrderLine, ...]
    subtotal: Money
    discount_total: Money
    shipping: Money
    tax: Money
    total: Money
    status: OrderStatus
    timeline: tuple[TimelineEntry, ...]
    stock: tuple[StockHold, ...]
    stock_state: StockState
    #: Until when the reservation holds an unpaid order's units; later the order is cancelled.
    reserved_until: datetime | None
    payment_provider: str
    #: The payment currently meant to settle the order (a retry replaces it).
    payment_id: str | None
    paid_amount: Money
    refunded_amount: Money
    payment_failure: str | None
    tracking_url: str | None
    created_at: datetime
    updated_at: datetime
    #: The promotions in effect (lines and shipping together).
    discounts: tuple[AppliedDiscount, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()
    #: The method it ships by (None: the configured flat rates, no region applied).
    shipping_method: ShippingOption | None = None
    prices_include_tax: bool = False
    region_id: str | None = None
    paid_at: datetime | None = None
    events: list[OrderEvent] = field(default_factory=list, repr=False)

    @classmethod
    def place(
        cls,
        *,
        id: str,
        guest: str,
        email: str,
        shipping_address: ShippingAddress,
        lines: tuple[OrderLine, ...],
        quote: Quote,
        stock: tuple[StockHold, ...],
        reserved_until: datetime,
        payment_provider: str,
        at: datetime,
        payment_id: str | None = None,
    ) -> Order:
        """A new ``created`` order of ``lines`` priced by ``quote`` (the quote of those lines, by
        line id), holding ``stock`` (reserved by the caller), to be settled by ``payment_id``. Each
        line takes its price, volume discount, discount and tax from the quote, and the order every
        total and the rest of the breakdown. It is not placed yet: nobody but checkout knows it until
        :meth:`confirm_placement` gives it its token (until then :meth:`abandon` undoes it).

        Raises:
            InvalidInput: no lines, or a quote that is not of these lines or does not add up.
        """
        if not lines:
            raise InvalidInput(
                [Violation("cart", "empty", "the cart is empty")], "There is nothing to order."
            )
        quoted = {line.id: line for line in quote.lines}
        if len(quoted) != len(lines) or any(
            line.id not in quoted or quoted[line.id].quantity != line.quantity for line in lines
        ):
            raise _inconsistent()
        priced = tuple(
            replace(
                line,
                unit_price=quoted[line.id].unit_price,
                volume_discount=quoted[line.id].volume_discount,
                discount=quoted[line.id].discount,
                tax=quoted[line.id].tax,
            )
            for line in lines
        )
        if not _adds_up(quote, priced):
            raise _inconsistent()
        currency = quote.currency
        return cls(
            id=id,
            guest=guest,
            token_hash=None,
            email=email,
            shipping_address=shipping_address,
            lines=priced,
            subtotal=Money(quote.subtotal, currency),
            discount_total=Money(quote.discount_total, currency),
            shipping=Money(quote.shipping, currency),
            tax=Money(quote.tax, currency),
            total=Money(quote.total, currency),
            status=S.CREATED,
            timeline=(TimelineEntry(S.CREATED, at),),
            stock=stock,
            stock_state=StockState.RESERVED,
            reserved_until=reserved_until,
            payment_provider=payment_provider,
            payment_id=payment_id,
            paid_amount=Money.zero(currency),
            refunded_amount=Money.zero(currency),
            payment_failure=None,
            tracking_url=None,
            created_at=at,
            updated_at=at,
            discounts=quote.discounts,
            tax_lines=quote.tax_lines,
            shipping_method=quote.shipping_method,
            prices_include_tax=quote.prices_include_tax,
            region_id=quote.region_id,
        )

    @property
    def currency(self) -> str:
        """The order's one currency (that of every amount)."""
        return self.total.currency

    @property
    def is_placed(self) -> bool:
        """Whether the order was handed to its guest (see :meth:`confirm_placement`)."""
        return self.token_hash is not None

    @property
    def amount_due(self) -> Money:
        """What settles the order: its total."""
        return self.total

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATES

    @property
    def prints_ready(self) -> bool:
        """Whether every line's print file is ready (what production needs)."""
        return all(line.print_file.status is PrintStatus.READY for line in self.lines)

    @property
    def refundable(self) -> Money:
        """What a refund would return: what was paid and not yet given back."""
        return self.paid_amount - self.refunded_amount

    @property
    def codes(self) -> tuple[str, ...]:
        """The promotion codes the order used (automatic promotions have none)."""
        return tuple(d.code for d in self.discounts if d.code is not None)

    # -- payment --------------------------------------------------------------------------------

    def confirm_placement(self, token_hash: str, payment_id: str, at: datetime) -> None:
        """Checkout's last step: the payment ``payment_id`` started, so the order is placed, readable
        with the token whose hash is ``token_hash`` (``order.created``).

        Raises:
            IllegalTransition: the order is no longer waiting for payment.
        """
        self._payment_started(payment_id, at)
        self.token_hash = token_hash
        self.events.append(OrderCreated(self.id, at, self.total.amount, self.currency))

    def restart_payment(self, payment_id: str, provider: str, reserved_until: datetime, at: datetime) -> None:
        """A new payment, ``payment_id`` through ``provider``, replaces the last one (which failed
        or was abandoned); the last failure is cleared and the reservation held until
        ``reserved_until``.

        Raises:
            IllegalTransition: the order is no longer waiting for payment.
        """
        self._payment_started(payment_id, at)
        self.payment_provider = provider
        self.reserved_until = reserved_until

    def _payment_started(self, payment_id: str, at: datetime) -> None:
        if self.status is not S.CREATED:
            raise IllegalTransition(f"an order that is {self.status} takes no new payment")
        self.payment_id = payment_id
        self.payment_failure = None
        self.updated_at = at

    def abandon(self) -> StockMovement:
        """Checkout undoes an order that was never placed (its payment could not start): the caller
        deletes it and applies the returned release of its units.

        Raises:
            IllegalTransition: the order was placed, or is no longer ``created``.
        """
        if self.status is not S.CREATED or self.is_placed:
            raise IllegalTransition("only an order whose payment never started can be abandoned")
        self.reserved_until = None
        self.stock_state = StockState.RELEASED
        return StockMovement(StockMove.RELEASE, self.stock)

    def mark_paid(self, payment_id: str, amount: int, currency: str, at: datetime) -> StockMovement:
        """The payment ``payment_id`` received ``amount`` ``currency`` (as its provider reported
        them): the order becomes ``paid``; returns the sale (commit) of its reserved units.

        Raises:
            IllegalTransition: the order is not ``created``.
            PaymentMismatch: the amount or currency is not the order's total.
        """
        check_transition(self.status, S.PAID)
        if amount != self.total.amount or currency != self.currency:
            raise PaymentMismatch(
                f"payment of {amount} {currency} does not settle a total of "
                f"{self.total.amount} {self.currency}"
            )
        self.payment_id = payment_id
        self.paid_amount = self.total
        self.payment_failure = None
        self.paid_at = at
        self.reserved_until = None
        self.stock_state = StockState.COMMITTED
        self._move(S.PAID, at)
        self.events.append(OrderPaid(self.id, at, amount, self.currency))
        return StockMovement(StockMove.COMMIT, self.stock)

    def payment_failed(self, reason: str, at: datetime) -> None:
        """The payment failed: the order stays ``created`` (the guest may retry), the failure kept."""
        if self.status is not S.CREATED:
            return  # a late failure report of a payment that no longer matters
        self.payment_failure = reason
        self.updated_at = at
        self.events.append(PaymentFailed(self.id, at, reason))

    # -- operator moves -------------------------------------------------------------------------

    def advance(self, target: OrderStatus, at: datetime, *, tracking_url: str | None = None) -> None:
        """An operator's move along production and delivery.

        Raises:
            IllegalTransition: ``target`` is not a legal next status, or not an operator's move
                (payment, cancellation and refund have their own paths).
            PrintFilesNotReady: ``target`` is ``in_production`` and a print file is not ready.
        """
        if target not in OPERATOR_MOVES:
            check_transition(self.status, target)  # an illegal move is reported as such first
            raise IllegalTransition(
                f"an order becomes {target} through "
                + ("its payment" if target is S.PAID else "the cancel endpoint")
            )
        check_transition(self.status, target)
        if target is S.IN_PRODUCTION and not self.prints_ready:
            waiting = Counter(
                line.print_file.status.value
                for line in self.lines
                if line.print_file.status is not PrintStatus.READY
            )
            raise PrintFilesNotReady(
                "the order goes into production once every print file is ready; "
                + ", ".join(f"{count} {status}" for status, count in sorted(waiting.items()))
            )
        if tracking_url is not None:
            self.tracking_url = tracking_url
        self._move(target, at)
        if target is S.SHIPPED:
            self.events.append(OrderShipped(self.id, at, self.tracking_url))

    def cancel(self, reason: str, at: datetime) -> StockMovement | None:
        """An unpaid order is called off; returns the release of its reserved units (None when
        they are not held any more).

        Raises:
            IllegalTransition: the order is not ``created`` (a paid order is refunded instead).
        """
        check_transition(self.status, S.CANCELLED)
        held = self.stock_state is StockState.RESERVED
        self.reserved_until = None
        self.stock_state = StockState.RELEASED
        self._move(S.CANCELLED, at, note=reason)
        self.events.append(OrderCancelled(self.id, at, reason))
        return StockMovement(StockMove.RELEASE, self.stock) if held else None

    def refund(self, at: datetime, note: str | None = None) -> Refund:
        """A paid order's money goes back in full; returns the amount to refund and, for an order
        still ``paid`` (nothing produced yet), the restocking of the units sold to it.

        Raises:
            IllegalTransition: the order is not in a paid state.
        """
        check_transition(self.status, S.REFUNDED)
        amount = self.refundable
        stock = None
        if self.status is S.PAID and self.stock_state is StockState.COMMITTED:
            self.stock_state = StockState.RESTOCKED
            stock = StockMovement(StockMove.RESTOCK, self.stock)
        self.refunded_amount += amount
        self._move(S.REFUNDED, at, note=note)
        self.events.append(OrderRefunded(self.id, at, amount.amount, self.currency))
        return Refund(amount, stock)

    def _move(self, target: OrderStatus, at: datetime, note: str | None = None) -> None:
        check_transition(self.status, target)
        previous = self.status
        self.status = target
        self.timeline = (*self.timeline, TimelineEntry(target, at, note))
        self.updated_at = at
        self.events.append(OrderStatusChanged(self.id, at, previous.value, target.value))


def _adds_up(quote: Quote, lines: tuple[OrderLine, ...]) -> bool:
    """Whether ``quote`` holds the identities an order keeps (contract §11), with ``lines`` priced
    by it, and charges nothing negative."""
    tax_in_total = 0 if quote.prices_include_tax else quote.tax
    return (
        quote.subtotal == sum(line.line_total for line in lines)
        and quote.tax == sum(t.amount for t in quote.tax_lines)
        and quote.discount_total == sum(d.amount for d in quote.discounts)
        and quote.total == quote.subtotal - quote.discount_total + quote.shipping + tax_in_total
        and min(quote.subtotal, quote.discount_total, quote.shipping, quote.tax, quote.total) >= 0
    )


def _inconsistent() -> InvalidInput:
    return InvalidInput([Violation("total", "inconsistent", "the order's totals do not add up")])
