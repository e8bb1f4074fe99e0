"""The OpenAPI document says what the server answers (http/openapi.py): every error a problem
document, the statuses middleware and the error border cause, binary answers as binary, schemas a
client generator can read, and the same bytes every time."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.serialization import encode_json
from openapi_spec_validator import validate

from customshop.entrypoints.container import build_container
from customshop.entrypoints.http import openapi
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.settings import Settings

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
METHODS = ("get", "put", "post", "delete", "patch")
ROOT = Path(__file__).resolve().parents[2]

#: Prints the SHA-256 of the served document's bytes (what JsonRenderPlugin sends) of an app built
#: like the one of `build_document`.
_DIGEST_SCRIPT = """
import hashlib, sys, tempfile
from customshop.entrypoints.container import build_container
from customshop.entrypoints.http.app import create_app
from customshop.entrypoints.settings import Settings
from litestar.serialization import encode_json
from openapi_spec_validator import validate
with tempfile.TemporaryDirectory() as data_dir:
    settings = Settings(data_dir=data_dir, database_url="sqlite:///" + data_dir + "/x.db",
                        test_payments_enabled=True)
    app = create_app(build_container(settings), readiness_probes=False)
    sys.stdout.write(hashlib.sha256(encode_json(app.openapi_schema.to_schema())).hexdigest())
"""


def build_document() -> dict[str, Any]:
    """The document of an app with every optional route on (building it connects to nothing)."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            data_dir=data_dir, database_url=f"sqlite:///{data_dir}/x.db", test_payments_enabled=True
        )
        app = create_app(build_container(settings), readiness_probes=False)
        return app.openapi_schema.to_schema()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    """``(method, path, operation, parameters)`` of every operation of ``document``."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if (operation := item.get(method)) is not None:
                yield method, path, operation, [*item.get("parameters", []), *operation.get("parameters", [])]


def statuses(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"]}


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on the first violation of the OpenAPI 3.1 schema


def test_every_error_answer_is_a_problem_document(document: dict[str, Any]) -> None:
    errors = [
        (method, path, status, response)
        for method, path, operation, _ in operations(document)
        for status, response in operation["responses"].items()
        if int(status) >= 400
    ]
    assert len(errors) > 200
    wrong = [
        (method, path, status) for method, path, status, response in errors if response["content"] != PROBLEM
    ]
    assert wrong == []
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}


def test_statuses_follow_from_what_each_operation_takes(document: dict[str, Any]) -> None:
    unlimited = {"/health/live", "/health/ready", "/metrics"}
    count = 0
    for method, path, operation, parameters in operations(document):
        count += 1
        where, documented = f"{method.upper()} {path}", statuses(operation)
        has_body = "requestBody" in operation
        if parameters or has_body:
            assert 400 in documented, where
        if operation.get("security"):
            assert 403 in documented, where
        if any(p["in"] == "path" for p in parameters):
            assert 404 in documented, where
        if has_body or operation["operationId"] in openapi.RAW_BODIES:
            assert 413 in documented, where
        if has_body:
            assert 415 in documented, where
        if path in unlimited:
            assert 429 not in documented, where
        else:
            headers = operation["responses"]["429"]["headers"]
            assert headers["Retry-After"]["required"] is True, where
            assert set(openapi.RATE_LIMITED_HEADERS) <= set(headers), where
        if path in ("/health/live", "/metrics"):
            assert documented == {200}, where
        else:
            assert "Retry-After" in operation["responses"]["503"]["headers"], where
    assert count >= 52


def test_every_body_taking_route_documents_413_and_415(document: dict[str, Any]) -> None:
    bodies = {
        operation["operationId"]: operation
        for _, _, operation, _ in operations(document)
        if "requestBody" in operation
    }
    assert {"createProduct", "updateSession", "addToCart", "checkout", "uploadAsset"} <= set(bodies)
    for operation_id, operation in bodies.items():
        assert {413, 415} <= statuses(operation), operation_id


def test_routes_described_by_hand_keep_their_own_words(document: dict[str, Any]) -> None:
    fulfillment = document["paths"]["/webhooks/fulfillment"]["post"]["responses"]
    assert fulfillment["401"]["description"] == "Missing, bad or stale signature."
    ready = document["paths"]["/health/ready"]["get"]["responses"]
    assert set(ready) == {"200", "503"}
    # Litestar's own description of its validation body is gone with the body.
    cart = document["paths"]["/cart"]["get"]["responses"]["400"]
    assert cart["description"] == openapi.DESCRIPTIONS[400]
    assert list(document["paths"]["/products"]["post"]["responses"]) == sorted(
        document["paths"]["/products"]["post"]["responses"], key=int
    )


def test_the_upload_documents_its_multipart_body(document: dict[str, Any]) -> None:
    body = document["paths"]["/sessions/{session_id}/assets"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"}


def test_binary_answers_are_binary_strings_of_their_real_media_types(document: dict[str, Any]) -> None:
    binary = {"type": "string", "format": "binary"}
    for path in ("/previews/{job_id}/image", "/print-files/{file_id}", "/print-files/{file_id}/preview"):
        assert document["paths"][path]["get"]["responses"]["200"]["content"] == {
            "image/png": {"schema": binary}
        }
    asset = document["paths"]["/print-files/{file_id}/assets/{asset_id}"]["get"]["responses"]["200"]
    assert asset["content"] == {
        kind: {"schema": binary} for kind in ("image/png", "image/jpeg", "image/webp")
    }


def type_unions(node: Any, where: str = "#") -> Iterator[tuple[str, list[str]]]:
    """Every ``type: [...]`` of ``node`` naming more than one type besides ``null``."""
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, list) and len([k for k in kind if k != "null"]) > 1:
            yield where, kind
        for key, value in node.items():
            yield from type_unions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from type_unions(value, f"{where}/{index}")


def test_no_schema_is_a_union_of_several_types(document: dict[str, Any]) -> None:
    assert list(type_unions(document)) == []
    litestar_default = ["null", "object", "array"]
    assert list(type_unions({"a": {"type": litestar_default}})) == [("#/a", litestar_default)]
    assert list(type_unions({"a": {"type": ["null", "string"]}})) == []


def test_every_operation_named_by_the_tables_exists(document: dict[str, Any]) -> None:
    ids = {operation["operationId"] for _, _, operation, _ in operations(document)}
    tables = openapi.RAW_BODIES | set(openapi.MULTIPART_BODIES) | set(openapi.BINARY_MEDIA_TYPES)
    assert tables | openapi.NO_DEPENDENCIES <= ids


def test_finishing_is_pure_and_idempotent(document: dict[str, Any]) -> None:
    assert openapi.finish(document) == document
    raw = {"paths": {"/x/{id}": {"get": {"operationId": "x", "parameters": [{"name": "id", "in": "path"}]}}}}
    before = json.dumps(raw)
    finished = openapi.finish(raw)
    assert json.dumps(raw) == before
    assert list(finished["paths"]["/x/{id}"]["get"]["responses"]) == ["400", "404", "429", "503"]


def test_a_route_without_problems_gets_them_and_the_problem_schema() -> None:
    """Litestar's validation body is replaced even on an app none of whose routes names a problem."""

    @get("/things/{thing_id:str}", operation_id="getThing", sync_to_thread=False)
    def thing(thing_id: FromPath[str]) -> dict[str, str]:
        return {"id": thing_id}

    app = Litestar([thing], openapi_config=openapi.ProblemDocumentsOpenAPIConfig(title="t", version="1"))
    document = app.openapi_schema.to_schema()
    responses = document["paths"]["/things/{thing_id}"]["get"]["responses"]
    assert list(responses) == ["200", "400", "404", "429", "503"]
    assert all(responses[status]["content"] == PROBLEM for status in ("400", "404", "429", "503"))
    assert {"Problem", "FieldError"} <= set(document["components"]["schemas"])
    assert list(type_unions(document)) == []
    # What the error border sends validates against the documented schema.
    problem = msgspec.json.decode(
        b'{"type": "/problems/invalid-request", "title": "t", "status": 400, "detail": "d",'
        b' "errors": [{"field": "limit", "code": "out_of_range", "message": "m"}]}'
    )
    assert set(document["components"]["schemas"]["Problem"]["required"]) <= set(problem)


def test_the_document_is_the_same_bytes_in_every_process(document: dict[str, Any]) -> None:
    """Another process, without hash randomization (this one has it), builds the same bytes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")}
    env["PYTHONHASHSEED"] = "0"
    result = subprocess.run(
        [sys.executable, "-c", _DIGEST_SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == hashlib.sha256(encode_json(document)).hexdigest()
