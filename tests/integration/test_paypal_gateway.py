"""``PayPalPaymentGateway`` over real HTTP against the local stand-in of PayPal's API.

The stand-in (``tests/integration/standins/paypal_api.py``) keeps PayPal's status codes and error
documents, so these tests cover the adapter's whole contract: OAuth2 tokens, order creation with
idempotency, capture on approval, refunds, webhook verification and the mapping of every failure
onto ``PaymentUnavailable``, ``PaymentRejected`` or ``InvalidSignature``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from customshop.adapters.payments.paypal import PayPalPaymentGateway, PayPalRejected
from customshop.application.ports import (
    InvalidSignature,
    PaymentGateway,
    PaymentNotice,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)
from tests.integration.conftest import free_port
from tests.integration.standins.paypal_api import (
    PayPalStandIn,
    paypal_api_fixture,  # noqa: F401 - provides the ``paypal_api`` fixture
    paypal_event,
    sign_paypal_event,
)

RETURN_URL = "https://shop.example/checkout/paypal/return"
CANCEL_URL = "https://shop.example/checkout/paypal/cancel"
#: One TLS context for all the gateways under test: building one per gateway (loading the CA
#: bundle) costs more than a test's whole conversation with the stand-in.
TLS = ssl.create_default_context()


def payment(
    amount: int = 1234, currency: str = "USD", key: str = "start-pay_1", order_id: str = "ord_1"
) -> PaymentRequest:
    return PaymentRequest(
        payment_id=f"pay_{order_id}",
        order_id=order_id,
        amount=amount,
        currency=currency,
        email="buyer@example.com",
        description="2 × mug with a name on it",
        idempotency_key=key,
    )


def gateway_for(paypal_api: PayPalStandIn, **overrides: Any) -> PayPalPaymentGateway:
    options: dict[str, Any] = {
        "client_id": paypal_api.client_id,
        "client_secret": paypal_api.client_secret,
        "webhook_id": paypal_api.webhook_id,
        "api_base": paypal_api.url,
        "return_url": RETURN_URL,
        "cancel_url": CANCEL_URL,
        "timeout_seconds": 2.0,
        "transport": httpx.AsyncHTTPTransport(verify=TLS),
    }
    return PayPalPaymentGateway(**(options | overrides))


@pytest.fixture
async def gateway(paypal_api: PayPalStandIn) -> AsyncIterator[PayPalPaymentGateway]:
    gateway = gateway_for(paypal_api)
    yield gateway
    await gateway.close()


async def deliver(
    gateway: PayPalPaymentGateway, event_type: str, resource: dict[str, Any], event_id: str | None = None
) -> PaymentNotice | None:
    """Deliver a correctly signed event, with header names in lower case as web frameworks give them."""
    body = paypal_event(event_type, resource, event_id)
    headers = {name.lower(): value for name, value in sign_paypal_event(body).items()}
    return await gateway.receive(body, headers)


async def approved_order(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn, amount: int = 1234, currency: str = "USD"
) -> str:
    handle = await gateway.start(payment(amount, currency))
    paypal_api.approve(handle.reference)
    return handle.reference


# --------------------------------------------------------------------------------------------------
# Starting a payment


async def test_start_creates_an_order_to_approve(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    handle = await gateway.start(payment())

    assert handle.reference
    assert handle.approval_url == f"https://www.sandbox.paypal.com/checkoutnow?token={handle.reference}"
    assert handle.client_secret is None
    assert handle.payment_url is None
    [create] = paypal_api.requests_to("POST", "/v2/checkout/orders")
    assert create.headers["paypal-request-id"] == "start-pay_1"
    assert create.json() == {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "reference_id": "ord_1",
                "custom_id": "pay_ord_1",
                "description": "2 × mug with a name on it",
                "amount": {"currency_code": "USD", "value": "12.34"},
            }
        ],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "user_action": "PAY_NOW",
                    "return_url": RETURN_URL,
                    "cancel_url": CANCEL_URL,
                }
            }
        },
    }
    assert paypal_api.order(handle.reference)["status"] == "CREATED"


async def test_a_repeated_start_gives_the_same_order(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    first = await gateway.start(payment(key="start-again"))
    second = await gateway.start(payment(key="start-again"))
    other = await gateway.start(payment(key="another-key"))

    assert second == first
    assert other.reference != first.reference
    sent = [r.headers["paypal-request-id"] for r in paypal_api.requests_to("POST", "/v2/checkout/orders")]
    assert sent == ["start-again", "start-again", "another-key"]


async def test_without_urls_only_the_user_action_is_configured(paypal_api: PayPalStandIn) -> None:
    gateway = gateway_for(paypal_api, return_url=None, cancel_url=None)
    try:
        await gateway.start(payment())
    finally:
        await gateway.close()
    [create] = paypal_api.requests_to("POST", "/v2/checkout/orders")
    assert create.json()["payment_source"] == {"paypal": {"experience_context": {"user_action": "PAY_NOW"}}}


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [
        (1234, "USD", "12.34"),
        (5, "EUR", "0.05"),
        (100_000, "GBP", "1000.00"),
        (500, "JPY", "500"),
        (1, "JPY", "1"),
        (150_000, "HUF", "1500"),
        (30_000, "twd", "300"),
    ],
)
async def test_amounts_are_sent_as_decimal_strings_of_major_units(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn, amount: int, currency: str, value: str
) -> None:
    await gateway.start(payment(amount, currency))

    [create] = paypal_api.requests_to("POST", "/v2/checkout/orders")
    assert create.json()["purchase_units"][0]["amount"] == {"currency_code": currency.upper(), "value": value}


@pytest.mark.parametrize(("amount", "currency"), [(150_050, "HUF"), (1234, "XXX"), (1234, "")])
async def test_amounts_paypal_cannot_take_are_refused_before_any_request(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn, amount: int, currency: str
) -> None:
    with pytest.raises(PaymentRejected):
        await gateway.start(payment(amount, currency))
    assert paypal_api.requests == []


async def test_a_currency_paypal_does_not_support_is_rejected_with_its_reason(
    gateway: PayPalPaymentGateway,
) -> None:
    with pytest.raises(PayPalRejected, match="CURRENCY_NOT_SUPPORTED") as caught:
        await gateway.start(payment(1234, "KWD"))
    assert "CURRENCY_NOT_SUPPORTED" in caught.value.issues
    assert "422" in str(caught.value)


async def test_the_approve_link_is_used_when_paypal_gives_no_payer_action_link() -> None:
    def paypal(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth2/token":
            return httpx.Response(200, json={"access_token": "token", "expires_in": 3600})
        links = [{"rel": "self", "href": "https://api/o/1"}, {"rel": "approve", "href": "https://pay/o/1"}]
        return httpx.Response(201, json={"id": "1", "status": "CREATED", "links": links})

    gateway = PayPalPaymentGateway("id", "secret", "hook", transport=httpx.MockTransport(paypal))
    try:
        handle = await gateway.start(payment())
    finally:
        await gateway.close()
    assert (handle.reference, handle.approval_url) == ("1", "https://pay/o/1")


async def test_an_order_without_an_approval_link_is_a_provider_failure() -> None:
    def paypal(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth2/token":
            return httpx.Response(200, json={"access_token": "token", "expires_in": 3600})
        return httpx.Response(201, json={"id": "1", "status": "CREATED", "links": []})

    gateway = PayPalPaymentGateway("id", "secret", "hook", transport=httpx.MockTransport(paypal))
    try:
        with pytest.raises(PaymentUnavailable, match="approval link"):
            await gateway.start(payment())
    finally:
        await gateway.close()


def test_the_gateway_is_a_payment_gateway_named_paypal(paypal_api: PayPalStandIn) -> None:
    gateway: PaymentGateway = gateway_for(paypal_api)
    assert gateway.provider == "paypal"


@pytest.mark.parametrize("missing", ["client_id", "client_secret", "webhook_id"])
def test_empty_credentials_are_refused_at_construction(paypal_api: PayPalStandIn, missing: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        gateway_for(paypal_api, **{missing: ""})


async def test_cancel_makes_no_request(gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn) -> None:
    handle = await gateway.start(payment())
    before = len(paypal_api.requests)

    await gateway.cancel(handle.reference)

    assert len(paypal_api.requests) == before


# --------------------------------------------------------------------------------------------------
# Access tokens


async def test_one_token_serves_many_calls(gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn) -> None:
    await asyncio.gather(*(gateway.start(payment(key=f"key-{n}", order_id=f"ord_{n}")) for n in range(5)))
    await gateway.start(payment(key="key-last"))

    assert paypal_api.token_requests == 1
    [token] = paypal_api.requests_to("POST", "/v1/oauth2/token")
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.body == b"grant_type=client_credentials"


async def test_a_refused_token_is_replaced_once_and_the_call_retried(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    first = await gateway.start(payment(key="before"))
    paypal_api.expire_tokens()

    second = await gateway.start(payment(key="after"))

    assert second.reference != first.reference
    assert paypal_api.token_requests == 2
    creates = paypal_api.requests_to("POST", "/v2/checkout/orders")
    assert [r.headers["paypal-request-id"] for r in creates] == ["before", "after", "after"]
    assert creates[1].headers["authorization"] != creates[2].headers["authorization"]


async def test_a_token_is_replaced_before_it_expires(paypal_api: PayPalStandIn) -> None:
    paypal_api.token_lifetime = 1
    gateway = gateway_for(paypal_api)
    try:
        await gateway.start(payment(key="early"))
        await asyncio.sleep(1.0)
        await gateway.start(payment(key="late"))
    finally:
        await gateway.close()

    assert paypal_api.token_requests == 2
    # The stale token was never offered: no call was refused.
    assert len(paypal_api.requests_to("POST", "/v2/checkout/orders")) == 2


async def test_wrong_client_credentials_make_paypal_unavailable(paypal_api: PayPalStandIn) -> None:
    gateway = gateway_for(paypal_api, client_secret="not-the-secret")
    try:
        with pytest.raises(PaymentUnavailable, match="invalid_client"):
            await gateway.start(payment())
    finally:
        await gateway.close()
    assert paypal_api.requests_to("POST", "/v2/checkout/orders") == []


async def test_a_401_after_a_fresh_token_makes_paypal_unavailable(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    await gateway.start(payment(key="warm-up"))
    # The call with the cached token and its retry with a fresh one are both refused.
    paypal_api.fail_next(2, status=401, path="/v2/checkout/orders")

    with pytest.raises(PaymentUnavailable, match="401"):
        await gateway.start(payment(key="refused"))
    assert paypal_api.token_requests == 2


async def test_a_403_is_misconfiguration_not_a_refusal(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    await gateway.start(payment(key="warm-up"))
    paypal_api.fail_next(1, status=403)

    with pytest.raises(PaymentUnavailable, match="403"):
        await gateway.start(payment(key="forbidden"))


# --------------------------------------------------------------------------------------------------
# Webhooks: capture on approval


async def test_an_approved_order_is_captured_and_reported_paid(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api, 1234, "USD")

    notice = await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id), "WH-APPROVED-1")

    assert notice == PaymentNotice(
        event_id="WH-APPROVED-1", reference=order_id, outcome="succeeded", amount=1234, currency="USD"
    )
    [capture] = paypal_api.requests_to("POST", f"/v2/checkout/orders/{order_id}/capture")
    assert capture.headers["paypal-request-id"] == f"capture-{order_id}"
    assert capture.headers["prefer"] == "return=representation"
    assert paypal_api.order(order_id)["status"] == "COMPLETED"


async def test_amounts_in_zero_decimal_currencies_come_back_in_minor_units(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api, 500, "JPY")

    notice = await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id))

    assert notice is not None
    assert (notice.outcome, notice.amount, notice.currency) == ("succeeded", 500, "JPY")


async def test_the_same_approval_delivered_twice_captures_once(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api)
    resource = paypal_api.order(order_id)

    first = await deliver(gateway, "CHECKOUT.ORDER.APPROVED", resource, "WH-TWICE")
    second = await deliver(gateway, "CHECKOUT.ORDER.APPROVED", resource, "WH-TWICE")

    assert first == second
    assert first is not None and first.outcome == "succeeded"
    order = paypal_api.order(order_id)
    assert len(order["purchase_units"][0]["payments"]["captures"]) == 1
    captures = paypal_api.requests_to("POST", f"/v2/checkout/orders/{order_id}/capture")
    assert {r.headers["paypal-request-id"] for r in captures} == {f"capture-{order_id}"}


async def test_an_order_captured_under_another_request_id_is_read_back(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api, 2500, "EUR")
    await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id))
    paypal_api.forget_request_ids()

    notice = await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id), "WH-LATE")

    assert notice == PaymentNotice(
        event_id="WH-LATE", reference=order_id, outcome="succeeded", amount=2500, currency="EUR"
    )
    assert paypal_api.requests[-1].method == "GET"
    assert paypal_api.requests[-1].path == f"/v2/checkout/orders/{order_id}"


async def test_a_declined_capture_is_reported_failed(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api)
    paypal_api.capture_status = "DECLINED"

    notice = await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id), "WH-DECLINED")

    assert notice is not None
    assert (notice.event_id, notice.reference, notice.outcome) == ("WH-DECLINED", order_id, "failed")
    assert notice.failure is not None and "declined" in notice.failure.lower()


async def test_a_pending_capture_is_not_an_outcome_yet(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api)
    paypal_api.capture_status = "PENDING"

    assert await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id)) is None
    assert len(paypal_api.requests_to("POST", f"/v2/checkout/orders/{order_id}/capture")) == 1


async def test_an_approval_paypal_refuses_to_capture_is_reported_failed(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    handle = await gateway.start(payment())
    # An approval event for an order the buyer has not approved on the stand-in: PayPal refuses.
    resource = {**paypal_api.order(handle.reference), "status": "APPROVED"}

    notice = await deliver(gateway, "CHECKOUT.ORDER.APPROVED", resource)

    assert notice is not None and notice.outcome == "failed"
    assert notice.failure is not None and "ORDER_NOT_APPROVED" in notice.failure


async def test_a_capture_failing_at_paypal_leaves_the_delivery_to_be_repeated(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api)
    body = paypal_event("CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id), "WH-RETRY")
    headers = sign_paypal_event(body)
    paypal_api.fail_next(1, status=502, path=f"/v2/checkout/orders/{order_id}/capture")

    with pytest.raises(PaymentUnavailable, match="502"):
        await gateway.receive(body, headers)

    notice = await gateway.receive(body, headers)
    assert notice is not None and notice.outcome == "succeeded"


# --------------------------------------------------------------------------------------------------
# Webhooks: capture events and the rest


async def test_a_completed_capture_event_reports_the_payment(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api, 4999, "GBP")
    await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id))
    captures_before = len(paypal_api.requests_to("POST", ".*/capture"))

    notice = await deliver(
        gateway, "PAYMENT.CAPTURE.COMPLETED", paypal_api.capture_resource(order_id), "WH-CC"
    )

    assert notice == PaymentNotice(
        event_id="WH-CC", reference=order_id, outcome="succeeded", amount=4999, currency="GBP"
    )
    assert len(paypal_api.requests_to("POST", ".*/capture")) == captures_before


@pytest.mark.parametrize("event_type", ["PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"])
async def test_denied_and_declined_captures_are_reported_failed(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn, event_type: str
) -> None:
    resource = {
        "id": "7TK53561YB803214S",
        "status": "DECLINED",
        "amount": {"currency_code": "USD", "value": "12.34"},
        "status_details": {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"},
        "supplementary_data": {"related_ids": {"order_id": "5O190127TN364715T"}},
    }

    notice = await deliver(gateway, event_type, resource, "WH-NO")

    assert notice is not None
    assert (notice.event_id, notice.reference, notice.outcome) == ("WH-NO", "5O190127TN364715T", "failed")
    assert notice.failure is not None and "DECLINED_BY_RISK_FRAUD_FILTERS" in notice.failure
    assert (notice.amount, notice.currency) == (0, "")


@pytest.mark.parametrize(
    "event_type", ["CHECKOUT.ORDER.COMPLETED", "PAYMENT.CAPTURE.REFUNDED", "CUSTOMER.DISPUTE.CREATED", ""]
)
async def test_other_events_are_verified_and_ignored(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn, event_type: str
) -> None:
    assert await deliver(gateway, event_type, {"id": "X1"}) is None
    assert len(paypal_api.requests_to("POST", "/v1/notifications/verify-webhook-signature")) == 1


async def test_the_verification_sends_the_delivery_to_paypal(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    body = paypal_event("CUSTOMER.DISPUTE.CREATED", {"id": "PP-D-1"}, "WH-SENT")
    headers = sign_paypal_event(body)

    await gateway.receive(body, headers)

    [verify] = paypal_api.requests_to("POST", "/v1/notifications/verify-webhook-signature")
    sent = verify.json()
    assert sent == {
        "auth_algo": headers["PAYPAL-AUTH-ALGO"],
        "cert_url": headers["PAYPAL-CERT-URL"],
        "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
        "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
        "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
        "webhook_id": paypal_api.webhook_id,
        "webhook_event": json.loads(body),
    }
    # The event is passed on exactly as delivered, not re-serialized.
    assert body.decode() in verify.body.decode()


# --------------------------------------------------------------------------------------------------
# Webhooks: refused deliveries


async def test_a_tampered_body_is_refused(gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn) -> None:
    order_id = await approved_order(gateway, paypal_api)
    body = paypal_event("CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id))
    headers = sign_paypal_event(body)
    tampered = body.replace(order_id.encode(), b"5O190127TN364715T")

    with pytest.raises(InvalidSignature, match="FAILURE"):
        await gateway.receive(tampered, headers)
    assert paypal_api.requests_to("POST", ".*/capture") == []


async def test_a_forged_signature_is_refused(gateway: PayPalPaymentGateway) -> None:
    body = paypal_event("PAYMENT.CAPTURE.COMPLETED", {"id": "C1"})
    headers = sign_paypal_event(body) | {"PAYPAL-TRANSMISSION-SIG": "Zm9yZ2VkIHNpZ25hdHVyZQ=="}

    with pytest.raises(InvalidSignature):
        await gateway.receive(body, headers)


async def test_a_delivery_signed_for_another_webhook_is_refused(gateway: PayPalPaymentGateway) -> None:
    body = paypal_event("PAYMENT.CAPTURE.COMPLETED", {"id": "C1"})

    with pytest.raises(InvalidSignature):
        await gateway.receive(body, sign_paypal_event(body, webhook_id="9WEBHOOKOFSOMEONEELSE"))


async def test_a_gateway_configured_for_another_webhook_refuses_deliveries(paypal_api: PayPalStandIn) -> None:
    gateway = gateway_for(paypal_api, webhook_id="9WEBHOOKOFSOMEONEELSE")
    body = paypal_event("PAYMENT.CAPTURE.COMPLETED", {"id": "C1"})
    try:
        with pytest.raises(InvalidSignature):
            await gateway.receive(body, sign_paypal_event(body))
    finally:
        await gateway.close()


@pytest.mark.parametrize(
    "header",
    [
        "PAYPAL-AUTH-ALGO",
        "PAYPAL-CERT-URL",
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-TRANSMISSION-TIME",
    ],
)
async def test_a_missing_signature_header_is_refused_without_asking_paypal(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn, header: str
) -> None:
    body = paypal_event("PAYMENT.CAPTURE.COMPLETED", {"id": "C1"})
    headers = sign_paypal_event(body)
    del headers[header]

    with pytest.raises(InvalidSignature, match=header):
        await gateway.receive(body, headers)
    with pytest.raises(InvalidSignature, match=header):
        await gateway.receive(body, {**headers, header: "  "})
    assert paypal_api.requests == []


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'"text"', b"null", b'{"id": NaN}', b"\xff\xfe{}", b'{"id": "x"'],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn, body: bytes
) -> None:
    with pytest.raises(InvalidSignature):
        await gateway.receive(body, sign_paypal_event(body))
    assert paypal_api.requests == []


async def test_verification_paypal_cannot_give_is_not_a_bad_signature(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    body = paypal_event("PAYMENT.CAPTURE.COMPLETED", {"id": "C1"})
    paypal_api.fail_next(1, status=503, path="/v1/notifications/verify-webhook-signature")

    with pytest.raises(PaymentUnavailable):
        await gateway.receive(body, sign_paypal_event(body))


# --------------------------------------------------------------------------------------------------
# Refunds


async def test_a_captured_order_is_refunded(gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn) -> None:
    order_id = await approved_order(gateway, paypal_api, 5000, "USD")
    await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id))
    capture_id = paypal_api.capture_resource(order_id)["id"]

    await gateway.refund(order_id, 1250, "usd", "refund-1")

    [refund] = paypal_api.refunds
    assert refund["capture_id"] == capture_id
    assert refund["amount"] == {"currency_code": "USD", "value": "12.50"}
    [request] = paypal_api.requests_to("POST", f"/v2/payments/captures/{capture_id}/refund")
    assert request.headers["paypal-request-id"] == "refund-1"
    assert paypal_api.capture_resource(order_id)["status"] == "PARTIALLY_REFUNDED"


async def test_a_repeated_refund_refunds_once(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api, 5000, "USD")
    await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id))

    await gateway.refund(order_id, 5000, "USD", "refund-all")
    await gateway.refund(order_id, 5000, "USD", "refund-all")

    assert len(paypal_api.refunds) == 1
    assert paypal_api.capture_resource(order_id)["status"] == "REFUNDED"


async def test_refunding_more_than_was_paid_is_rejected(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    order_id = await approved_order(gateway, paypal_api, 5000, "USD")
    await deliver(gateway, "CHECKOUT.ORDER.APPROVED", paypal_api.order(order_id))

    with pytest.raises(PaymentRejected, match="REFUND_AMOUNT_EXCEEDED"):
        await gateway.refund(order_id, 5001, "USD", "refund-too-much")
    assert paypal_api.refunds == []


async def test_an_order_that_was_never_captured_cannot_be_refunded(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    handle = await gateway.start(payment())

    with pytest.raises(PaymentRejected, match="no capture"):
        await gateway.refund(handle.reference, 1234, "USD", "refund-early")


async def test_an_unknown_order_cannot_be_refunded(gateway: PayPalPaymentGateway) -> None:
    with pytest.raises(PayPalRejected, match="RESOURCE_NOT_FOUND") as caught:
        await gateway.refund("NOSUCHORDER123456", 100, "USD", "refund-unknown")
    assert caught.value.issues == frozenset({"INVALID_RESOURCE_ID"})


async def test_odd_references_stay_inside_one_path_segment(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    with pytest.raises(PaymentRejected):
        await gateway.refund("../../v1/oauth2/token", 100, "USD", "refund-odd")
    assert paypal_api.requests[-1].path == "/v2/checkout/orders/..%2F..%2Fv1%2Foauth2%2Ftoken"


# --------------------------------------------------------------------------------------------------
# PayPal unavailable


async def test_server_errors_make_paypal_unavailable(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    paypal_api.fail_next(1)  # the token request
    with pytest.raises(PaymentUnavailable, match="500"):
        await gateway.start(payment())

    paypal_api.fail_next(1, path="/v2/checkout/orders")
    with pytest.raises(PaymentUnavailable, match="INTERNAL_SERVER_ERROR"):
        await gateway.start(payment())

    handle = await gateway.start(payment())  # the same key again, now that PayPal is back
    assert handle.reference
    assert len(paypal_api.requests_to("POST", "/v2/checkout/orders")) == 2


async def test_rate_limiting_makes_paypal_unavailable(
    gateway: PayPalPaymentGateway, paypal_api: PayPalStandIn
) -> None:
    paypal_api.fail_next(1, status=429)
    with pytest.raises(PaymentUnavailable, match="429"):
        await gateway.start(payment())


async def test_a_closed_port_makes_paypal_unavailable(paypal_api: PayPalStandIn) -> None:
    # The default transport, as in production.
    gateway = gateway_for(paypal_api, api_base=f"http://127.0.0.1:{free_port()}", transport=None)
    try:
        with pytest.raises(PaymentUnavailable, match="cannot be reached"):
            await gateway.start(payment())
        with pytest.raises(PaymentUnavailable, match="cannot be reached"):
            await gateway.refund("5O190127TN364715T", 100, "USD", "refund-1")
        body = paypal_event("PAYMENT.CAPTURE.COMPLETED", {"id": "C1"})
        with pytest.raises(PaymentUnavailable, match="cannot be reached"):
            await gateway.receive(body, sign_paypal_event(body))
    finally:
        await gateway.close()


async def test_a_slow_answer_makes_paypal_unavailable(paypal_api: PayPalStandIn) -> None:
    gateway = gateway_for(paypal_api, timeout_seconds=0.2)
    paypal_api.stall_next(1.0)
    try:
        with pytest.raises(PaymentUnavailable, match="Timeout"):
            await gateway.start(payment())
    finally:
        await gateway.close()


async def test_an_answer_that_is_not_json_makes_paypal_unavailable() -> None:
    def paypal(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth2/token":
            return httpx.Response(200, json={"access_token": "token", "expires_in": 3600})
        return httpx.Response(201, text="<html>maintenance</html>")

    gateway = PayPalPaymentGateway("id", "secret", "hook", transport=httpx.MockTransport(paypal))
    try:
        with pytest.raises(PaymentUnavailable, match="not JSON"):
            await gateway.start(payment())
    finally:
        await gateway.close()
