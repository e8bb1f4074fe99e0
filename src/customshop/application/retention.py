"""Retention: records whose work is finished are deleted once they are old enough.

The outbox, webhook deliveries and their logs, emails, idempotency keys and guest session keys
would otherwise grow forever. Each kind has its own retention (``None`` keeps it forever); only
finished records older than it go: dispatched outbox messages, deliveries that were delivered or
failed for good (and attempt logs, except those of a delivery still pending), emails sent or failed
for good, idempotency keys (kept at least as long as the contract promises, checked by the
settings), and guest session keys once they expired. Pending work is never touched.

The purge deletes in batches of :data:`BATCH` rows, each its own transaction, so it never holds
many locks for long; the serving processes run it from their periodic sweep, at most once per
interval, and ``customshop purge`` runs it on demand (``--dry-run`` counts instead).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from customshop.application.ports import Clock, UnitOfWork, UnitOfWorkFactory

#: Rows deleted per statement (and transaction).
BATCH = 1000


class RecordKind(StrEnum):
    """What the purge deletes, named as its setting (``CUSTOMSHOP_RETENTION_<KIND>_...``)."""

    OUTBOX = "outbox"
    WEBHOOK_DELIVERIES = "webhook_deliveries"
    WEBHOOK_LOGS = "webhook_logs"
    EMAILS = "emails"
    IDEMPOTENCY = "idempotency"
    #: Guest session keys that expired: they own nothing any more, so they go at once (no setting).
    GUEST_KEYS = "guest_keys"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long finished records of each kind are kept; ``None`` (or zero) keeps them forever."""

    outbox: timedelta | None = timedelta(days=30)
    webhook_deliveries: timedelta | None = timedelta(days=30)
    webhook_logs: timedelta | None = timedelta(days=30)
    emails: timedelta | None = timedelta(days=30)
    idempotency: timedelta | None = timedelta(hours=48)

    def keeps(self, kind: RecordKind) -> timedelta | None:
        """How long ``kind`` is kept once finished, ``None`` for forever."""
        if kind is RecordKind.GUEST_KEYS:
            return timedelta(0)
        kept: timedelta | None = getattr(self, kind.value)
        return kept if kept else None


Purge = Callable[[datetime, int], Awaitable[int]]
Count = Callable[[datetime], Awaitable[int]]


def _store(uow: UnitOfWork, kind: RecordKind) -> tuple[Purge, Count]:
    """How ``kind`` is purged in ``uow`` (a batch at a time), and how what would go is counted."""
    match kind:
        case RecordKind.OUTBOX:
            return uow.outbox.purge_relayed, uow.outbox.count_relayed
        case RecordKind.WEBHOOK_DELIVERIES:
            return uow.webhooks.purge_finished_deliveries, uow.webhooks.count_finished_deliveries
        case RecordKind.WEBHOOK_LOGS:
            return uow.webhooks.purge_logs, uow.webhooks.count_logs
        case RecordKind.EMAILS:
            return uow.emails.purge_finished, uow.emails.count_finished
        case RecordKind.IDEMPOTENCY:
            return uow.idempotency.purge, uow.idempotency.count_purgeable
        case RecordKind.GUEST_KEYS:
            return uow.guest_keys.purge, uow.guest_keys.count_expired


class Retention:
    """Deletes finished records past their retention.

    Safe to run in several processes at once: a batch skips the rows another transaction holds
    (PostgreSQL), and a row deleted twice is deleted once.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        policy: RetentionPolicy,
        interval: timedelta = timedelta(hours=1),
        batch: int = BATCH,
    ) -> None:
        """
        Args:
            uow: Units of work; each batch is one.
            clock: The time the cut-offs are counted from.
            policy: The retention of each kind.
            interval: The least time between two runs of ``purge_if_due``.
            batch: Rows deleted per statement and transaction.

        Raises:
            ValueError: ``batch`` is not positive.
        """
        if batch < 1:
            raise ValueError(f"a purge batch is at least one row, not {batch}")
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._interval = interval
        self._batch = batch
        self._last_run: datetime | None = None

    async def purge(self, *, dry_run: bool = False) -> dict[RecordKind, int]:
        """Delete every finished record past its retention, batch by batch, until none is left.

        Args:
            dry_run: Count what would be deleted and delete nothing.

        Returns:
            How many records of each kind were deleted (or would be); a kind kept forever is absent.
        """
        now = self._clock.now()
        counts: dict[RecordKind, int] = {}
        for kind in RecordKind:
            kept = self._policy.keeps(kind)
            if kept is None:
                continue
            before = now - kept
            if dry_run:
                async with self._uow(read_only=True) as uow:
                    counts[kind] = await _store(uow, kind)[1](before)
            else:
                counts[kind] = await self._purge_kind(kind, before)
        return counts

    async def purge_if_due(self) -> dict[RecordKind, int] | None:
        """``purge()`` unless this object ran it less than the interval ago (then ``None``); the
        first call always runs."""
        now = self._clock.now()
        if self._last_run is not None and now - self._last_run < self._interval:
            return None
        self._last_run = now
        return await self.purge()

    async def _purge_kind(self, kind: RecordKind, before: datetime) -> int:
        total = 0
        while True:
            async with self._uow() as uow:
                deleted = await _store(uow, kind)[0](before, self._batch)
                await uow.commit()
            total += deleted
            if deleted < self._batch:
                return total
