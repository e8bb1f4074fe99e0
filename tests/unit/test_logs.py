"""Logs: secrets masked by the redaction filter, one JSON object per line stamped with the request
id, plain text when asked."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.entrypoints.logs import (
    LOG_FORMATS,
    REQUEST_ID,
    AccessLog,
    JsonFormatter,
    RedactSecrets,
    RequestContext,
    access_log,
    configure_logging,
    flush_logs,
    granian_log_config,
    make_formatter,
    redact,
    stop_logging,
)

API_KEY = "csk_" + "Zx9" * 14 + "Q"
SESSION_KEY = "gsk_" + "a-b_" * 10 + "xyz"
ORDER_TOKEN = "otk_" + "T0k3n" * 6
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+b/c="
STRIPE_KEY = "sk_test_51Habcdefghijklmnopqrstuv"


@pytest.mark.parametrize(
    ("text", "secret", "masked"),
    [
        (f"key {API_KEY} refused", API_KEY, "key csk_*** refused"),
        (f"X-Session-Key: {SESSION_KEY}", SESSION_KEY, "X-Session-Key: gsk_***"),
        (f"GET /orders/1?token={ORDER_TOKEN}", ORDER_TOKEN, "GET /orders/1?token=***"),
        (f"order token {ORDER_TOKEN}", ORDER_TOKEN, "order token otk_***"),
        (f"secret {WEBHOOK_SECRET}.", WEBHOOK_SECRET, "secret whsec_***."),
        (f"stripe: {STRIPE_KEY}", STRIPE_KEY, "stripe: sk_test_***"),
        (
            "postgresql://shop:pa55word@db.internal:5432/shop",
            "pa55word",
            "postgresql://shop:***@db.internal:5432/shop",
        ),
        ("redis://:cache-pass@cache:6379/0", "cache-pass", "redis://:***@cache:6379/0"),
        ("smtp://mailer:p@ss:w0rd@smtp.example.com:587", "w0rd", "smtp://mailer:***@smtp.example.com:587"),
        ("Authorization: Bearer eyJhbGciOi.J9.x", "eyJhbGciOi", "Authorization: Bearer ***"),
        ("paypal client_secret=EBWKjlELKMYqRNQ6sYvFo64FtaRLRR5BdHEESmha49TM", "EBWKjl", "client_secret=***"),
        ('{"password": "hunter2", "user": "ada"}', "hunter2", '{"password": "***", "user": "ada"}'),
        ("Settings(fulfillment_secret='raw-value')", "raw-value", "fulfillment_secret='***'"),
    ],
)
def test_every_known_secret_shape_is_masked(text: str, secret: str, masked: str) -> None:
    result = redact(text)
    assert secret not in result
    assert masked in result


@pytest.mark.parametrize(
    "text",
    [
        "GET /orders/{order_id} 200 1.20 ms",
        "http://127.0.0.1:8000/products?limit=50",
        "postgresql://postgres@127.0.0.1:5432/customshop",
        "cancelled 3 orders whose payment did not arrive in time",
        "the endpoint's secret is shown once",
        "ada@example.com paid 2500 USD",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("customshop.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_the_filter_masks_arguments_and_tracebacks_in_place() -> None:
    try:
        raise ConnectionError(f"cannot reach redis://:{API_KEY}@cache:6379")
    except ConnectionError as exc:
        entry = record("key %s of %s failed", API_KEY, "postgresql://u:pw1@db/x", exc=exc)
    assert RedactSecrets().filter(entry) is True
    assert entry.getMessage() == "key csk_*** of postgresql://u:***@db/x failed"
    assert entry.args is None
    assert entry.exc_text is not None and "ConnectionError" in entry.exc_text
    assert API_KEY not in entry.exc_text and "redis://:***@cache" in entry.exc_text
    formatted = JsonFormatter().format(entry)
    assert API_KEY not in formatted and "pw1" not in formatted


def test_a_json_line_has_the_fields_and_the_request_fields_when_given() -> None:
    entry = record("GET %s %d", "/products", 200)
    entry.levelno, entry.levelname = logging.INFO, "INFO"
    entry.created = 1795256422.5049
    entry.method, entry.route, entry.status, entry.duration_ms = "GET", "/products", 200, 1.25
    token = REQUEST_ID.set("req-1")
    try:
        RequestContext().filter(entry)
    finally:
        REQUEST_ID.reset(token)
    line = JsonFormatter().format(entry)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-11-21T10:20:22.504Z",
        "level": "INFO",
        "logger": "customshop.test",
        "message": "GET /products 200",
        "request_id": "req-1",
        "method": "GET",
        "route": "/products",
        "status": 200,
        "duration_ms": 1.25,
    }


@pytest.fixture
def installed() -> Iterator[None]:
    """Whatever a test installs with ``configure_logging`` is removed again, the root level restored."""
    root = logging.getLogger()
    level = root.level
    yield
    stop_logging()
    root.setLevel(level)


@pytest.mark.usefixtures("installed")
def test_configured_logging_writes_json_lines_with_the_request_id_and_no_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("customshop.test")
    log.info("outside any request")
    log.debug("below the level: not written")
    token = REQUEST_ID.set("0123abcd")
    try:
        log.warning("refused key %s for %s", API_KEY, "postgresql://shop:pa55@db/shop")
        try:
            raise RuntimeError(f"token={ORDER_TOKEN}")
        except RuntimeError:
            log.exception("failed with %s", WEBHOOK_SECRET)
    finally:
        REQUEST_ID.reset(token)
    flush_logs()
    err = capsys.readouterr().err
    for secret in (API_KEY, "pa55", ORDER_TOKEN, WEBHOOK_SECRET):
        assert secret not in err
    lines = [json.loads(line) for line in err.splitlines()]
    assert [(line["level"], line["request_id"]) for line in lines] == [
        ("INFO", None),
        ("WARNING", "0123abcd"),
        ("ERROR", "0123abcd"),
    ]
    assert lines[1]["message"] == "refused key csk_*** for postgresql://shop:***@db/shop"
    assert "RuntimeError: token=***" in lines[2]["exception"]


@pytest.mark.usefixtures("installed")
def test_plain_text_carries_the_request_id_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "text")
    token = REQUEST_ID.set("feed42")
    try:
        logging.getLogger("customshop.test").info("hello %s", SESSION_KEY)
    finally:
        REQUEST_ID.reset(token)
    logging.getLogger("customshop.test").info("no request")
    flush_logs()
    first, second = capsys.readouterr().err.splitlines()
    assert first.endswith("INFO customshop.test [feed42] hello gsk_***")
    assert second.endswith("INFO customshop.test [-] no request")


def test_configuring_again_replaces_only_its_own_handler() -> None:
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    try:
        configure_logging("INFO")
        configure_logging("WARNING")
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1
        assert root.level == logging.WARNING
    finally:
        stop_logging()
        root.setLevel(level)
    assert root.handlers == before


def test_unknown_formats_are_refused_and_granian_follows_the_format() -> None:
    with pytest.raises(ValueError, match="json, text"):
        make_formatter("xml")
    assert granian_log_config("text") is None
    config = granian_log_config("json")
    assert config is not None and config["formatters"]["generic"]["()"] is JsonFormatter
    assert config["filters"]["redact"]["()"] is RedactSecrets
    assert all(handler["filters"] == ["redact"] for handler in config["handlers"].values())


ROUTES = st.sampled_from(["/products", "/orders/{order_id}", "(unmatched)", '/odd "route" \\ é'])
REQUEST_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,127}", fullmatch=True)


@given(
    method=st.sampled_from(["GET", "POST", "OTHER"]),
    route=ROUTES,
    status=st.integers(100, 599),
    seconds=st.floats(0, 100, allow_nan=False),
    request_id=REQUEST_IDS,
    log_format=st.sampled_from(LOG_FORMATS),
)
def test_an_access_line_is_what_the_formatter_writes_for_the_same_record(
    method: str, route: str, status: int, seconds: float, request_id: str, log_format: str
) -> None:
    lines: list[str] = []
    before = time.time()
    AccessLog(lines.append, log_format)(method, route, status, seconds, request_id)
    (line,) = lines
    duration_ms = round(seconds * 1000, 2)
    entry = logging.LogRecord(
        "customshop.access",
        logging.INFO,
        __file__,
        1,
        "%s %s %d %.2f ms",
        (method, route, status, duration_ms),
        None,
    )
    entry.method, entry.route, entry.status, entry.duration_ms = method, route, status, duration_ms
    entry.request_id = request_id
    if log_format == "json":
        written = json.loads(line)
        expected = json.loads(JsonFormatter().format(entry))
        assert before - 1 <= datetime.fromisoformat(written.pop("time")).timestamp() <= time.time()
        expected.pop("time")
        assert written == expected
        assert isinstance(written["duration_ms"], float)
    else:
        stamp, rest = line[:23], line[24:]
        assert rest == make_formatter("text").format(entry)[24:]
        assert time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")


@pytest.mark.usefixtures("installed")
def test_access_lines_follow_the_access_loggers_level(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    access_log("GET", "/products", 200, 0.001, "first")
    logging.getLogger("customshop.access").setLevel(logging.WARNING)
    try:
        access_log("GET", "/products", 200, 0.001, "silenced")
    finally:
        logging.getLogger("customshop.access").setLevel(logging.NOTSET)
    configure_logging("WARNING", "json")
    access_log("GET", "/products", 200, 0.001, "below the level")
    flush_logs()
    assert [json.loads(line)["request_id"] for line in capsys.readouterr().err.splitlines()] == ["first"]
