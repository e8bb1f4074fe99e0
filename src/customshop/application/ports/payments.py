"""Payment providers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from customshop.application.ports.unavailable import Unavailable


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What a gateway needs to start collecting a payment.

    ``idempotency_key`` is passed on to the provider: starting the same payment twice (a retried
    checkout) gives back the same provider payment.
    """

    payment_id: str
    order_id: str
    amount: int
    currency: str
    email: str
    description: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PaymentHandle:
    """How the buyer pays: ``reference`` is the provider's id; a storefront confirms with
    ``client_secret`` (Stripe), sends the buyer to ``approval_url`` (PayPal) or ``payment_url``
    (the test provider)."""

    reference: str
    client_secret: str | None = None
    approval_url: str | None = None
    payment_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    """A provider's verified report about a payment.

    ``outcome`` is ``succeeded`` or ``failed``; ``event_id`` identifies the delivery for
    de-duplication; ``amount``/``currency`` are what was received (succeeded only).
    """

    event_id: str
    reference: str
    outcome: str
    amount: int = 0
    currency: str = ""
    failure: str | None = None


class InvalidSignature(Exception):
    """A webhook delivery is not signed by the provider, or its signature is too old."""


class PaymentUnavailable(Unavailable):
    """The payment provider cannot be reached, did not answer in time, or answered with an error of
    its own."""

    dependency = "the payment provider"


class PaymentRejected(Exception):
    """The provider refused the request itself (not a temporary failure)."""


class PaymentGateway(Protocol):
    """One payment provider.

    ``start`` and ``refund`` are idempotent by their ``idempotency_key``. Network failures and the
    provider's own errors raise ``PaymentUnavailable``; a request the provider refuses raises
    ``PaymentRejected``.
    """

    @property
    def provider(self) -> str: ...

    async def start(self, request: PaymentRequest) -> PaymentHandle: ...

    async def cancel(self, reference: str) -> None:
        """Stop a pending payment so the buyer can no longer complete it (best effort)."""
        ...

    async def refund(self, reference: str, amount: int, currency: str, idempotency_key: str) -> None: ...

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice | None:
        """Verify and read a webhook delivery. ``None`` for events customshop does not act on. Where
        the provider needs a step after the buyer approves (PayPal's capture), this takes it and
        reports its outcome.

        Raises:
            InvalidSignature: a bad or stale signature; nothing may change then.
        """
        ...
