"""Query parameters shared by list endpoints, opaque cursors, and the admin key guard."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
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


async def route_dependency(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> Any:
    """The value of the Litestar dependency ``name`` in the scope of the route ``connection``
    reached (declared where the app bridges the container to handlers, ``http/app.py``).

    For the guards and ``before_request`` hooks, which Litestar calls without resolving
    dependencies; handlers take theirs as parameters. The dependency must take no parameters, as
    every one the app bridges from the container does; its value is cached by its ``Provide``.

    Raises:
        KeyError: the route has no dependency of that name.
    """
    provide = connection.route_handler.resolve_dependencies()[name]
    return await provide()


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def requires(scope: Scope) -> Guard:
    """A route guard admitting requests whose ``X-API-Key`` allows ``scope`` (403 otherwise)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        access: AccessKeys = await route_dependency(connection, "access")
        await access.authorize(connection.headers.get(API_KEY_HEADER), scope)

    return guard


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


async def serve_cached_catalog(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """``before_request`` hook of the public catalog reads: a cache hit is answered here, before
    Litestar parses parameters or resolves dependencies; a miss goes on to the handler (which fills
    the cache). Replaces the app's hook on these routes, so it runs that check on a miss too."""
    cache: CatalogCache = await route_dependency(request, "catalog_cache")
    body = cache.peek(catalog_key(request))
    if body is not None:
        return cached_json(body)
    await reject_nul_characters(request)
    return None


def cached_json(body: bytes) -> Response[Any]:
    """A JSON response of bytes serialized earlier (a catalog cache entry)."""
    return Response(content=body, media_type=MediaType.JSON)
