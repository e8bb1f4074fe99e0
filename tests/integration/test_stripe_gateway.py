"""The Stripe payment gateway through the official SDK, against a stand-in Stripe API on loopback.

Each test gets a fresh stand-in server and a gateway pointed at it; requests go over real sockets
through the SDK's HTTPX client, so idempotency keys, retries and error answers are the SDK's own.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import pytest
import stripe

from customshop.adapters.payments.stripe import StripePaymentGateway
from customshop.application.ports import (
    InvalidSignature,
    PaymentNotice,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)
from tests.integration.conftest import free_port
from tests.integration.standins.stripe_api import (
    StripeStandIn,
    sign_stripe_event,
    stripe_api_fixture,  # noqa: F401 - provides the ``stripe_api`` fixture
    stripe_event,
)

WEBHOOK_SECRET = "whsec_test_customshop"

# The SDK posts its form body as a string through httpx's ``data=``, which httpx deprecates. The
# warning must never become an error: the SDK would report it as a network failure.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


def payment_request(key: str = "checkout-o1-attempt-1", amount: int = 1999) -> PaymentRequest:
    return PaymentRequest(
        payment_id="pay-1",
        order_id="o-1",
        amount=amount,
        currency="EUR",
        email="buyer@example.com",
        description="Order o-1",
        idempotency_key=key,
    )


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK waits 0.5 s, then up to 1 s, between attempts; the attempts themselves are what is tested.
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.02)


@pytest.fixture
async def gateway(stripe_api: StripeStandIn) -> AsyncIterator[StripePaymentGateway]:
    payments = StripePaymentGateway(
        stripe_api.secret_key, WEBHOOK_SECRET, api_base=stripe_api.url, timeout_seconds=5
    )
    yield payments
    await payments.close()


def webhook(event_type: str, intent: dict[str, object], **signing: int) -> tuple[bytes, dict[str, str]]:
    body = stripe_event(event_type, intent)
    return body, {"Stripe-Signature": sign_stripe_event(body, WEBHOOK_SECRET, **signing)}


# --- start ----------------------------------------------------------------------------------------


async def test_provider_is_stripe(gateway: StripePaymentGateway) -> None:
    assert gateway.provider == "stripe"


async def test_start_creates_a_payment_intent_for_the_storefront_to_confirm(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())

    intent = stripe_api.intents[handle.reference]
    assert handle.reference.startswith("pi_")
    assert handle.client_secret == intent["client_secret"]
    assert handle.approval_url is None and handle.payment_url is None
    [sent] = stripe_api.requests_to("POST", "/v1/payment_intents")
    assert sent.header("Authorization") == f"Bearer {stripe_api.secret_key}"
    assert sent.header("Idempotency-Key") == "checkout-o1-attempt-1"
    assert sent.form == {
        "amount": "1999",
        "currency": "eur",
        "description": "Order o-1",
        "receipt_email": "buyer@example.com",
        "metadata[order_id]": "o-1",
        "metadata[payment_id]": "pay-1",
        "automatic_payment_methods[enabled]": "true",
    }
    assert intent["metadata"] == {"order_id": "o-1", "payment_id": "pay-1"}
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        1999,
        "eur",
        "requires_payment_method",
    )


async def test_starting_again_with_the_same_key_gives_the_same_intent(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    first = await gateway.start(payment_request())
    again = await gateway.start(payment_request())

    assert again == first
    assert len(stripe_api.intents) == 1
    assert [r.header("Idempotency-Key") for r in stripe_api.requests_to("POST", "/v1/payment_intents")] == [
        "checkout-o1-attempt-1",
        "checkout-o1-attempt-1",
    ]


async def test_another_start_with_the_same_key_but_other_parameters_is_rejected(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    await gateway.start(payment_request())

    with pytest.raises(PaymentRejected, match="same parameters"):
        await gateway.start(payment_request(amount=2500))
    assert len(stripe_api.intents) == 1


async def test_a_request_stripe_refuses_is_rejected_with_its_message(gateway: StripePaymentGateway) -> None:
    with pytest.raises(PaymentRejected, match=r"^This value must be greater than or equal to 1\.$"):
        await gateway.start(payment_request(amount=0))


# --- refund and cancel ----------------------------------------------------------------------------


async def test_refund_sends_the_amount_and_the_idempotency_key(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    stripe_api.succeed(handle.reference)

    await gateway.refund(handle.reference, 500, "EUR", "refund-o1-1")
    await gateway.refund(handle.reference, 500, "EUR", "refund-o1-1")

    [refund] = stripe_api.refunds.values()
    assert (refund["payment_intent"], refund["amount"], refund["currency"]) == (handle.reference, 500, "eur")
    sent = stripe_api.requests_to("POST", "/v1/refunds")
    assert [r.form for r in sent] == [{"payment_intent": handle.reference, "amount": "500"}] * 2
    assert {r.header("Idempotency-Key") for r in sent} == {"refund-o1-1"}


async def test_refund_of_an_unpaid_intent_is_rejected(gateway: StripePaymentGateway) -> None:
    handle = await gateway.start(payment_request())

    with pytest.raises(PaymentRejected, match="does not have a successful charge to refund"):
        await gateway.refund(handle.reference, 500, "EUR", "refund-o1-1")


async def test_refund_of_more_than_was_paid_is_rejected(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    stripe_api.succeed(handle.reference)

    with pytest.raises(PaymentRejected, match=r"greater than unrefunded amount"):
        await gateway.refund(handle.reference, 2000, "EUR", "refund-o1-1")
    assert stripe_api.refunds == {}


async def test_cancel_cancels_the_intent(gateway: StripePaymentGateway, stripe_api: StripeStandIn) -> None:
    handle = await gateway.start(payment_request())

    await gateway.cancel(handle.reference)

    assert stripe_api.intents[handle.reference]["status"] == "canceled"
    assert len(stripe_api.requests_to("POST", f"/v1/payment_intents/{handle.reference}/cancel")) == 1


async def test_cancelling_an_already_cancelled_intent_does_not_raise(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    await gateway.cancel(handle.reference)

    await gateway.cancel(handle.reference)

    assert stripe_api.intents[handle.reference]["status"] == "canceled"
    assert len(stripe_api.requests_to("POST", f"/v1/payment_intents/{handle.reference}/cancel")) == 2


async def test_cancelling_a_paid_intent_leaves_it_paid(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    stripe_api.succeed(handle.reference)

    await gateway.cancel(handle.reference)

    assert stripe_api.intents[handle.reference]["status"] == "succeeded"


# --- outages and misconfiguration -----------------------------------------------------------------


async def test_a_server_error_is_retried_with_the_same_idempotency_key(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    stripe_api.fail_next(1)

    handle = await gateway.start(payment_request())

    attempts = stripe_api.requests_to("POST", "/v1/payment_intents")
    assert [r.header("Idempotency-Key") for r in attempts] == ["checkout-o1-attempt-1"] * 2
    assert list(stripe_api.intents) == [handle.reference]


async def test_a_generated_idempotency_key_is_kept_across_retries(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    stripe_api.fail_next(1)

    await gateway.cancel(handle.reference)

    attempts = stripe_api.requests_to("POST", f"/v1/payment_intents/{handle.reference}/cancel")
    assert len(attempts) == 2
    assert attempts[0].header("Idempotency-Key") == attempts[1].header("Idempotency-Key") is not None


@pytest.mark.parametrize(("status", "attempts"), [(500, 3), (503, 3), (429, 1)])
async def test_errors_that_outlast_the_retries_make_the_provider_unavailable(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn, status: int, attempts: int
) -> None:
    stripe_api.fail_next(10, status=status)

    with pytest.raises(PaymentUnavailable, match=r"^the payment provider cannot be reached: "):
        await gateway.start(payment_request())
    assert len(stripe_api.requests_to("POST", "/v1/payment_intents")) == attempts
    assert stripe_api.intents == {}


async def test_errors_on_cancel_and_refund_make_the_provider_unavailable(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    stripe_api.succeed(handle.reference)
    stripe_api.fail_next(10)

    with pytest.raises(PaymentUnavailable):
        await gateway.cancel(handle.reference)
    with pytest.raises(PaymentUnavailable):
        await gateway.refund(handle.reference, 500, "EUR", "refund-o1-1")


async def test_a_closed_port_makes_the_provider_unavailable() -> None:
    payments = StripePaymentGateway(
        "sk_test_nobody", WEBHOOK_SECRET, api_base=f"http://127.0.0.1:{free_port()}", timeout_seconds=2
    )
    try:
        with pytest.raises(PaymentUnavailable, match=r"^the payment provider cannot be reached: "):
            await payments.start(payment_request())
    finally:
        await payments.close()


async def test_a_wrong_secret_key_makes_the_provider_unavailable_and_is_logged(
    stripe_api: StripeStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    payments = StripePaymentGateway("sk_test_wrong_key_1234", WEBHOOK_SECRET, api_base=stripe_api.url)
    try:
        with pytest.raises(PaymentUnavailable, match="Invalid API Key provided: sk_test_"):
            await payments.start(payment_request())
    finally:
        await payments.close()
    assert len(stripe_api.requests) == 1, "an authentication error is not retried"
    assert stripe_api.intents == {}
    assert any(
        r.name == "customshop.payments" and r.levelname == "ERROR" and "secret key" in r.getMessage()
        for r in caplog.records
    )


# --- webhooks -------------------------------------------------------------------------------------


async def test_a_signed_succeeded_event_reports_what_was_received(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    intent = stripe_api.succeed(handle.reference)
    body = stripe_event("payment_intent.succeeded", intent, event_id="evt_1")

    # Header names arrive in any case (HTTP/2 and ASGI servers lower-case them).
    notice = await gateway.receive(body, {"stripe-signature": sign_stripe_event(body, WEBHOOK_SECRET)})

    assert notice == PaymentNotice(
        event_id="evt_1", reference=handle.reference, outcome="succeeded", amount=1999, currency="EUR"
    )


async def test_a_signed_failed_event_reports_stripes_reason(
    gateway: StripePaymentGateway, stripe_api: StripeStandIn
) -> None:
    handle = await gateway.start(payment_request())
    intent = stripe_api.decline(handle.reference, "Your card has insufficient funds.")

    notice = await gateway.receive(*webhook("payment_intent.payment_failed", intent))

    assert notice is not None
    assert (notice.reference, notice.outcome, notice.failure) == (
        handle.reference,
        "failed",
        "Your card has insufficient funds.",
    )


async def test_a_failed_event_without_an_error_still_gives_a_reason(gateway: StripePaymentGateway) -> None:
    intent = {"id": "pi_1", "object": "payment_intent", "amount": 1999, "currency": "eur"}

    notice = await gateway.receive(*webhook("payment_intent.payment_failed", intent))

    assert notice is not None and notice.outcome == "failed" and notice.failure


@pytest.mark.parametrize("event_type", ["payment_intent.created", "charge.refunded", "customer.created"])
async def test_other_events_are_ignored(gateway: StripePaymentGateway, event_type: str) -> None:
    intent = {"id": "pi_1", "object": "payment_intent", "amount": 1999, "currency": "eur"}

    assert await gateway.receive(*webhook(event_type, intent)) is None


def tampered() -> tuple[bytes, dict[str, str]]:
    body, headers = webhook("payment_intent.succeeded", {"id": "pi_1", "amount_received": 1})
    return body.replace(b'"amount_received": 1', b'"amount_received": 1000000'), headers


def signed_with_another_secret() -> tuple[bytes, dict[str, str]]:
    body = stripe_event("payment_intent.succeeded", {"id": "pi_1", "amount_received": 1})
    return body, {"Stripe-Signature": sign_stripe_event(body, "whsec_someone_else")}


def ten_minutes_old() -> tuple[bytes, dict[str, str]]:
    return webhook("payment_intent.succeeded", {"id": "pi_1"}, timestamp=int(time.time()) - 600)


def unsigned() -> tuple[bytes, dict[str, str]]:
    return stripe_event("payment_intent.succeeded", {"id": "pi_1"}), {"Content-Type": "application/json"}


def garbled_header() -> tuple[bytes, dict[str, str]]:
    return stripe_event("payment_intent.succeeded", {"id": "pi_1"}), {
        "Stripe-Signature": "v1=abc,t=yesterday"
    }


def not_json() -> tuple[bytes, dict[str, str]]:
    body = b"<html>not an event</html>"
    return body, {"Stripe-Signature": sign_stripe_event(body, WEBHOOK_SECRET)}


def json_but_not_an_event() -> tuple[bytes, dict[str, str]]:
    body = b'{"type": "payment_intent.succeeded"}'
    return body, {"Stripe-Signature": sign_stripe_event(body, WEBHOOK_SECRET)}


def not_utf8() -> tuple[bytes, dict[str, str]]:
    body = b"\xff\xfe" + json.dumps({"id": "evt_1"}).encode()
    return body, {"Stripe-Signature": sign_stripe_event(body, WEBHOOK_SECRET)}


@pytest.mark.parametrize(
    "delivery",
    [
        tampered,
        signed_with_another_secret,
        ten_minutes_old,
        unsigned,
        garbled_header,
        not_json,
        json_but_not_an_event,
        not_utf8,
    ],
)
async def test_a_delivery_that_does_not_verify_raises_invalid_signature(
    gateway: StripePaymentGateway,
    stripe_api: StripeStandIn,
    delivery: Callable[[], tuple[bytes, dict[str, str]]],
) -> None:
    body, headers = delivery()

    with pytest.raises(InvalidSignature):
        await gateway.receive(body, headers)
    assert stripe_api.requests == [], "verifying a webhook needs no call to Stripe"
