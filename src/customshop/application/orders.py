"""The order lifecycle after checkout: payment reports, operators' moves, cancellation and refunds,
and the expiry of unpaid orders.

Every change takes the order's row lock (``get(..., for_update=True)``), so concurrent reports and
moves apply one after the other. Money and stock move in the same transaction as the status:
paying commits the reserved units, cancelling releases them, refunding before production puts them
back on the shelf; cancelling (or the expiry of) an unpaid order gives back the promotion uses it
held. A refund goes through the gateway *before* the transaction commits: if the
provider cannot be reached nothing changes (503), and a retry is safe because refunds are
idempotent by the order's id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from customshop.application.checkout import OrderNotFound, owns, stop_payment
from customshop.application.inventory import apply_stock
from customshop.application.ports import (
    Clock,
    IdGenerator,
    Page,
    PaymentGateway,
    PaymentNotice,
    PaymentUnavailable,
    UnitOfWork,
    UnitOfWorkFactory,
)
from customshop.domain.errors import NotFound
from customshop.domain.orders import (
    OPERATOR_MOVES,
    IllegalTransition,
    Order,
    OrderStatus,
    PaymentMismatch,
    PrintFile,
    PrintStatus,
)
from customshop.domain.payments import Payment, PaymentStatus
from customshop.domain.prints import PrintJob

log = logging.getLogger("customshop.orders")

#: Why the expiry job cancels an order.
EXPIRED = "payment not received in time"
#: How long a provider's event ids are remembered: Stripe and PayPal stop redelivering within days.
RECEIPT_RETENTION = timedelta(days=30)


class PaymentNotFound(NotFound):
    pass


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    """What a payment report did: ``applied``, ``duplicate`` (seen before) or ``ignored``."""

    result: str
    order_id: str | None = None


async def schedule_prints(
    uow: UnitOfWork, order: Order, ids: IdGenerator, due_at: datetime
) -> list[PrintJob]:
    """Every line of ``order`` to be rendered (again) at print resolution from ``due_at``, each
    under a new id, no attempt made (see ``application.prints``); returns the lines' print jobs."""
    jobs = [
        PrintJob(line.id, order.id, PrintFile(PrintStatus.PENDING, ids.new_id()), 0, due_at)
        for line in order.lines
    ]
    await uow.prints.update(*jobs)
    return jobs


class Orders:
    """Reading and moving orders."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateways = gateways
        self._ids = ids

    # -- reads -----------------------------------------------------------------------------------

    async def view(self, order_id: str, *, session_key: str | None = None, token: str | None = None) -> Order:
        """The order, for the guest that placed it (its session key or the order token).

        Raises:
            OrderNotFound: unknown, or not this guest's (the two are indistinguishable).
        """
        async with self._uow(read_only=True) as uow:
            order = await uow.orders.get(order_id)
            if order is None or not await owns(uow, order, session_key, token, self._clock.now()):
                raise OrderNotFound(f"there is no order {order_id!r}")
        return order

    async def get(self, order_id: str) -> Order:
        """The order, for an operator. Raises ``OrderNotFound``."""
        async with self._uow(read_only=True) as uow:
            order = await uow.orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"there is no order {order_id!r}")
        return order

    async def test_payment(self, payment_id: str) -> Payment:
        """A payment of the ``test`` provider that has started. Raises ``PaymentNotFound``."""
        async with self._uow(read_only=True) as uow:
            payment = await uow.payments.get(payment_id)
        if payment is None or payment.provider != "test" or payment.reference is None:
            raise PaymentNotFound(f"there is no test payment {payment_id!r}")
        return payment

    async def list(
        self,
        *,
        status: OrderStatus | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> Page[Order]:
        """Orders newest first, filtered by status and creation time ``[created_from, created_to)``."""
        async with self._uow(read_only=True) as uow:
            return await uow.orders.list(
                status=status, created_from=created_from, created_to=created_to, before=before, limit=limit
            )

    # -- payment reports ---------------------------------------------------------------------------

    async def receive(self, provider: str, body: bytes, headers: Mapping[str, str]) -> NoticeOutcome:
        """A webhook delivery from ``provider``: verified, then applied once.

        Raises:
            InvalidSignature: not signed by the provider (or stale); nothing changes.
            PaymentUnavailable: a refund this report calls for could not be made; nothing changes
                and the provider's redelivery will try again.
        """
        gateway = self._gateways.get(provider)
        if gateway is None:
            raise PaymentNotFound(f"payments through {provider} are not enabled")
        notice = await gateway.receive(body, headers)
        if notice is None:
            return NoticeOutcome("ignored")
        return await self.apply(provider, notice)

    async def settle_test_payment(self, payment_id: str, succeed: bool) -> NoticeOutcome:
        """The ``test`` provider's buyer paid (or failed to): the same path as a gateway webhook.

        Raises:
            PaymentNotFound: no such test payment.
        """
        payment = await self.test_payment(payment_id)
        reference = payment.reference or ""
        outcome = "succeeded" if succeed else "failed"
        notice = PaymentNotice(
            event_id=f"{reference}:{outcome}",
            reference=reference,
            outcome=outcome,
            amount=payment.amount if succeed else 0,
            currency=payment.currency,
            failure=None if succeed else "the test card was declined",
        )
        return await self.apply("test", notice)

    async def apply(self, provider: str, notice: PaymentNotice) -> NoticeOutcome:
        """Apply a verified report once (by event id), whatever order reports arrive in.

        A success settles a ``created`` order; a success for an order that is already paid by
        another payment, or was cancelled meanwhile, is refunded at once. A failure is recorded on
        the order, which stays ``created`` so the guest can retry; a failure reported after a
        success changes nothing.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.receipts.first_time(provider, notice.event_id, now):
                return NoticeOutcome("duplicate")
            payment = await uow.payments.by_reference(provider, notice.reference)
            if payment is None:
                log.warning(
                    "%s reported %s for an unknown payment %s", provider, notice.outcome, notice.reference
                )
                await uow.commit()
                return NoticeOutcome("ignored")
            order = await uow.orders.get(payment.order_id, for_update=True)
            if order is None:
                await uow.commit()
                return NoticeOutcome("ignored")
            # Re-read under the order's lock: a concurrent report may have settled it meanwhile.
            payment = await uow.payments.get(payment.id) or payment
            if notice.outcome == "succeeded":
                await self._succeeded(uow, order, payment, notice, now)
            elif notice.outcome == "failed":
                await self._failed(uow, order, payment, notice.failure or "the payment failed", now)
            await uow.commit()
        return NoticeOutcome("applied", order.id)

    async def _succeeded(
        self, uow: UnitOfWork, order: Order, payment: Payment, notice: PaymentNotice, now: datetime
    ) -> None:
        if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            return
        if order.status is OrderStatus.CREATED:
            try:
                sale = order.mark_paid(payment.id, notice.amount, notice.currency, now)
            except PaymentMismatch as exc:
                log.error("order %s: %s; refunding it", order.id, exc)
                order.payment_failed(str(exc), now)
            else:
                await apply_stock(uow, sale, now)
                await uow.payments.update(payment.settled(PaymentStatus.SUCCEEDED, now))
                await uow.orders.update(order)
                await schedule_prints(uow, order, self._ids, now)
                return
        # Paid twice, paid after the order was called off, or paid the wrong amount: give it back.
        await self._gateway(payment.provider).refund(
            _reference(payment), notice.amount, notice.currency, f"refund-{payment.id}"
        )
        await uow.payments.update(payment.settled(PaymentStatus.REFUNDED, now, "refunded: not needed"))
        await uow.orders.update(order)

    async def _failed(
        self, uow: UnitOfWork, order: Order, payment: Payment, reason: str, now: datetime
    ) -> None:
        if payment.status not in (PaymentStatus.NEW, PaymentStatus.PENDING):
            return  # a failure reported after the payment settled changes nothing
        await uow.payments.update(payment.settled(PaymentStatus.FAILED, now, reason))
        if order.payment_id == payment.id:
            order.payment_failed(reason, now)
            await uow.orders.update(order)

    # -- operators --------------------------------------------------------------------------------

    async def advance(self, order_id: str, status: OrderStatus, tracking_url: str | None = None) -> Order:
        """Move an order (``POST /orders/{id}/status``). ``cancelled`` and ``refunded`` go through
        :meth:`cancel`, so money and stock move with them.

        Raises:
            OrderNotFound. IllegalTransition: not a legal move from the current status.
            PaymentUnavailable: a refund could not be made (nothing changed).
        """
        if status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            return await self.cancel(order_id, expect=status)
        now = self._clock.now()
        async with self._uow() as uow:
            order = await self._locked(uow, order_id)
            order.advance(status, now, tracking_url=tracking_url)
            await uow.orders.update(order)
            await uow.commit()
        return order

    async def report_fulfillment(
        self, message_id: str, order_id: str, status: OrderStatus, tracking_url: str | None
    ) -> Order | None:
        """The fulfillment partner's report (already verified): its status, and tracking URL, applied
        through the state machine, once per message id. None for a message applied before.

        The partner moves orders along production and delivery only; it cannot pay, cancel or
        refund. The message id is recorded with the change, so a report that failed may be sent
        again.

        Raises:
            OrderNotFound. IllegalTransition: not a legal move from the order's status.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.receipts.first_time("fulfillment", message_id, now):
                return None
            order = await self._locked(uow, order_id)
            if status not in OPERATOR_MOVES:
                raise IllegalTransition(f"a fulfillment partner cannot make an order {status}")
            order.advance(status, now, tracking_url=tracking_url)
            await uow.orders.update(order)
            await uow.commit()
        return order

    async def cancel(
        self, order_id: str, *, expect: OrderStatus | None = None, reason: str = "cancelled"
    ) -> Order:
        """Call an order off: an unpaid one is cancelled (its stock released, its payment stopped); a
        paid one is refunded in full through its gateway (stock restocked if nothing was produced).

        Raises:
            OrderNotFound. IllegalTransition: the order is already cancelled or refunded, or
                ``expect`` is not what this order would become.
            PaymentUnavailable: the refund could not be made; nothing changed.
        """
        now = self._clock.now()
        stop: Payment | None = None
        async with self._uow() as uow:
            order = await self._locked(uow, order_id)
            if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
                raise IllegalTransition(f"the order is already {order.status}")
            target = OrderStatus.CANCELLED if order.status is OrderStatus.CREATED else OrderStatus.REFUNDED
            if expect is not None and expect is not target:
                order.advance(expect, now)  # raises the IllegalTransition that explains the move
            if target is OrderStatus.CANCELLED:
                stop = await self._cancel_unpaid(uow, order, reason, now)
            else:
                await self._refund(uow, order, now)
            await uow.orders.update(order)
            await uow.commit()
        if stop is not None:
            await stop_payment(self._gateways, stop)
        return order

    async def expire_reservations(self, batch: int = 100) -> int:
        """Cancel ``created`` orders whose reservation ran out, releasing their stock. Safe to run in
        several processes at once. Returns how many were cancelled."""
        now = self._clock.now()
        async with self._uow(read_only=True) as uow:
            ids = await uow.orders.expired(now, batch)
        cancelled = 0
        for order_id in ids:
            stop: Payment | None = None
            async with self._uow() as uow:
                order = await uow.orders.get(order_id, for_update=True)
                if order is None or order.status is not OrderStatus.CREATED:
                    continue
                if order.reserved_until is None or order.reserved_until >= now:
                    continue
                stop = await self._cancel_unpaid(uow, order, EXPIRED, now)
                await uow.orders.update(order)
                await uow.commit()
            cancelled += 1
            if stop is not None:
                await stop_payment(self._gateways, stop)
        return cancelled

    # -- internals ---------------------------------------------------------------------------------

    @staticmethod
    async def _locked(uow: UnitOfWork, order_id: str) -> Order:
        order = await uow.orders.get(order_id, for_update=True)
        if order is None:
            raise OrderNotFound(f"there is no order {order_id!r}")
        return order

    async def _cancel_unpaid(
        self, uow: UnitOfWork, order: Order, reason: str, now: datetime
    ) -> Payment | None:
        """Cancel ``order`` in this transaction, giving back its stock and the promotion uses it
        held; returns its pending payment, to stop after commit."""
        await apply_stock(uow, order.cancel(reason, now), now)
        if order.discounts:  # an order without discounts holds no use
            await uow.promotion_uses.release(order.id)
        payment = await uow.payments.get(order.payment_id) if order.payment_id else None
        if payment is not None and payment.status in (PaymentStatus.NEW, PaymentStatus.PENDING):
            await uow.payments.update(payment.settled(PaymentStatus.CANCELLED, now))
            return payment
        return None

    async def _refund(self, uow: UnitOfWork, order: Order, now: datetime) -> None:
        if not order.is_paid:
            raise IllegalTransition(f"an order that is {order.status} cannot be refunded")
        payment = await uow.payments.get(order.payment_id) if order.payment_id else None
        if payment is None:
            raise PaymentNotFound(f"the payment of order {order.id!r} is missing")
        refund = order.refund(now)
        await apply_stock(uow, refund.stock, now)
        if refund.amount.amount > 0:
            await self._gateway(payment.provider).refund(
                _reference(payment), refund.amount.amount, refund.amount.currency, f"refund-{order.id}"
            )
        await uow.payments.update(payment.settled(PaymentStatus.REFUNDED, now))

    def _gateway(self, provider: str) -> PaymentGateway:
        gateway = self._gateways.get(provider)
        if gateway is None:
            raise PaymentUnavailable(f"payments through {provider} are not enabled on this server")
        return gateway

    async def forget_old_receipts(self) -> int:
        """Forget provider event ids older than ``RECEIPT_RETENTION``; returns how many."""
        async with self._uow() as uow:
            count = await uow.receipts.purge(self._clock.now() - RECEIPT_RETENTION)
            await uow.commit()
        return count


def _reference(payment: Payment) -> str:
    if payment.reference is None:
        raise PaymentNotFound(f"payment {payment.id!r} never reached its provider")
    return payment.reference
