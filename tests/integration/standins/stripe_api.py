"""A stand-in for the Stripe API: a real HTTP server on loopback that speaks enough of it for the
Stripe payment gateway's tests, so that they run the official SDK over real sockets.

What it speaks: ``POST /v1/payment_intents``, ``GET /v1/payment_intents/{id}``,
``POST /v1/payment_intents/{id}/cancel`` and ``POST /v1/refunds``, with form-encoded bodies in
Stripe's bracket style (``metadata[order_id]=...``), ``Authorization: Bearer <secret key>``,
``Idempotency-Key`` on POSTs, and JSON answers and errors shaped like Stripe's. What it does not:
payment methods, confirmation, charges, and anything not listed.

Test controls: every request is recorded (``requests``), ``fail_next`` makes the next answers 5xx
(or any status), ``succeed`` and ``decline`` move an intent as a buyer's payment would. Webhook
deliveries are built with ``stripe_event`` and signed with ``sign_stripe_event``, as Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

#: The statuses Stripe lets a PaymentIntent be canceled from.
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    ``headers`` has lower-case names. ``form`` is the body (or, for a GET, the query string) with
    Stripe's bracket keys kept flat: ``{"metadata[order_id]": "o-1"}``; a repeated key keeps its last
    value.
    """

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class StripeApiError(Exception):
    """An error answer, in Stripe's shape: ``{"error": {"type", "message", "code", "param"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str = "",
        param: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": kind, "message": message}
        if code:
            self.body["code"] = code
        if param:
            self.body["param"] = param


Answer = tuple[int, dict[str, Any]]


class StripeStandIn:
    """The server's state and controls; ``running`` serves it on a free loopback port.

    State is kept in plain dicts shaped like Stripe's objects (``intents``, ``refunds``). One lock
    serialises every request, so answers are as if Stripe handled them one at a time.

    Idempotency follows Stripe: a POST with an ``Idempotency-Key`` already used gets the first
    answer again (with ``Idempotent-Replayed: true``), or a 400 ``idempotency_error`` when the
    endpoint or parameters differ. Only successful answers are kept for replay, and answers forced by
    ``fail_next`` or refused for a bad key never reach that point.
    """

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self.url = ""
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._requests: list[RecordedRequest] = []
        self._replays: dict[str, tuple[tuple[str, str, tuple[tuple[str, str], ...]], Answer]] = {}
        self._failures_left = 0
        self._failure_status = 500
        self._lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., dict[str, Any]]]] = [
            ("POST", re.compile(r"/v1/payment_intents"), self._create_intent),
            ("GET", re.compile(r"/v1/payment_intents/(?P<intent_id>[^/]+)"), self._retrieve_intent),
            ("POST", re.compile(r"/v1/payment_intents/(?P<intent_id>[^/]+)/cancel"), self._cancel_intent),
            ("POST", re.compile(r"/v1/refunds"), self._create_refund),
        ]

    # -- controls ----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method and path (query string excluded)."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests, whatever they are, with ``status`` and Stripe's
        ``api_error`` body (``rate_limit_error`` for 429), before looking at them."""
        with self._lock:
            self._failures_left = count
            self._failure_status = status

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """Mark the intent paid in full, as a confirmed card payment would; a copy of it after."""
        with self._lock:
            intent = self._intent(intent_id)
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                last_payment_error=None,
                latest_charge=_new_id("ch"),
            )
            return json.loads(json.dumps(intent))

    def decline(self, intent_id: str, message: str = "Your card was declined.") -> dict[str, Any]:
        """Record a declined payment attempt on the intent, as Stripe does before sending
        ``payment_intent.payment_failed``; a copy of it after."""
        with self._lock:
            intent = self._intent(intent_id)
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": message,
                },
            )
            return json.loads(json.dumps(intent))

    @classmethod
    @contextmanager
    def running(cls, secret_key: str | None = None) -> Iterator[StripeStandIn]:
        """Serve a new stand-in on 127.0.0.1 (a free port) until the block ends."""
        api = cls(secret_key or f"sk_test_{secrets.token_hex(12)}")
        server = _Server(api)
        api.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-standin", daemon=True
        )
        thread.start()
        try:
            yield api
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    # -- the request pipeline ----------------------------------------------------------------------

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        """Handle one request: ``(status, JSON body, extra headers)``."""
        split = urlsplit(target)
        form = {key: values[-1] for key, values in parse_qs(body.decode() or split.query).items()}
        request = RecordedRequest(method, split.path, headers, form)
        with self._lock:
            self._requests.append(request)
            try:
                status, payload, replayed = self._dispatch(request)
            except StripeApiError as exc:
                status, payload, replayed = exc.status, {"error": exc.body}, False
        extra = {"Request-Id": _new_id("req")}
        if replayed:
            extra["Idempotent-Replayed"] = "true"
        key = request.header("Idempotency-Key")
        if key and method == "POST":
            extra["Idempotency-Key"] = key
        return status, payload, extra

    def _dispatch(self, request: RecordedRequest) -> tuple[int, dict[str, Any], bool]:
        if self._failures_left > 0:
            self._failures_left -= 1
            kind = "rate_limit_error" if self._failure_status == 429 else "api_error"
            raise StripeApiError(self._failure_status, "An unknown error occurred.", kind=kind)
        self._authenticate(request.header("Authorization"))
        handler, arguments = self._route(request)
        key = request.header("Idempotency-Key") if request.method == "POST" else None
        if key is None:
            return 200, handler(request.form, **arguments), False
        fingerprint = (request.method, request.path, tuple(sorted(request.form.items())))
        if key in self._replays:
            first, (status, payload) = self._replays[key]
            if first[:2] != fingerprint[:2]:
                raise StripeApiError(
                    400,
                    "Keys for idempotent requests can only be used for the same endpoint they were first "
                    f"used for ('{first[1]}' vs '{request.path}'). Try using a key other than '{key}' if "
                    "you meant to execute a different request.",
                    kind="idempotency_error",
                )
            if first != fingerprint:
                raise StripeApiError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were "
                    f"first used with. Try using a key other than '{key}' if you meant to execute a "
                    "different request.",
                    kind="idempotency_error",
                )
            return status, payload, True
        payload = handler(request.form, **arguments)
        self._replays[key] = (fingerprint, (200, payload))
        return 200, payload, False

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        scheme, _, key = authorization.partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(key, self.secret_key):
            masked = f"{key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}"
            raise StripeApiError(401, f"Invalid API Key provided: {masked}")

    def _route(self, request: RecordedRequest) -> tuple[Callable[..., dict[str, Any]], dict[str, str]]:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return handler, match.groupdict()
        raise StripeApiError(
            404,
            f"Unrecognized request URL ({request.method}: {request.path}). "
            "Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )

    # -- endpoints ---------------------------------------------------------------------------------

    def _create_intent(self, form: dict[str, str]) -> dict[str, Any]:
        amount = _positive_int(form, "amount")
        currency = form.get("currency", "")
        if not currency:
            raise StripeApiError(
                400, "Missing required param: currency.", code="parameter_missing", param="currency"
            )
        if not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise StripeApiError(
                400, f"Invalid currency: {currency}.", code="parameter_invalid", param="currency"
            )
        fields = _nest(form)
        automatic = fields.get("automatic_payment_methods")
        intent_id = _new_id("pi")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": (
                {"allow_redirects": "always", "enabled": automatic.get("enabled") == "true"}
                if isinstance(automatic, dict)
                else None
            ),
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic",
            "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency.lower(),
            "customer": None,
            "description": form.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": fields.get("metadata") or {},
            "payment_method": None,
            "receipt_email": form.get("receipt_email"),
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        return json.loads(json.dumps(intent))

    def _retrieve_intent(self, form: dict[str, str], intent_id: str) -> dict[str, Any]:
        return json.loads(json.dumps(self._intent(intent_id)))

    def _cancel_intent(self, form: dict[str, str], intent_id: str) -> dict[str, Any]:
        intent = self._intent(intent_id)
        if intent["status"] not in (*CANCELABLE, "processing"):
            raise StripeApiError(
                400,
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}. "
                "Only a PaymentIntent with one of the following statuses may be canceled: "
                f"{', '.join(CANCELABLE)}, processing.",
                code="payment_intent_unexpected_state",
            )
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=form.get("cancellation_reason"),
        )
        return json.loads(json.dumps(intent))

    def _create_refund(self, form: dict[str, str]) -> dict[str, Any]:
        intent_id = form.get("payment_intent")
        if not intent_id:
            raise StripeApiError(
                400,
                "One of the following params should be provided for this request: charge or payment_intent.",
            )
        intent = self.intents.get(intent_id)
        if intent is None:
            raise StripeApiError(
                400, f"No such payment_intent: '{intent_id}'", code="resource_missing", param="payment_intent"
            )
        if intent["status"] != "succeeded":
            raise StripeApiError(
                400,
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)
        left = intent["amount_received"] - refunded
        amount = _positive_int(form, "amount") if "amount" in form else left
        if amount > left:
            raise StripeApiError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        refund: dict[str, Any] = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "metadata": _nest(form).get("metadata") or {},
            "payment_intent": intent_id,
            "reason": form.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return json.loads(json.dumps(refund))

    def _intent(self, intent_id: str) -> dict[str, Any]:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise StripeApiError(
                404, f"No such payment_intent: '{intent_id}'", code="resource_missing", param="intent"
            )
        return intent


class _Server(ThreadingHTTPServer):
    def __init__(self, api: StripeStandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the SDK's pooled connections expect
    timeout = 10  # an idle kept-alive connection ends its thread eventually
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, payload, extra = self.server.api.answer(self.command, self.path, headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded requests are the log."""


# -- webhook deliveries ----------------------------------------------------------------------------


def sign_stripe_event(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload``: ``t=<unix time>,v1=<hex
    HMAC-SHA256 of "<t>.<payload>" keyed with the endpoint's secret>``; ``timestamp`` defaults to now."""
    signed_at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{signed_at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={signed_at},v1={digest}"


def stripe_event(type: str, intent: dict[str, Any], event_id: str | None = None) -> bytes:
    """The body of a webhook delivery of event ``type`` about ``intent`` (a snapshot event)."""
    event = {
        "id": event_id or _new_id("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": intent},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }
    return json.dumps(event, indent=2).encode()


@pytest.fixture(name="stripe_api")
def stripe_api_fixture() -> Iterator[StripeStandIn]:
    """``stripe_api``: a new, empty stand-in Stripe API on a free loopback port, stopped after the
    test. Import ``stripe_api_fixture`` into a test module to use it there (the function has its own
    name so that test parameters called ``stripe_api`` do not shadow an import)."""
    with StripeStandIn.running() as api:
        yield api


# -- Stripe's form conventions ---------------------------------------------------------------------


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _positive_int(form: dict[str, str], name: str) -> int:
    value = form.get(name)
    if value is None:
        raise StripeApiError(400, f"Missing required param: {name}.", code="parameter_missing", param=name)
    if not value.isdigit():
        raise StripeApiError(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)
    if int(value) < 1:
        raise StripeApiError(
            400,
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param=name,
        )
    return int(value)


def _nest(form: dict[str, str]) -> dict[str, Any]:
    """Stripe's bracket keys as nested dicts: ``{"metadata[order_id]": "o-1"}`` → ``{"metadata":
    {"order_id": "o-1"}}``. Values stay strings, as they came."""
    nested: dict[str, Any] = {}
    for key, value in form.items():
        path = re.findall(r"[^\[\]]+", key) or [key]
        node = nested
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return nested
