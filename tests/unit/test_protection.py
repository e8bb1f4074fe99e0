"""The HTTP border's protections that need no server: the JSON depth scanner, who a client is for the
rate limits, the limits' settings, and their in-memory window counter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customshop.adapters.memory import ManualClock
from customshop.domain.errors import InvalidInput
from customshop.entrypoints.http.body import decode_body
from customshop.entrypoints.http.json_depth import MAX_JSON_DEPTH, nests_deeper_than
from customshop.entrypoints.http.rate_limits import ClientAddress, MemoryWindowStore, client_key, parse_rate
from customshop.entrypoints.http.schemas import ProductWrite
from customshop.entrypoints.settings import Settings, SettingsError

# -- the depth scanner -----------------------------------------------------------------------------


def reference_depth(value: Any) -> int:
    """The nesting depth of a decoded JSON value: arrays and objects count a level, scalars none."""
    if isinstance(value, list):
        return 1 + max((reference_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(item) for item in value.values()), default=0)
    return 0


#: Text that looks like structure: brackets, quotes and backslashes that escapes must hide.
TRICKY_TEXT = st.text(alphabet=st.sampled_from('[]{}"\\,:ab \n\té\u2028'), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TRICKY_TEXT


def wrapped(value: Any, wrappers: list[bool], keys: list[str]) -> Any:
    """``value`` inside one array (True) or object (False) per entry of ``wrappers``, innermost last."""
    for index, as_list in enumerate(reversed(wrappers)):
        value = [value] if as_list else {keys[index % len(keys)]: value}
    return value


JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TRICKY_TEXT, children, max_size=4),
    max_leaves=30,
)
#: Values nested around the limit too (the recursive strategy alone rarely goes past a few levels).
DEEP_VALUES = st.builds(
    wrapped,
    JSON_VALUES,
    st.lists(st.booleans(), max_size=45),
    st.lists(TRICKY_TEXT, min_size=1, max_size=3),
)


def encodings(value: Any) -> list[bytes]:
    return [
        json.dumps(value).encode(),
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value, indent=2, separators=(" ,", " : ")).encode(),
    ]


@settings(max_examples=400)
@given(value=JSON_VALUES | DEEP_VALUES, limit=st.integers(min_value=0, max_value=40))
def test_the_scanner_agrees_with_the_decoded_depth(value: Any, limit: int) -> None:
    depth = reference_depth(value)
    for raw in encodings(value):
        assert reference_depth(json.loads(raw)) == depth
        assert nests_deeper_than(raw, limit) is (depth > limit), (raw, depth, limit)


@given(text=st.text(max_size=60), depth=st.integers(min_value=0, max_value=5))
def test_brackets_inside_strings_do_not_count(text: str, depth: int) -> None:
    noisy = "[{" * 40 + text + '\\"' + "]}" * 3
    raw = json.dumps(wrapped({"note": noisy, noisy: [noisy]}, [True] * depth, ["k"])).encode()
    assert reference_depth(json.loads(raw)) == depth + 2
    assert not nests_deeper_than(raw, depth + 2)
    assert nests_deeper_than(raw, depth + 1)


def test_depth_examples() -> None:
    assert not nests_deeper_than(b"[]", 1)
    assert nests_deeper_than(b"[]", 0)
    assert not nests_deeper_than(b'{"a": [1, {"b": 2}]}', 3)
    assert nests_deeper_than(b'{"a": [1, {"b": 2}]}', 2)
    assert not nests_deeper_than(b'["\\"[[[[", "\\\\", "]]]"]', 1)
    assert nests_deeper_than(b"[" * 33 + b"]" * 33, 32)
    assert not nests_deeper_than(b"[" * 32 + b"]" * 32, 32)


@given(raw=st.binary(max_size=200))
def test_any_bytes_get_an_answer(raw: bytes) -> None:
    assert nests_deeper_than(raw, 3) in (True, False)


def test_malformed_text_is_judged_without_decoding() -> None:
    # Unclosed brackets count as levels (a decoder would recurse into them before failing).
    assert nests_deeper_than(b"[" * 100_000, MAX_JSON_DEPTH)
    assert nests_deeper_than(b'["' + b"[" * 100, 3)  # an unterminated string hides nothing
    assert not nests_deeper_than(b"]" * 100, MAX_JSON_DEPTH)


def test_a_deep_body_is_refused_before_decoding_and_names_the_body() -> None:
    raw = b'{"name": "Mug", "base_price": 100, "media": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(InvalidInput) as caught:
        decode_body(ProductWrite, raw)
    ((violation),) = caught.value.violations
    assert violation.field == "body"
    assert violation.code == "too_deep"
    assert str(MAX_JSON_DEPTH) in violation.message


def test_a_body_at_the_limit_is_decoded_as_usual() -> None:
    media = b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1)
    with pytest.raises(InvalidInput) as caught:
        decode_body(ProductWrite, b'{"name": "Mug", "base_price": 100, "media": ' + media + b"}")
    assert {v.code for v in caught.value.violations} != {"too_deep"}


# -- who the client is -------------------------------------------------------------------------------


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    identify = ClientAddress()
    assert identify.resolve("203.0.113.7", ["198.51.100.1"]) == "203.0.113.7"


def test_a_trusted_proxy_names_the_client() -> None:
    identify = ClientAddress(["10.0.0.0/8", "::1"])
    assert identify.resolve("10.1.2.3", ["198.51.100.1"]) == "198.51.100.1"
    # Entries added by trusted hops are followed leftwards; the first untrusted one is the client.
    assert identify.resolve("10.1.2.3", ["198.51.100.1, 10.9.9.9"]) == "198.51.100.1"
    assert identify.resolve("::1", ["192.0.2.1", "10.0.0.5"]) == "192.0.2.1"
    # What the client wrote itself (left of the entry the proxy added) is never believed.
    assert identify.resolve("10.1.2.3", ["1.1.1.1, 198.51.100.1"]) == "198.51.100.1"
    # No header, or garbage in it: the last address that could be verified.
    assert identify.resolve("10.1.2.3", []) == "10.1.2.3"
    assert identify.resolve("10.1.2.3", ["unknown"]) == "10.1.2.3"
    assert identify.resolve("10.1.2.3", ["unknown, 198.51.100.1"]) == "198.51.100.1"


def test_an_untrusted_peer_cannot_choose_its_identity() -> None:
    identify = ClientAddress(["10.0.0.0/8"])
    assert identify.resolve("203.0.113.7", ["10.1.1.1"]) == "203.0.113.7"


def test_ipv6_clients_count_by_their_network() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("testclient") == "testclient"


# -- settings and counting -------------------------------------------------------------------------


def test_limits_are_count_per_unit() -> None:
    assert parse_rate("10/minute") == ("minute", 10)
    assert parse_rate("1/second") == ("second", 1)
    for bad in ("10", "0/minute", "ten/minute", "10/week"):
        with pytest.raises(ValueError, match="COUNT/UNIT"):
            parse_rate(bad)


def test_protection_settings_load_and_explain_their_mistakes() -> None:
    loaded = Settings.load(
        {
            "CUSTOMSHOP_RATE_LIMIT_CHECKOUT": "5/minute",
            "CUSTOMSHOP_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "CUSTOMSHOP_CORS_ORIGINS": "https://shop.example.com,http://localhost:3000",
            "CUSTOMSHOP_MAX_BODY_BYTES": "2097152",
        }
    )
    assert loaded.rate_limit_checkout == "5/minute"
    assert loaded.trusted_proxies == ("10.0.0.0/8", "::1")
    assert loaded.cors_origins == ("https://shop.example.com", "http://localhost:3000")
    assert loaded.max_body_bytes == 2 * 1024 * 1024
    defaults = Settings()
    assert defaults.rate_limit_enabled
    assert defaults.max_body_bytes == 1024 * 1024
    assert defaults.cors_origins == ()
    for name, value in {
        "CUSTOMSHOP_RATE_LIMIT_GENERAL": "600 per minute",
        "CUSTOMSHOP_TRUSTED_PROXIES": "proxy.internal",
        "CUSTOMSHOP_CORS_ORIGINS": "https://shop.example.com/",
        "CUSTOMSHOP_MAX_BODY_BYTES": "12",
    }.items():
        with pytest.raises(SettingsError, match=name):
            Settings.load({name: value})


async def test_the_memory_counter_counts_per_key_and_window() -> None:
    clock = ManualClock(datetime.now(UTC))  # Litestar's store expires its entries in real time
    store = MemoryWindowStore(clock.now)
    assert await store.hit("a", 60) == (1, 60)
    assert await store.hit("a", 60) == (2, 60)
    assert await store.hit("b", 60) == (1, 60)
    assert await store.hit("short", 1) == (1, 1)
    assert await store.hit("short", 1) == (2, 1)
    clock.advance(seconds=1.05)
    assert await store.hit("short", 1) == (1, 1), "an ended window starts again"
    assert await store.hit("a", 60) == (3, 59), "a window ends a unit after its first request"


async def test_the_memory_counter_forgets_clients_whose_window_ended() -> None:
    clock = ManualClock(datetime.now(UTC))  # Litestar's store expires its entries in real time
    store = MemoryWindowStore(clock.now)
    for n in range(100):
        await store.hit(f"gone-{n}", 1)
    clock.advance(seconds=1.05)
    for _ in range(MemoryWindowStore._PRUNE_EVERY):
        await store.hit("regular", 60)
    assert await store.get("regular") is not None
    assert len(store._store) == 1, "ended windows are dropped, not kept forever"
