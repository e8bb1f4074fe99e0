"""Payments through PayPal: Orders v2 over its REST API, captured when the buyer approves."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from customshop.application.ports import (
    InvalidSignature,
    PaymentHandle,
    PaymentNotice,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)
from customshop.domain.errors import InvalidMoney
from customshop.domain.money import format_major, minor_unit_exponent, parse_major

log = logging.getLogger("customshop.payments")

#: The headers of a webhook delivery that PayPal's verification needs, by the field they fill.
SIGNATURE_HEADERS: Mapping[str, str] = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}

#: Currencies that have minor units in ISO 4217 but that PayPal accepts in whole units only.
WHOLE_UNIT_CURRENCIES = frozenset({"HUF", "TWD"})

#: A capture in one of these states took the money, even if some was given back since.
_CAPTURED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})

#: PayPal's answer to capturing an order a second time with another request id.
_ALREADY_CAPTURED = "ORDER_ALREADY_CAPTURED"

#: How long before PayPal's stated expiry a token is replaced: at most a minute, a tenth for short ones.
_TOKEN_MARGIN_SECONDS = 60.0


class PayPalRejected(PaymentRejected):
    """PayPal refused a request with a 4xx answer.

    Attributes:
        issues: PayPal's machine-readable reasons (``details[].issue``, such as
            ``ORDER_ALREADY_CAPTURED`` or ``INSTRUMENT_DECLINED``), else its error ``name``.
    """

    def __init__(self, message: str, issues: frozenset[str]) -> None:
        super().__init__(message)
        self.issues = issues


class PayPalPaymentGateway:
    """Implements ``PaymentGateway`` with PayPal Orders v2, over ``httpx``.

    Contract:
        * ``start`` creates one order (``intent: CAPTURE``) and answers its id and the page where
          the buyer approves it. Amounts go to PayPal as decimal strings of major units; HUF and TWD
          amounts must be whole units there, others are refused before any request.
        * ``start`` and ``refund`` send their idempotency key as ``PayPal-Request-Id``: a repeated
          key gets the first answer back. PayPal keeps these keys for a limited time (hours).
        * ``receive`` verifies each delivery with PayPal's ``verify-webhook-signature`` call. On
          ``CHECKOUT.ORDER.APPROVED`` it captures the order, with a request id derived from the
          order, so any number of deliveries capture it once, and reports the capture's outcome;
          ``PAYMENT.CAPTURE.COMPLETED``, ``.DENIED`` and ``.DECLINED`` are reported as they are.
        * Errors are mapped in one place: no connection, a timeout, a 5xx or 429 answer, and a
          401/403 that a fresh access token does not cure (wrong credentials: misconfiguration,
          logged as an error) raise ``PaymentUnavailable``; another 4xx raises ``PaymentRejected``
          (a :class:`PayPalRejected` carrying PayPal's issue codes). No ``httpx`` exception escapes.
        * The OAuth2 access token is fetched on first use, shared by concurrent calls, replaced
          shortly before it expires, and replaced once more when PayPal answers 401 to a call.

    The gateway owns its ``httpx.AsyncClient``; the caller awaits ``close`` on shutdown.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        api_base: str = "https://api-m.paypal.com",
        return_url: str | None = None,
        cancel_url: str | None = None,
        timeout_seconds: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Talk to PayPal as the REST app ``client_id``; accept webhooks sent to ``webhook_id``.

        Args:
            client_id: The REST app's client id.
            client_secret: The REST app's secret.
            webhook_id: The id PayPal gave the webhook subscription whose deliveries are accepted.
            api_base: Where the API is; ``https://api-m.sandbox.paypal.com`` for the sandbox.
            return_url: Where PayPal sends the buyer after approving, if anywhere.
            cancel_url: Where PayPal sends a buyer who cancels, if anywhere.
            timeout_seconds: Limit of each HTTP request (connect, read, write and pool wait each).
            transport: An ``httpx`` transport to use instead of the network (tests).

        Raises:
            ValueError: ``client_id``, ``client_secret`` or ``webhook_id`` is empty.
        """
        for name, value in (("client id", client_id), ("secret", client_secret), ("webhook id", webhook_id)):
            if not value:
                raise ValueError(f"the PayPal {name} is empty")
        self._credentials = (client_id, client_secret)
        self._webhook_id = webhook_id
        self._return_url = return_url
        self._cancel_url = cancel_url
        self._client = httpx.AsyncClient(
            base_url=api_base.rstrip("/"),
            timeout=timeout_seconds,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._token: str | None = None
        self._token_renew_at = 0.0
        # One token request at a time: concurrent first calls would otherwise each fetch one.
        self._token_lock = asyncio.Lock()

    @property
    def provider(self) -> str:
        return "paypal"

    async def start(self, request: PaymentRequest) -> PaymentHandle:
        """Create the PayPal order of ``request``; idempotent by ``request.idempotency_key``.

        The order carries ``order_id`` as its ``reference_id`` and ``payment_id`` as its
        ``custom_id``, so both can be found from PayPal's side.

        Returns:
            The order id as ``reference`` and the buyer's approval page as ``approval_url``.

        Raises:
            PaymentUnavailable: PayPal cannot be reached, failed, or answered without an approval link.
            PaymentRejected: PayPal refused the order (currency, amount...), or the amount cannot be
                written for PayPal.
        """
        currency = request.currency.upper()
        experience: dict[str, str] = {
            # The buyer sees "Pay Now": approving is paying, since the capture follows at once.
            "user_action": "PAY_NOW",
        }
        if self._return_url is not None:
            experience["return_url"] = self._return_url
        if self._cancel_url is not None:
            experience["cancel_url"] = self._cancel_url
        unit: dict[str, Any] = {
            "reference_id": request.order_id,
            "custom_id": request.payment_id,
            "amount": {"currency_code": currency, "value": _paypal_value(request.amount, currency)},
        }
        if request.description:
            # PayPal refuses longer descriptions (and empty ones); the order id says the rest.
            unit["description"] = request.description[:127]
        order = await self._call(
            "POST",
            "/v2/checkout/orders",
            {
                "intent": "CAPTURE",
                "purchase_units": [unit],
                "payment_source": {"paypal": {"experience_context": experience}},
            },
            request_id=request.idempotency_key,
        )
        reference = _text(order, "id")
        # With a payment source PayPal names the link "payer-action"; without one, "approve".
        approval_url = _link(order, "payer-action") or _link(order, "approve")
        if reference is None or approval_url is None:
            raise PaymentUnavailable("PayPal created an order without an id or an approval link")
        return PaymentHandle(reference=reference, approval_url=approval_url)

    async def cancel(self, reference: str) -> None:
        """Do nothing, and make no request: PayPal has no call to void an order.

        An order the buyer never approves expires on its own after a few hours. One the buyer still
        approves is captured by :meth:`receive` like any other and reported ``succeeded``; what to do
        with money paid for a cancelled payment (a refund) is the caller's decision.
        """

    async def refund(self, reference: str, amount: int, currency: str, idempotency_key: str) -> None:
        """Refund ``amount`` of the PayPal order ``reference``; idempotent by ``idempotency_key``.

        The order is read first to find its capture, which is what PayPal refunds.

        Raises:
            PaymentUnavailable: PayPal cannot be reached or failed.
            PaymentRejected: the order is unknown or has no capture, the amount cannot be written for
                PayPal, or PayPal refused the refund (more than is left, another currency...).
        """
        currency = currency.upper()
        value = _paypal_value(amount, currency)
        order = await self._call("GET", f"/v2/checkout/orders/{_segment(reference)}")
        capture_id = _text(_first_capture(order), "id")
        if capture_id is None:
            raise PaymentRejected(f"the PayPal order {reference} has no capture to refund")
        refund = await self._call(
            "POST",
            f"/v2/payments/captures/{_segment(capture_id)}/refund",
            {"amount": {"currency_code": currency, "value": value}},
            request_id=idempotency_key,
        )
        status = _text(refund, "status")
        if status in ("FAILED", "CANCELLED"):
            raise PaymentRejected(f"PayPal did not refund order {reference}: the refund is {status}")

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice | None:
        """Verify a webhook delivery through PayPal, then act on it.

        Returns:
            For ``CHECKOUT.ORDER.APPROVED``: the outcome of capturing the order, ``succeeded`` with
            the amount captured or ``failed`` (declined, or refused by PayPal), or ``None`` while the
            capture is still pending (its ``PAYMENT.CAPTURE.*`` event follows). For
            ``PAYMENT.CAPTURE.COMPLETED``: ``succeeded``; for ``PAYMENT.CAPTURE.DENIED`` and
            ``PAYMENT.CAPTURE.DECLINED``: ``failed``. ``reference`` is always the order id.
            ``None`` for every other event type.

        Raises:
            InvalidSignature: a signature header is missing, the body is not a JSON object, or PayPal
                does not confirm the signature for this gateway's ``webhook_id``.
            PaymentUnavailable: PayPal cannot be reached to verify or capture, or sent an amount that
                cannot be read; the delivery should be answered with an error so PayPal repeats it.
        """
        event = await self._verified_event(body, headers)
        event_id = _text(event, "id")
        event_type = _text(event, "event_type")
        resource = event.get("resource")
        if event_id is None or not isinstance(resource, dict):
            return None
        if event_type == "CHECKOUT.ORDER.APPROVED":
            order_id = _text(resource, "id")
            return None if order_id is None else await self._capture(event_id, order_id)
        if event_type in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED"):
            order_id = _text(resource, "supplementary_data", "related_ids", "order_id")
            if order_id is None:
                log.warning("PayPal event %s has no order id; ignored", event_id)
                return None
            if event_type == "PAYMENT.CAPTURE.COMPLETED":
                return _succeeded(event_id, order_id, resource)
            return PaymentNotice(
                event_id=event_id,
                reference=order_id,
                outcome="failed",
                failure=_capture_failure(resource, event_type.rsplit(".", 1)[1].lower()),
            )
        return None

    async def close(self) -> None:
        """Close the HTTP client's pooled connections; the gateway is unusable afterwards."""
        await self._client.aclose()

    # ----------------------------------------------------------------------------------------------
    # Webhooks

    async def _verified_event(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        """The event in ``body`` once PayPal confirmed its signature; ``InvalidSignature`` otherwise."""
        lowered = {key.lower(): value for key, value in headers.items()}
        fields: dict[str, str] = {}
        for field, header in SIGNATURE_HEADERS.items():
            value = lowered.get(header.lower(), "").strip()
            if not value:
                raise InvalidSignature(f"the {header} header is missing")
            fields[field] = value
        fields["webhook_id"] = self._webhook_id
        try:
            text = body.decode("utf-8")
            event = json.loads(text, parse_constant=_refuse_constant)
        except ValueError:
            raise InvalidSignature("the body is not JSON") from None
        if not isinstance(event, dict):
            raise InvalidSignature("the body is not a JSON object")
        # The event goes back to PayPal byte for byte as it arrived: a parsed and re-serialized copy
        # may differ (spacing, escapes, number forms) from what PayPal signed, and then fail to verify.
        envelope = json.dumps(fields)[:-1] + ', "webhook_event": ' + text + "}"
        try:
            answer = await self._call(
                "POST", "/v1/notifications/verify-webhook-signature", content=envelope.encode("utf-8")
            )
        except PaymentRejected as exc:
            # PayPal refuses to check malformed signature fields: such a delivery is not from PayPal.
            raise InvalidSignature(f"PayPal did not verify the delivery: {exc}") from None
        status = _text(answer, "verification_status")
        if status != "SUCCESS":
            raise InvalidSignature(f"PayPal did not confirm the signature ({status or 'no status'})")
        return event

    async def _capture(self, event_id: str, order_id: str) -> PaymentNotice | None:
        """Capture the approved order ``order_id`` once, however often it is asked, and report it."""
        path = f"/v2/checkout/orders/{_segment(order_id)}"
        try:
            order = await self._call(
                "POST",
                f"{path}/capture",
                {},
                # Derived from the order, so redeliveries of the event replay the first capture.
                request_id=f"capture-{order_id}",
                prefer_representation=True,
            )
        except PayPalRejected as exc:
            if _ALREADY_CAPTURED not in exc.issues:
                # Declined funding, an order that cannot be captured: this payment is over.
                return PaymentNotice(
                    event_id=event_id, reference=order_id, outcome="failed", failure=str(exc)
                )
            # Captured under another request id (PayPal forgot ours, or someone captured by hand).
            order = await self._call("GET", path)
        capture = _first_capture(order)
        if capture is None:
            raise PaymentUnavailable(f"PayPal reports no capture for the captured order {order_id}")
        status = _text(capture, "status")
        if status in _CAPTURED:
            return _succeeded(event_id, order_id, capture)
        if status == "PENDING":
            # Not money yet (an eCheck, a review): PAYMENT.CAPTURE.COMPLETED or .DENIED will follow.
            reason = _text(capture, "status_details", "reason") or "no reason given"
            log.info("PayPal capture of order %s is pending: %s", order_id, reason)
            return None
        return PaymentNotice(
            event_id=event_id,
            reference=order_id,
            outcome="failed",
            failure=_capture_failure(capture, (status or "unknown").lower()),
        )

    # ----------------------------------------------------------------------------------------------
    # HTTP

    async def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        *,
        content: bytes | None = None,
        request_id: str | None = None,
        prefer_representation: bool = False,
    ) -> dict[str, Any]:
        """One authenticated API call, its JSON object answer, or the port's exception.

        ``payload`` is sent as JSON (``content`` as it is). A 401 answer is retried once with a
        fresh token; resending is safe because PayPal did not act on the refused request.
        """
        headers = {"Content-Type": "application/json"}
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        if prefer_representation:
            headers["Prefer"] = "return=representation"
        if payload is not None:
            content = json.dumps(payload).encode("utf-8")
        token = await self._access_token()
        response = await self._send(method, path, content, headers, token)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            token = await self._access_token(stale=token)
            response = await self._send(method, path, content, headers, token)
        return _json_object(response)

    async def _send(
        self, method: str, path: str, content: bytes | None, headers: dict[str, str], token: str
    ) -> httpx.Response:
        try:
            return await self._client.request(
                method, path, content=content, headers={**headers, "Authorization": f"Bearer {token}"}
            )
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise _unreachable(exc) from exc

    async def _access_token(self, stale: str | None = None) -> str:
        """The cached access token, or a new one when there is none, it is about to expire, or it is
        ``stale`` (PayPal refused it)."""
        async with self._token_lock:
            token = self._token
            # Another call may have replaced the stale token while this one waited for the lock.
            if token is not None and token != stale and time.monotonic() < self._token_renew_at:
                return token
            try:
                response = await self._client.post(
                    "/v1/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    auth=httpx.BasicAuth(*self._credentials),
                )
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise _unreachable(exc) from exc
            try:
                answer = _json_object(response)
            except PaymentRejected as exc:
                # Every refusal of the token request is a configuration problem, not the caller's.
                log.error("PayPal refused the client credentials, check the configuration: %s", exc)
                raise PaymentUnavailable(f"PayPal refused the client credentials: {exc}") from None
            token = answer.get("access_token")
            lifetime = answer.get("expires_in")
            if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
                raise PaymentUnavailable("PayPal answered the token request without a usable token")
            self._token = token
            self._token_renew_at = time.monotonic() + lifetime - min(_TOKEN_MARGIN_SECONDS, lifetime / 10)
            return token


# --------------------------------------------------------------------------------------------------
# Answers and errors


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful answer; the port's exception for any other."""
    if not response.is_success:
        raise _port_error(response)
    if not response.content:
        return {}
    try:
        answer = response.json()
    except ValueError:
        raise PaymentUnavailable(
            f"PayPal answered {response.status_code} with a body that is not JSON"
        ) from None
    if not isinstance(answer, dict):
        raise PaymentUnavailable(f"PayPal answered {response.status_code} with JSON that is not an object")
    return answer


def _port_error(response: httpx.Response) -> PaymentUnavailable | PaymentRejected:
    """The port's exception for a PayPal error answer: the one place where they are told apart."""
    status = response.status_code
    message, issues = _describe(response)
    if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        # Reached only when a fresh token did not help: the credentials lack a permission or are wrong.
        log.error("PayPal refused the credentials, check the configuration: %s %s", status, message)
        return PaymentUnavailable(f"PayPal refused the credentials ({status}): {message}")
    if status == httpx.codes.TOO_MANY_REQUESTS or status >= 500 or status < 400:
        return PaymentUnavailable(f"PayPal failed ({status}): {message}")
    return PayPalRejected(f"PayPal refused the request ({status}): {message}", issues)


def _describe(response: httpx.Response) -> tuple[str, frozenset[str]]:
    """PayPal's own words for an error answer, and its issue codes (else its error name).

    The REST APIs answer ``{name, message, details: [{issue, description}]}``; the token endpoint
    answers ``{error, error_description}``.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return response.reason_phrase or "no explanation", frozenset()
    name = _text(body, "name") or _text(body, "error")
    parts = [part for part in (name, _text(body, "message") or _text(body, "error_description")) if part]
    issues: set[str] = set()
    details = body.get("details")
    for detail in details if isinstance(details, list) else []:
        issue = _text(detail, "issue")
        if issue is not None:
            issues.add(issue)
            description = _text(detail, "description")
            parts.append(f"{issue}: {description}" if description else issue)
    if not issues and name is not None:
        issues.add(name)
    return "; ".join(parts) or response.reason_phrase or "no explanation", frozenset(issues)


def _unreachable(exc: Exception) -> PaymentUnavailable:
    return PaymentUnavailable(f"PayPal cannot be reached: {type(exc).__name__}: {exc}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# --------------------------------------------------------------------------------------------------
# Reading PayPal's documents


def _text(document: Any, *keys: str) -> str | None:
    """The non-empty string at ``keys`` inside nested JSON objects, or ``None``."""
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document if isinstance(document, str) and document else None


def _link(document: Mapping[str, Any], rel: str) -> str | None:
    links = document.get("links")
    if not isinstance(links, list):
        return None
    return next((_text(link, "href") for link in links if _text(link, "rel") == rel), None)


def _first_capture(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """The capture of the order's purchase unit (a ``CAPTURE`` order has at most one)."""
    units = order.get("purchase_units")
    if not isinstance(units, list) or not units or not isinstance(units[0], dict):
        return None
    payments = units[0].get("payments")
    captures = payments.get("captures") if isinstance(payments, dict) else None
    if not isinstance(captures, list) or not captures or not isinstance(captures[0], dict):
        return None
    return captures[0]


def _succeeded(event_id: str, order_id: str, capture: Mapping[str, Any]) -> PaymentNotice:
    """A ``succeeded`` notice for the money ``capture`` took, in minor units."""
    currency = (_text(capture, "amount", "currency_code") or "").upper()
    value = _text(capture, "amount", "value") or ""
    try:
        amount = parse_major(value, currency)
    except InvalidMoney as exc:
        raise PaymentUnavailable(f"PayPal reported an amount customshop cannot read: {exc}") from None
    return PaymentNotice(
        event_id=event_id, reference=order_id, outcome="succeeded", amount=amount, currency=currency
    )


def _capture_failure(capture: Mapping[str, Any], status: str) -> str:
    reason = _text(capture, "status_details", "reason")
    text = f"PayPal capture {status}".rstrip()
    return f"{text}: {reason}" if reason else text


def _paypal_value(amount: int, currency: str) -> str:
    """``amount`` minor units as PayPal's decimal string, or ``PaymentRejected`` if it has none."""
    try:
        if currency in WHOLE_UNIT_CURRENCIES:
            unit = 10 ** minor_unit_exponent(currency)
            if amount % unit:
                raise PaymentRejected(f"PayPal takes {currency} amounts in whole units only, not {amount}")
            return str(amount // unit)
        return format_major(amount, currency)
    except InvalidMoney as exc:
        raise PaymentRejected(f"the amount cannot be sent to PayPal: {exc}") from None


def _segment(identifier: str) -> str:
    """``identifier`` safe as one path segment: PayPal ids never need it, but input is not trusted."""
    if not identifier:
        raise PaymentRejected("an empty PayPal id")
    return quote(identifier, safe="")
