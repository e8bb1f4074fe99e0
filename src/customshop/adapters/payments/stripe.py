"""Payments through Stripe: PaymentIntents, refunds and signed webhook events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import stripe

from customshop.application.ports import (
    InvalidSignature,
    PaymentHandle,
    PaymentNotice,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)

log = logging.getLogger("customshop.payments")

R = TypeVar("R")

SIGNATURE_HEADER = "Stripe-Signature"


class StripePaymentGateway:
    """Implements ``PaymentGateway`` with Stripe PaymentIntents, through the official SDK.

    Contract:
        * ``start`` creates one PaymentIntent that the storefront confirms with its ``client_secret``.
          Amounts go to Stripe as given: both count in the currency's smallest unit.
        * ``start`` and ``refund`` send their idempotency key: a repeated key gets the first answer
          back from Stripe, and a key reused with other parameters is rejected.
        * Connection failures, 409 and 5xx answers are retried twice by the SDK, which is safe
          because every POST carries an idempotency key; what outlasts the retries raises
          ``PaymentUnavailable``, as does a call that has not ended ``timeout_seconds`` after it
          began (a hanging provider), and rate limiting and an authentication or permission error (a
          wrong or restricted secret key: misconfiguration, logged as an error). A request Stripe
          refuses (invalid, card declined, idempotency key reused) raises ``PaymentRejected`` with
          Stripe's message. No SDK exception escapes.
        * ``receive`` acts only on ``payment_intent.succeeded`` and ``payment_intent.payment_failed``
          and answers ``None`` for every other event type, once the signature checks out.

    The secret key, the API address and the HTTP client belong to this gateway's own
    ``StripeClient``; nothing global in the ``stripe`` module is set. The caller owns the gateway and
    awaits ``close`` on shutdown.
    """

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        timeout_seconds: float = 20.0,
    ) -> None:
        """Talk to Stripe with ``secret_key``; verify webhooks with ``webhook_secret``.

        Args:
            secret_key: The account's secret (or restricted) API key, ``sk_...``/``rk_...``.
            webhook_secret: The signing secret of the webhook endpoint, ``whsec_...``.
            api_base: Where the API is, without a trailing ``/v1``; Stripe's own when ``None``.
            timeout_seconds: Limit of each call, its retries included: past it the call is abandoned
                and raises ``PaymentUnavailable``.

        Raises:
            ValueError: ``secret_key`` or ``webhook_secret`` is empty.
        """
        if not secret_key:
            raise ValueError("the Stripe secret key is empty")
        if not webhook_secret:
            raise ValueError("the Stripe webhook secret is empty")
        self._webhook_secret = webhook_secret
        self._timeout = timeout_seconds
        # An HTTPX client of the gateway's own: the *_async calls need an async client, the SDK's
        # default one waits 80 s and offers no public way to close it.
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base is not None else None,
            max_network_retries=2,
            http_client=self._http,
        )

    @property
    def provider(self) -> str:
        return "stripe"

    async def start(self, request: PaymentRequest) -> PaymentHandle:
        """Create the PaymentIntent of ``request``; idempotent by ``request.idempotency_key``.

        Raises:
            PaymentUnavailable: Stripe cannot be reached or failed.
            PaymentRejected: Stripe refused the request (bad amount or currency, reused key...).
        """
        intent = await self._call(
            self._client.v1.payment_intents.create_async(
                {
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "description": request.description,
                    "receipt_email": request.email,
                    "metadata": {"order_id": request.order_id, "payment_id": request.payment_id},
                    "automatic_payment_methods": {"enabled": True},
                },
                {"idempotency_key": request.idempotency_key},
            )
        )
        return PaymentHandle(reference=intent.id, client_secret=intent.client_secret)

    async def cancel(self, reference: str) -> None:
        """Cancel the PaymentIntent ``reference`` so that it can no longer be paid.

        An intent Stripe will not cancel (already canceled or succeeded, or unknown) is left as it is:
        there is nothing to stop, and a payment that went through is reported by its webhook.

        Raises:
            PaymentUnavailable: Stripe cannot be reached or failed.
        """
        try:
            await self._call(self._client.v1.payment_intents.cancel_async(reference))
        except PaymentRejected as exc:
            log.info("Stripe did not cancel PaymentIntent %s: %s", reference, exc)

    async def refund(self, reference: str, amount: int, currency: str, idempotency_key: str) -> None:
        """Refund ``amount`` of the PaymentIntent ``reference``; idempotent by ``idempotency_key``.

        ``currency`` is not sent: Stripe refunds in the currency of the payment.

        Raises:
            PaymentUnavailable: Stripe cannot be reached or failed.
            PaymentRejected: Stripe refused the refund (nothing paid yet, more than is left...).
        """
        await self._call(
            self._client.v1.refunds.create_async(
                {"payment_intent": reference, "amount": amount},
                {"idempotency_key": idempotency_key},
            )
        )

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice | None:
        """Verify a webhook delivery and read the outcome it reports.

        The ``Stripe-Signature`` header (found whatever its case) must carry an HMAC of the body made
        with the webhook secret, timestamped within Stripe's default tolerance of 300 s.

        Returns:
            The notice of a ``payment_intent.succeeded`` or ``payment_intent.payment_failed`` event;
            ``None`` for every other event type.

        Raises:
            InvalidSignature: the header is missing, the signature does not match or is too old, or
                the signed body is not a Stripe event (not UTF-8, not JSON, fields missing).
        """
        signature = _header(headers, SIGNATURE_HEADER)
        if signature is None:
            raise InvalidSignature(f"the {SIGNATURE_HEADER} header is missing")
        try:
            event = self._client.construct_event(body, signature, self._webhook_secret)
            if event.type not in ("payment_intent.succeeded", "payment_intent.payment_failed"):
                return None
            intent: dict[str, Any] = event.data.object.to_dict()
            reference = str(intent["id"])
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature(f"the Stripe signature is not valid: {exc.user_message}") from None
        except (ValueError, AttributeError, KeyError):
            # Not UTF-8, not JSON, or JSON without an event's fields (the SDK raises AttributeError for
            # a missing one). Only a holder of the secret can send such a body, but it changes nothing.
            raise InvalidSignature("the signed body is not a Stripe event") from None
        if event.type == "payment_intent.succeeded":
            return PaymentNotice(
                event_id=event.id,
                reference=reference,
                outcome="succeeded",
                amount=int(intent.get("amount_received") or 0),
                currency=str(intent.get("currency") or "").upper(),
            )
        error = intent.get("last_payment_error") or {}
        return PaymentNotice(
            event_id=event.id,
            reference=reference,
            outcome="failed",
            failure=str(error.get("message") or "Stripe reported the payment as failed."),
        )

    async def close(self) -> None:
        """Close the HTTP client's pooled connections; the gateway is unusable afterwards."""
        await self._http.close_async()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated

    async def _call(self, operation: Awaitable[R]) -> R:
        """Await one SDK call, turning every Stripe error, and a call that outlasts the timeout, into
        the port's exceptions."""
        try:
            async with asyncio.timeout(self._timeout):
                return await operation
        except TimeoutError:
            raise PaymentUnavailable(
                f"the payment provider cannot be reached: no answer within {self._timeout:g} s"
            ) from None
        except stripe.StripeError as exc:
            raise _port_error(exc) from exc


def _port_error(exc: stripe.StripeError) -> PaymentUnavailable | PaymentRejected:
    """The port's exception for a Stripe error: the one place where they are told apart."""
    message = exc.user_message or type(exc).__name__
    if isinstance(exc, stripe.InvalidRequestError | stripe.CardError | stripe.IdempotencyError):
        return PaymentRejected(message)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        # Retrying cannot help: the secret key is wrong, revoked or lacks a permission.
        log.error("Stripe refused the secret key, check the configuration: %s", message)
    return PaymentUnavailable(f"the payment provider cannot be reached: {message}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in a mapping whose keys may be in any case."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
