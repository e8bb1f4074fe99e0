"""Guests' design sessions, their keys, uploads and previews."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from customshop.domain.customization import Asset, CustomizationSession, PreviewJob


class SessionRepository(Protocol):
    """Guest customization sessions. Never commits."""

    async def add(self, session: CustomizationSession) -> None: ...

    async def get(self, session_id: str) -> CustomizationSession | None: ...

    async def update(self, session: CustomizationSession) -> None: ...


class GuestKeyRepository(Protocol):
    """The session keys this server issued, by hash (a key itself is never stored), each with the
    moment it expires. Never commits."""

    async def add(self, key_hash: str, issued_at: datetime, expires_at: datetime) -> None: ...

    async def expires_at(self, key_hash: str, now: datetime | None = None) -> datetime | None:
        """When the key expires, or ``None`` when it was never issued (or was purged).

        Given ``now``, an implementation may answer with an expiry it read before, as long as that
        one is after ``now``: expiries only move later, so the key is live either way."""
        ...

    async def extend(self, key_hash: str, expires_at: datetime) -> None: ...

    async def purge(self, expired_before: datetime, limit: int) -> int:
        """Forget up to ``limit`` keys that expired before ``expired_before``; returns how many."""
        ...

    async def count_expired(self, expired_before: datetime) -> int:
        """How many keys expired before ``expired_before``."""
        ...


class AssetRepository(Protocol):
    """Uploaded images' records (the files live in ``FileStorage``). Never commits."""

    async def add(self, asset: Asset) -> None: ...

    async def get(self, asset_id: str) -> Asset | None: ...

    async def list_for_session(self, session_id: str) -> list[Asset]: ...

    async def list_for_guest(self, guest: str) -> list[Asset]:
        """Every asset uploaded to any live or expired session of this guest."""
        ...


class PreviewRepository(Protocol):
    """Preview render jobs. Never commits."""

    async def add(self, job: PreviewJob) -> None: ...

    async def get(self, job_id: str, *, for_update: bool = False) -> PreviewJob | None:
        """The job; ``for_update`` locks it until the transaction ends (PostgreSQL), so an attempt's
        outcome is recorded only while the attempt is the job's current one."""
        ...

    async def update(self, job: PreviewJob) -> None: ...

    async def latest_for_design(self, design_hash: str) -> PreviewJob | None:
        """The newest job of this design that is not failed, if any."""
        ...

    async def stalled(self, updated_before: datetime, limit: int) -> list[PreviewJob]:
        """Queued or running jobs last updated before ``updated_before``, oldest first."""
        ...
