"""Payment providers report here (``/webhooks/stripe``, ``/webhooks/paypal``), and the ``test``
provider's payment page lives here (``/test-payments/...``, only while it is enabled)."""

from __future__ import annotations

import html
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from customshop.application.orders import NoticeOutcome, Orders
from customshop.entrypoints.http.body import json_body
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.schemas import NoticeRead, SandboxPaymentRead


def _read(outcome: NoticeOutcome) -> NoticeRead:
    return NoticeRead(received=True, result=outcome.result)


class PaymentWebhookController(Controller):
    path = "/webhooks"
    tags = ("payments",)

    @post("/stripe", operation_id="stripeWebhook", status_code=200, responses=problems(400, 404, 415, 503))
    async def stripe(self, request: Request[Any, Any, Any], orders: NamedDependency[Orders]) -> NoticeRead:
        """Stripe events, verified by their `Stripe-Signature` (bad or stale: 400, nothing changes).
        `payment_intent.succeeded` pays the order; `payment_intent.payment_failed` records the failure
        on it; a redelivered event is a no-op."""
        body = await json_body(request)  # depth-checked: the provider's SDK decodes it with no limit
        return _read(await orders.receive("stripe", body, dict(request.headers)))

    @post("/paypal", operation_id="paypalWebhook", status_code=200, responses=problems(400, 404, 415, 503))
    async def paypal(self, request: Request[Any, Any, Any], orders: NamedDependency[Orders]) -> NoticeRead:
        """PayPal events, verified with PayPal. An approved order is captured; a completed capture pays
        the order; a redelivered event is a no-op."""
        body = await json_body(request)  # depth-checked: the provider's SDK decodes it with no limit
        return _read(await orders.receive("paypal", body, dict(request.headers)))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test payment</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">
<h1>Test payment</h1>
<p>Order <code>{order_id}</code>: <strong>{amount} {currency}</strong> (minor units), payment {status}.</p>
<p>No money moves: this page belongs to customshop's <code>test</code> payment provider.</p>
<button onclick="settle('succeed')">Pay</button> <button onclick="settle('fail')">Decline</button>
<pre id="result"></pre>
<script>
async function settle(outcome) {{
  const answer = await fetch(location.pathname + "/" + outcome, {{method: "POST"}});
  document.getElementById("result").textContent = await answer.text();
}}
</script>
</body></html>
"""


class TestPaymentController(Controller):
    """The ``test`` provider: a payment page, and the buttons' endpoints."""

    __test__ = False
    path = "/test-payments"
    tags = ("payments",)

    @get(
        "/{payment_id:str}",
        operation_id="testPaymentPage",
        responses=problems(404),
        media_type=MediaType.HTML,
    )
    async def page(self, orders: NamedDependency[Orders], payment_id: FromPath[str]) -> Response[str]:
        """The payment page of a `test` payment (`payment.payment_url`)."""
        payment = await orders.test_payment(payment_id)
        body = _PAGE.format(
            order_id=html.escape(payment.order_id),
            amount=payment.amount,
            currency=html.escape(payment.currency),
            status=html.escape(payment.status.value),
        )
        return Response(body, media_type=MediaType.HTML)

    @get("/{payment_id:str}/status", operation_id="testPayment", responses=problems(404))
    async def show(self, orders: NamedDependency[Orders], payment_id: FromPath[str]) -> SandboxPaymentRead:
        """A `test` payment as JSON."""
        payment = await orders.test_payment(payment_id)
        return SandboxPaymentRead(
            payment.id, payment.order_id, payment.status.value, payment.amount, payment.currency
        )

    @post(
        "/{payment_id:str}/succeed",
        operation_id="succeedTestPayment",
        status_code=200,
        responses=problems(404),
    )
    async def succeed(self, orders: NamedDependency[Orders], payment_id: FromPath[str]) -> NoticeRead:
        """The buyer paid: the same path as a gateway's success webhook (a repeat is a no-op)."""
        return _read(await orders.settle_test_payment(payment_id, succeed=True))

    @post("/{payment_id:str}/fail", operation_id="failTestPayment", status_code=200, responses=problems(404))
    async def fail(self, orders: NamedDependency[Orders], payment_id: FromPath[str]) -> NoticeRead:
        """The buyer's payment failed: the order stays `created` with the failure recorded."""
        return _read(await orders.settle_test_payment(payment_id, succeed=False))
