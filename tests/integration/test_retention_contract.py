"""Retention on every implementation of the ports (memory, SQLite, PostgreSQL): only finished records
older than the cut-off are deleted, in batches of at most the limit; pending work never. Then the
``Retention`` use case over the same units of work, with a manual clock (no sleeps)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from customshop.adapters.memory.clock import ManualClock
from customshop.application.ports import UnitOfWorkFactory
from customshop.application.retention import RecordKind, Retention, RetentionPolicy
from customshop.domain.events import OrderCreated
from customshop.domain.webhooks import WebhookDelivery
from tests.builders import (
    IDS,
    make_delivery,
    make_email,
    make_endpoint,
    make_log,
    make_record,
    now,
)

pytestmark = pytest.mark.parametrize(
    "backend", ["memory", "sqlite", "postgresql"], indirect=True, scope="session"
)

DAY = timedelta(days=1)


async def drain(purge: object, cutoff: datetime, limit: int, uow_factory: UnitOfWorkFactory) -> list[int]:
    """Run one purge method (named ``repository.method``) batch by batch until a batch comes back
    short; the sizes of the batches."""
    repository, method = str(purge).split(".")
    sizes = []
    while True:
        async with uow_factory() as uow:
            deleted = await getattr(getattr(uow, repository), method)(cutoff, limit)
            await uow.commit()
        sizes.append(deleted)
        if deleted < limit:
            return sizes


async def test_outbox_purges_only_messages_relayed_before_the_cut_off(uow_factory: UnitOfWorkFactory) -> None:
    base = now()
    order_id = IDS.new_id()
    async with uow_factory() as uow:
        await uow.outbox.add([OrderCreated(order_id, base - 40 * DAY, n, "USD") for n in range(7)])
        await uow.commit()
    async with uow_factory() as uow:
        old = await uow.outbox.pending(10, base)
        assert len(old) == 7
        await uow.outbox.mark_relayed([m.id for m in old[:5]], base - 31 * DAY)  # old and dispatched
        await uow.outbox.mark_relayed([old[5].id], base - DAY)  # dispatched lately
        # old[6] is never dispatched, however old: pending work
        await uow.commit()
    cutoff = base - 30 * DAY
    async with uow_factory(read_only=True) as uow:
        assert await uow.outbox.count_relayed(cutoff) == 5
    assert await drain("outbox.purge_relayed", cutoff, 2, uow_factory) == [2, 2, 1]
    async with uow_factory() as uow:
        assert await uow.outbox.count_relayed(cutoff) == 0
        assert [await uow.outbox.get(m.id) for m in old[:5]] == [None] * 5
        assert await uow.outbox.get(old[5].id) is not None
        assert await uow.outbox.pending(10, base) == [old[6]]
        assert await uow.outbox.purge_relayed(base + DAY, 100) == 1  # the recent one, once it is old
        assert await uow.outbox.pending(10, base) == [old[6]]


def aged(delivery: WebhookDelivery, status: str, at: datetime) -> WebhookDelivery:
    return replace(
        delivery, status=status, next_attempt_at=None if status != "pending" else at, updated_at=at
    )


async def test_finished_deliveries_and_their_logs_are_purged_pending_ones_never(
    uow_factory: UnitOfWorkFactory,
) -> None:
    base = now()
    endpoint = make_endpoint()
    old_finished = [
        aged(make_delivery(endpoint), status, base - 40 * DAY) for status in ("delivered", "failed") * 3
    ]
    old_pending = aged(make_delivery(endpoint), "pending", base - 40 * DAY)
    recent = aged(make_delivery(endpoint), "delivered", base - DAY)
    async with uow_factory() as uow:
        await uow.webhooks.add_endpoint(endpoint)
        for delivery in (*old_finished, old_pending, recent):
            assert await uow.webhooks.add_delivery(replace(delivery, status="pending"))
            await uow.webhooks.update_delivery(delivery)
        old_logs = [replace(make_log(d), sent_at=base - 40 * DAY) for d in old_finished]
        pending_log = replace(make_log(old_pending), sent_at=base - 40 * DAY)
        recent_log = replace(make_log(old_finished[0], 2), sent_at=base - DAY)
        for log in (*old_logs, pending_log, recent_log):
            await uow.webhooks.add_log(log)
        await uow.commit()

    cutoff = base - 30 * DAY
    async with uow_factory(read_only=True) as uow:
        assert await uow.webhooks.count_finished_deliveries(cutoff) == 6
        assert await uow.webhooks.count_logs(cutoff) == 6
    assert await drain("webhooks.purge_finished_deliveries", cutoff, 4, uow_factory) == [4, 2]
    # Logs outlive their delivery when kept longer; those of a pending delivery stay, however old.
    assert await drain("webhooks.purge_logs", cutoff, 4, uow_factory) == [4, 2]
    async with uow_factory() as uow:
        assert [await uow.webhooks.get_delivery(d.id) for d in old_finished] == [None] * 6
        assert await uow.webhooks.get_delivery(old_pending.id) == old_pending
        assert await uow.webhooks.get_delivery(recent.id) == recent
        assert await uow.webhooks.due_deliveries(base, 10) == [old_pending]
        logs = await uow.webhooks.list_logs(event=None, before=None, limit=10)
        assert sorted(log.id for log in logs.items) == sorted([pending_log.id, recent_log.id])
        assert await uow.webhooks.count_finished_deliveries(cutoff) == 0
        assert await uow.webhooks.count_logs(cutoff) == 0


async def test_finished_emails_are_purged_pending_ones_never(uow_factory: UnitOfWorkFactory) -> None:
    base = now()
    old = base - 40 * DAY
    finished = [replace(make_email(status=status), updated_at=old) for status in ("sent", "failed", "sent")]
    pending = replace(make_email(next_attempt_at=old), updated_at=old)
    recent = replace(make_email(status="sent"), updated_at=base - DAY)
    async with uow_factory() as uow:
        for email in (*finished, pending, recent):
            assert await uow.emails.add(email)
        await uow.commit()
    cutoff = base - 30 * DAY
    async with uow_factory(read_only=True) as uow:
        assert await uow.emails.count_finished(cutoff) == 3
    assert await drain("emails.purge_finished", cutoff, 2, uow_factory) == [2, 1]
    async with uow_factory() as uow:
        assert [await uow.emails.get(e.id) for e in finished] == [None] * 3
        assert await uow.emails.get(pending.id) == pending
        assert await uow.emails.get(recent.id) == recent
        assert await uow.emails.due(base, 10) == [pending]


async def test_idempotency_keys_are_purged_in_batches(uow_factory: UnitOfWorkFactory) -> None:
    base = now()
    records = [make_record(key=f"k{n}", at=base - timedelta(hours=50 + n)) for n in range(5)]
    fresh = make_record(key="fresh", at=base - timedelta(hours=1))
    async with uow_factory() as uow:
        for record in (*records, fresh):
            assert await uow.idempotency.claim(record) is None
        await uow.commit()
    cutoff = base - timedelta(hours=48)
    async with uow_factory(read_only=True) as uow:
        assert await uow.idempotency.count_purgeable(cutoff) == 5
    assert await drain("idempotency.purge", cutoff, 2, uow_factory) == [2, 2, 1]
    async with uow_factory() as uow:
        assert [await uow.idempotency.get("guest-a", r.key) for r in records] == [None] * 5
        assert await uow.idempotency.get("guest-a", "fresh") == fresh


async def test_endpoint_pages(uow_factory: UnitOfWorkFactory) -> None:
    endpoints = sorted((make_endpoint() for _ in range(5)), key=lambda e: e.id)
    async with uow_factory() as uow:
        for endpoint in endpoints:
            await uow.webhooks.add_endpoint(endpoint)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        first = await uow.webhooks.endpoint_page(after=None, limit=2)
        assert first.items == endpoints[:2] and first.next_after == endpoints[1].id
        second = await uow.webhooks.endpoint_page(after=first.next_after, limit=3)
        assert second.items == endpoints[2:] and second.next_after is None
        assert (await uow.webhooks.endpoint_page(after=None, limit=5)).next_after is None


# -- the use case ----------------------------------------------------------------------------------


async def test_retention_purges_each_kind_past_its_own_retention(uow_factory: UnitOfWorkFactory) -> None:
    clock = ManualClock(now())
    base = clock.now()
    endpoint = make_endpoint()
    async with uow_factory() as uow:
        await uow.webhooks.add_endpoint(endpoint)
        for _ in range(5):  # delivered 10 days ago
            delivery = aged(make_delivery(endpoint), "delivered", base - 10 * DAY)
            await uow.webhooks.add_delivery(delivery)
            await uow.webhooks.add_log(replace(make_log(delivery), sent_at=base - 10 * DAY))
        waiting = aged(make_delivery(endpoint), "pending", base - 100 * DAY)
        await uow.webhooks.add_delivery(waiting)
        await uow.webhooks.add_log(replace(make_log(waiting), sent_at=base - 100 * DAY))
        for _ in range(3):
            await uow.emails.add(replace(make_email(status="sent"), updated_at=base - 10 * DAY))
        await uow.emails.add(replace(make_email(next_attempt_at=base), updated_at=base - 100 * DAY))
        for n in range(4):
            await uow.idempotency.claim(make_record(key=f"k{n}", at=base - timedelta(hours=30)))
        for n in range(3):  # guest keys that expired: they go whatever the policy
            await uow.guest_keys.add(f"expired-{n}", base - 400 * DAY, base - DAY)
        await uow.guest_keys.add("live", base - DAY, base + 300 * DAY)
        await uow.commit()

    policy = RetentionPolicy(
        outbox=7 * DAY,
        webhook_deliveries=7 * DAY,
        webhook_logs=None,  # kept forever
        emails=30 * DAY,
        idempotency=timedelta(hours=24),
    )
    retention = Retention(uow_factory, clock, policy, interval=timedelta(hours=1), batch=2)
    expected = {
        RecordKind.OUTBOX: 0,
        RecordKind.WEBHOOK_DELIVERIES: 5,
        RecordKind.EMAILS: 0,
        RecordKind.IDEMPOTENCY: 4,
        RecordKind.GUEST_KEYS: 3,
    }
    assert await retention.purge(dry_run=True) == expected
    assert await retention.purge(dry_run=True) == expected, "a dry run deletes nothing"
    assert await retention.purge_if_due() == expected  # batches of 2: more than one batch each
    async with uow_factory(read_only=True) as uow:
        assert await uow.webhooks.due_deliveries(base, 10) == [waiting]
        assert len((await uow.webhooks.list_logs(event=None, before=None, limit=10)).items) == 6
        assert len(await uow.emails.due(base, 10)) == 1
        assert await uow.emails.count_finished(base) == 3

    async with uow_factory(read_only=True) as uow:
        assert await uow.guest_keys.expires_at("live") == base + 300 * DAY
        assert await uow.guest_keys.expires_at("expired-0") is None
    clock.advance(minutes=59)
    assert await retention.purge_if_due() is None, "at most once per interval"
    clock.advance(days=21)  # the emails are 31 days old now
    assert await retention.purge_if_due() == dict.fromkeys(expected, 0) | {RecordKind.EMAILS: 3}
    async with uow_factory(read_only=True) as uow:
        assert await uow.emails.count_finished(clock.now()) == 0
        assert len(await uow.emails.due(clock.now(), 10)) == 1, "the pending email stays"


def test_a_purge_batch_has_at_least_one_row(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(ValueError, match="at least one row"):
        Retention(uow_factory, ManualClock(), RetentionPolicy(), batch=0)


async def test_a_purge_skips_rows_another_transaction_holds(
    backend: str, uow_factory: UnitOfWorkFactory
) -> None:
    """On PostgreSQL a batch never waits for a row a sender holds: it deletes the others and
    leaves that one for a later run. (SQLite and the memory store have one writer at a time.)"""
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    base = now()
    old = base - 40 * DAY
    held, *others = [replace(make_email(status="sent"), updated_at=old) for _ in range(3)]
    async with uow_factory() as uow:
        for email in (held, *others):
            await uow.emails.add(email)
        await uow.commit()
    async with uow_factory() as holder:
        assert await holder.emails.get(held.id, for_update=True) == held
        async with asyncio.timeout(5), uow_factory() as uow:
            assert await uow.emails.purge_finished(base - 30 * DAY, 10) == 2
            await uow.commit()
    async with uow_factory() as uow:
        assert await uow.emails.get(held.id) == held
        assert await uow.emails.purge_finished(base - 30 * DAY, 10) == 1


async def test_a_guest_keys_expiry_is_answered_from_memory_only_while_it_proves_the_key_live(
    backend: str, uow_factory: UnitOfWorkFactory
) -> None:
    """Every guest request asks whether its key is live; an expiry read before may answer when it is
    after the caller's now (expiries only move later), never otherwise."""
    base = now()
    key = f"remembered-{secrets.token_hex(8)}"  # the SQL adapter remembers per process: a key of its own
    async with uow_factory() as uow:
        await uow.guest_keys.add(key, base, base + 10 * DAY)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        assert await uow.guest_keys.expires_at(key, base) == base + 10 * DAY
    async with uow_factory() as uow:  # extended, as POST /sessions does with a live key
        await uow.guest_keys.extend(key, base + 400 * DAY)
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        # Still live at base: the SQL adapter answers with the time it read (the memory store has
        # nothing to save). Past that time, the stored one answers.
        remembered = base + (400 if backend == "memory" else 10) * DAY
        assert await uow.guest_keys.expires_at(key, base) == remembered
        assert await uow.guest_keys.expires_at(key, base + 20 * DAY) == base + 400 * DAY
        assert await uow.guest_keys.expires_at(key) == base + 400 * DAY
