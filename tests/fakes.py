"""Fakes of the ports for tests that run use cases in memory: hand-written implementations that keep
what they were asked to do, never mocks.

The memory adapters of ``customshop.adapters.memory`` (``MemoryStore``, ``ManualClock``...) are
fakes shipped with the code; the ones here exist only for tests: a job queue that runs nothing, a
payment gateway that fails on demand, senders that answer from a script, a renderer that fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, overload

from customshop.adapters.imaging.render import PillowRenderer
from customshop.application.ports import (
    DeliveryResult,
    PaymentHandle,
    PaymentNotice,
    PaymentRequest,
    QueueUnavailable,
    RenderRequest,
)

#: A job as the queue was given it: its name, its payload and its id.
Job = tuple[str, dict[str, Any], str]


class RecordingQueue:
    """Implements ``JobQueue``: keeps every job it is given, runs none (the test runs them).

    ``down`` makes :meth:`enqueue` raise ``QueueUnavailable``, as a queue whose server is gone.
    """

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.down = False

    async def enqueue(self, job: str, payload: Mapping[str, Any], *, job_id: str) -> None:
        if self.down:
            raise QueueUnavailable("down")
        self.jobs.append((job, dict(payload), job_id))

    @overload
    def take(self) -> list[Job]: ...

    @overload
    def take(self, name: str) -> list[dict[str, Any]]: ...

    def take(self, name: str | None = None) -> list[Job] | list[dict[str, Any]]:
        """Remove and return what was enqueued: every job, or only the payloads of jobs ``name``."""
        if name is None:
            jobs, self.jobs = self.jobs, []
            return jobs
        taken = [payload for job, payload, _ in self.jobs if job == name]
        self.jobs = [entry for entry in self.jobs if entry[0] != name]
        return taken


class ScriptedSender:
    """Implements ``WebhookSender``: answers each send with the next status of its script (204 once it
    runs out; ``None`` is a refused connection) and keeps what it was given."""

    def __init__(self, *statuses: int | None) -> None:
        self.script = list(statuses)
        self.sent: list[tuple[str, dict[str, str], bytes]] = []

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        self.sent.append((url, dict(headers), body))
        status = self.script.pop(0) if self.script else 204
        return DeliveryResult(status, None if status else "connection refused", 3)


class Receiver:
    """Implements ``WebhookSender``: accepts every delivery (200) and keeps it, with whether it was sent
    to a trusted (configured, not partner) address."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str], bytes, bool]] = []

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        self.sent.append((url, dict(headers), body, trusted))
        return DeliveryResult(200, None, 1)


class NoSender:
    """Implements ``WebhookSender`` for tests in which nothing may be sent."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        raise AssertionError("nothing is sent in these tests")


async def allow_any(url: str) -> None:
    """An endpoint check that lets every https URL through (no name resolution)."""
    if not url.startswith("https://"):
        raise ValueError("only https")


async def refuse_all(url: str) -> None:
    """An endpoint check that refuses every partner URL."""
    raise ValueError("no partner endpoints in these tests")


class FlakyRenderer:
    """Implements ``Renderer``: the real Pillow renderer, after failing ``failures`` times; with
    ``dies`` set, each rendering ends the process (``SystemExit``), as a worker killed mid-render."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.dies = False
        self.requests: list[RenderRequest] = []

    def render(self, request: RenderRequest) -> bytes:
        self.requests.append(request)
        if self.dies:
            raise SystemExit("killed")
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the renderer ran out of memory")
        return PillowRenderer().render(request)


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund a :class:`FakeGateway` was asked for."""

    reference: str
    amount: int
    currency: str
    idempotency_key: str


class FakeGateway:
    """Implements ``PaymentGateway`` as provider ``fake``. Keeps the payments it started, the refunds
    and cancellations it was asked for; ``fail_start``/``fail_refund`` make the next calls raise;
    ``hold`` keeps ``start`` waiting until it is set (``entered`` is set once a start is waiting)."""

    def __init__(self) -> None:
        self.started: dict[str, PaymentRequest] = {}
        self.refunds: list[Refund] = []
        self.cancels: list[str] = []
        self.fail_start: Exception | None = None
        self.fail_refund: Exception | None = None
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()

    @property
    def provider(self) -> str:
        return "fake"

    async def start(self, request: PaymentRequest) -> PaymentHandle:
        await asyncio.sleep(0)  # a network call lets other tasks run
        if self.hold is not None:
            self.entered.set()
            await self.hold.wait()
        if self.fail_start is not None:
            raise self.fail_start
        reference = f"fk_{request.idempotency_key}"  # the same key starts the same payment
        self.started[reference] = request
        return PaymentHandle(reference=reference, client_secret=f"{reference}_secret")

    async def cancel(self, reference: str) -> None:
        self.cancels.append(reference)

    async def refund(self, reference: str, amount: int, currency: str, idempotency_key: str) -> None:
        if self.fail_refund is not None:
            raise self.fail_refund
        self.refunds.append(Refund(reference, amount, currency, idempotency_key))

    async def receive(self, body: bytes, headers: Any) -> PaymentNotice | None:
        return None
