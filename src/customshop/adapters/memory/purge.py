"""Deleting old records in batches, as the SQL adapters' retention purge does."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any


def purge_some(records: MutableMapping[str, Any], ids: Sequence[str], limit: int) -> int:
    """Delete the first ``limit`` of ``ids`` from ``records``; returns how many."""
    chosen = ids[:limit]
    for record_id in chosen:
        del records[record_id]
    return len(chosen)
