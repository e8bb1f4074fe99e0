"""The ``test`` payment provider: no network, no money. Buyers "pay" on a page customshop serves
itself (``payment_url``), and ``POST /test-payments/{payment_id}/succeed`` or ``/fail`` reports the
outcome through the same code path as a real gateway's webhook. On in the embedded mode by default;
never enable it where real customers order."""

from __future__ import annotations

from collections.abc import Mapping

from customshop.application.ports import InvalidSignature, PaymentHandle, PaymentNotice, PaymentRequest

#: Where the page of a test payment is served (relative to the API's base URL).
TEST_PAYMENT_PATH = "/test-payments/{payment_id}"


class TestPaymentGateway:
    """Implements ``PaymentGateway`` for the ``test`` provider.

    The provider's reference of a payment is derived from the payment's id, so starting the same
    payment twice gives the same reference, as idempotency requires; refunds and cancellations
    always succeed.
    """

    __test__ = False  # not a test class, whatever its name says

    @property
    def provider(self) -> str:
        return "test"

    async def start(self, request: PaymentRequest) -> PaymentHandle:
        return PaymentHandle(
            reference=f"tp_{request.payment_id}",
            payment_url=TEST_PAYMENT_PATH.format(payment_id=request.payment_id),
        )

    async def cancel(self, reference: str) -> None:
        return None

    async def refund(self, reference: str, amount: int, currency: str, idempotency_key: str) -> None:
        return None

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice | None:
        raise InvalidSignature(
            "the test provider reports through /test-payments/{payment_id}/succeed or /fail"
        )
