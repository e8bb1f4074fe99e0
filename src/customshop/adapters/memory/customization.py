"""In-memory repositories of guest sessions, assets and preview jobs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from customshop.domain.customization import Asset, CustomizationSession, PreviewJob, PreviewStatus

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore


class MemorySessionRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, session: CustomizationSession) -> None:
        self._state.sessions[session.id] = session

    async def get(self, session_id: str) -> CustomizationSession | None:
        return self._state.sessions.get(session_id)

    async def update(self, session: CustomizationSession) -> None:
        if session.id in self._state.sessions:
            self._state.sessions[session.id] = session


class MemoryGuestKeyRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, key_hash: str, issued_at: datetime, expires_at: datetime) -> None:
        self._state.guest_keys[key_hash] = expires_at

    async def expires_at(self, key_hash: str, now: datetime | None = None) -> datetime | None:
        return self._state.guest_keys.get(key_hash)

    async def extend(self, key_hash: str, expires_at: datetime) -> None:
        if key_hash in self._state.guest_keys:
            self._state.guest_keys[key_hash] = expires_at

    async def purge(self, expired_before: datetime, limit: int) -> int:
        old = [key for key, expires_at in self._state.guest_keys.items() if expires_at < expired_before]
        old = old[:limit]
        for key in old:
            del self._state.guest_keys[key]
        return len(old)

    async def count_expired(self, expired_before: datetime) -> int:
        return sum(expires_at < expired_before for expires_at in self._state.guest_keys.values())


class MemoryAssetRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, asset: Asset) -> None:
        self._state.assets[asset.id] = asset

    async def get(self, asset_id: str) -> Asset | None:
        return self._state.assets.get(asset_id)

    async def list_for_session(self, session_id: str) -> list[Asset]:
        return sorted(
            (a for a in self._state.assets.values() if a.session_id == session_id), key=lambda a: a.id
        )

    async def list_for_guest(self, guest: str) -> list[Asset]:
        sessions = {s.id for s in self._state.sessions.values() if s.guest == guest}
        return sorted(
            (a for a in self._state.assets.values() if a.session_id in sessions), key=lambda a: a.id
        )


class MemoryPreviewRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, job: PreviewJob) -> None:
        self._state.previews[job.id] = job

    async def get(self, job_id: str, *, for_update: bool = False) -> PreviewJob | None:
        return self._state.previews.get(job_id)

    async def update(self, job: PreviewJob) -> None:
        if job.id in self._state.previews:
            self._state.previews[job.id] = job

    async def latest_for_design(self, design_hash: str) -> PreviewJob | None:
        jobs = [
            j
            for j in self._state.previews.values()
            if j.design_hash == design_hash and j.status != PreviewStatus.FAILED
        ]
        return max(jobs, key=lambda j: j.id, default=None)

    async def stalled(self, updated_before: datetime, limit: int) -> list[PreviewJob]:
        waiting = (PreviewStatus.QUEUED, PreviewStatus.RUNNING)
        jobs = [
            j for j in self._state.previews.values() if j.status in waiting and j.updated_at < updated_before
        ]
        return sorted(jobs, key=lambda j: j.updated_at)[:limit]
