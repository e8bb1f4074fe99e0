"""Outgoing webhooks as Standard Webhooks (https://www.standardwebhooks.com) specify them.

A delivery is an HTTP POST whose body is the event and whose headers carry its metadata:
``webhook-id`` (the message id, the same on every attempt, which receivers use to de-duplicate),
``webhook-timestamp`` (the attempt's Unix time in seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256>`` of ``<id>.<timestamp>.<body>`` under the endpoint's secret; several
space-separated signatures during a secret rotation). Secrets are shown as ``whsec_`` and the
base64 of their bytes.

Everything here is pure: the current time is the caller's argument, so the same inputs always give
the same answer. Deliveries are retried on :data:`DEFAULT_RETRY_SCHEDULE` by the policy of every
retried job (``domain/retries.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# The retry schedule's arithmetic is the one every retried job uses; named here too, where the
# schedule of deliveries is.
from customshop.domain.retries import MAX_JITTER as MAX_JITTER
from customshop.domain.retries import JobStatus
from customshop.domain.retries import retry_delay as retry_delay

#: What every secret starts with, so that it is recognised (and not mistaken for another kind of key).
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret

#: Size limits of a secret's bytes: the specification asks for 24 bytes at least and 64 at most.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64

#: Longest message id accepted.
MAX_MESSAGE_ID_LENGTH = 255

#: How far a delivery's timestamp may be from the receiver's clock, either way, by default.
DEFAULT_TOLERANCE_SECONDS = 300

#: Seconds between successive attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, so eight attempts
#: over about 27.6 hours. The first six are the Standard Webhooks example schedule.
DEFAULT_RETRY_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"

_SIGNATURE_VERSION = "v1"

#: Visible ASCII without ``.``: a dot in the id would make ``<id>.<timestamp>.<body>`` ambiguous, so a
#: signature of one message could pass for another's.
_MESSAGE_ID = re.compile(r"[!-\-/-~]+")

#: A timestamp header: decimal digits only (no sign, space or underscore), at most 15 of them.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


class InvalidWebhookSecret(ValueError):
    """A secret is not ``whsec_`` followed by the base64 of 24 to 64 bytes."""


class InvalidWebhookMessageId(ValueError):
    """A message id is empty, too long, or has a character other than visible ASCII, or a ``.``."""


class InvalidWebhookTimestamp(ValueError):
    """A timestamp to sign is negative."""


class WebhookVerificationError(Exception):
    """A delivery is not proven to come from the holder of the secret, now: nothing may act on it."""


class WebhookSignatureMissing(WebhookVerificationError):
    """One of ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` is missing or empty."""


class WebhookTimestampOutOfRange(WebhookVerificationError):
    """``webhook-timestamp`` is not an integer, or is further from now than the tolerance (a replay,
    or a clock far off)."""


class WebhookSignatureInvalid(WebhookVerificationError):
    """No signature in ``webhook-signature`` is a ``v1`` signature of this message under the secret."""


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret.

    Args:
        secret: ``whsec_`` and the standard base64 of the key, as :func:`format_secret` makes it
            (the padding may be left out, as some senders do).

    Returns:
        The key: 24 to 64 bytes.

    Raises:
        InvalidWebhookSecret: no prefix, base64 that is invalid or not in its canonical spelling
            (so that each key has one spelling, give or take the padding), or a key of the wrong
            size.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecret(f"a webhook secret starts with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    unpadded = encoded.rstrip("=")
    try:
        raw = base64.b64decode((unpadded + "=" * (-len(unpadded) % 4)).encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidWebhookSecret("a webhook secret is base64 after its prefix") from None
    canonical = base64.b64encode(raw).decode("ascii")
    if encoded not in (canonical, canonical.rstrip("=")):
        raise InvalidWebhookSecret("a webhook secret is base64 in its canonical spelling after its prefix")
    _check_size(raw)
    return raw


def format_secret(raw: bytes) -> str:
    """``raw`` key bytes as a secret: ``whsec_`` and their standard, padded base64.

    Raises:
        InvalidWebhookSecret: ``raw`` is shorter than 24 bytes or longer than 64.
    """
    _check_size(raw)
    return SECRET_PREFIX + base64.b64encode(raw).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of one delivery attempt: ``v1,`` and the base64 HMAC-SHA256 of
    ``<message_id>.<timestamp>.<body>`` under the secret's key.

    Args:
        secret: The endpoint's ``whsec_`` secret.
        message_id: The event's id, the same on every attempt: 1 to 255 visible ASCII characters,
            none of them a ``.``.
        timestamp: The attempt's Unix time in seconds.
        body: The exact bytes sent as the request body.

    Raises:
        InvalidWebhookSecret: see :func:`secret_bytes`.
        InvalidWebhookMessageId: ``message_id`` breaks the rule above.
        InvalidWebhookTimestamp: ``timestamp`` is negative.
    """
    key = secret_bytes(secret)
    _check_message_id(message_id)
    if timestamp < 0:
        raise InvalidWebhookTimestamp(f"a webhook timestamp is not negative, not {timestamp}")
    digest = _digest(key, message_id, timestamp, body)
    return f"{_SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one delivery attempt: ``webhook-id``, ``webhook-timestamp`` and
    ``webhook-signature``. Arguments and exceptions are those of :func:`sign`."""
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, message_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Check that a delivery was signed with ``secret`` at most ``tolerance_seconds`` from ``now``.

    Header names are matched without regard to case. ``webhook-signature`` may hold several
    space-separated signatures (a sender rotating its secret signs with both); the delivery is
    verified when any ``v1`` one matches, compared in constant time. Signatures of other versions
    (``v1a``, asymmetric) and malformed entries are skipped. A verified delivery may still be a
    repeat: de-duplicate by the returned id.

    Args:
        secret: The endpoint's ``whsec_`` secret.
        headers: The request's headers.
        body: The request body, exactly as received (not parsed and re-serialised).
        now: The receiver's current Unix time in seconds.
        tolerance_seconds: How far the timestamp may be from ``now``, either way (inclusive).

    Returns:
        The message id (``webhook-id``).

    Raises:
        InvalidWebhookSecret: the secret itself is malformed (a configuration error, not a bad
            delivery; see :func:`secret_bytes`).
        WebhookSignatureMissing: a header is missing or empty.
        WebhookTimestampOutOfRange: the timestamp is not a decimal integer, or is more than
            ``tolerance_seconds`` before or after ``now``.
        WebhookSignatureInvalid: no ``v1`` signature matches, or the id could not have been signed.
    """
    key = secret_bytes(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get(ID_HEADER, "")
    timestamp_text = lowered.get(TIMESTAMP_HEADER, "")
    signatures = lowered.get(SIGNATURE_HEADER, "")
    present = {ID_HEADER: message_id, TIMESTAMP_HEADER: timestamp_text, SIGNATURE_HEADER: signatures.strip()}
    missing = [name for name, value in present.items() if not value]
    if missing:
        raise WebhookSignatureMissing(f"the delivery has no {', '.join(missing)} header")
    if not _TIMESTAMP.fullmatch(timestamp_text):
        raise WebhookTimestampOutOfRange(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    timestamp = int(timestamp_text)
    if abs(now - timestamp) > tolerance_seconds:
        raise WebhookTimestampOutOfRange(
            f"{TIMESTAMP_HEADER} is {timestamp - now:+d} s from now, beyond the {tolerance_seconds} s allowed"
        )
    try:
        _check_message_id(message_id)
    except InvalidWebhookMessageId:
        raise WebhookSignatureInvalid(f"{ID_HEADER} is not a message id that is signed") from None
    expected = _digest(key, message_id, timestamp, body)
    for entry in signatures.split():
        version, comma, encoded = entry.partition(",")
        if version != _SIGNATURE_VERSION or not comma:
            continue
        try:
            candidate = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            continue
        if hmac.compare_digest(candidate, expected):
            return message_id
    raise WebhookSignatureInvalid("no v1 signature of the delivery matches the secret")


def _digest(key: bytes, message_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def _check_size(raw: bytes) -> None:
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise InvalidWebhookSecret(
            f"a webhook secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {len(raw)}"
        )


def _check_message_id(message_id: str) -> None:
    if len(message_id) > MAX_MESSAGE_ID_LENGTH or not _MESSAGE_ID.fullmatch(message_id):
        raise InvalidWebhookMessageId(
            f"a webhook message id is 1 to {MAX_MESSAGE_ID_LENGTH} visible ASCII characters without '.'"
        )


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A partner's URL and the events it subscribed to; ``secret`` signs every delivery."""

    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    active: bool
    created_at: datetime
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event for one endpoint, tried until it succeeds or the schedule runs out.

    ``status`` is ``pending`` (``next_attempt_at`` says when; while an attempt runs, it holds a
    lease), ``delivered`` or ``failed``; ``attempts`` counts the attempts begun (see
    ``domain/retries.py``).
    """

    id: str
    endpoint_id: str
    event_id: str
    event: str
    body: bytes
    attempts: int
    status: JobStatus
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookLog:
    """One attempt to deliver: what the endpoint answered, or why nothing was answered."""

    id: str
    delivery_id: str
    endpoint_id: str
    event: str
    attempt: int
    response_status: int | None
    sent_at: datetime
    error: str | None
