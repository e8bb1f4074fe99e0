"""Guest customization: design sessions, image uploads, and preview rendering.

A guest never logs in. It holds a *session key* (a 256-bit secret, minted by :meth:`start` unless the
guest presents a live one it was given before); only the key's hash is stored, and everything the
guest owns (design sessions, uploads, its cart, its orders) is found through it. Another guest's
session answers ``SessionNotFound``, exactly like one that does not exist.

A key is never adopted: a key this server did not issue, or one that expired, is refused
(:func:`live_guest`), so whoever plants a key in a guest's browser cannot know the key the guest's
designs and orders end up under.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import IO

from customshop.application.catalog_cache import CatalogCache
from customshop.application.design_source import design_source
from customshop.application.ports import (
    Clock,
    FileMissing,
    FileStorage,
    IdGenerator,
    ImageProcessor,
    JobQueue,
    Metrics,
    NoMetrics,
    QueueUnavailable,
    Renderer,
    RenderOutcome,
    RenderRequest,
    UnitOfWork,
    UnitOfWorkFactory,
    UnsupportedImage,
)
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.customization import (
    GUEST_KEY_LIFETIME,
    Asset,
    CustomizationSession,
    PreviewJob,
    PreviewStatus,
    design_hash,
    preview_retries,
)
from customshop.domain.errors import InvalidInput, NotFound, Violation
from customshop.domain.hashing import hash_secret
from customshop.domain.pricing import DesignQuote, quote_design
from customshop.domain.templates import ImageZone, OptionZone, Template
from customshop.domain.validation import AssetInfo, Design, ImageValue, check_design

SESSION_KEY_PREFIX = "gsk_"
_SESSION_KEY_RE = re.compile(r"^gsk_[A-Za-z0-9_-]{43}$")
RENDER_PREVIEW = "render_preview"


class SessionNotFound(NotFound):
    pass


class PreviewNotFound(NotFound):
    pass


class GuestKeyNotFound(NotFound):
    """A session key this server never issued, or one that expired: it owns nothing."""


def guest_of(session_key: str | None) -> str | None:
    """The stored identity behind a presented session key, or ``None`` for a missing or malformed one."""
    if session_key is None or not _SESSION_KEY_RE.fullmatch(session_key):
        return None
    return hash_secret(session_key)


async def live_guest(uow: UnitOfWork, session_key: str | None, now: datetime) -> str | None:
    """The guest behind a presented session key, or ``None`` when no key was presented.

    Raises:
        GuestKeyNotFound: a key was presented but it is malformed, was never issued, or expired.
    """
    if session_key is None:
        return None
    guest = guest_of(session_key)
    expires_at = await uow.guest_keys.expires_at(guest, now) if guest is not None else None
    if guest is None or expires_at is None or expires_at <= now:
        raise GuestKeyNotFound("there is nothing under this session key")
    return guest


async def issue_key(uow: UnitOfWork, now: datetime) -> tuple[str, str]:
    """A new session key and its guest identity, recorded (by hash) as issued in ``uow``."""
    key = SESSION_KEY_PREFIX + secrets.token_urlsafe(32)
    guest = hash_secret(key)
    await uow.guest_keys.add(guest, now, now + GUEST_KEY_LIFETIME)
    return key, guest


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as its guest sees it, with a live price quote."""

    session: CustomizationSession
    quote: DesignQuote
    session_key: str | None = None


@dataclass(frozen=True, slots=True)
class _Context:
    session: CustomizationSession
    product: Product
    template: Template
    option_sets: Mapping[str, OptionSet]
    assets: dict[str, Asset]

    @property
    def asset_infos(self) -> dict[str, AssetInfo]:
        return {
            a.id: AssetInfo(a.id, a.content_type, a.width, a.height, a.bytes) for a in self.assets.values()
        }


def _merged_design(ctx: _Context, changes: Mapping[str, object]) -> tuple[Design | None, list[Violation]]:
    """The session's design with ``changes`` merged in (``None`` clears a zone), checked against its
    pinned template: the design, or ``None`` and the problems."""
    merged: dict[str, object] = dict(ctx.session.options)
    for zone_id, value in changes.items():
        if value is None:
            merged.pop(zone_id, None)
        else:
            merged[zone_id] = value
    return check_design(ctx.template.definition, ctx.option_sets, merged, assets=ctx.asset_infos)


class Customization:
    """Design sessions, uploads and previews. Each method is one or more committed units of work."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        storage: FileStorage,
        images: ImageProcessor,
        renderer: Renderer,
        queue: JobQueue,
        *,
        session_ttl: timedelta,
        render_timeout: timedelta,
        preview_side: int = 1000,
        catalog_cache: CatalogCache | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._cache = catalog_cache
        self._metrics = metrics or NoMetrics()
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._storage = storage
        self._images = images
        self._renderer = renderer
        self._queue = queue
        self._session_ttl = session_ttl
        self._retries = preview_retries(render_timeout)
        self._preview_side = preview_side

    # -- sessions ------------------------------------------------------------------------------

    async def start(
        self, product_id: str, template_version: int | None, session_key: str | None
    ) -> SessionView:
        """Start designing an active product on its default template, or on ``template_version``
        (a published one: a draft is as unknown, a retired version starts no new session).

        A guest presenting a live session key keeps it (and the key lives another
        ``GUEST_KEY_LIFETIME``); otherwise, whatever it presented (nothing, or a key that was never
        issued or has expired), a new key is minted and returned in ``SessionView.session_key`` (the
        only time it is ever shown).

        Raises:
            InvalidInput: unknown or inactive product, unknown (or draft) template version
                (``template_version: not_found``), retired version (``template_version: retired``).
        """
        async with self._uow() as uow:
            now = self._clock.now()
            try:
                guest = await live_guest(uow, session_key, now)
            except GuestKeyNotFound:
                guest = None
            new_key = None
            if guest is None:
                new_key, guest = await issue_key(uow, now)
            else:
                await uow.guest_keys.extend(guest, now + GUEST_KEY_LIFETIME)
            product = await uow.products.get(product_id)
            if product is None or not product.active:
                raise InvalidInput(
                    [Violation("product_id", "not_found", f"there is no product {product_id!r}")]
                )
            if template_version is None:
                template = await uow.templates.get_default(product_id)
                missing = Violation("product_id", "no_template", "this product has no default template")
            else:
                template = await uow.templates.get_version(product_id, template_version)
                missing = Violation(
                    "template_version", "not_found", f"there is no version {template_version}"
                )
            if template is None or not template.is_public:  # a draft is as if it were not there
                raise InvalidInput([missing])
            if not template.starts_sessions:
                raise InvalidInput(
                    [
                        Violation(
                            "template_version",
                            "retired",
                            f"version {template.version} is retired: it starts no new session",
                        )
                    ]
                )
            session = CustomizationSession(
                id=self._ids.new_id(),
                guest=guest,
                product_id=product_id,
                template_id=template.id,
                template_version=template.version,
                options={},
                created_at=now,
                updated_at=now,
                expires_at=now + self._session_ttl,
            )
            await uow.sessions.add(session)
            option_sets = await uow.option_sets.get_many(template.definition.option_set_ids)
            await uow.commit()
        quote = quote_design(product, template.definition, option_sets, Design({}))
        return SessionView(session, quote, new_key)

    async def view(self, session_id: str, session_key: str | None) -> SessionView:
        """The guest's session and its live quote.

        Raises:
            SessionNotFound: unknown, expired, or another guest's.
        """
        async with self._uow(read_only=True) as uow:
            ctx = await self._context(uow, session_id, session_key)
        return SessionView(ctx.session, self._quote(ctx))

    async def update(
        self, session_id: str, session_key: str | None, changes: Mapping[str, object]
    ) -> SessionView:
        """Merge ``changes`` (zone id → value; ``None`` clears a zone) into the design.

        Every value is checked against the pinned template; when any is bad nothing is stored. A
        saved design may be incomplete (required zones are enforced when it is carted). Saving
        extends the session's life by the session lifetime.

        Raises:
            SessionNotFound, InvalidInput (one violation per broken rule, each naming its zone).
        """
        async with self._uow() as uow:
            ctx = await self._context(uow, session_id, session_key)
            design, problems = _merged_design(ctx, changes)
            if design is None:
                raise InvalidInput(problems, "Some values do not fit the template.")
            now = self._clock.now()
            session = replace(  # hidden zones' values are kept, for when they show again
                ctx.session,
                options=design.to_dict(keep_hidden=True),
                updated_at=now,
                expires_at=now + self._session_ttl,
            )
            await uow.sessions.update(session)
            await uow.commit()
        ctx = replace(ctx, session=session)
        return SessionView(session, self._quote(ctx, design))

    async def option_problems(
        self, session_id: str, session_key: str | None, changes: object
    ) -> list[Violation]:
        """What :meth:`update` would refuse in ``changes`` (raw: any JSON value), without storing
        anything or raising: for the 400 of a request whose other fields are malformed. A session
        that is not this guest's (a 404 once the request is sound), or changes that are not an
        object, give no problem here."""
        if not isinstance(changes, Mapping):
            return []
        try:
            async with self._uow(read_only=True) as uow:
                ctx = await self._context(uow, session_id, session_key)
        except NotFound:
            return []
        return list(_merged_design(ctx, changes)[1])

    # -- uploads -------------------------------------------------------------------------------

    async def upload_limit(self, session_id: str, session_key: str | None) -> int:
        """The largest upload this session's template can use (its largest image zone's ``max_bytes``).

        Raises:
            SessionNotFound; InvalidInput when the template has no image zone.
        """
        async with self._uow(read_only=True) as uow:
            ctx = await self._context(uow, session_id, session_key)
        limits = [zone.max_bytes for zone in ctx.template.definition.zones if isinstance(zone, ImageZone)]
        if not limits:
            raise InvalidInput([Violation("file", "not_accepted", "this product's template takes no images")])
        return max(limits)

    async def upload(self, session_id: str, session_key: str | None, upload: IO[bytes], size: int) -> Asset:
        """Store an uploaded image for the session, sanitized: its type judged from its bytes, its
        orientation applied and its metadata stripped.

        Args:
            upload: the file (already limited to :meth:`upload_limit` bytes by the caller).
            size: how many bytes the guest sent.

        Raises:
            SessionNotFound; InvalidInput (``file``: unsupported type, undecodable, decompression bomb).
        """
        async with self._uow(read_only=True) as uow:
            await self._context(uow, session_id, session_key)
        try:
            image = await asyncio.to_thread(self._images.sanitize, upload)
        except UnsupportedImage as exc:
            raise InvalidInput(
                [Violation("file", exc.code, exc.message)], "The upload is not a usable image."
            ) from None
        asset_id = self._ids.new_id()
        extension = image.content_type.rsplit("/", 1)[1]
        key = f"assets/{session_id}/{asset_id}.{extension}"
        await self._storage.put(key, image.data, image.content_type)
        asset = Asset(
            id=asset_id,
            session_id=session_id,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            bytes=size,
            sha256=hashlib.sha256(image.data).hexdigest(),
            storage_key=key,
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.assets.add(asset)
            await uow.commit()
        return asset

    # -- previews ------------------------------------------------------------------------------

    async def request_preview(self, session_id: str, session_key: str | None) -> PreviewJob:
        """Queue a render of the session's current design, or reuse one of an identical design
        (done, or still in progress) instead of rendering it twice.

        Raises:
            SessionNotFound; QueueUnavailable (the job is recorded as failed, so that the next request
            for the design makes a new one).
        """
        async with self._uow() as uow:
            ctx = await self._context(uow, session_id, session_key)
            digests = {asset.id: asset.sha256 for asset in ctx.assets.values()}
            # What is drawn: the shown zones (designs that differ in hidden zones only share a preview).
            shown, _ = check_design(
                ctx.template.definition, ctx.option_sets, ctx.session.options, assets=ctx.asset_infos
            )
            drawn = shown.to_dict() if shown is not None else ctx.session.options
            key = design_hash(ctx.template.id, drawn, digests, f"preview:{self._preview_side}")
            now = self._clock.now()
            existing = await uow.previews.latest_for_design(key)
            if existing is not None and await self._reusable(existing, now):
                return existing
            job = PreviewJob(
                id=self._ids.new_id(),
                session_id=session_id,
                design_hash=key,
                status=PreviewStatus.QUEUED,
                attempts=0,
                storage_key=f"previews/{key}.png",
                created_at=now,
                updated_at=now,
            )
            await uow.previews.add(job)
            await uow.commit()
        try:
            await self._queue.enqueue(RENDER_PREVIEW, {"job_id": job.id}, job_id=job.id)
        except QueueUnavailable:
            # The guest is told to try again; a job nobody will run must not answer that retry.
            async with self._uow() as uow:
                await uow.previews.update(job.abandon("the job queue was unreachable", self._clock.now()))
                await uow.commit()
            raise
        return job

    async def preview(self, job_id: str) -> PreviewJob:
        """A preview job's state. A job whose renderer vanished is retried (or failed once out of
        attempts) here, so no job stays queued or running forever.

        Raises:
            PreviewNotFound.
        """
        async with self._uow(read_only=True) as uow:
            job = await uow.previews.get(job_id)
        if job is None:
            raise PreviewNotFound(f"there is no preview {job_id!r}")
        if job.is_stalled(self._clock.now(), self._stall_after):
            job = await self._recover(job_id) or job
        return job

    async def preview_image(self, job_id: str) -> bytes:
        """The PNG of a finished preview.

        Raises:
            PreviewNotFound: unknown, or not done.
        """
        job = await self.preview(job_id)
        if job.status is not PreviewStatus.DONE:
            raise PreviewNotFound(f"preview {job_id!r} is {job.status}")
        try:
            return await self._storage.get(job.storage_key)
        except FileMissing:
            raise PreviewNotFound(f"the image of preview {job_id!r} is gone; request a new preview") from None

    async def render_preview(self, job_id: str) -> None:
        """Run one render attempt of a queued job (the job queue calls this, at least once).

        Idempotent: a job that is no longer queued (done, failed, or taken by another runner) is left
        alone. A failed attempt queues the job again while attempts remain, else records why it failed.
        """
        async with self._uow() as uow:
            job = await uow.previews.get(job_id, for_update=True)
            if job is None or job.status is not PreviewStatus.QUEUED:
                return
            job = job.start(self._clock.now(), self._retries)
            await uow.previews.update(job)
            await uow.commit()
        if job.status is not PreviewStatus.RUNNING:  # every attempt was begun before: given up
            self._metrics.render_finished("preview", _outcome(job))
            return
        try:
            async with self._uow(read_only=True) as uow:
                session = await uow.sessions.get(job.session_id)
                if session is None:
                    raise RuntimeError("the design session is gone")
                ctx = await self._load(uow, session)
            request = await self._render_request(ctx)
            png = await asyncio.to_thread(self._renderer.render, request)
            await self._storage.put(job.storage_key, png, "image/png")
        except Exception as exc:
            await self._finish(job_id, job.attempts, error=f"{type(exc).__name__}: {exc}")
            raise
        await self._finish(job_id, job.attempts, error=None)

    async def recover_stalled(self, limit: int = 100) -> int:
        """Retry (or fail) every job whose renderer vanished; returns how many were handled."""
        async with self._uow(read_only=True) as uow:
            stalled = await uow.previews.stalled(self._clock.now() - self._stall_after, limit)
        for job in stalled:
            await self._recover(job.id)
        return len(stalled)

    # -- internals -----------------------------------------------------------------------------

    @property
    def _stall_after(self) -> timedelta:
        # A runner that has not reported within its lease is gone (see `preview_retries`).
        return self._retries.lease

    async def _reusable(self, job: PreviewJob, now: datetime) -> bool:
        """Whether an earlier job of the same design answers a new request: still in progress, or
        done with its file in place."""
        if job.is_stalled(now, self._stall_after):
            return False
        return job.status is not PreviewStatus.DONE or await self._storage.exists(job.storage_key)

    async def _finish(self, job_id: str, attempt: int, error: str | None) -> None:
        """Record the outcome of attempt number ``attempt``, unless the job moved on meanwhile (the
        attempt's lease ran out and another began, or it was failed as stalled)."""
        requeue = False
        async with self._uow() as uow:
            job = await uow.previews.get(job_id, for_update=True)
            if job is None or not job.owns(attempt, self._retries):
                return
            now = self._clock.now()
            job = job.finish(now) if error is None else job.fail(error, now, self._retries)
            requeue = job.status is PreviewStatus.QUEUED
            await uow.previews.update(job)
            await uow.commit()
        self._metrics.render_finished("preview", _outcome(job))
        if requeue:
            await self._queue.enqueue(
                RENDER_PREVIEW, {"job_id": job_id}, job_id=f"{job_id}-{job.attempts + 1}"
            )

    async def _recover(self, job_id: str) -> PreviewJob | None:
        async with self._uow() as uow:
            job = await uow.previews.get(job_id, for_update=True)
            now = self._clock.now()
            if job is None or not job.is_stalled(now, self._stall_after):
                return job
            attempted = job.status is PreviewStatus.RUNNING
            if attempted:
                job = job.fail("the renderer stopped before finishing", now, self._retries)
            else:
                job = replace(job, updated_at=now)
            await uow.previews.update(job)
            await uow.commit()
        if attempted:  # a job that was never started made no attempt to count
            self._metrics.render_finished("preview", _outcome(job))
        if job.status is PreviewStatus.QUEUED:
            await self._queue.enqueue(
                RENDER_PREVIEW, {"job_id": job_id}, job_id=f"{job_id}-r{int(now.timestamp())}"
            )
        return job

    async def _render_request(self, ctx: _Context) -> RenderRequest:
        design, problems = check_design(
            ctx.template.definition, ctx.option_sets, ctx.session.options, assets=ctx.asset_infos
        )
        if design is None:
            raise RuntimeError(f"the stored design no longer fits its template: {problems[0].message}")
        images: dict[str, bytes] = {}
        for value in design.values.values():
            if isinstance(value, ImageValue):
                images[value.asset_id] = await self._storage.get(ctx.assets[value.asset_id].storage_key)
        labels: dict[str, tuple[str, ...]] = {}
        for zone in ctx.template.definition.zones:
            chosen = design.values.get(zone.id)
            option_set = ctx.option_sets.get(zone.option_set_id) if isinstance(zone, OptionZone) else None
            if option_set is not None and chosen is not None:
                codes = chosen if isinstance(chosen, tuple) else (chosen,)
                labels[zone.id] = tuple(
                    o.label for c in codes if isinstance(c, str) and (o := option_set.option(c))
                )
        return RenderRequest(ctx.template.definition, design, images, labels, self._preview_side)

    def _quote(self, ctx: _Context, design: Design | None = None) -> DesignQuote:
        if design is None:
            design, _ = check_design(
                ctx.template.definition, ctx.option_sets, ctx.session.options, assets=ctx.asset_infos
            )
        return quote_design(ctx.product, ctx.template.definition, ctx.option_sets, design or Design({}))

    async def _context(self, uow: UnitOfWork, session_id: str, session_key: str | None) -> _Context:
        now = self._clock.now()
        guest = await live_guest(uow, session_key, now)
        session = await uow.sessions.get(session_id)
        if session is None or not session.owned_by(guest) or not session.is_live(now):
            raise SessionNotFound(f"there is no session {session_id!r}")
        return await self._load(uow, session)

    async def _load(self, uow: UnitOfWork, session: CustomizationSession) -> _Context:
        source = await design_source(uow, session.product_id, session.template_id, self._cache)
        if source.product is None or source.template is None:
            raise SessionNotFound(f"the product of session {session.id!r} is gone")
        assets = {asset.id: asset for asset in await uow.assets.list_for_session(session.id)}
        return _Context(session, source.product, source.template, source.option_sets, assets)


def _outcome(job: PreviewJob) -> RenderOutcome:
    """How the attempt that left ``job`` in its state ended."""
    if job.status is PreviewStatus.DONE:
        return "succeeded"
    return "retried" if job.status is PreviewStatus.QUEUED else "failed"
