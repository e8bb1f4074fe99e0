"""Security headers on every response, and CORS for the browser origins the operator allows.

Every answer (errors, 404s of unknown addresses and CORS preflights included) carries:

- ``X-Content-Type-Options: nosniff``: browsers take the declared type, never guess another;
- ``Referrer-Policy: no-referrer``: nothing this API serves needs a referrer, and its URLs (a guest's
  order with ``?token=``, a payment page) must never leak into another site's logs;
- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no page may frame this one;
- ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` on the API: a JSON document
  or an image opened by a browser may load and run nothing. The two HTML pages (the interactive
  ``/schema`` page, which loads its script and styles from a CDN, and the ``test`` provider's payment
  page, which runs an inline script) get ``frame-ancestors 'none'`` alone, so they keep working;
- ``Strict-Transport-Security: max-age=31536000`` only when the request came over TLS (HSTS over plain
  HTTP is ignored by browsers, and a proxy terminating TLS sets its own).

The headers are computed once and appended by a pure ASGI middleware wrapped around the whole app
(unlike a Litestar route middleware it also sees what the router and CORS answer by themselves): one
string comparison, one closure and one list per response (about 1.5 µs: bench/protection_overhead.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType

from customshop.entrypoints.settings import Settings

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_POLICY = "frame-ancestors 'none'"
HSTS = "max-age=31536000"
#: Paths of the HTML pages (and what they load from this server).
PAGE_PATHS = ("/schema", "/test-payments/")

_COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _encoded(headers: dict[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())


#: (is a page, over TLS) -> the headers to add.
_HEADERS: dict[tuple[bool, bool], tuple[tuple[bytes, bytes], ...]] = {
    (page, tls): _encoded(
        _COMMON
        | {"content-security-policy": PAGE_POLICY if page else API_POLICY}
        | ({"strict-transport-security": HSTS} if tls else {})
    )
    for page in (False, True)
    for tls in (False, True)
}


class SecurityHeadersMiddleware:
    """A pure ASGI middleware around the whole app (routing, the error border and CORS included): the
    security headers on the start of every HTTP response."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        extra = _HEADERS[scope["path"].startswith(PAGE_PATHS), scope.get("scheme") == "https"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A new list: a response may share its header list with others (never extend it).
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: Headers browsers may send cross-origin besides the CORS-safelisted ones.
CORS_REQUEST_HEADERS = ["X-Session-Key", "X-API-Key", "Idempotency-Key"]
#: Response headers scripts of allowed origins may read.
CORS_EXPOSED_HEADERS = [
    "X-Session-Key",
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
]


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for ``CUSTOMSHOP_CORS_ORIGINS``; ``None`` (no CORS headers at all) when it is empty.

    Credentials (the ``session_key`` cookie) are allowed for listed origins, never for ``*``.
    """
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        allow_credentials="*" not in settings.cors_origins,
        max_age=600,
    )
