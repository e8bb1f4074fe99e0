"""Repositories of guest sessions, uploaded assets and preview jobs, in SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.purge import BEFORE, LIMIT, batch_delete, count, cutoff
from customshop.domain.customization import Asset, CustomizationSession, PreviewJob, PreviewStatus


def _session(row: sa.Row[Any]) -> CustomizationSession:
    return CustomizationSession(
        id=row.id,
        guest=row.guest,
        product_id=row.product_id,
        template_id=row.template_id,
        template_version=row.template_version,
        options=row.options,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
    )


class SqlSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: CustomizationSession) -> None:
        await self._conn.execute(
            t.sessions.insert().values(
                id=session.id,
                guest=session.guest,
                product_id=session.product_id,
                template_id=session.template_id,
                template_version=session.template_version,
                options=session.options,
                created_at=session.created_at,
                updated_at=session.updated_at,
                expires_at=session.expires_at,
            )
        )

    async def get(self, session_id: str) -> CustomizationSession | None:
        row = (await self._conn.execute(sa.select(t.sessions).where(t.sessions.c.id == session_id))).first()
        return _session(row) if row else None

    async def update(self, session: CustomizationSession) -> None:
        await self._conn.execute(
            t.sessions.update()
            .where(t.sessions.c.id == session.id)
            .values(options=session.options, updated_at=session.updated_at, expires_at=session.expires_at)
        )


#: Expiry times of guest keys this process read, by key hash: every guest request asks whether its key
#: is live, and this spares the round trip. A key's expiry only ever moves later (``extend``) and a
#: key is deleted only once expired, so a remembered time after the caller's ``now`` proves the key
#: live (the stored one is that or later); one that has passed is read again. Bounded: forgotten all
#: at once when full.
_known_expiry: dict[str, datetime] = {}
_KNOWN_EXPIRY_LIMIT = 100_000
_EXPIRES_AT = sa.select(t.guest_keys.c.expires_at).where(t.guest_keys.c.key_hash == sa.bindparam("key_hash"))


class SqlGuestKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key_hash: str, issued_at: datetime, expires_at: datetime) -> None:
        await self._conn.execute(
            t.guest_keys.insert().values(key_hash=key_hash, issued_at=issued_at, expires_at=expires_at)
        )

    async def expires_at(self, key_hash: str, now: datetime | None = None) -> datetime | None:
        known = _known_expiry.get(key_hash)
        if known is not None and now is not None and known > now:
            return known
        value: datetime | None = (await self._conn.execute(_EXPIRES_AT, {"key_hash": key_hash})).scalar()
        if value is not None:
            if len(_known_expiry) >= _KNOWN_EXPIRY_LIMIT:
                _known_expiry.clear()
            _known_expiry[key_hash] = value
        return value

    async def extend(self, key_hash: str, expires_at: datetime) -> None:
        await self._conn.execute(
            t.guest_keys.update().where(t.guest_keys.c.key_hash == key_hash).values(expires_at=expires_at)
        )

    async def purge(self, expired_before: datetime, limit: int) -> int:
        deleted = await self._conn.execute(_PURGE_EXPIRED, {BEFORE: expired_before, LIMIT: limit})
        return int(deleted.rowcount)

    async def count_expired(self, expired_before: datetime) -> int:
        return int((await self._conn.execute(_COUNT_EXPIRED, {BEFORE: expired_before})).scalar_one())


_PURGE_EXPIRED = batch_delete(t.guest_keys, (t.guest_keys.c.key_hash,), t.guest_keys.c.expires_at < cutoff())
_COUNT_EXPIRED = count(t.guest_keys, t.guest_keys.c.expires_at < cutoff())


def _asset(row: sa.Row[Any]) -> Asset:
    return Asset(
        id=row.id,
        session_id=row.session_id,
        content_type=row.content_type,
        width=row.width,
        height=row.height,
        bytes=row.bytes,
        sha256=row.sha256,
        storage_key=row.storage_key,
        created_at=row.created_at,
    )


class SqlAssetRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, asset: Asset) -> None:
        await self._conn.execute(
            t.assets.insert().values(
                id=asset.id,
                session_id=asset.session_id,
                content_type=asset.content_type,
                width=asset.width,
                height=asset.height,
                bytes=asset.bytes,
                sha256=asset.sha256,
                storage_key=asset.storage_key,
                created_at=asset.created_at,
            )
        )

    async def get(self, asset_id: str) -> Asset | None:
        row = (await self._conn.execute(sa.select(t.assets).where(t.assets.c.id == asset_id))).first()
        return _asset(row) if row else None

    async def list_for_session(self, session_id: str) -> list[Asset]:
        rows = await self._conn.execute(
            sa.select(t.assets).where(t.assets.c.session_id == session_id).order_by(t.assets.c.id)
        )
        return [_asset(row) for row in rows]

    async def list_for_guest(self, guest: str) -> list[Asset]:
        rows = await self._conn.execute(
            sa.select(t.assets)
            .join(t.sessions, t.sessions.c.id == t.assets.c.session_id)
            .where(t.sessions.c.guest == guest)
            .order_by(t.assets.c.id)
        )
        return [_asset(row) for row in rows]


def _job(row: sa.Row[Any]) -> PreviewJob:
    return PreviewJob(
        id=row.id,
        session_id=row.session_id,
        design_hash=row.design_hash,
        status=PreviewStatus(row.status),
        attempts=row.attempts,
        storage_key=row.storage_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        error=row.error,
    )


class SqlPreviewRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, job: PreviewJob) -> None:
        await self._conn.execute(
            t.preview_jobs.insert().values(
                id=job.id,
                session_id=job.session_id,
                design_hash=job.design_hash,
                status=job.status.value,
                attempts=job.attempts,
                storage_key=job.storage_key,
                error=job.error,
                created_at=job.created_at,
                updated_at=job.updated_at,
            )
        )

    async def get(self, job_id: str, *, for_update: bool = False) -> PreviewJob | None:
        query = sa.select(t.preview_jobs).where(t.preview_jobs.c.id == job_id)
        if for_update:
            query = query.with_for_update()  # SQLite has no row locks and ignores it
        row = (await self._conn.execute(query)).first()
        return _job(row) if row else None

    async def update(self, job: PreviewJob) -> None:
        await self._conn.execute(
            t.preview_jobs.update()
            .where(t.preview_jobs.c.id == job.id)
            .values(
                status=job.status.value, attempts=job.attempts, error=job.error, updated_at=job.updated_at
            )
        )

    async def latest_for_design(self, design_hash: str) -> PreviewJob | None:
        row = (
            await self._conn.execute(
                sa.select(t.preview_jobs)
                .where(
                    t.preview_jobs.c.design_hash == design_hash,
                    t.preview_jobs.c.status != PreviewStatus.FAILED.value,
                )
                .order_by(t.preview_jobs.c.id.desc())
                .limit(1)
            )
        ).first()
        return _job(row) if row else None

    async def stalled(self, updated_before: datetime, limit: int) -> list[PreviewJob]:
        rows = await self._conn.execute(
            sa.select(t.preview_jobs)
            .where(
                t.preview_jobs.c.status.in_([PreviewStatus.QUEUED.value, PreviewStatus.RUNNING.value]),
                t.preview_jobs.c.updated_at < updated_before,
            )
            .order_by(t.preview_jobs.c.updated_at)
            .limit(limit)
        )
        return [_job(row) for row in rows]
