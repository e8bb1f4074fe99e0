"""Outbox messages: a domain event as stored with the change that caused it, until it is handed to
the job queue (``application/outbox.py``) and, once old, purged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A domain event as stored with the change that caused it. ``id`` is the event's id: stable
    across redeliveries, so receivers deduplicate on it."""

    id: str
    name: str
    order_id: str
    payload: dict[str, Any]
    created_at: datetime
    relayed_at: datetime | None
