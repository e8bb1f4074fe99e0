"""A stand-in of PayPal's REST API: OAuth2 tokens, Orders v2, capture refunds and webhook verification.

A real HTTP server on a free loopback port, run by ``http.server`` in a daemon thread, so an adapter
reaches it over the network exactly as it reaches PayPal. It keeps PayPal's answer shapes, status
codes and error documents (``{name, message, debug_id, details: [{issue, description}]}``) for the
calls customshop makes, and nothing more.

Webhook signatures mirror PayPal's scheme with a shared key instead of PayPal's certificate:
PayPal signs ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the event>``;
:func:`sign_paypal_event` signs the same string with an HMAC, and the stand-in's
``verify-webhook-signature`` answers ``SUCCESS`` only when that HMAC matches the event it is sent
and its own webhook id. The CRC32 is taken over a canonical JSON form of the event, since the
verification call receives the event as JSON rather than as the delivered bytes.

Tests get a fresh one per test from the ``paypal_api`` fixture: import ``paypal_api_fixture`` into
the test module.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

CLIENT_ID = "AStandInClientId0000000000000000000000000000000000000000000000000000000000000000"
CLIENT_SECRET = "EStandInSecret000000000000000000000000000000000000000000000000000000000000000000"
WEBHOOK_ID = "4JH86294D6297924G"
#: Stands in for PayPal's signing certificate: whoever knows it can sign deliveries.
SIGNING_KEY = b"paypal-stand-in-webhook-signing-key"
AUTH_ALGO = "SHA256withRSA"
CERT_URL = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-stand-in"

#: Currencies PayPal accepts, and those among them it takes in whole units only.
SUPPORTED_CURRENCIES = frozenset(
    [
        "AUD",
        "BRL",
        "CAD",
        "CNY",
        "CZK",
        "DKK",
        "EUR",
        "HKD",
        "HUF",
        "ILS",
        "JPY",
        "MYR",
        "MXN",
        "TWD",
        "NZD",
        "NOK",
        "PHP",
        "PLN",
        "GBP",
        "SGD",
        "SEK",
        "CHF",
        "THB",
        "USD",
    ]
)
WHOLE_UNIT_CURRENCIES = frozenset({"HUF", "JPY", "TWD"})
_VALUE = re.compile(r"[0-9]{1,10}(?:\.([0-9]+))?", re.ASCII)

_ORDER = re.compile(r"/v2/checkout/orders/([A-Za-z0-9-]+)")
_CAPTURE_ORDER = re.compile(r"/v2/checkout/orders/([A-Za-z0-9-]+)/capture")
_REFUND = re.compile(r"/v2/payments/captures/([A-Za-z0-9-]+)/refund")


# --------------------------------------------------------------------------------------------------
# Webhook deliveries, as PayPal makes them


def _canonical_crc32(event: object) -> int:
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return zlib.crc32(canonical.encode("utf-8"))


def _body_crc32(body: bytes) -> int:
    try:
        return _canonical_crc32(json.loads(body))
    except ValueError:
        return zlib.crc32(body)


def _signature(transmission_id: str, transmission_time: str, webhook_id: str, crc: int) -> str:
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()
    return base64.b64encode(hmac.new(SIGNING_KEY, message, hashlib.sha256).digest()).decode()


def sign_paypal_event(body: bytes, webhook_id: str = WEBHOOK_ID) -> dict[str, str]:
    """The headers PayPal sends with the delivery of ``body`` to the webhook ``webhook_id``."""
    transmission_id = str(uuid.uuid4())
    transmission_time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        "PAYPAL-CERT-URL": CERT_URL,
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-SIG": _signature(
            transmission_id, transmission_time, webhook_id, _body_crc32(body)
        ),
        "PAYPAL-TRANSMISSION-TIME": transmission_time,
        "Content-Type": "application/json",
    }


def paypal_event(event_type: str, resource: dict[str, Any], event_id: str | None = None) -> bytes:
    """The body of a webhook delivery of ``event_type`` about ``resource`` (an order or a capture)."""
    resource_type = "checkout-order" if event_type.startswith("CHECKOUT.ORDER.") else "capture"
    event = {
        "id": event_id or f"WH-{secrets.token_hex(8).upper()}-{secrets.token_hex(8).upper()}",
        "event_version": "1.0",
        "create_time": _now(),
        "resource_type": resource_type,
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": f"Stand-in {event_type} event",
        "resource": resource,
        "links": [],
    }
    return json.dumps(event, indent=1).encode()


# --------------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received, headers with lower-case names."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Answer(Exception):
    """Ends handling a request with this status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _error(status: int, name: str, message: str, issue: str | None = None, description: str = "") -> _Answer:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": secrets.token_hex(7)}
    if issue is not None:
        body["details"] = [{"issue": issue, "description": description or issue}]
    return _Answer(status, body)


def _unprocessable(issue: str, description: str) -> _Answer:
    return _error(
        422,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
        issue,
        description,
    )


def _invalid(issue: str, description: str) -> _Answer:
    message = "Request is not well-formed, syntactically incorrect, or violates schema."
    return _error(400, "INVALID_REQUEST", message, issue, description)


def _not_found() -> _Answer:
    return _error(
        404,
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    )


_MALFORMED = "The value of a field does not conform to the expected format."


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _paypal_id() -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXY0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(17))


class PayPalStandIn:
    """The stand-in's state and controls; :meth:`start` serves it on ``url``.

    Attributes:
        token_lifetime: ``expires_in`` of the tokens handed out from now on, in seconds.
        capture_status: The status new captures get (``COMPLETED``, ``DECLINED``, ``PENDING``).
    """

    def __init__(
        self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET, webhook_id: str = WEBHOOK_ID
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        self.token_lifetime = 32_400
        self.capture_status = "COMPLETED"
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._tokens: dict[str, float] = {}
        self._orders: dict[str, dict[str, Any]] = {}
        self._captures: dict[str, tuple[str, dict[str, Any]]] = {}
        self._replays: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._refunds: list[dict[str, Any]] = []
        self._failures: list[tuple[int, str | None]] = []
        self._stalls: list[float] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "the stand-in is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- controls ----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        """The requests of ``method`` whose path matches the regular expression ``path_pattern`` in full."""
        return [r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)]

    @property
    def token_requests(self) -> int:
        return len(self.requests_to("POST", "/v1/oauth2/token"))

    @property
    def refunds(self) -> list[dict[str, Any]]:
        """Every refund made, as PayPal answered it, with the ``capture_id`` it refunds."""
        with self._lock:
            return [dict(refund) for refund in self._refunds]

    def fail_next(self, count: int = 1, status: int = 500, path: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` and an error document instead of
        handling them: any requests, or only those to ``path`` when it is given."""
        with self._lock:
            self._failures.extend([(status, path)] * count)

    def stall_next(self, seconds: float) -> None:
        """Wait ``seconds`` before handling the next request."""
        with self._lock:
            self._stalls.append(seconds)

    def forget_request_ids(self) -> None:
        """Forget every ``PayPal-Request-Id`` seen, as PayPal does once its retention time has passed."""
        with self._lock:
            self._replays.clear()

    def expire_tokens(self) -> None:
        """Make every access token handed out so far invalid: API calls with one get a 401."""
        with self._lock:
            self._tokens.clear()

    def approve(self, order_id: str) -> dict[str, Any]:
        """What the buyer does on PayPal's page: the order becomes ``APPROVED``. Returns the order."""
        with self._lock:
            order = self._orders[order_id]
            if order["status"] == "CREATED":
                order["status"] = "APPROVED"
                order["payer"] = {
                    "name": {"given_name": "Stand", "surname": "In"},
                    "email_address": "buyer@example.com",
                    "payer_id": "QYR5Z8XDVJNXQ",
                }
            return copy.deepcopy(order)

    def order(self, order_id: str) -> dict[str, Any]:
        """The order as ``GET /v2/checkout/orders/{id}`` shows it (``KeyError`` for an unknown one)."""
        with self._lock:
            return copy.deepcopy(self._orders[order_id])

    def capture_resource(self, order_id: str) -> dict[str, Any]:
        """The order's capture as a ``PAYMENT.CAPTURE.*`` webhook event carries it."""
        with self._lock:
            capture = self._orders[order_id]["purchase_units"][0]["payments"]["captures"][0]
            resource = copy.deepcopy(capture)
        resource["supplementary_data"] = {"related_ids": {"order_id": order_id}}
        return resource

    # -- request handling (runs on the server's threads) -------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._requests.append(RecordedRequest(method, path, headers, body))
            stall = self._stalls.pop(0) if self._stalls else 0.0
            failing = [n for n, (_, where) in enumerate(self._failures) if where in (None, path)]
            failure = self._failures.pop(failing[0])[0] if failing else None
        if stall:
            time.sleep(stall)
        if failure is not None:
            return failure, {
                "name": "INTERNAL_SERVER_ERROR" if failure >= 500 else "INVALID_REQUEST",
                "message": "An internal server error has occurred." if failure >= 500 else "Request refused.",
                "debug_id": secrets.token_hex(7),
            }
        try:
            with self._lock:
                status, answer = self._route(method, path, headers, body)
                # A copy: the live order may change on another thread while the answer is written.
                return status, copy.deepcopy(answer)
        except _Answer as refusal:
            return refusal.status, refusal.body

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if (method, path) == ("POST", "/v1/oauth2/token"):
            return self._token(headers, body)
        self._authenticate(headers)
        request_id = headers.get("paypal-request-id")
        if (method, path) == ("POST", "/v2/checkout/orders"):
            return self._replayed(path, request_id) or self._remember(
                path, request_id, self._create_order(_json(body))
            )
        if method == "GET" and (match := _ORDER.fullmatch(path)):
            return 200, self._known_order(match[1])
        if method == "POST" and (match := _CAPTURE_ORDER.fullmatch(path)):
            return self._replayed(path, request_id) or self._remember(
                path, request_id, self._capture(match[1])
            )
        if method == "POST" and (match := _REFUND.fullmatch(path)):
            return self._replayed(path, request_id) or self._remember(
                path, request_id, self._refund(match[1], _json(body))
            )
        if (method, path) == ("POST", "/v1/notifications/verify-webhook-signature"):
            return 200, self._verify(_json(body))
        raise _not_found()

    def _replayed(self, path: str, request_id: str | None) -> tuple[int, dict[str, Any]] | None:
        if request_id is None or (path, request_id) not in self._replays:
            return None
        status, body = self._replays[(path, request_id)]
        return status, copy.deepcopy(body)

    def _remember(
        self, path: str, request_id: str | None, answer: tuple[int, dict[str, Any]]
    ) -> tuple[int, dict[str, Any]]:
        if request_id is not None:
            self._replays[(path, request_id)] = (answer[0], copy.deepcopy(answer[1]))
        return answer

    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if not hmac.compare_digest(headers.get("authorization", ""), f"Basic {expected}"):
            raise _Answer(
                401, {"error": "invalid_client", "error_description": "Client Authentication failed"}
            )
        if parse_qs(body.decode()).get("grant_type") != ["client_credentials"]:
            raise _Answer(400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
        token = "A21AA" + secrets.token_urlsafe(32)
        self._tokens[token] = time.monotonic() + self.token_lifetime
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": self.token_lifetime,
            "nonce": f"{_now()}{secrets.token_urlsafe(12)}",
        }

    def _authenticate(self, headers: dict[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or self._tokens.get(token, 0.0) <= time.monotonic():
            raise _Answer(
                401, {"error": "invalid_token", "error_description": "Access Token not found in cache"}
            )

    def _create_order(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if request.get("intent") != "CAPTURE":
            raise _invalid("INVALID_PARAMETER_VALUE", "The value of a field is invalid: intent.")
        units = request.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1 or not isinstance(units[0], dict):
            raise _invalid("INVALID_ARRAY_MAX_ITEMS", "The stand-in takes exactly one purchase unit.")
        amount = units[0].get("amount")
        if not isinstance(amount, dict) or not amount.get("currency_code") or not amount.get("value"):
            raise _invalid("MISSING_REQUIRED_PARAMETER", "A required field is missing: amount.")
        currency, value = str(amount["currency_code"]), str(amount["value"])
        if currency not in SUPPORTED_CURRENCIES:
            raise _unprocessable("CURRENCY_NOT_SUPPORTED", "Currency code is not currently supported.")
        match = _VALUE.fullmatch(value)
        if match is None:
            raise _invalid("INVALID_PARAMETER_SYNTAX", _MALFORMED)
        allowed = 0 if currency in WHOLE_UNIT_CURRENCIES else 2
        if match[1] is not None and len(match[1]) > allowed:
            raise _unprocessable(
                "DECIMAL_PRECISION",
                "If the currency supports decimals, only two decimal place precision is supported.",
            )
        if Decimal(value) <= 0:
            raise _unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.")
        order_id = _paypal_id()
        paypal_source = (request.get("payment_source") or {}).get("paypal")
        links = [{"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"}]
        approval = f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}"
        if paypal_source is not None:
            links.append({"href": approval, "rel": "payer-action", "method": "GET"})
        else:
            links += [
                {"href": approval, "rel": "approve", "method": "GET"},
                {"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "update", "method": "PATCH"},
                {
                    "href": f"{self.url}/v2/checkout/orders/{order_id}/capture",
                    "rel": "capture",
                    "method": "POST",
                },
            ]
        unit = {**units[0], "amount": {"currency_code": currency, "value": value}}
        unit["payee"] = {"email_address": "merchant@example.com", "merchant_id": "C7CYMKZDG8D6E"}
        order = {
            "id": order_id,
            "intent": "CAPTURE",
            "status": "CREATED",
            "purchase_units": [unit],
            "create_time": _now(),
            "links": links,
        }
        if paypal_source is not None:
            order["payment_source"] = {"paypal": {}}
        self._orders[order_id] = order
        answer = {"id": order_id, "status": "CREATED", "links": links}
        if paypal_source is not None:
            answer["payment_source"] = {"paypal": {}}
        return 201, answer

    def _known_order(self, order_id: str) -> dict[str, Any]:
        order = self._orders.get(order_id)
        if order is None:
            raise _not_found()
        return order

    def _capture(self, order_id: str) -> tuple[int, dict[str, Any]]:
        order = self._known_order(order_id)
        if order["status"] == "COMPLETED":
            raise _unprocessable(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
            )
        if order["status"] != "APPROVED":
            raise _unprocessable(
                "ORDER_NOT_APPROVED",
                "Payer has not yet approved the Order for payment. Please redirect the payer to the "
                "'rel':'approve' url returned as part of the HATEOAS links within the Create Order call "
                "or provide a valid payment_source in the request.",
            )
        capture_id = _paypal_id()
        unit = order["purchase_units"][0]
        capture: dict[str, Any] = {
            "id": capture_id,
            "status": self.capture_status,
            "amount": dict(unit["amount"]),
            "final_capture": True,
            "create_time": _now(),
            "links": [
                {"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "self", "method": "GET"}
            ],
        }
        if self.capture_status != "COMPLETED":
            reason = (
                "PENDING_REVIEW" if self.capture_status == "PENDING" else "DECLINED_BY_RISK_FRAUD_FILTERS"
            )
            capture["status_details"] = {"reason": reason}
        unit["payments"] = {"captures": [capture]}
        order["status"] = "COMPLETED"
        self._captures[capture_id] = (order_id, capture)
        return 201, order

    def _refund(self, capture_id: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if capture_id not in self._captures:
            raise _not_found()
        _, capture = self._captures[capture_id]
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            if capture["status"] == "REFUNDED":
                raise _unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
            raise _unprocessable("REFUND_NOT_ALLOWED", "Refund cannot be issued for this capture.")
        captured = Decimal(capture["amount"]["value"])
        refunded = sum(
            (Decimal(r["amount"]["value"]) for r in self._refunds if r["capture_id"] == capture_id),
            Decimal(0),
        )
        currency = capture["amount"]["currency_code"]
        amount = request.get("amount") or {"currency_code": currency, "value": str(captured - refunded)}
        if amount.get("currency_code") != currency:
            raise _unprocessable("CURRENCY_MISMATCH", "Refund must be in the same currency as the capture.")
        try:
            value = Decimal(str(amount.get("value")))
        except InvalidOperation:
            raise _invalid("INVALID_PARAMETER_SYNTAX", _MALFORMED) from None
        if value <= 0 or refunded + value > captured:
            raise _unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet "
                "been refunded.",
            )
        refund_id = _paypal_id()
        refund = {
            "id": refund_id,
            "status": "COMPLETED",
            "links": [
                {"href": f"{self.url}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"}
            ],
        }
        capture["status"] = "REFUNDED" if refunded + value == captured else "PARTIALLY_REFUNDED"
        self._refunds.append({**refund, "capture_id": capture_id, "amount": dict(amount)})
        return 201, refund

    def _verify(self, request: dict[str, Any]) -> dict[str, Any]:
        fields = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
        )
        missing = [field for field in fields if not isinstance(request.get(field), str) or not request[field]]
        if missing or not isinstance(request.get("webhook_event"), dict):
            field = (missing or ["webhook_event"])[0]
            raise _invalid("MISSING_REQUIRED_PARAMETER", f"A required field is missing: {field}.")
        expected = _signature(
            request["transmission_id"],
            request["transmission_time"],
            self.webhook_id,
            _canonical_crc32(request["webhook_event"]),
        )
        genuine = (
            request["auth_algo"] == AUTH_ALGO
            and request["webhook_id"] == self.webhook_id
            and hmac.compare_digest(request["transmission_sig"], expected)
        )
        return {"verification_status": "SUCCESS" if genuine else "FAILURE"}


def _json(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise _invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.") from None
    if not isinstance(document, dict):
        raise _invalid("MALFORMED_REQUEST_JSON", "The request JSON is not an object.")
    return document


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout under test) closed the connection before the answer.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: PayPalStandIn
    # Keep-alive, as PayPal: the adapter's connection pool is exercised as in production.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm each answer would wait ~40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, answer = self.owner.handle(method, self.path, headers, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Paypal-Debug-Id", secrets.token_hex(7))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the recorded requests say what happened; stderr stays quiet


@pytest.fixture(name="paypal_api")
def paypal_api_fixture() -> Iterator[PayPalStandIn]:
    """A fresh stand-in of PayPal's API, served on a free loopback port for one test."""
    standin = PayPalStandIn()
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()
