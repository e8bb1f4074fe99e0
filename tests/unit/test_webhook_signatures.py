"""Standard Webhooks signatures, secrets and the retry schedule (``customshop.domain.webhooks``).

Properties over examples: signing then verifying round-trips for any message, and any change to
what was signed is caught. The known-answer vector is the one the Standard Webhooks reference
libraries test against, and the ``standardwebhooks`` package from PyPI checks our signatures
independently, both ways.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError as ReferenceVerificationError

from customshop.domain.webhooks import (
    DEFAULT_RETRY_SCHEDULE,
    DEFAULT_TOLERANCE_SECONDS,
    MAX_JITTER,
    SECRET_PREFIX,
    InvalidWebhookMessageId,
    InvalidWebhookSecret,
    InvalidWebhookTimestamp,
    WebhookSignatureInvalid,
    WebhookSignatureMissing,
    WebhookTimestampOutOfRange,
    WebhookVerificationError,
    format_secret,
    retry_delay,
    secret_bytes,
    sign,
    signature_headers,
    verify,
)

# The reference libraries' test vector (Python, JavaScript, Go... all check this one).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

ID_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != ".")

secrets_ = st.binary(min_size=24, max_size=64).map(format_secret)
message_ids = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=64)
timestamps = st.integers(min_value=0, max_value=10**11)
bodies = st.binary(max_size=1024)
texts = st.text(max_size=512).map(lambda text: text.encode("utf-8"))


def same_hmac_key(secret: str, other: str) -> bool:
    """Whether two secrets sign alike: HMAC pads keys with zero bytes to its block size (64 bytes for
    SHA-256), so keys that differ only by trailing zero bytes are the same key to it."""
    return secret_bytes(secret).ljust(64, b"\0") == secret_bytes(other).ljust(64, b"\0")


# -- round trips and tampering -------------------------------------------------------------------


@given(secret=secrets_, message_id=message_ids, timestamp=timestamps, body=bodies)
def test_a_signed_message_verifies_and_gives_its_id(
    secret: str, message_id: str, timestamp: int, body: bytes
) -> None:
    headers = signature_headers(secret, message_id, timestamp, body)

    assert verify(secret, headers, body, now=timestamp) == message_id
    assert headers["webhook-signature"] == sign(secret, message_id, timestamp, body)
    assert headers["webhook-timestamp"] == str(timestamp)


@given(secret=secrets_, message_id=message_ids, timestamp=timestamps, body=bodies, data=st.data())
def test_any_changed_byte_of_the_body_is_caught(
    secret: str, message_id: str, timestamp: int, body: bytes, data: st.DataObject
) -> None:
    assume(body)
    headers = signature_headers(secret, message_id, timestamp, body)
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]), label="byte")
    changed = body[:index] + bytes([byte]) + body[index + 1 :]

    with pytest.raises(WebhookSignatureInvalid):
        verify(secret, headers, changed, now=timestamp)


@given(secret=secrets_, message_id=message_ids, timestamp=timestamps, body=bodies)
def test_a_body_longer_or_shorter_by_one_byte_is_caught(
    secret: str, message_id: str, timestamp: int, body: bytes
) -> None:
    headers = signature_headers(secret, message_id, timestamp, body)

    for changed in (body + b"\n", body[:-1] if body else b" "):
        with pytest.raises(WebhookSignatureInvalid):
            verify(secret, headers, changed, now=timestamp)


@given(secret=secrets_, message_id=message_ids, timestamp=timestamps, body=bodies, data=st.data())
def test_any_changed_character_of_the_id_is_caught(
    secret: str, message_id: str, timestamp: int, body: bytes, data: st.DataObject
) -> None:
    headers = signature_headers(secret, message_id, timestamp, body)
    index = data.draw(st.integers(0, len(message_id) - 1), label="index")
    character = data.draw(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E).filter(lambda c: c != message_id[index]),
        label="character",
    )
    headers["webhook-id"] = message_id[:index] + character + message_id[index + 1 :]

    with pytest.raises(WebhookSignatureInvalid):
        verify(secret, headers, body, now=timestamp)


@given(secret=secrets_, message_id=message_ids, timestamp=timestamps, body=bodies, data=st.data())
def test_any_changed_character_of_the_timestamp_is_caught(
    secret: str, message_id: str, timestamp: int, body: bytes, data: st.DataObject
) -> None:
    headers = signature_headers(secret, message_id, timestamp, body)
    text = headers["webhook-timestamp"]
    index = data.draw(st.integers(0, len(text) - 1), label="index")
    character = data.draw(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c != text[index]),
        label="character",
    )
    headers["webhook-timestamp"] = text[:index] + character + text[index + 1 :]

    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, body, now=timestamp)


@given(
    secret=secrets_,
    message_id=message_ids,
    timestamp=timestamps,
    body=bodies,
    shift=st.integers(-DEFAULT_TOLERANCE_SECONDS, DEFAULT_TOLERANCE_SECONDS).filter(bool),
)
def test_a_timestamp_moved_within_the_tolerance_is_caught_by_the_signature(
    secret: str, message_id: str, timestamp: int, body: bytes, shift: int
) -> None:
    assume(timestamp + shift >= 0)
    headers = signature_headers(secret, message_id, timestamp, body)
    headers["webhook-timestamp"] = str(timestamp + shift)

    with pytest.raises(WebhookSignatureInvalid):
        verify(secret, headers, body, now=timestamp)


@given(secret=secrets_, other=secrets_, message_id=message_ids, timestamp=timestamps, body=bodies)
def test_a_signature_made_with_another_secret_is_refused(
    secret: str, other: str, message_id: str, timestamp: int, body: bytes
) -> None:
    assume(not same_hmac_key(secret, other))
    headers = signature_headers(other, message_id, timestamp, body)

    with pytest.raises(WebhookSignatureInvalid):
        verify(secret, headers, body, now=timestamp)


# -- timestamps ----------------------------------------------------------------------------------


@given(
    secret=secrets_,
    timestamp=timestamps,
    tolerance=st.integers(0, 10**6),
    beyond=st.integers(1, 10**9),
    later=st.booleans(),
)
def test_a_timestamp_beyond_the_tolerance_either_way_is_refused(
    secret: str, timestamp: int, tolerance: int, beyond: int, later: bool
) -> None:
    headers = signature_headers(secret, "msg_1", timestamp, b"{}")
    gap = tolerance + beyond
    now = timestamp + gap if later else timestamp - gap

    with pytest.raises(WebhookTimestampOutOfRange):
        verify(secret, headers, b"{}", now=now, tolerance_seconds=tolerance)


@given(secret=secrets_, timestamp=timestamps, tolerance=st.integers(0, 10**6), later=st.booleans())
def test_a_timestamp_exactly_at_the_tolerance_either_way_passes(
    secret: str, timestamp: int, tolerance: int, later: bool
) -> None:
    headers = signature_headers(secret, "msg_1", timestamp, b"{}")
    now = timestamp + tolerance if later else timestamp - tolerance

    assert verify(secret, headers, b"{}", now=now, tolerance_seconds=tolerance) == "msg_1"


def test_the_default_tolerance_is_five_minutes() -> None:
    headers = signature_headers(VECTOR_SECRET, "msg_1", 1_000_000, b"{}")

    assert verify(VECTOR_SECRET, headers, b"{}", now=1_000_300) == "msg_1"
    assert verify(VECTOR_SECRET, headers, b"{}", now=999_700) == "msg_1"
    for now in (1_000_301, 999_699):
        with pytest.raises(WebhookTimestampOutOfRange):
            verify(VECTOR_SECRET, headers, b"{}", now=now)


@pytest.mark.parametrize(
    "timestamp",
    ["hello", "1.5", "1e9", "-5", "+5", " 1000000", "1_000_000", "0x10", "١٠٠٠٠٠٠", "1" * 16],
)
def test_a_timestamp_that_is_not_a_decimal_integer_is_refused(timestamp: str) -> None:
    headers = signature_headers(VECTOR_SECRET, "msg_1", 1_000_000, b"{}")
    headers["webhook-timestamp"] = timestamp

    with pytest.raises(WebhookTimestampOutOfRange):
        verify(VECTOR_SECRET, headers, b"{}", now=1_000_000)


# -- headers -------------------------------------------------------------------------------------


@given(
    secret=secrets_,
    others=st.lists(secrets_, max_size=3),
    message_id=message_ids,
    timestamp=timestamps,
    body=bodies,
    junk=st.lists(
        st.sampled_from(
            [
                "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
                "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
                "v1,dawfeoifkpqwoekfpqoekf",
                "v1,",
                "v1",
                "v1,not base64!",
                ",",
            ]
        ),
        max_size=4,
    ),
    data=st.data(),
)
def test_any_v1_signature_among_several_verifies(
    secret: str,
    others: list[str],
    message_id: str,
    timestamp: int,
    body: bytes,
    junk: list[str],
    data: st.DataObject,
) -> None:
    assume(not any(same_hmac_key(secret, other) for other in others))
    valid = sign(secret, message_id, timestamp, body)
    wrong = [sign(other, message_id, timestamp, body) for other in others]
    entries = data.draw(st.permutations([valid, *wrong, *junk]), label="entries")
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(entries),
    }

    assert verify(secret, headers, body, now=timestamp) == message_id

    headers["webhook-signature"] = " ".join([*wrong, *junk]) or "v1,"
    with pytest.raises(WebhookSignatureInvalid):
        verify(secret, headers, body, now=timestamp)


@given(
    secret=secrets_,
    message_id=message_ids,
    timestamp=timestamps,
    body=bodies,
    cases=st.lists(st.sampled_from([str.lower, str.upper, str.title, str.swapcase]), min_size=3, max_size=3),
)
def test_header_names_are_matched_in_any_case(
    secret: str, message_id: str, timestamp: int, body: bytes, cases: list[Callable[[str], str]]
) -> None:
    headers = signature_headers(secret, message_id, timestamp, body)
    recased = {case(name): value for case, (name, value) in zip(cases, headers.items(), strict=True)}

    assert verify(secret, recased, body, now=timestamp) == message_id


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
@pytest.mark.parametrize("blank", [None, ""])
def test_a_missing_or_empty_header_is_refused(header: str, blank: str | None) -> None:
    headers = signature_headers(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    if blank is None:
        del headers[header]
    else:
        headers[header] = blank

    with pytest.raises(WebhookSignatureMissing, match=header):
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_a_signature_header_of_spaces_only_is_missing() -> None:
    headers = signature_headers(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    headers["webhook-signature"] = "   "

    with pytest.raises(WebhookSignatureMissing, match="webhook-signature"):
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_an_id_that_could_not_have_been_signed_is_refused() -> None:
    headers = signature_headers(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    headers["webhook-id"] = f"{VECTOR_ID}.{VECTOR_TIMESTAMP}"

    with pytest.raises(WebhookSignatureInvalid):
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_verification_errors_share_one_base_and_secret_errors_are_value_errors() -> None:
    for error in (WebhookSignatureMissing, WebhookTimestampOutOfRange, WebhookSignatureInvalid):
        assert issubclass(error, WebhookVerificationError)
    assert not issubclass(WebhookVerificationError, ValueError)
    for refusal in (InvalidWebhookSecret, InvalidWebhookMessageId, InvalidWebhookTimestamp):
        assert issubclass(refusal, ValueError)


# -- the known answer ----------------------------------------------------------------------------


def test_the_reference_vector_signs_to_its_known_signature() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_reference_vector_verifies_and_its_altered_signature_does_not() -> None:
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    assert verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP) == VECTOR_ID

    # The reference libraries' "invalid signature" case: the last character changed.
    headers["webhook-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
    with pytest.raises(WebhookSignatureInvalid):
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


# -- secrets -------------------------------------------------------------------------------------


@given(raw=st.binary(min_size=24, max_size=64))
def test_a_formatted_secret_gives_back_its_bytes_with_or_without_padding(raw: bytes) -> None:
    secret = format_secret(raw)

    assert secret.startswith(SECRET_PREFIX)
    assert secret_bytes(secret) == raw
    assert secret_bytes(secret.rstrip("=")) == raw


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "starts with"),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with"),
        ("whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with"),
        ("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with"),
        ("whsec_", "24 to 64 bytes"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "base64"),  # a length no base64 has
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w", "base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa w", "base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSé", "base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_", "base64"),  # the URL-safe alphabet
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=", "canonical"),  # padding where none belongs
        ("whsec_" + base64.b64encode(bytes(25)).decode()[:-3] + "B==", "canonical"),  # stray low bits
        ("whsec_" + base64.b64encode(bytes(23)).decode(), "24 to 64 bytes"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "24 to 64 bytes"),
    ],
)
def test_a_malformed_secret_is_refused(secret: str, reason: str) -> None:
    with pytest.raises(InvalidWebhookSecret, match=reason):
        secret_bytes(secret)
    with pytest.raises(InvalidWebhookSecret):
        sign(secret, "msg_1", 0, b"{}")
    with pytest.raises(InvalidWebhookSecret):
        verify(secret, {"webhook-id": "msg_1", "webhook-timestamp": "0", "webhook-signature": "v1,"}, b"", 0)


@pytest.mark.parametrize("size", [0, 1, 23, 65, 128])
def test_format_secret_refuses_keys_of_the_wrong_size(size: int) -> None:
    with pytest.raises(InvalidWebhookSecret, match="24 to 64 bytes"):
        format_secret(bytes(size))


@pytest.mark.parametrize("message_id", ["", "msg.1", "msg 1", "msg\n1", "msgé", "m" * 256])
def test_sign_refuses_an_id_that_is_ambiguous_or_not_a_header_value(message_id: str) -> None:
    with pytest.raises(InvalidWebhookMessageId):
        sign(VECTOR_SECRET, message_id, VECTOR_TIMESTAMP, VECTOR_BODY)


def test_sign_refuses_a_negative_timestamp() -> None:
    with pytest.raises(InvalidWebhookTimestamp):
        sign(VECTOR_SECRET, VECTOR_ID, -1, VECTOR_BODY)


# -- the retry schedule --------------------------------------------------------------------------


def test_the_default_schedule_follows_the_standard_webhooks_example() -> None:
    # The example's delays: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (then 14 h, 20 h, 24 h).
    assert DEFAULT_RETRY_SCHEDULE[:6] == (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)
    assert DEFAULT_RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)


def test_without_jitter_the_default_delays_never_shrink_and_then_stop() -> None:
    delays = [retry_delay(attempt, DEFAULT_RETRY_SCHEDULE, 0.0) for attempt in range(1, 9)]

    assert delays[:-1] == [float(seconds) for seconds in DEFAULT_RETRY_SCHEDULE]
    scheduled = [delay for delay in delays if delay is not None]
    assert all(a <= b for a, b in itertools.pairwise(scheduled))
    assert delays[-1] is None


@given(
    schedule=st.lists(st.integers(0, 10**6), max_size=12),
    beyond=st.integers(1, 1000),
    jitter=st.floats(-MAX_JITTER, MAX_JITTER),
)
def test_there_is_no_delay_once_the_schedule_is_exhausted(
    schedule: list[int], beyond: int, jitter: float
) -> None:
    assert retry_delay(len(schedule) + beyond, schedule, jitter) is None


@given(
    schedule=st.lists(st.integers(0, 10**6), min_size=1, max_size=12),
    data=st.data(),
    jitter=st.floats(-MAX_JITTER, MAX_JITTER),
)
def test_jitter_scales_the_scheduled_delay_by_at_most_a_tenth(
    schedule: list[int], data: st.DataObject, jitter: float
) -> None:
    attempt = data.draw(st.integers(1, len(schedule)), label="attempt")
    delay = retry_delay(attempt, schedule, jitter)
    scheduled = schedule[attempt - 1]

    assert delay is not None
    assert delay >= 0
    assert scheduled * (1 - MAX_JITTER) - 1e-9 <= delay <= scheduled * (1 + MAX_JITTER) + 1e-9
    assert delay == pytest.approx(scheduled * (1 + jitter))


@pytest.mark.parametrize("jitter", [-0.11, 0.1000001, 1.0, float("nan"), float("inf")])
def test_jitter_outside_a_tenth_is_refused(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        retry_delay(1, DEFAULT_RETRY_SCHEDULE, jitter)


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_count_from_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="attempt"):
        retry_delay(attempt, DEFAULT_RETRY_SCHEDULE, 0.0)


def test_a_negative_scheduled_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        retry_delay(1, (-5,), 0.0)


# -- an independent implementation: the standardwebhooks package ---------------------------------


@given(secret=secrets_, message_id=message_ids, timestamp=timestamps, body=texts)
def test_our_signatures_are_the_reference_signatures(
    secret: str, message_id: str, timestamp: int, body: bytes
) -> None:
    reference = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body.decode())

    assert sign(secret, message_id, timestamp, body) == reference


@given(secret=secrets_, other=secrets_, message_id=message_ids, body=texts)
def test_the_reference_implementation_accepts_our_deliveries(
    secret: str, other: str, message_id: str, body: bytes
) -> None:
    assume(not same_hmac_key(secret, other))
    headers = signature_headers(secret, message_id, int(time.time()), body)

    Webhook(secret).verify(body, headers, json_parse=False)  # raises if it does not verify
    with pytest.raises(ReferenceVerificationError):
        Webhook(other).verify(body, headers, json_parse=False)


@given(secret=secrets_, message_id=message_ids, timestamp=timestamps, body=texts)
def test_we_accept_the_reference_implementations_signatures(
    secret: str, message_id: str, timestamp: int, body: bytes
) -> None:
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
    headers = {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}

    assert verify(secret, headers, body, now=timestamp) == message_id
