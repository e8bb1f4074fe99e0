"""Query parameters shared by list endpoints, opaque cursors, the admin key guard and the catalog hook."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import Parameter

from customshop.application.access import AccessKeys
from customshop.application.catalog_cache import CatalogCache
from customshop.domain.access import Scope
from customshop.domain.errors import InvalidInput, Violation
from customshop.entrypoints.http.body import NUL_MESSAGE

API_KEY_HEADER = "X-API-Key"

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size (default 50, at most 200).")]
CursorParam = Annotated[
    str | None, Parameter(max_length=200, description="`next_cursor` of the previous page.")
]

_CURSOR_VERSION = "c1:"


def encode_cursor(after: str | None) -> str | None:
    """An opaque cursor for a sort key, or ``None`` (no further page)."""
    if after is None:
        return None
    return base64.urlsafe_b64encode((_CURSOR_VERSION + after).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The sort key inside a cursor.

    Raises:
        InvalidInput: the cursor was not made by :func:`encode_cursor`.
    """
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_CURSOR_VERSION) or len(text) == len(_CURSOR_VERSION):
        raise InvalidInput([Violation("cursor", "invalid", "this cursor was not issued by this listing")])
    return text[len(_CURSOR_VERSION) :]


def decode_int_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not key.isdigit():
        raise InvalidInput([Violation("cursor", "invalid", "this cursor was not issued by this listing")])
    return int(key)


#: The ``opt`` key under which a route names the scope an admin key needs (see :func:`requires`).
SCOPE_OPT = "scope"
#: The ``opt`` key marking the public catalog reads answered from the catalog cache.
CATALOG_CACHE_OPT = "catalog_cache"


def requires(scope: Scope) -> dict[str, Any]:
    """The ``opt`` of a route (or of a controller, for all its routes) that admits only requests
    whose ``X-API-Key`` allows ``scope``: ``@post("/", opt=requires(Scope.CATALOG_WRITE))``.
    :class:`ScopeGuard` enforces it (403 otherwise)."""
    return {SCOPE_OPT: scope}


#: The ``opt`` of the public catalog reads the catalog cache answers (see :class:`CatalogHook`).
CACHED_CATALOG: dict[str, Any] = {CATALOG_CACHE_OPT: True}


class ScopeGuard:
    """The app's one guard: a route whose ``opt`` names a scope (:func:`requires`) admits only
    requests whose ``X-API-Key`` allows it; other routes are public. Built in ``http/app.py`` from
    the container's access keys."""

    def __init__(self, access: AccessKeys) -> None:
        self._access = access

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        scope: Scope | None = handler.opt.get(SCOPE_OPT)
        if scope is not None:
            await self._access.authorize(connection.headers.get(API_KEY_HEADER), scope)


async def is_allowed(
    connection: ASGIConnection[Any, Any, Any, Any], access: AccessKeys, scope: Scope
) -> bool:
    """Whether the request carries a key allowing ``scope`` (for public routes with admin extras;
    their handlers take ``access`` as a dependency)."""
    key = await access.identify(connection.headers.get(API_KEY_HEADER))
    return key is not None and key.allows(scope)


ADMIN_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}]


async def reject_nul_characters(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """No path or query parameter may hold a NUL character: none is valid anywhere, and PostgreSQL
    can neither store nor compare one (it would be a 500). Runs before every route handler.

    Raises:
        InvalidInput: one violation per such parameter.
    """
    violations = [
        Violation(name, "invalid_character", NUL_MESSAGE)
        for name, value in [*connection.path_params.items(), *connection.query_params.multi_items()]
        if "\x00" in name or (isinstance(value, str) and "\x00" in value)
    ]
    if violations:
        raise InvalidInput(violations)


def catalog_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The cache key of a public catalog read: its path and raw query string, as sent."""
    query: bytes = connection.scope.get("query_string", b"")
    return connection.scope["path"] + ("?" + query.decode("latin-1") if query else "")


class CatalogHook:
    """The app's ``before_request`` hook. On the public catalog reads (``opt`` holding
    :data:`CACHED_CATALOG`) a cache hit is answered here, before Litestar parses parameters or
    resolves dependencies, and a miss goes on to the handler (which fills the cache); a request
    carrying an API key goes on to the handler too, which decides what the key may see (drafts,
    inactive products' templates) that the public answer does not show. On every route it then
    refuses NUL characters in parameters (:func:`reject_nul_characters`)."""

    def __init__(self, cache: CatalogCache) -> None:
        self._cache = cache

    async def __call__(self, request: Request[Any, Any, Any]) -> Response[Any] | None:
        if request.route_handler.opt.get(CATALOG_CACHE_OPT) and API_KEY_HEADER not in request.headers:
            body = self._cache.peek(catalog_key(request))
            if body is not None:
                return cached_json(body)
        await reject_nul_characters(request)
        return None


def cached_json(body: bytes) -> Response[Any]:
    """A JSON response of bytes serialized earlier (a catalog cache entry)."""
    return Response(content=body, media_type=MediaType.JSON)
