"""The one border errors cross into HTTP: every failure becomes an RFC 9457 problem document.

Domain errors map by their group (``InvalidInput`` 400, ``AccessDenied`` 403, ``NotFound`` 404,
``Conflict`` 409); a dependency that is down (``Unavailable``, and database errors that mean the
database cannot be reached) is 503 with ``Retry-After``; Litestar's own errors (bad query
parameters, unknown routes, wrong methods, large bodies) keep their status; anything unexpected is
logged with its traceback and answered with a bare 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import SQLAlchemyError

from customshop.adapters.sqlalchemy.engine import unavailable as database_unavailable
from customshop.application.ports import InvalidSignature, PaymentRejected, Unavailable
from customshop.domain.errors import (
    AccessDenied,
    Conflict,
    DomainError,
    InvalidInput,
    InvalidMoney,
    NotFound,
    Violation,
)
from customshop.domain.webhooks import WebhookVerificationError
from customshop.entrypoints.http.body import violation_from_msgspec

log = logging.getLogger("customshop.http")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(msgspec.Struct, omit_defaults=True):
    field: str
    code: str
    message: str
    zone_id: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = msgspec.field(default_factory=list)


#: status -> (type, title)
_KINDS: dict[int, tuple[str, str]] = {
    400: ("/problems/invalid-request", "The request is invalid"),
    401: ("/problems/unauthenticated", "The request is not signed as expected"),
    403: ("/problems/forbidden", "Forbidden"),
    404: ("/problems/not-found", "Not found"),
    405: ("/problems/method-not-allowed", "Method not allowed"),
    409: ("/problems/conflict", "Conflict with the current state"),
    413: ("/problems/too-large", "The request body is too large"),
    415: ("/problems/unsupported-media-type", "Unsupported media type"),
    429: ("/problems/too-many-requests", "Too many requests"),
    500: ("/problems/internal-error", "Internal error"),
    503: ("/problems/unavailable", "Service unavailable"),
}


def problem_response(
    status: int,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    kind, title = _KINDS.get(status, ("about:blank", "Error"))
    return Response(
        Problem(type=kind, title=title, status=status, detail=detail, errors=errors or []),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_errors(violations: tuple[Violation, ...]) -> list[FieldError]:
    return [FieldError(v.field, v.code, v.message, v.zone_id) for v in violations]


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    match exc:
        case InvalidInput():
            return problem_response(400, exc.message, _field_errors(exc.violations))
        case InvalidMoney():
            return problem_response(400, exc.message)
        case AccessDenied():
            return problem_response(403, exc.message)
        case NotFound():
            return problem_response(404, exc.message)
        case Conflict():
            return problem_response(409, exc.message, _field_errors(exc.violations))
    return handle_unexpected(request, exc)


#: What a 503 tells clients to wait before trying again (``Retry-After``, seconds).
RETRY_AFTER_SECONDS = 5


def handle_unavailable(request: Request[Any, Any, Any], exc: Unavailable) -> Response[Problem]:
    """503 naming the dependency (``exc.dependency``) and nothing else: the message, which may hold
    addresses or driver errors, goes to the log only."""
    log.warning("%s is unavailable on %s %s: %s", exc.dependency, request.method, request.url.path, exc)
    dependency = exc.dependency[:1].upper() + exc.dependency[1:]
    return problem_response(
        503,
        f"{dependency} is unavailable right now; try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def handle_database_error(request: Request[Any, Any, Any], exc: SQLAlchemyError) -> Response[Problem]:
    """The safety net behind the unit of work: a database error that reached the border untranslated
    is a 503 when it means the database cannot be reached, else a 500 (integrity and programming
    errors are bugs, never "try again")."""
    down = database_unavailable(exc)
    if down is None:
        return handle_unexpected(request, exc)
    return handle_unavailable(request, down)


def handle_invalid_signature(request: Request[Any, Any, Any], exc: InvalidSignature) -> Response[Problem]:
    log.warning("rejected a webhook delivery on %s: %s", request.url.path, exc)
    return problem_response(400, f"The delivery could not be verified: {exc}")


def handle_webhook_signature(
    request: Request[Any, Any, Any], exc: WebhookVerificationError
) -> Response[Problem]:
    log.warning("refused an unverified delivery on %s: %s", request.url.path, exc)
    return problem_response(401, f"The delivery could not be verified: {exc}")


def handle_payment_rejected(request: Request[Any, Any, Any], exc: PaymentRejected) -> Response[Problem]:
    return problem_response(409, f"The payment provider refused: {exc}")


def handle_validation_exception(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    """Litestar's own parameter validation (query, path, header values)."""
    errors: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or "request")
            if key == "data":  # the request body as a whole (missing or empty)
                errors.append(FieldError("body", "required", "a JSON body is required"))
                continue
            violation = violation_from_msgspec(str(item.get("message") or "invalid value"), key)
            errors.append(FieldError(violation.field, violation.code, violation.message))
    return problem_response(400, "Some parameters are invalid.", errors)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    if isinstance(exc, NotFoundException):
        return problem_response(404, "There is nothing at this address.")
    if exc.status_code == HTTP_500_INTERNAL_SERVER_ERROR:
        return handle_unexpected(request, exc)
    if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return problem_response(413, _too_large(request))
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, str(exc.detail), headers=headers)


def _too_large(request: Request[Any, Any, Any]) -> str:
    """The 413 detail, naming the limit of the route (reading stopped there: the rest was never read)."""
    route_handler = request.scope.get("route_handler")
    limit = (
        route_handler.resolve_request_max_body_size() if isinstance(route_handler, HTTPRouteHandler) else None
    )
    if limit is None:
        return "The request body is too large."
    return f"The request body is larger than the {limit} bytes this address accepts."


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: handle_domain_error,
    Unavailable: handle_unavailable,
    SQLAlchemyError: handle_database_error,
    InvalidSignature: handle_invalid_signature,
    PaymentRejected: handle_payment_rejected,
    WebhookVerificationError: handle_webhook_signature,
    ValidationException: handle_validation_exception,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries for the problem documents a route can answer with."""
    descriptions = {
        400: "Bad input: one `errors` entry per offending field.",
        401: "Missing, bad or stale signature.",
        403: "Missing, invalid, revoked or out-of-scope API key.",
        404: "Unknown resource.",
        409: "Conflict with the current state.",
        413: "The request body is larger than this address accepts.",
        415: "The body is not in a media type this address reads (JSON: `application/json`).",
        429: "Too many requests from this client; `Retry-After` says when to try again.",
        503: "A dependency is unavailable.",
    }
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=descriptions.get(status, "Error"),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }
