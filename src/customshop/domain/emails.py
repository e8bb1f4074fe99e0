"""Email deliveries: an email the shop owes a guest, from pending to sent or failed, with its attempts
and lease (``application/notifications.py``; ``domain/retries.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customshop.domain.retries import JobStatus


@dataclass(frozen=True, slots=True)
class EmailDelivery:
    """One email the shop owes a guest because of one event (``kind`` per event, never two).

    ``status`` is ``pending`` (``next_attempt_at`` says when; while an attempt runs, it holds a
    lease), ``sent`` or ``failed``; ``error`` says why the last attempt did not succeed; ``attempts``
    counts the attempts begun (see ``domain/retries.py``).
    """

    id: str
    kind: str
    event_id: str
    order_id: str
    attempts: int
    status: JobStatus
    next_attempt_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime
