"""The OpenAPI document, finished so that it says what the server really answers.

Litestar documents what it sees in the handlers: their parameters, JSON bodies, results and the
``responses=problems(...)`` they name. It cannot see what the error border and the middleware do, and
it documents its own parameter validation as a ``{status_code, detail, extra}`` body the server never
sends (its ``extra`` is a ``["null", "object", "array"]`` type union client generators cannot read).
:func:`finish` corrects the generated document, as plain data, by these rules:

- every 4xx and 5xx answer is a problem document (``application/problem+json``, schema ``Problem``);
- **400** wherever Litestar validates parameters or a body (an operation with either);
- **403** on operations that take an API key (they name the ``apiKey`` security scheme);
- **404** on operations with a path parameter (it names a resource, which may not exist);
- **413** on operations that read a body (the body size limit), **415** on those taking a JSON or
  multipart body (another media type is refused);
- **429** with ``Retry-After`` and the ``RateLimit-*`` headers on every rate-limited operation (all
  but ``/health/*`` and ``/metrics``, see :mod:`.rate_limits`);
- **503** (``Retry-After`` when the server can tell) on every operation that needs the database,
  Redis, file storage or a payment provider: all but the liveness probe and the metrics;
- binary answers (images) are ``type: string, format: binary`` under their real media types, and
  the upload's multipart body is documented.

Descriptions a route gives for a status (``problems(...)``) are kept. The result depends only on the
generated document and is built in a fixed order, so the same routes give the same bytes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, fields
from typing import Any

import msgspec
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import OpenAPI

from customshop.domain.templates import IMAGE_TYPES
from customshop.entrypoints.http.errors import PROBLEM_MEDIA_TYPE, Problem
from customshop.entrypoints.http.rate_limits import UNLIMITED_PATHS

SCHEMAS_PREFIX = "#/components/schemas/"
PROBLEM_REF = f"{SCHEMAS_PREFIX}Problem"
API_KEY_SCHEME = "apiKey"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

#: Operations that read their body themselves (Litestar sees no ``data``): they answer 413 too.
RAW_BODIES = frozenset(
    {"uploadAsset", "retryPayment", "stripeWebhook", "paypalWebhook", "fulfillmentWebhook"}
)

#: Bodies Litestar cannot document because the handler parses them itself, by operation id.
MULTIPART_BODIES: dict[str, dict[str, Any]] = {
    "uploadAsset": {
        "description": (
            "One image (PNG, JPEG or WebP, judged from its bytes) as a file part of a "
            "`multipart/form-data` body; any field name will do, the first file part counts."
        ),
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}

#: Binary answers whose media type is that of the stored file, by operation id.
BINARY_MEDIA_TYPES: dict[str, tuple[str, ...]] = {"getPrintFileAsset": IMAGE_TYPES}

#: Operations that need no database, Redis, storage or payment provider (never a 503 of theirs).
#: ``/health/ready`` reports its dependencies' outage as its own documented 503.
NO_DEPENDENCIES = frozenset({"live", "metrics"})

_UNLIMITED = tuple(re.compile(pattern) for pattern in UNLIMITED_PATHS)

#: Descriptions of the answers this module adds (a route's own description, when it has one, stays).
DESCRIPTIONS: dict[int, str] = {
    400: "Bad input: one `errors` entry per offending field.",
    403: "Missing, invalid, revoked or out-of-scope API key.",
    404: "Unknown resource.",
    413: "The request body is larger than this address accepts; nothing beyond the limit was read.",
    415: "The body's `Content-Type` is not one this address takes.",
    429: "Too many requests from this client; `Retry-After` says when to try again.",
    503: "A dependency (database, Redis, file storage or payment provider) is unavailable; try again later.",
}

_SECONDS = {"type": "integer", "minimum": 0}


def _header(description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


#: Headers of a 429 (rate_limits.WindowRateLimitMiddleware.refusal; Litestar's default header names).
RATE_LIMITED_HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": _header("Seconds until the client may try again.", _SECONDS, required=True),
    "RateLimit-Limit": _header("Requests the limit allows per window.", {"type": "integer"}, required=True),
    "RateLimit-Remaining": _header("Requests left in this window: 0.", {"type": "integer"}, required=True),
    "RateLimit-Reset": _header("Seconds until the window ends.", _SECONDS, required=True),
    "RateLimit-Policy": _header("The limit, as `LIMIT;w=SECONDS`.", {"type": "string"}, required=True),
}
UNAVAILABLE_HEADERS: dict[str, dict[str, Any]] = {
    "Retry-After": _header("Seconds after which trying again may succeed (when known).", _SECONDS)
}
_HEADERS = {429: RATE_LIMITED_HEADERS, 503: UNAVAILABLE_HEADERS}


def problem_content() -> dict[str, Any]:
    """The ``content`` of a problem document answer."""
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a generated OpenAPI document, as data) corrected by the rules of this module.

    Pure: ``document`` is left as it was; the same input gives the same output, key order included.
    """
    finished = copy.deepcopy(document)
    _ensure_problem_schema(finished)
    for path, path_item in finished.get("paths", {}).items():
        for method in METHODS:
            operation = path_item.get(method)
            if isinstance(operation, dict):
                _finish_operation(path, path_item, operation)
    return finished


def _finish_operation(path: str, path_item: dict[str, Any], operation: dict[str, Any]) -> None:
    operation_id = operation.get("operationId", "")
    if operation_id in MULTIPART_BODIES and "requestBody" not in operation:
        operation["requestBody"] = copy.deepcopy(MULTIPART_BODIES[operation_id])
    parameters = [*path_item.get("parameters", []), *operation.get("parameters", [])]
    body = operation.get("requestBody")
    responses: dict[str, Any] = operation.setdefault("responses", {})

    statuses: list[int] = []
    if parameters or body is not None:
        statuses.append(400)
    if any(API_KEY_SCHEME in requirement for requirement in operation.get("security") or []):
        statuses.append(403)
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses.append(404)
    if body is not None or operation_id in RAW_BODIES:
        statuses.append(413)
    if body is not None:
        statuses.append(415)
    if not any(pattern.search(path) for pattern in _UNLIMITED):
        statuses.append(429)
    if operation_id not in NO_DEPENDENCIES:
        statuses.append(503)
    for added in statuses:
        responses.setdefault(str(added), {"description": DESCRIPTIONS[added]})

    for key, response in responses.items():
        code = int(key) if key.isdigit() else 0
        if code >= 400:
            _as_problem(code, response)
        elif 200 <= code < 300:
            _binary(operation_id, response)
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: _order(item[0])))


def _as_problem(status: int, response: dict[str, Any]) -> None:
    """An error answer as the problem document the error border sends (``errors.py``), replacing
    whatever else Litestar put there (its validation error body)."""
    content = response.get("content")
    if content != problem_content():
        response["content"] = problem_content()
        if content is not None:  # Litestar's own description of its body ("Bad request syntax...")
            response["description"] = DESCRIPTIONS.get(status, response.get("description", "Error"))
    response.setdefault("description", DESCRIPTIONS.get(status, "Error"))
    if status in _HEADERS:
        response["headers"] = {**copy.deepcopy(_HEADERS[status]), **response.get("headers", {})}


def _binary(operation_id: str, response: dict[str, Any]) -> None:
    """Binary answers as ``format: binary`` strings under every media type they are sent as."""
    content: dict[str, Any] = response.get("content") or {}
    if operation_id in BINARY_MEDIA_TYPES:
        content = {media_type: {"schema": {}} for media_type in BINARY_MEDIA_TYPES[operation_id]}
        response["content"] = content
    for media_type, entry in content.items():
        if media_type.startswith("image/") or media_type == "application/octet-stream":
            entry["schema"] = {"type": "string", "format": "binary"}


def _order(status: str) -> tuple[int, str]:
    return (int(status), "") if status.isdigit() else (1000, status)


def _ensure_problem_schema(document: dict[str, Any]) -> None:
    """The ``Problem`` schema (and ``FieldError``) among the components, when no route named it."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" in schemas:
        return
    _, components = msgspec.json.schema_components([Problem], ref_template=SCHEMAS_PREFIX + "{name}")
    for name, schema in sorted(components.items()):
        schemas.setdefault(name, schema)


@dataclass
class FinishedOpenAPI(OpenAPI):
    """Litestar's OpenAPI document object, serialized (``to_schema``) through :func:`finish`."""

    def to_schema(self) -> dict[str, Any]:
        return finish(super().to_schema())


@dataclass
class ProblemDocumentsOpenAPIConfig(OpenAPIConfig):
    """Litestar's ``OpenAPIConfig`` whose document is finished by :func:`finish`: what
    ``/schema/openapi.json`` serves and ``app.openapi_schema.to_schema()`` returns."""

    def to_openapi_schema(self) -> OpenAPI:
        generated = super().to_openapi_schema()
        return FinishedOpenAPI(**{field.name: getattr(generated, field.name) for field in fields(generated)})
