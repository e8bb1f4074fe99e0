"""Every request observed on its way through: its id, its metrics and its log line.

:class:`ObservabilityMiddleware` is a plain ASGI wrapper around the whole Litestar application (its
routing and its error border included), so it sees every answer, 404s of unknown paths and 500s too,
at the cost of a few attribute lookups, two clock reads and three counter updates per request.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from customshop.entrypoints.logs import REQUEST_ID, access_log

#: The request and response header carrying a request's id.
REQUEST_ID_HEADER = "X-Request-ID"
#: The route label of every request that matched no route (unknown paths, methods a path lacks).
UNMATCHED_ROUTE = "(unmatched)"
#: Method labels other than these are ``OTHER``: the label's values stay a small, fixed set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_HEADER = REQUEST_ID_HEADER.lower().encode("ascii")
#: An incoming id is kept when it is 1 to 128 characters a log line and a header carry as they are.
_SANE_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,127}")

#: ``observe(method, route, status, seconds)``: records one answered request.
Observe = Callable[[str, str, int, float], None]


def route_label(scope: Scope | dict[str, Any]) -> str:
    """The template of the route a request matched (``/orders/{order_id}``), never its path, so that
    the labels of metrics and logs come from a small set; :data:`UNMATCHED_ROUTE` when it matched
    none. Litestar's router sets the template in the scope once it has found the route."""
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def method_label(method: str) -> str:
    """``method`` if it is a common HTTP method, else ``OTHER``."""
    return method if method in METHODS else "OTHER"


def incoming_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The request's ``X-Request-ID`` when it is sane (1-128 characters: letters, digits and
    ``._:+/=-``, starting with a letter or digit); None when absent or not sane."""
    for name, value in headers:
        if name == _HEADER:
            return value.decode("ascii") if _SANE_ID.fullmatch(value) else None
    return None


#: Request ids of this process: a random prefix (16 hex digits) and a counter, so that making one is
#: a counter step and a format, not a system call; unique across processes and restarts, though
#: not unpredictable (an id is a label for logs, never a secret).
_ids = itertools.count()
_id_prefix = os.urandom(8).hex()


def _new_id_prefix() -> None:
    """A forked process (a server's worker) counts under a prefix of its own."""
    global _ids, _id_prefix
    _ids, _id_prefix = itertools.count(), os.urandom(8).hex()


os.register_at_fork(after_in_child=_new_id_prefix)


def new_request_id() -> str:
    """A new request id: 32 hexadecimal digits, unique among the ids of every process."""
    return f"{_id_prefix}{next(_ids) & 0xFFFFFFFFFFFFFFFF:016x}"


class ObservabilityMiddleware:
    """Gives each HTTP request an id (its sane ``X-Request-ID``, else a new one), echoed in the
    answer's ``X-Request-ID`` and set in :data:`~customshop.entrypoints.logs.REQUEST_ID` while it
    is handled, so that every log line it causes carries it; once answered, records it with
    ``observe`` and writes its access line (:func:`~customshop.entrypoints.logs.access_log`).

    Args:
        app: the application to wrap.
        observe: records one request: method (:func:`method_label`), route (:func:`route_label`),
            status (500 when the application failed before answering) and seconds taken.
    """

    def __init__(self, app: ASGIApp, observe: Observe) -> None:
        self.app = app
        self._observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope["headers"]) or new_request_id()
        header = (_HEADER, request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = REQUEST_ID.set(request_id)
        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = perf_counter() - started
            method, route = method_label(scope["method"]), route_label(scope)
            self._observe(method, route, status, seconds)
            access_log(method, route, status, seconds, request_id)
            REQUEST_ID.reset(token)
