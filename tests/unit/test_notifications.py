"""Order emails on the in-memory adapters, with a recording job queue and a scripted mailer (fakes of
the ports, not mocks): which events call for an email, what it says, and how it is retried."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from customshop.adapters.mail.folder import FolderMailer, file_name
from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.notifications import (
    LEASE,
    ORDER_CONFIRMATION,
    SEND_EMAIL,
    SHIPPING_UPDATE,
    Notifications,
)
from customshop.application.ports import EmailMessage, MailRejected, MailUnavailable
from customshop.domain.orders import Order, OrderLine, OrderStatus, PrintFile, PrintStatus, ShippingAddress
from customshop.domain.outbox import OutboxMessage
from customshop.domain.pricing import PriceComponent
from tests.builders import T0, quoted
from tests.fakes import RecordingQueue

IDS = UuidV7Ids()
ADDRESS = ShippingAddress(
    name="Ada <Lovelace>", line1="12 St James's Square", city="London", postal_code="SW1Y 4JH", country="GB"
)
EVIL = "<script>alert(1)</script> Mug"


class ScriptedMailer:
    """Raises the next exception of its script for each send (none once it runs out), and records
    every message it was given."""

    def __init__(self, *script: Exception | None) -> None:
        self.script = list(script)
        self.tried: list[EmailMessage] = []
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.tried.append(message)
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure
        self.sent.append(message)


def line(n: int, name: str, quantity: int, unit_price: int) -> OrderLine:
    return OrderLine(
        id=f"line-{n}",
        product_id=f"product-{n}",
        product_name=name,
        template_id="template",
        template_version=1,
        template_snapshot={},
        options={},
        components=(PriceComponent("zone", None, "Text", 0),),
        unit_price=unit_price,
        quantity=quantity,
        # Rendered already: production (which the shipping update follows) waits for print files.
        print_file=PrintFile(PrintStatus.READY, f"print-{n}"),
    )


async def placed_order(store: MemoryStore) -> Order:
    lines = (line(0, "Classic tee", 2, 2200), line(1, EVIL, 1, 1050))
    order = Order.place(
        id=IDS.new_id(),
        guest="guest",
        email="ada@example.com",
        shipping_address=ADDRESS,
        lines=lines,
        quote=quoted(lines, tax=545, shipping=500),
        stock=(),
        reserved_until=T0 + timedelta(minutes=30),
        payment_provider="test",
        at=T0,
    )
    order.confirm_placement("token-hash", "payment", T0)
    async with MemoryUnitOfWork(store) as uow:
        await uow.orders.add(order)
        await uow.commit()
    return order


async def change(store: MemoryStore, order_id: str, how: Any) -> None:
    async with MemoryUnitOfWork(store) as uow:
        order = await uow.orders.get(order_id)
        assert order is not None
        how(order)
        await uow.orders.update(order)
        await uow.commit()


def event(store: MemoryStore, name: str) -> OutboxMessage:
    (message,) = [m for m in store.outbox.values() if m.name == name]
    return message


async def paid(store: MemoryStore) -> tuple[Order, OutboxMessage]:
    order = await placed_order(store)
    await change(store, order.id, lambda o: o.mark_paid("payment", o.total.amount, "USD", T0))
    return order, event(store, "order.paid")


async def shipped(store: MemoryStore, order_id: str, tracking_url: str | None) -> OutboxMessage:
    for status in (OrderStatus.IN_PRODUCTION, OrderStatus.FULFILLED):
        await change(store, order_id, lambda o, s=status: o.advance(s, T0))
    await change(store, order_id, lambda o: o.advance(OrderStatus.SHIPPED, T0, tracking_url=tracking_url))
    return event(store, "order.shipped")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


def notifications(
    store: MemoryStore,
    clock: ManualClock,
    queue: RecordingQueue,
    mailer: Any,
    schedule: tuple[int, ...] = (60, 600),
) -> Notifications:
    return Notifications(
        partial(MemoryUnitOfWork, store),
        clock,
        IDS,
        mailer,
        queue,
        shop_name="Tee & Co",
        retry_schedule=schedule,
        message_domain="shop.example.com",
        jitter=lambda: 0.0,
    )


async def run_jobs(service: Notifications, queue: RecordingQueue) -> None:
    for job, payload, _ in queue.take():
        assert job == SEND_EMAIL
        await service.send(payload["email_id"], payload["attempt"])


async def test_a_paid_order_gets_one_confirmation(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = ScriptedMailer()
    service = notifications(store, clock, queue, mailer)
    order, message = await paid(store)

    assert await service.on_event(message.id) == 1
    ((job, payload, job_id),) = queue.jobs
    assert (job, payload["attempt"]) == (SEND_EMAIL, 1)
    assert job_id == f"email-{payload['email_id']}-1"
    await run_jobs(service, queue)

    (sent,) = mailer.sent
    assert sent.to == "ada@example.com"
    assert sent.subject == f"Tee & Co: order {order.id} confirmed"
    assert sent.message_id == f"<{ORDER_CONFIRMATION}.{message.id}@shop.example.com>"
    # Amounts in major units, each line with its quantity, name and total.
    for text in ("2 x Classic tee: 44.00 USD", f"1 x {EVIL}: 10.50 USD", "Subtotal: 54.50 USD"):
        assert text in sent.text
    for text in ("Tax: 5.45 USD", "Shipping: 5.00 USD", "Total: 64.95 USD", "SW1Y 4JH London", "GB"):
        assert text in sent.text
    assert "Hello Ada <Lovelace>," in sent.text  # the text part is not HTML: nothing to escape
    # The HTML part escapes everything that came from outside.
    assert "<script>" not in sent.html and "&lt;script&gt;alert(1)&lt;/script&gt; Mug" in sent.html
    assert "Ada &lt;Lovelace&gt;" in sent.html and "Tee &amp; Co" in sent.html
    assert "64.95 USD" in sent.html and "12 St James&#x27;s Square" in sent.html

    (stored,) = store.emails.values()
    assert (stored.kind, stored.status, stored.attempts, stored.error) == (
        ORDER_CONFIRMATION,
        "sent",
        1,
        None,
    )


async def test_a_shipped_order_gets_a_shipping_update_with_its_tracking_link(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = ScriptedMailer()
    service = notifications(store, clock, queue, mailer)
    order, _ = await paid(store)
    message = await shipped(store, order.id, "https://track.example.com/1Z999?a=1&b=2")

    assert await service.on_event(message.id) == 1
    await run_jobs(service, queue)
    (sent,) = mailer.sent
    assert sent.subject == f"Tee & Co: order {order.id} shipped"
    assert sent.message_id == f"<{SHIPPING_UPDATE}.{message.id}@shop.example.com>"
    assert "Track your parcel: https://track.example.com/1Z999?a=1&b=2" in sent.text
    assert '<a href="https://track.example.com/1Z999?a=1&amp;b=2">' in sent.html


async def test_a_link_that_is_not_http_is_not_made_a_link(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = ScriptedMailer()
    service = notifications(store, clock, queue, mailer)
    order, _ = await paid(store)
    await service.on_event((await shipped(store, order.id, "javascript:alert(1)")).id)
    await run_jobs(service, queue)
    (sent,) = mailer.sent
    assert "<a " not in sent.html and "javascript:alert(1)" in sent.html


async def test_other_events_call_for_no_email(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    service = notifications(store, clock, queue, ScriptedMailer())
    order, _ = await paid(store)
    await change(store, order.id, lambda o: o.advance(OrderStatus.IN_PRODUCTION, T0))
    for message in list(store.outbox.values()):
        if message.name not in ("order.paid", "order.shipped"):
            assert await service.on_event(message.id) == 0
    assert await service.on_event(IDS.new_id()) == 0  # an unknown event
    assert queue.jobs == [] and store.emails == {}


async def test_an_event_seen_twice_sends_one_email(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = ScriptedMailer()
    service = notifications(store, clock, queue, mailer)
    _, message = await paid(store)
    assert await service.on_event(message.id) == 1
    assert await service.on_event(message.id) == 0
    assert len(queue.jobs) == 1
    (job,) = queue.jobs
    queue.jobs.append(job)  # the queue runs the job twice (at least once means that)
    await run_jobs(service, queue)
    assert len(mailer.sent) == 1
    assert await service.on_event(message.id) == 0
    assert await service.send_due() == 0
    assert queue.jobs == [] and len(mailer.sent) == 1


async def test_an_unavailable_server_is_tried_again_on_the_schedule(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = ScriptedMailer(MailUnavailable("connection refused"), MailUnavailable("421 try later"))
    service = notifications(store, clock, queue, mailer, schedule=(60, 600))
    _, message = await paid(store)
    await service.on_event(message.id)
    await run_jobs(service, queue)
    (pending,) = store.emails.values()
    assert (pending.status, pending.attempts, pending.error) == ("pending", 1, "connection refused")
    assert pending.next_attempt_at == T0 + timedelta(seconds=60)

    assert await service.send_due() == 0  # not yet due
    clock.advance(seconds=60)
    assert await service.send_due() == 1
    ((_, payload, job_id),) = queue.jobs
    assert payload["attempt"] == 2 and job_id.endswith("-2")
    await run_jobs(service, queue)
    (pending,) = store.emails.values()
    assert (pending.status, pending.attempts, pending.error) == ("pending", 2, "421 try later")

    clock.advance(seconds=600)
    assert await service.send_due() == 1
    await run_jobs(service, queue)
    (done,) = store.emails.values()
    assert (done.status, done.attempts, done.error, done.next_attempt_at) == ("sent", 3, None, None)
    assert len(mailer.tried) == 3 and len(mailer.sent) == 1
    assert len({m.message_id for m in mailer.tried}) == 1  # every attempt is the same message


async def test_the_email_fails_when_the_schedule_runs_out_or_the_server_refuses(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = ScriptedMailer(
        MailUnavailable("down"), MailUnavailable("down"), MailRejected("550 no such user")
    )
    service = notifications(store, clock, queue, mailer, schedule=(60,))
    order, message = await paid(store)
    await service.on_event(message.id)
    await run_jobs(service, queue)
    clock.advance(seconds=60)
    await service.send_due()
    await run_jobs(service, queue)
    (failed,) = store.emails.values()
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 2, None)
    clock.advance(days=1)
    assert await service.send_due() == 0

    await service.on_event((await shipped(store, order.id, None)).id)
    await run_jobs(service, queue)
    refused = next(e for e in store.emails.values() if e.kind == SHIPPING_UPDATE)
    assert (refused.status, refused.attempts, refused.error) == ("failed", 1, "550 no such user")
    assert mailer.sent == []


async def test_an_attempt_whose_worker_died_is_made_again_after_the_lease(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = ScriptedMailer()
    service = notifications(store, clock, queue, mailer)
    _, message = await paid(store)
    await service.on_event(message.id)
    queue.take()  # the job is lost (in-process queue of a process that stopped)
    assert await service.send_due() == 0
    clock.advance(seconds=LEASE.total_seconds())
    assert await service.send_due() == 1
    await run_jobs(service, queue)
    assert len(mailer.sent) == 1


class OvertakenMailer(ScriptedMailer):
    """Its first send outlives the attempt's lease: meanwhile (``meanwhile``) the email is handed
    on and sent by the next attempt; then the first is refused for good."""

    meanwhile: Any = None

    async def send(self, message: EmailMessage) -> None:
        if not self.tried:
            self.tried.append(message)
            await self.meanwhile()
            raise MailRejected("550 too late")
        await super().send(message)


async def test_an_attempt_overtaken_after_its_lease_ran_out_records_no_outcome(
    store: MemoryStore, clock: ManualClock, queue: RecordingQueue
) -> None:
    mailer = OvertakenMailer()
    service = notifications(store, clock, queue, mailer)
    _, message = await paid(store)
    await service.on_event(message.id)
    ((_, first, _),) = queue.take()

    async def lease_runs_out() -> None:
        clock.advance(seconds=LEASE.total_seconds())
        assert await service.send_due() == 1
        await run_jobs(service, queue)

    mailer.meanwhile = lease_runs_out
    assert await service.send(first["email_id"], first["attempt"]) is None  # overtaken: not recorded
    (sent,) = store.emails.values()
    assert (sent.status, sent.attempts, sent.error) == ("sent", 2, None)  # not failed by the refusal
    assert len(mailer.tried) == 2 and len(mailer.sent) == 1


async def test_the_folder_mailer_writes_one_parsable_file_per_message(tmp_path: Path) -> None:
    mailer = FolderMailer(tmp_path / "mail", "Tee & Co <shop@example.com>")
    message = EmailMessage(
        to="ada@example.com",
        subject="Grüße",
        text="plain ✓",
        html="<p>rich ✓</p>",
        message_id="<order_confirmation.0190-ab/../x@shop.example.com>",
    )
    await mailer.send(message)
    await mailer.send(message)  # sent again: the same file
    (written,) = (tmp_path / "mail").iterdir()
    assert written.name == file_name(message.message_id)
    assert written.name == "order_confirmation.0190-ab_.._x_shop.example.com.eml"
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == message.message_id and parsed["Subject"] == "Grüße"
    assert parsed.get_content_type() == "multipart/alternative"
    text, rich = parsed.iter_parts()
    assert text.get_content().strip() == "plain ✓" and rich.get_content().strip() == "<p>rich ✓</p>"
