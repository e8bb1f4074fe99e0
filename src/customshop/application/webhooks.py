"""Partner webhooks: endpoints, the fan-out of each event to them, deliveries with retries, and the
log of every attempt.

Each event becomes one delivery per subscribed endpoint (never two: the pair is unique), signed the
Standard Webhooks way with the endpoint's secret, the event id as ``webhook-id`` on every attempt
so receivers deduplicate. A failed attempt is tried again on the retry schedule, with jitter; an
endpoint answering 410 is disabled. An attempt in flight holds its delivery for a lease: a worker
that dies mid-attempt leaves it due again once the lease runs out, so nothing is lost (a receiver
may see an event twice, never not at all). Attempts, leases, delays and giving up follow the
:class:`~customshop.domain.retries.RetryPolicy` every retried job follows.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from customshop.application.ports import (
    Clock,
    GiveUpReason,
    IdGenerator,
    JobQueue,
    Metrics,
    NoMetrics,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
    UrlCheck,
    WebhookSender,
    WebhookTarget,
)
from customshop.domain.errors import Conflict, InvalidInput, NotFound, Violation
from customshop.domain.events import EVENT_NAMES
from customshop.domain.retries import GiveUp, JobStatus, Retry, RetryPolicy
from customshop.domain.webhooks import (
    WebhookDelivery,
    WebhookEndpoint,
    WebhookLog,
    format_secret,
    signature_headers,
)

#: The job that makes one attempt of one delivery.
DELIVER_WEBHOOK = "deliver_webhook"
#: How long an attempt in flight keeps its delivery from being picked up again.
LEASE = timedelta(minutes=2)
URL_MAX = 2000

#: The endpoint id of deliveries to the fulfillment partner (configured, not stored), and their event.
FULFILLMENT_ENDPOINT = "fulfillment"
FULFILLMENT_EVENT = "fulfillment.requested"


@dataclass(frozen=True, slots=True)
class FulfillmentTarget:
    """Where print-ready orders go (``CUSTOMSHOP_FULFILLMENT_URL``) and the secret they are signed
    with (``CUSTOMSHOP_FULFILLMENT_SECRET``). The shop's own configuration, so it may be on a
    private network."""

    url: str
    secret: str


def rfc3339(at: datetime) -> str:
    """A UTC time as webhook bodies write it: ISO 8601 with ``Z``."""
    return at.isoformat().replace("+00:00", "Z")


def delivery_body(event: str, at: datetime, data: Mapping[str, Any]) -> bytes:
    """The JSON body of a delivery: ``{"type", "timestamp", "data"}``, compact."""
    return json.dumps({"type": event, "timestamp": rfc3339(at), "data": data}, separators=(",", ":")).encode()


class EndpointNotFound(NotFound):
    pass


class DeliveryNotFound(NotFound):
    pass


class EndpointDisabled(Conflict):
    pass


class Webhooks:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        queue: JobQueue,
        sender: WebhookSender,
        check_url: UrlCheck,
        schedule: Sequence[int],
        jitter: Callable[[], float] = lambda: random.uniform(-0.1, 0.1),  # noqa: S311 - spreading retries
        fulfillment: FulfillmentTarget | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._uow = uow
        self._metrics = metrics or NoMetrics()
        self._clock = clock
        self._ids = ids
        self._queue = queue
        self._sender = sender
        self._check_url = check_url
        self._retries = RetryPolicy(delays=tuple(schedule), lease=LEASE)
        self._jitter = jitter
        self._fulfillment = fulfillment

    # -- endpoints -------------------------------------------------------------------------------

    async def create_endpoint(self, url: str, events: Sequence[str]) -> WebhookEndpoint:
        """Register ``url`` for ``events``; the answer carries the signing secret (shown once here
        and in listings for ``webhooks:manage``).

        Raises:
            InvalidInput: no events or unknown ones (``events[i]``); a URL that is malformed, too
                long, or resolves to a loopback, private or link-local address (``url``).
        """
        problems: list[Violation] = []
        if not events:
            problems.append(Violation("events", "required", "subscribe to at least one event"))
        for index, name in enumerate(events):
            if name not in EVENT_NAMES:
                problems.append(
                    Violation(f"events[{index}]", "unknown_event", f"events are: {', '.join(EVENT_NAMES)}")
                )
        if len(url) > URL_MAX:
            problems.append(Violation("url", "too_long", f"a URL is at most {URL_MAX} characters"))
        else:
            try:
                await self._check_url(url)
            except ValueError as exc:
                problems.append(Violation("url", "refused", str(exc)))
        if problems:
            raise InvalidInput(problems, "The webhook endpoint is invalid.")
        endpoint = WebhookEndpoint(
            id=self._ids.new_id(),
            url=url,
            events=tuple(dict.fromkeys(events)),
            secret=format_secret(secrets.token_bytes(24)),
            active=True,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.webhooks.add_endpoint(endpoint)
            await uow.commit()
        return endpoint

    async def list_endpoints(self, *, after: str | None = None, limit: int = 50) -> Page[WebhookEndpoint]:
        """A page of endpoints, oldest first, from the one after ``after``."""
        async with self._uow(read_only=True) as uow:
            return await uow.webhooks.endpoint_page(after=after, limit=limit)

    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove an endpoint, its deliveries and logs. Raises ``EndpointNotFound``."""
        async with self._uow() as uow:
            if await uow.webhooks.get_endpoint(endpoint_id) is None:
                raise EndpointNotFound(f"there is no webhook endpoint {endpoint_id!r}")
            await uow.webhooks.delete_endpoint(endpoint_id)
            await uow.commit()

    # -- deliveries ------------------------------------------------------------------------------

    async def fan_out(self, event_id: str) -> int:
        """One delivery of the event per active endpoint subscribed to it, each sent as a job.
        Idempotent: an event fanned out again adds no delivery. Returns how many were added."""
        now = self._clock.now()
        added: list[WebhookDelivery] = []
        async with self._uow() as uow:
            message = await uow.outbox.get(event_id)
            if message is None:
                return 0
            body = delivery_body(message.name, message.created_at, message.payload)
            for endpoint in await uow.webhooks.list_endpoints():
                if not endpoint.active or message.name not in endpoint.events:
                    continue
                delivery = WebhookDelivery(
                    id=self._ids.new_id(),
                    endpoint_id=endpoint.id,
                    event_id=message.id,
                    event=message.name,
                    body=body,
                    attempts=0,
                    status=JobStatus.PENDING,
                    next_attempt_at=self._retries.lease_until(now),
                    created_at=now,
                    updated_at=now,
                )
                if await uow.webhooks.add_delivery(delivery):
                    added.append(delivery)
            await uow.commit()
        for delivery in added:
            await self.send_later(delivery)
        return len(added)

    async def deliver(
        self, delivery_id: str, attempt: int | None = None, *, granted: bool = False
    ) -> WebhookLog | None:
        """Make attempt number ``attempt`` of a pending delivery and log it; None when there is
        nothing to do (delivered, failed, unknown, or that attempt begun already: a job run twice).
        Schedules the next attempt, or gives up when the schedule is exhausted; an endpoint
        answering 410 is disabled.

        Args:
            attempt: The attempt the job was sent for (from 1); None: the next, whichever it is.
            granted: An operator asked for this attempt (``webhooks retry``): it is made even when
                the schedule is used up.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            delivery = await uow.webhooks.get_delivery(delivery_id, for_update=True)
            if delivery is None or delivery.status != JobStatus.PENDING:
                return None
            if attempt is not None and delivery.attempts != attempt - 1:
                return None
            endpoint = await self._endpoint(uow, delivery.endpoint_id)
            begun = self._retries.attempts(delivery.attempts).begin(now, granted=granted)
            if endpoint is None or not endpoint.active or isinstance(begun, GiveUp):
                await uow.webhooks.update_delivery(
                    replace(delivery, status=JobStatus.FAILED, next_attempt_at=None, updated_at=now)
                )
                await uow.commit()
                # Abandoned (every attempt begun and none reported back) is the schedule used up too.
                reason: GiveUpReason = "disabled" if endpoint is None or not endpoint.active else "exhausted"
                self._metrics.webhook_given_up(_target(delivery.endpoint_id), reason)
                return None
            delivery = replace(delivery, attempts=begun.attempt, next_attempt_at=begun.until, updated_at=now)
            await uow.webhooks.update_delivery(delivery)
            await uow.commit()
        headers = signature_headers(endpoint.secret, delivery.event_id, int(now.timestamp()), delivery.body)
        trusted = endpoint.id == FULFILLMENT_ENDPOINT
        result = await self._sender.send(endpoint.url, headers, delivery.body, trusted=trusted)
        done = self._clock.now()
        log = WebhookLog(
            id=self._ids.new_id(),
            delivery_id=delivery.id,
            endpoint_id=endpoint.id,
            event=delivery.event,
            attempt=delivery.attempts,
            response_status=result.status,
            sent_at=now,
            error=result.error,
        )
        given_up: GiveUpReason | None = None
        async with self._uow() as uow:
            current = await uow.webhooks.get_delivery(delivery.id, for_update=True)
            if current is None:  # deleted with its endpoint meanwhile, and its log with it
                return log
            await uow.webhooks.add_log(log)  # every attempt is logged, even one overtaken
            attempts = self._retries.attempts(current.attempts)
            if current.status != JobStatus.PENDING or not attempts.is_current(log.attempt):
                # The lease ran out and the delivery moved on (a newer attempt, or an operator's
                # retry): that attempt records the outcome, not this one.
                await uow.commit()
                return log
            finished = replace(current, next_attempt_at=None, updated_at=done)
            if result.succeeded:
                attempts.succeeded()
                delivery = replace(finished, status=JobStatus.DELIVERED)
            elif result.status == 410:
                given_up = "gone"
                delivery = replace(finished, status=JobStatus.FAILED)
                if not trusted:  # the configured fulfillment endpoint stays until it is configured away
                    await uow.webhooks.update_endpoint(
                        replace(endpoint, active=False, disabled_reason="the endpoint answered 410 Gone")
                    )
            else:
                outcome = attempts.failed(done, self._jitter())
                if isinstance(outcome, Retry):
                    delivery = replace(current, next_attempt_at=outcome.at, updated_at=done)
                else:
                    given_up = "exhausted"
                    delivery = replace(finished, status=JobStatus.FAILED)
            await uow.webhooks.update_delivery(delivery)
            await uow.commit()
        if given_up is not None:
            self._metrics.webhook_given_up(_target(endpoint.id), given_up)
        return log

    async def send_due(self, batch: int = 100) -> int:
        """Send the pending deliveries whose next attempt is due (retries, and attempts whose worker
        died) as jobs, each leased; returns how many."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.webhooks.due_deliveries(now, batch)
            for delivery in due:
                await uow.webhooks.update_delivery(
                    replace(delivery, next_attempt_at=self._retries.lease_until(now))
                )
            await uow.commit()
        for delivery in due:
            await self.send_later(delivery)
        return len(due)

    async def retry(self, delivery_id: str) -> WebhookDelivery:
        """Try a delivery again now, even one that failed (an operator's ``webhooks retry``).

        Raises:
            DeliveryNotFound. EndpointDisabled: its endpoint is disabled (nothing would be sent).
        """
        now = self._clock.now()
        async with self._uow() as uow:
            delivery = await uow.webhooks.get_delivery(delivery_id, for_update=True)
            if delivery is None:
                raise DeliveryNotFound(f"there is no webhook delivery {delivery_id!r}")
            endpoint = await self._endpoint(uow, delivery.endpoint_id)
            if endpoint is None or not endpoint.active:
                reason = endpoint.disabled_reason if endpoint else None
                raise EndpointDisabled(
                    f"the endpoint of delivery {delivery_id!r} is disabled"
                    + (f" ({reason})" if reason else "")
                )
            delivery = replace(
                delivery,
                status=JobStatus.PENDING,
                next_attempt_at=self._retries.lease_until(now),
                updated_at=now,
            )
            await uow.webhooks.update_delivery(delivery)
            await uow.commit()
        await self.send_later(delivery, granted=True)
        return delivery

    async def logs(self, *, event: str | None, before: str | None, limit: int) -> Page[WebhookLog]:
        """Attempts, newest first, of one event type when ``event`` is given."""
        async with self._uow(read_only=True) as uow:
            return await uow.webhooks.list_logs(event=event, before=before, limit=limit)

    async def _endpoint(self, uow: UnitOfWork, endpoint_id: str) -> WebhookEndpoint | None:
        """A stored endpoint, or the configured fulfillment endpoint (disabled while none is)."""
        if endpoint_id != FULFILLMENT_ENDPOINT:
            return await uow.webhooks.get_endpoint(endpoint_id)
        target = self._fulfillment
        return WebhookEndpoint(
            id=FULFILLMENT_ENDPOINT,
            url=target.url if target else "",
            events=(FULFILLMENT_EVENT,),
            secret=target.secret if target else "",
            active=target is not None,
            created_at=self._clock.now(),
            disabled_reason=None if target else "CUSTOMSHOP_FULFILLMENT_URL is not set",
        )

    async def send_later(self, delivery: WebhookDelivery, *, granted: bool = False) -> None:
        """Hand the delivery's next attempt to the job queue (it is leased by whoever calls);
        ``granted``: an operator's, made even beyond the schedule."""
        attempt = delivery.attempts + 1
        payload: dict[str, Any] = {"delivery_id": delivery.id, "attempt": attempt}
        if granted:
            payload["granted"] = True
        await self._queue.enqueue(DELIVER_WEBHOOK, payload, job_id=f"delivery-{delivery.id}-{attempt}")


def _target(endpoint_id: str) -> WebhookTarget:
    return "fulfillment" if endpoint_id == FULFILLMENT_ENDPOINT else "partner"
