"""Print jobs: a paid order line's print file as its renderings are scheduled, retried and leased
(``application/prints.py``; attempts and leases follow ``domain/retries.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customshop.domain.orders import PrintFile


@dataclass(frozen=True, slots=True)
class PrintJob:
    """A line's print file as its renderings are scheduled: ``due_at`` is when a rendering is next
    wanted (``None``: none is, the file is ready or failed, or the order is not paid), and
    ``attempts`` how many renderings of the current ``file.id`` were started."""

    line_id: str
    order_id: str
    file: PrintFile
    attempts: int
    due_at: datetime | None
