"""Payments: one attempt to settle an order through a provider (``stripe``, ``paypal``, ``test``).

An order may have several (a failed payment is retried with a new one); the order points at the
current one. A payment is ``new`` until the provider has it, then ``pending`` until the provider
reports it ``succeeded`` or ``failed``; a pending payment no longer wanted is ``cancelled``, and a
succeeded one whose money went back is ``refunded``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class PaymentStatus(StrEnum):
    NEW = "new"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    order_id: str
    provider: str
    #: The provider's id for it (a PaymentIntent, a PayPal order); None until started.
    reference: str | None
    status: PaymentStatus
    amount: int
    currency: str
    client_secret: str | None
    approval_url: str | None
    payment_url: str | None
    failure: str | None
    created_at: datetime
    updated_at: datetime

    def started(
        self,
        reference: str,
        client_secret: str | None,
        approval_url: str | None,
        payment_url: str | None,
        at: datetime,
    ) -> Payment:
        return replace(
            self,
            reference=reference,
            status=PaymentStatus.PENDING,
            client_secret=client_secret,
            approval_url=approval_url,
            payment_url=payment_url,
            updated_at=at,
        )

    def settled(self, status: PaymentStatus, at: datetime, failure: str | None = None) -> Payment:
        return replace(self, status=status, failure=failure, updated_at=at)
