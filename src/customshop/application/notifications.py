"""Emails to guests: an order confirmation when an order is paid, a shipping update when it ships.

How an email gets out, at least once:

1. ``on_event`` (run for every event the outbox relays) records the email the event calls for in the
   ``emails`` table — one per event and kind, however often the event is dispatched — and sends it
   as a ``send_email`` job.
2. ``send`` makes one attempt. It first takes the email (the row locked, its attempt counted, a
   lease set) and commits; then renders it from the order as it is now and hands it to the
   ``Mailer``; then records the outcome in a second transaction, the row locked again and the
   attempt still the email's current one: ``sent``; ``failed`` when the server refused it for good
   (``MailRejected``) or the retry schedule is used up; otherwise (``MailUnavailable``) still
   ``pending``, due again after the schedule's delay. Attempts, leases, delays and giving up follow
   the :class:`~customshop.domain.retries.RetryPolicy` every retried job follows.
3. ``send_due``, called periodically by every serving process next to the webhook sender, sends the
   pending emails that are due as jobs: the retries, and the attempts whose worker died (their lease
   ran out). That loop is what makes retries real: the ``JobQueue`` port has no delayed jobs, so
   the delay lives in the table.

A process that dies after the server accepted an email but before ``sent`` was committed sends it
again once the lease runs out: a guest may receive an email twice, never not at all. Every attempt
carries the same ``Message-ID``, so mail clients can tell the copies are one message.
"""

from __future__ import annotations

import html
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Literal

from customshop.application.ports import (
    Clock,
    EmailMessage,
    IdGenerator,
    JobQueue,
    Mailer,
    MailRejected,
    MailUnavailable,
    UnitOfWorkFactory,
)
from customshop.domain.emails import EmailDelivery
from customshop.domain.money import Money, format_major
from customshop.domain.orders import Order, ShippingAddress
from customshop.domain.retries import Attempts, GiveUp, JobStatus, Retry, RetryPolicy

#: The job that makes one attempt to send one email.
SEND_EMAIL = "send_email"
ORDER_CONFIRMATION = "order_confirmation"
SHIPPING_UPDATE = "shipping_update"
#: The email each event calls for; other events call for none.
KIND_OF_EVENT: dict[str, str] = {"order.paid": ORDER_CONFIRMATION, "order.shipped": SHIPPING_UPDATE}
#: How long an attempt in flight keeps its email from being picked up again (longer than an SMTP
#: conversation may take).
LEASE = timedelta(minutes=2)

log = logging.getLogger("customshop.email")

#: What became of an attempt at the mail server: taken, refused for good, or not reached for now.
MailAnswer = Literal["accepted", "rejected", "unavailable"]


class Notifications:
    """Sends the emails order events call for; see the module's documentation for how.

    Args:
        shop_name: How emails name the shop (in subjects and greetings).
        retry_schedule: Seconds between successive attempts: after attempt ``n`` fails for now, the
            next is due ``retry_schedule[n - 1]`` seconds later (with jitter); when the schedule runs
            out the email is ``failed``.
        message_domain: The domain of ``Message-ID`` headers (the sender address's domain).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        mailer: Mailer,
        queue: JobQueue,
        shop_name: str,
        retry_schedule: Sequence[int],
        message_domain: str = "localhost",
        jitter: Callable[[], float] = lambda: random.uniform(-0.1, 0.1),  # noqa: S311 - spreading retries
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._mailer = mailer
        self._queue = queue
        self._shop_name = shop_name
        self._retries = RetryPolicy(delays=tuple(retry_schedule), lease=LEASE)
        self._message_domain = message_domain
        self._jitter = jitter

    async def on_event(self, event_id: str) -> int:
        """Record the email the event calls for and send it as a job. Idempotent: an event seen
        again adds nothing. Returns how many emails were added (0 or 1).

        Raises:
            QueueUnavailable: the email is recorded (committed) but its job could not be enqueued;
                ``send_due`` sends it once its lease runs out.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            message = await uow.outbox.get(event_id)
            if message is None or message.name not in KIND_OF_EVENT:
                return 0
            email = EmailDelivery(
                id=self._ids.new_id(),
                kind=KIND_OF_EVENT[message.name],
                event_id=message.id,
                order_id=message.order_id,
                attempts=0,
                status=JobStatus.PENDING,
                next_attempt_at=self._retries.lease_until(now),
                error=None,
                created_at=now,
                updated_at=now,
            )
            added = await uow.emails.add(email)
            await uow.commit()
        if added:
            await self._send_later(email)
        return int(added)

    async def send(self, email_id: str, attempt: int) -> EmailDelivery | None:
        """Make attempt number ``attempt`` (from 1) of a pending email and record its outcome.

        A no-op returning None for an unknown, sent or failed email, for an attempt already made
        (a job run twice), and, at the end, for an attempt overtaken meanwhile (its lease ran out
        and a newer one began: that one records the outcome). Never raises for the mail server's
        answer: that is the outcome.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            email = await uow.emails.get(email_id, for_update=True)
            if email is None or email.status != JobStatus.PENDING or email.attempts != attempt - 1:
                return None
            order = await uow.orders.get(email.order_id)
            begun = self._retries.attempts(email.attempts).begin(now)
            if order is None or isinstance(begun, GiveUp):
                # No order to write about, or earlier attempts kept dying before their outcome.
                reason = "the order does not exist" if order is None else "no attempt ever finished"
                email = replace(
                    email, status=JobStatus.FAILED, next_attempt_at=None, error=reason, updated_at=now
                )
                await uow.emails.update(email)
                await uow.commit()
                log.error("email %s (%s) failed: %s", email.id, email.kind, reason)
                return email
            email = replace(email, attempts=begun.attempt, next_attempt_at=begun.until, updated_at=now)
            await uow.emails.update(email)
            await uow.commit()

        message = self.render(email, order)
        answer: MailAnswer
        error: str | None
        try:
            await self._mailer.send(message)
        except MailRejected as exc:
            answer, error = "rejected", str(exc)
            log.error("email %s (%s) to order %s refused: %s", email.id, email.kind, order.id, exc)
        except MailUnavailable as exc:
            answer, error = "unavailable", str(exc)
        else:
            answer, error = "accepted", None
        async with self._uow() as uow:
            current = await uow.emails.get(email_id, for_update=True)
            attempts = self._retries.attempts(current.attempts if current else 0)
            if current is None or current.status != JobStatus.PENDING or not attempts.is_current(attempt):
                return None
            outcome = self._outcome(current, attempts, answer, error)
            await uow.emails.update(outcome)
            await uow.commit()
        return outcome

    def _outcome(
        self, email: EmailDelivery, attempts: Attempts, answer: MailAnswer, error: str | None
    ) -> EmailDelivery:
        """The email once its current attempt got ``answer``: sent; failed (refused for good, or
        the schedule used up); or due again after the schedule's delay."""
        done, names = self._clock.now(), (email.id, email.kind)
        if answer == "accepted":
            attempts.succeeded()
            return replace(email, status=JobStatus.SENT, next_attempt_at=None, error=None, updated_at=done)
        if answer == "unavailable":
            retry = attempts.failed(done, self._jitter())
            if isinstance(retry, Retry):
                log.warning("email %s (%s) attempt %d failed, retrying: %s", *names, retry.attempt, error)
                return replace(email, next_attempt_at=retry.at, error=error, updated_at=done)
            log.error("email %s (%s) failed after %d attempts: %s", *names, retry.attempts, error)
        return replace(email, status=JobStatus.FAILED, next_attempt_at=None, error=error, updated_at=done)

    async def send_due(self, batch: int = 100) -> int:
        """Send the pending emails whose next attempt is due (retries, and attempts whose worker
        died) as jobs, each leased; returns how many."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.emails.due(now, batch)
            for email in due:
                await uow.emails.update(
                    replace(email, next_attempt_at=self._retries.lease_until(now), updated_at=now)
                )
            await uow.commit()
        for email in due:
            await self._send_later(email)
        return len(due)

    def render(self, email: EmailDelivery, order: Order) -> EmailMessage:
        """The email as the guest receives it, written from ``order``."""
        message_id = f"<{email.kind}.{email.event_id}@{self._message_domain}>"
        if email.kind == SHIPPING_UPDATE:
            return shipping_update(order, self._shop_name, message_id)
        return order_confirmation(order, self._shop_name, message_id)

    async def _send_later(self, email: EmailDelivery) -> None:
        attempt = email.attempts + 1
        await self._queue.enqueue(
            SEND_EMAIL, {"email_id": email.id, "attempt": attempt}, job_id=f"email-{email.id}-{attempt}"
        )


# -- rendering -------------------------------------------------------------------------------------


def order_confirmation(order: Order, shop_name: str, message_id: str) -> EmailMessage:
    """The confirmation of a paid order: its lines, totals and shipping address."""
    intro = f"Thank you for your order at {shop_name}. We received your payment of {_money(order.total)}."
    return EmailMessage(
        to=order.email,
        subject=f"{shop_name}: order {order.id} confirmed",
        text=_text(order, [intro]),
        html=_html(order, shop_name, [html.escape(intro)]),
        message_id=message_id,
    )


def shipping_update(order: Order, shop_name: str, message_id: str) -> EmailMessage:
    """The news that an order shipped, with the carrier's tracking link when there is one."""
    intro = f"Your order from {shop_name} is on its way."
    url = order.tracking_url
    if url:
        text_lines = [intro, f"Track your parcel: {url}"]
        link = (
            f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
            if url.startswith(("https://", "http://"))
            else html.escape(url)  # never a javascript: or data: link
        )
        html_lines = [html.escape(intro), f"Track your parcel: {link}"]
    else:
        text_lines = [intro]
        html_lines = [html.escape(intro)]
    return EmailMessage(
        to=order.email,
        subject=f"{shop_name}: order {order.id} shipped",
        text=_text(order, text_lines),
        html=_html(order, shop_name, html_lines),
        message_id=message_id,
    )


def _amount(minor: int, order: Order) -> str:
    return _money(Money(minor, order.currency))


def _money(amount: Money) -> str:
    return f"{format_major(amount.amount, amount.currency)} {amount.currency}"


def _totals(order: Order) -> list[tuple[str, str]]:
    """The order's totals as its price breakdown has them: subtotal, each discount, shipping (by
    its method), tax (per rate; "included" when the prices include it) and the total."""
    rows = [("Subtotal", _money(order.subtotal))]
    rows += [(f"Discount: {d.code or d.description}", _amount(-d.amount, order)) for d in order.discounts]
    method = order.shipping_method
    rows.append((f"Shipping ({method.name})" if method else "Shipping", _money(order.shipping)))
    included = " (included)" if order.prices_include_tax else ""
    if len(order.tax_lines) > 1:
        rows += [(f"{t.name}{included}", _amount(t.amount, order)) for t in order.tax_lines]
    elif order.tax_lines:
        rows.append((f"{order.tax_lines[0].name}{included}", _money(order.tax)))
    else:
        rows.append((f"Tax{included}", _money(order.tax)))
    rows.append(("Total", _money(order.total)))
    return rows


def _address_lines(address: ShippingAddress) -> list[str]:
    lines = [address.name, address.line1]
    if address.line2:
        lines.append(address.line2)
    lines += [f"{address.postal_code} {address.city}", address.country]
    return lines


def _text(order: Order, intro: list[str]) -> str:
    parts = [f"Hello {order.shipping_address.name},", "", *intro, "", f"Order {order.id}", ""]
    parts += [
        f"{line.quantity} x {line.product_name}: {_amount(line.line_total, order)}" for line in order.lines
    ]
    parts.append("")
    parts += [f"{label}: {value}" for label, value in _totals(order)]
    parts += ["", "Shipping to:", *_address_lines(order.shipping_address), ""]
    return "\n".join(parts)


def _html(order: Order, shop_name: str, intro: list[str]) -> str:
    """The HTML part; ``intro`` is HTML already, everything else is escaped here."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{line.quantity} &times; {e(line.product_name)}</td>"
        f'<td style="text-align:right">{e(_amount(line.line_total, order))}</td></tr>'
        for line in order.lines
    )
    totals = "".join(
        f'<tr><th style="text-align:left">{e(label)}</th><td style="text-align:right">{e(value)}</td></tr>'
        for label, value in _totals(order)
    )
    address = "<br>".join(e(line) for line in _address_lines(order.shipping_address))
    paragraphs = "".join(f"<p>{line}</p>" for line in intro)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{e(shop_name)}</title></head><body>"
        f"<p>Hello {e(order.shipping_address.name)},</p>{paragraphs}"
        f"<h2>Order {e(order.id)}</h2>"
        f"<table>{rows}{totals}</table>"
        f"<h3>Shipping to</h3><p>{address}</p>"
        "</body></html>"
    )
