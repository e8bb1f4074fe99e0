"""The edges: request bodies that report every bad field, cursors, settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.domain.errors import InvalidInput, Violation
from customshop.entrypoints.http.body import RequestBody, decode_body
from customshop.entrypoints.http.params import decode_cursor, decode_int_cursor, encode_cursor
from customshop.entrypoints.http.schemas import OptionSetWrite, ProductWrite
from customshop.entrypoints.settings import Settings, SettingsError


class Inner(RequestBody):
    code: Annotated[str, msgspec.Meta(pattern="^[a-z]+$")]
    amount: Annotated[int, msgspec.Meta(ge=0)] = 0


class Outer(RequestBody):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=5)]
    inner: Inner | None = None
    items: Annotated[list[Inner], msgspec.Meta(max_length=3)] = msgspec.field(default_factory=list)


def problems(raw: bytes, model: type[msgspec.Struct] = Outer) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        decode_body(model, raw)
    return {v.field: v.code for v in caught.value.violations}


def test_a_valid_body_decodes_in_one_pass() -> None:
    decoded = decode_body(Outer, b'{"name": "ab", "items": [{"code": "x", "amount": 3}]}')
    assert decoded == Outer(name="ab", items=[Inner(code="x", amount=3)])


def test_every_bad_field_is_named_with_its_path() -> None:
    raw = b"""{"name": "toolong", "inner": {"code": "X1", "amount": -1, "extra": true},
               "items": [{"code": "ok"}, {"amount": "3"}, {"code": "ok", "amount": 1.5}], "who": 1}"""
    assert problems(raw) == {
        "name": "too_long",
        "inner.code": "invalid_format",
        "inner.amount": "out_of_range",
        "inner.extra": "unknown_field",
        "items[1].code": "required",
        "items[1].amount": "invalid_type",
        "items[2].amount": "invalid_type",
        "who": "unknown_field",
    }


def test_list_length_and_item_errors_are_both_reported() -> None:
    raw = b'{"name": "a", "items": [{"code": "a"}, {"code": "b"}, {"code": "c"}, {"code": "D"}]}'
    assert problems(raw) == {"items": "too_long", "items[3].code": "invalid_format"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "required"),
        (b"   ", "required"),
        (b"{", "invalid_json"),
        (b"[]", "invalid_type"),
        (b"1", "invalid_type"),
    ],
)
def test_a_body_that_is_not_an_object_is_one_problem(raw: bytes, code: str) -> None:
    assert problems(raw) == {"body": code}


def test_real_request_schemas_report_domain_limits() -> None:
    assert problems(b'{"name": "x", "base_price": 10000000000001}', ProductWrite) == {
        "base_price": "out_of_range"
    }
    assert problems(b'{"product_id": "p", "name": "Size", "options": []}', OptionSetWrite) == {
        "options": "too_short"
    }


@given(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8) | st.none(), max_size=6))
def test_any_json_object_either_decodes_or_names_fields(raw: dict[str, object]) -> None:
    body = msgspec.json.encode(raw)
    violations: tuple[Violation, ...] = ()
    try:
        decode_body(ProductWrite, body)
    except InvalidInput as exc:
        violations = exc.violations
        assert violations
    for violation in violations:
        named = any(violation.field == k or violation.field.startswith((f"{k}.", f"{k}[")) for k in raw)
        assert violation.field == "body" or named or violation.code == "required"


@given(st.text(min_size=1, max_size=60))
def test_cursors_round_trip_and_are_opaque(key: str) -> None:
    cursor = encode_cursor(key)
    assert cursor is not None
    assert decode_cursor(cursor) == key
    assert key not in cursor or len(key) < 3


@pytest.mark.parametrize("cursor", ["", "!!", "abc", encode_cursor("") or "x"])
def test_foreign_cursors_are_bad_input(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.violations[0].field == "cursor"


def test_integer_cursors_refuse_non_numbers() -> None:
    assert decode_int_cursor(encode_cursor("7")) == 7
    with pytest.raises(InvalidInput):
        decode_int_cursor(encode_cursor("seven"))


def test_settings_embedded_defaults(tmp_path: Path) -> None:
    settings = Settings.load({}, cwd=tmp_path)
    assert settings.embedded
    assert settings.test_payments
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith("var/customshop.db")
    assert settings.currency == "USD"


def test_settings_from_environment_and_file(tmp_path: Path) -> None:
    (tmp_path / "customshop.toml").write_text('currency = "EUR"\ntax_rate_bps = 700\n')
    env = {
        "CUSTOMSHOP_TAX_RATE_BPS": "825",
        "CUSTOMSHOP_DATABASE_URL": "postgresql://u@h:5432/db",
        "CUSTOMSHOP_WEBHOOK_RETRY_SCHEDULE": "1, 2,3",
        "CUSTOMSHOP_RATE_LIMIT_ENABLED": "false",
        "CUSTOMSHOP_REDIS_URL": "",
        "UNRELATED": "x",
    }
    settings = Settings.load(env, cwd=tmp_path)
    assert (settings.currency, settings.tax_rate_bps) == ("EUR", 825)
    assert settings.webhook_retry_schedule == (1, 2, 3)
    assert settings.rate_limit_enabled is False
    assert settings.redis_url is None
    assert not settings.embedded
    assert not settings.test_payments


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CUSTOMSHOP_TAX_RATE": "5"}, "CUSTOMSHOP_TAX_RATE is not a customshop setting"),
        ({"CUSTOMSHOP_TAX_RATE_BPS": "abc"}, "CUSTOMSHOP_TAX_RATE_BPS"),
        ({"CUSTOMSHOP_TAX_RATE_BPS": "10001"}, "CUSTOMSHOP_TAX_RATE_BPS"),
        ({"CUSTOMSHOP_CURRENCY": "XYZ"}, "ISO 4217"),
        ({"CUSTOMSHOP_CONFIG": "/nonexistent/customshop.toml"}, "cannot read"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.load(env, cwd=tmp_path)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "customshop.toml").write_text("curency = 'EUR'\n")
    with pytest.raises(SettingsError, match="curency"):
        Settings.load({}, cwd=tmp_path)


def test_the_queue_enqueues_the_function_workers_run() -> None:
    from customshop.entrypoints import container, worker

    assert f"{worker.__name__}.{worker.run_job.__name__}" == container.WORKER_ENTRYPOINT
