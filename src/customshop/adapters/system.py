"""The real clock and id generator."""

from __future__ import annotations

from datetime import UTC, datetime

import uuid_utils


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidV7Ids:
    """UUIDv7 strings: 48 bits of millisecond time then 74 random bits, so ids are unguessable yet
    sort by creation time, which keeps cursor pagination in insertion order."""

    def new_id(self) -> str:
        return str(uuid_utils.uuid7())
