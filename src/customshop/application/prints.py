"""Print files: each line of a paid order rendered again, at print resolution, from its snapshot;
and, once an order's print files are all ready, its delivery to the fulfillment partner.

A rendering runs as a job. It is scheduled in the transaction that records the payment (every line
pending, due now), handed to the job queue by :meth:`PrintFiles.render_due` (every serving process
runs it, leasing what it hands on), and made by :meth:`PrintFiles.render`, which draws the line's
design twice with the renderer of previews: at print resolution (the canvas's physical size at its
DPI, or its own pixels) and at preview size. A rendering that fails is tried again after a while, at
most :data:`MAX_ATTEMPTS` times, then the print file is ``failed`` with the reason; a worker that
dies mid-rendering leaves its lease to run out, and the rendering is handed on again. Attempts,
leases, delays and giving up follow the :class:`~customshop.domain.retries.RetryPolicy` every
retried job follows; an attempt records its outcome only while it is the line's current one.

Each rendering has its own id, a capability like a preview's: ``/print-files/{id}`` serves the print
file, ``/print-files/{id}/preview`` the preview and ``/print-files/{id}/assets/{asset_id}`` the
line's uploaded images. ``orders reprint`` gives every line a new rendering.

The transaction that makes an order's last print file ready (holding the order's row, so that two
lines finishing at once cannot both miss it) adds the fulfillment delivery: a webhook delivery to the
configured fulfillment endpoint, signed with its secret, sent, retried and logged like every other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from customshop.application.checkout import OrderNotFound
from customshop.application.orders import schedule_prints
from customshop.application.ports import (
    Clock,
    FileMissing,
    FileStorage,
    IdGenerator,
    JobQueue,
    Metrics,
    NoMetrics,
    Renderer,
    RenderRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from customshop.application.webhooks import (
    FULFILLMENT_ENDPOINT,
    FULFILLMENT_EVENT,
    LEASE,
    Webhooks,
    delivery_body,
    rfc3339,
)
from customshop.domain.customization import Asset
from customshop.domain.errors import NotFound
from customshop.domain.orders import (
    PAID_STATES,
    IllegalTransition,
    Order,
    OrderLine,
    PrintFile,
    PrintStatus,
)
from customshop.domain.prints import PrintJob
from customshop.domain.retries import GiveUp, JobStatus, RetryPolicy
from customshop.domain.template_parsing import load_definition
from customshop.domain.templates import OptionZone, TemplateDefinition
from customshop.domain.validation import AssetInfo, Design, check_design
from customshop.domain.visibility import resolve
from customshop.domain.webhooks import WebhookDelivery

log = logging.getLogger(__name__)

#: The job that makes one rendering of one line's print file.
RENDER_PRINT = "render_print"
#: Seconds to wait after each failed rendering before the next; one more failure and it is given up.
RETRY_DELAYS: tuple[float, ...] = (10, 60, 300)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


class PrintFileNotFound(NotFound):
    pass


def print_key(file_id: str) -> str:
    return f"prints/{file_id}.png"


def print_preview_key(file_id: str) -> str:
    return f"prints/{file_id}-preview.png"


def image_asset_ids(options: Mapping[str, Any]) -> list[str]:
    """The ids of the uploaded images a line's design uses, in zone order."""
    return [
        str(value["asset_id"])
        for value in options.values()
        if isinstance(value, Mapping) and isinstance(value.get("asset_id"), str)
    ]


@dataclass(frozen=True, slots=True)
class PrintFileBytes:
    """A file of a rendering, for HTTP."""

    data: bytes
    content_type: str


class PrintFiles:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        queue: JobQueue,
        storage: FileStorage,
        renderer: Renderer,
        webhooks: Webhooks,
        *,
        public_url: str,
        render_timeout: timedelta,
        preview_side: int,
        fulfillment: bool,
        metrics: Metrics | None = None,
    ) -> None:
        self._uow = uow
        self._metrics = metrics or NoMetrics()
        self._clock = clock
        self._ids = ids
        self._queue = queue
        self._storage = storage
        self._renderer = renderer
        self._webhooks = webhooks
        self._public_url = public_url.rstrip("/")
        # The queue stops a rendering at the timeout; one not finished by twice that is gone.
        self._retries = RetryPolicy(delays=RETRY_DELAYS, lease=render_timeout * 2, jitter=0.0)
        self._preview_side = preview_side
        self._fulfillment = fulfillment

    # -- scheduling ------------------------------------------------------------------------------

    async def render_due(self, batch: int = 100) -> int:
        """Hand the renderings that are due (new ones, retries, and those whose worker died) to the
        job queue; returns how many."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.prints.due(now, self._retries.lease_until(now), batch)
            await uow.commit()
        for job in due:
            await self._render_later(job)
        return len(due)

    async def reprint(self, order_id: str) -> list[PrintJob]:
        """Render every print file of a paid order again, each under a new id (``orders reprint``).

        Raises:
            OrderNotFound. IllegalTransition: the order is not paid, or was refunded.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            order = await uow.orders.get(order_id, for_update=True)
            if order is None:
                raise OrderNotFound(f"there is no order {order_id!r}")
            if order.status not in PAID_STATES:
                raise IllegalTransition(f"an order that is {order.status} has no print files to make")
            # Leased at once: sent now, not by the next `render_due` too.
            jobs = await schedule_prints(uow, order, self._ids, self._retries.lease_until(now))
            await uow.commit()
        for job in jobs:
            await self._render_later(job)
        return jobs

    async def _render_later(self, job: PrintJob) -> None:
        file_id, attempt = job.file.id or "", job.attempts + 1
        await self._queue.enqueue(
            RENDER_PRINT,
            {"line_id": job.line_id, "file_id": file_id, "attempt": attempt},
            job_id=f"print-{file_id}-{attempt}",
        )

    # -- rendering -------------------------------------------------------------------------------

    async def render(self, line_id: str, file_id: str, attempt: int | None = None) -> PrintFile | None:
        """Make rendering attempt number ``attempt`` (from 1; None: the next, whichever it is) of a
        line's print file (the job queue calls this, at least once). Idempotent: a print file that
        is no longer pending under ``file_id`` (ready, failed, or reprinted since), or whose attempt
        ``attempt`` was begun already, is left alone, and None returned; so is the outcome of an
        attempt overtaken meanwhile (its lease ran out and a newer one began). Returns where the
        file stands."""
        now = self._clock.now()
        async with self._uow() as uow:
            job = await uow.prints.get(line_id, for_update=True)
            if not _awaited(job, file_id) or (attempt is not None and job.attempts != attempt - 1):
                return None
            begun = self._retries.attempts(job.attempts).begin(now)
            if isinstance(begun, GiveUp):
                # Every attempt was started and none reported back: the renderer dies on this design.
                reason = f"{begun.attempts} renderings were started and none finished"
                failed = await self._finish(uow, job, PrintFile(PrintStatus.FAILED, file_id, reason), now)
                return self._observed(failed)
            job = replace(job, attempts=begun.attempt, due_at=begun.until)
            await uow.prints.update(job)
            order = await uow.orders.get(job.order_id)
            assets = {a.id: a for aid in _line_assets(order, line_id) if (a := await uow.assets.get(aid))}
            await uow.commit()
        line = next((line for line in order.lines if line.id == line_id), None) if order else None
        if line is None:
            return None
        try:
            print_png, preview_png = await self._draw(line, assets)
            await self._storage.put(print_key(file_id), print_png, "image/png")
            await self._storage.put(print_preview_key(file_id), preview_png, "image/png")
        except Exception as exc:  # a rendering may fail in many ways; each is recorded and retried
            log.warning("print file %s of line %s failed: %s", file_id, line_id, exc)
            error = f"{type(exc).__name__}: {exc}"
            return self._observed(await self._failed(line_id, file_id, job.attempts, error))
        return self._observed(await self._ready(line_id, file_id, job.attempts))

    def _observed(self, file: PrintFile | None) -> PrintFile | None:
        """Count the outcome of a rendering attempt that settled ``file`` (None: it settled nothing,
        the file having moved on meanwhile); returns ``file``."""
        if file is not None:
            if file.status is PrintStatus.READY:
                self._metrics.render_finished("print", "succeeded")
            elif file.status is PrintStatus.FAILED:
                self._metrics.render_finished("print", "failed")
            else:  # still pending: due again after the retry delay
                self._metrics.render_finished("print", "retried")
        return file

    async def _draw(self, line: OrderLine, assets: Mapping[str, Asset]) -> tuple[bytes, bytes]:
        definition, design = _artwork(load_definition(line.template_snapshot), line.options, assets)
        images = {asset_id: await self._storage.get(asset.storage_key) for asset_id, asset in assets.items()}
        width, height = definition.canvas.print_size
        printed = RenderRequest(definition, design, images, {}, max(width, height), dpi=definition.canvas.dpi)
        preview = RenderRequest(definition, design, images, {}, self._preview_side)
        return (
            await asyncio.to_thread(self._renderer.render, printed),
            await asyncio.to_thread(self._renderer.render, preview),
        )

    async def _failed(self, line_id: str, file_id: str, attempt: int, error: str) -> PrintFile | None:
        now = self._clock.now()
        async with self._uow() as uow:
            job = await uow.prints.get(line_id, for_update=True)
            if not self._current(job, file_id, attempt):
                return None
            retry = self._retries.attempts(job.attempts).failed(now, 0.0)
            if isinstance(retry, GiveUp):
                return await self._finish(uow, job, PrintFile(PrintStatus.FAILED, file_id, error), now)
            job = replace(job, file=PrintFile(PrintStatus.PENDING, file_id, error), due_at=retry.at)
            await uow.prints.update(job)
            await uow.commit()
        return job.file

    async def _ready(self, line_id: str, file_id: str, attempt: int) -> PrintFile | None:
        now = self._clock.now()
        async with self._uow() as uow:
            status = await uow.prints.get(line_id)
            # The order's row first (as a reprint takes it), so that of two lines finishing at once
            # one sees the other ready.
            if status is None or await uow.orders.lock(status.order_id) is None:
                return None
            job = await uow.prints.get(line_id, for_update=True)
            if not self._current(job, file_id, attempt):
                return None
            self._retries.attempts(job.attempts).succeeded()
            return await self._finish(uow, job, PrintFile(PrintStatus.READY, file_id), now)

    def _current(self, job: PrintJob | None, file_id: str, attempt: int) -> TypeGuard[PrintJob]:
        """Whether attempt number ``attempt`` of rendering ``file_id`` may record its outcome: the
        rendering still awaited, and no newer attempt begun since."""
        return _awaited(job, file_id) and self._retries.attempts(job.attempts).is_current(attempt)

    async def _finish(self, uow: UnitOfWork, job: PrintJob, file: PrintFile, now: datetime) -> PrintFile:
        """Record the outcome of the rendering and commit; when it was the order's last print file
        to become ready, add the fulfillment delivery too, and send it."""
        await uow.prints.update(replace(job, file=file, due_at=None))
        delivery = None
        if file.status is PrintStatus.READY and self._fulfillment:
            order = await uow.orders.get(job.order_id)
            if order is not None and order.prints_ready and order.status in PAID_STATES:
                delivery = await self._fulfillment_delivery(uow, order, now)
        if file.status is PrintStatus.FAILED:
            log.error("print file %s of order %s failed: %s", file.id, job.order_id, file.error)
        await uow.commit()
        if delivery is not None:
            await self._webhooks.send_later(delivery)
        return file

    # -- fulfillment -----------------------------------------------------------------------------

    async def _fulfillment_delivery(self, uow: UnitOfWork, order: Order, now: datetime) -> WebhookDelivery:
        assets: dict[str, Asset] = {}
        for line in order.lines:
            for asset_id in image_asset_ids(line.options):
                if (asset := await uow.assets.get(asset_id)) is not None:
                    assets[asset_id] = asset
        event_id = self._ids.new_id()
        body = delivery_body(FULFILLMENT_EVENT, now, self.payload(order, assets))
        delivery = WebhookDelivery(
            id=self._ids.new_id(),
            endpoint_id=FULFILLMENT_ENDPOINT,
            event_id=event_id,
            event=FULFILLMENT_EVENT,
            body=body,
            attempts=0,
            status=JobStatus.PENDING,
            next_attempt_at=now + LEASE,  # sent at once below; due again if that send is lost
            created_at=now,
            updated_at=now,
        )
        await uow.webhooks.add_delivery(delivery)
        return delivery

    def payload(self, order: Order, assets: Mapping[str, Asset]) -> dict[str, Any]:
        """What the fulfillment partner gets: the order, its shipping address, and per line the
        options, template snapshot, uploaded images and the preview and print file, with URLs."""
        return {
            "order_id": order.id,
            "status": order.status.value,
            "email": order.email,
            "created_at": rfc3339(order.created_at),
            "paid_at": rfc3339(order.paid_at) if order.paid_at else None,
            "currency": order.currency,
            "subtotal": order.subtotal.amount,
            "discount_total": order.discount_total.amount,
            "discounts": [
                {
                    "promotion_id": d.promotion_id,
                    "code": d.code,
                    "description": d.description,
                    "amount": d.amount,
                }
                for d in order.discounts
            ],
            "shipping": order.shipping.amount,
            "shipping_method": (
                None
                if order.shipping_method is None
                else {"id": order.shipping_method.id, "name": order.shipping_method.name}
            ),
            "tax": order.tax.amount,
            "tax_lines": [
                {"name": t.name, "rate_bps": t.rate_bps, "amount": t.amount} for t in order.tax_lines
            ],
            "prices_include_tax": order.prices_include_tax,
            "region_id": order.region_id,
            "total": order.total.amount,
            "shipping_address": order.shipping_address.to_dict(),
            "lines": [self._line_payload(line, assets) for line in order.lines],
        }

    def _line_payload(self, line: OrderLine, assets: Mapping[str, Asset]) -> dict[str, Any]:
        canvas = load_definition(line.template_snapshot).canvas
        width, height = canvas.print_size
        scale = max(width, height) / max(canvas.width, canvas.height)
        file_id = line.print_file.id or ""
        base = f"{self._public_url}/print-files/{file_id}"
        images = []
        for zone_id, value in line.options.items():
            if isinstance(value, Mapping) and (asset := assets.get(str(value.get("asset_id")))) is not None:
                images.append(
                    {
                        "zone_id": zone_id,
                        "asset_id": asset.id,
                        "content_type": asset.content_type,
                        "width": asset.width,
                        "height": asset.height,
                        "url": f"{base}/assets/{asset.id}",
                    }
                )
        return {
            "id": line.id,
            "product_id": line.product_id,
            "product_name": line.product_name,
            "template_id": line.template_id,
            "template_version": line.template_version,
            "template_snapshot": line.template_snapshot,
            "options": line.options,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "line_total": line.line_total,
            "volume_discount": line.volume_discount,
            "discount": line.discount,
            "tax": line.tax,
            "assets": images,
            "preview_url": f"{base}/preview",
            "print_file": {
                "status": line.print_file.status.value,
                "url": base,
                "width": max(1, round(canvas.width * scale)),
                "height": max(1, round(canvas.height * scale)),
                "dpi": canvas.dpi,
            },
        }

    # -- files -----------------------------------------------------------------------------------

    async def file(self, file_id: str, kind: str, asset_id: str | None = None) -> PrintFileBytes:
        """A ready rendering's print file (``kind="print"``), preview (``"preview"``), or one of the
        line's uploaded images (``"asset"``, with ``asset_id``).

        Raises:
            PrintFileNotFound: unknown id, not ready, an asset the line does not use, or a file gone.
        """
        async with self._uow(read_only=True) as uow:
            job = await uow.prints.find(file_id)
            if job is None or job.file.status is not PrintStatus.READY:
                raise PrintFileNotFound(f"there is no ready print file {file_id!r}")
            key, content_type = print_key(file_id), "image/png"
            if kind == "preview":
                key = print_preview_key(file_id)
            elif kind == "asset":
                order = await uow.orders.get(job.order_id)
                asset = await uow.assets.get(asset_id or "")
                if asset is None or asset.id not in _line_assets(order, job.line_id):
                    raise PrintFileNotFound(
                        f"the design of print file {file_id!r} uses no image {asset_id!r}"
                    )
                key, content_type = asset.storage_key, asset.content_type
        try:
            return PrintFileBytes(await self._storage.get(key), content_type)
        except FileMissing:
            raise PrintFileNotFound(
                f"the file of print file {file_id!r} is gone; reprint the order"
            ) from None


def _awaited(job: PrintJob | None, file_id: str) -> TypeGuard[PrintJob]:
    """Whether ``job`` still waits for the rendering ``file_id`` (not made since, nor reprinted)."""
    return job is not None and job.file.id == file_id and job.file.status is PrintStatus.PENDING


def _line_assets(order: Order | None, line_id: str) -> list[str]:
    line = next((line for line in order.lines if line.id == line_id), None) if order else None
    return image_asset_ids(line.options) if line else []


def _artwork(
    snapshot: TemplateDefinition, options: Mapping[str, Any], assets: Mapping[str, Asset]
) -> tuple[TemplateDefinition, Design]:
    """The line's design as the renderer draws it, and the definition to draw it on. Option zones
    draw nothing, so their codes are left out: the option sets may have changed since the order, the
    snapshot's artwork has not. The codes only decide, first, which conditional zones the line
    shows: the snapshot is resolved with them (hidden zones left out, conditions dropped)."""
    definition = resolve(snapshot, options)
    hidden = {zone.id for zone in snapshot.zones} - {zone.id for zone in definition.zones}
    artwork = {
        k: v for k, v in options.items() if k not in hidden and not isinstance(definition.zone(k), OptionZone)
    }
    infos = {a.id: AssetInfo(a.id, a.content_type, a.width, a.height, a.bytes) for a in assets.values()}
    design, problems = check_design(definition, {}, artwork, assets=infos)
    if design is None:
        raise ValueError(f"the design no longer fits its snapshot: {problems[0].message}")
    return definition, design
