"""Which ``Content-Type`` values a JSON route reads (contract §10)."""

from __future__ import annotations

import pytest

from customshop.domain.errors import InvalidInput
from customshop.entrypoints.http.body import (
    UnsupportedMediaType,
    check_encoding,
    check_json_media_type,
    is_json_media_type,
)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "application/json;charset=utf-8",
        "application/json; charset=UTF8",
        'application/json; charset="utf-8"',
        "application/merge-patch+json",
        "application/problem+json; charset=utf-8",
        "application/json; profile=x",
    ],
)
def test_json_types_are_read(content_type: str) -> None:
    assert is_json_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonp",
        "application/+jsonx",
        "",
    ],
)
def test_other_types_are_not(content_type: str) -> None:
    assert not is_json_media_type(content_type)


def test_only_a_body_needs_a_type() -> None:
    check_json_media_type(None, b"")
    check_json_media_type("text/plain", b"")
    with pytest.raises(UnsupportedMediaType) as caught:
        check_json_media_type(None, b"{}")
    assert caught.value.status_code == 415


@pytest.mark.parametrize("raw", [b"\xff", b'{"a": "caf\xe9"}', b'"\xed\xa0\x80"', b'"\xc3"'])
def test_bytes_that_are_not_utf8_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_encoding(raw)
    assert [(v.field, v.code) for v in caught.value.violations] == [("body", "invalid_encoding")]


def test_utf8_passes() -> None:
    check_encoding('{"a": "Café ☕ 𝄞"}'.encode())
