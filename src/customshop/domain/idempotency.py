"""Idempotency records: a request made with an ``Idempotency-Key``, from its claim to its stored
result (``application/checkout.py``), kept for the retention and then purged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A request made with an ``Idempotency-Key``, by one guest (``scope``).

    ``result`` is the first request's outcome (JSON) once there is one; until then the request is in
    progress, and ``order_id`` names the order it created, if it got that far.
    """

    scope: str
    key: str
    request_hash: str
    order_id: str | None
    result: bytes | None
    created_at: datetime
    updated_at: datetime
