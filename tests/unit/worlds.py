"""Use cases wired on the in-memory adapters for unit tests that look at them from more than one
side: a customization world with the real Pillow sanitizer and renderer, a print-file shop with a
paid order to render, and events committed to the outbox as a use case would."""

from __future__ import annotations

import io
from datetime import timedelta
from functools import partial
from typing import Any

from PIL import Image

from customshop.adapters.imaging import PillowImageProcessor, PillowRenderer
from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.memory.storage import MemoryFileStorage
from customshop.adapters.system import UuidV7Ids
from customshop.application.catalog import Catalog, ProductInput, TemplateInput
from customshop.application.customization import RENDER_PREVIEW, Customization
from customshop.application.orders import schedule_prints
from customshop.application.ports import Metrics
from customshop.application.prints import RENDER_PRINT, PrintFiles
from customshop.application.webhooks import FulfillmentTarget, Webhooks
from customshop.domain.customization import Asset
from customshop.domain.hashing import hash_secret
from customshop.domain.orders import Order, OrderLine, ShippingAddress
from customshop.domain.pricing import PriceComponent
from customshop.domain.webhooks import format_secret
from tests.builders import IDS, T0, quoted
from tests.fakes import FlakyRenderer, Receiver, RecordingQueue, refuse_all


async def stored_events(store: MemoryStore, *events: Any) -> None:
    """Commit ``events`` to the outbox, as a use case that recorded them would."""
    async with MemoryUnitOfWork(store) as uow:
        await uow.outbox.add(events)
        await uow.commit()


class World:
    """Catalog and customization on one memory store, previews rendered by an in-process queue;
    ``lose`` jobs are dropped before any runs, as a process that died before running them."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock()
        self.files = MemoryFileStorage()
        self.ran: list[str] = []
        self.lose = 0
        uow = partial(MemoryUnitOfWork, self.store)
        self.queue = InProcessJobQueue(self._dispatch)
        self.catalog = Catalog(uow, self.clock, UuidV7Ids(), "USD")
        self.customization = Customization(
            uow,
            self.clock,
            UuidV7Ids(),
            self.files,
            PillowImageProcessor(),
            PillowRenderer(),
            self.queue,
            session_ttl=timedelta(days=7),
            render_timeout=timedelta(seconds=30),
            preview_side=200,
            metrics=metrics,
        )

    async def _dispatch(self, job: str, payload: Any) -> None:
        assert job == RENDER_PREVIEW
        if self.lose:
            self.lose -= 1
            return
        self.ran.append(payload["job_id"])
        await self.customization.render_preview(payload["job_id"])

    async def designed_session(self) -> tuple[str, str, str]:
        product = await self.catalog.create_product(
            ProductInput(name="Poster", description="", base_price=500)
        )
        definition = {
            "canvas": {"width": 400, "height": 400},
            "zones": [
                {"id": "photo", "type": "image", "area": {"x": 0, "y": 0, "width": 400, "height": 400}}
            ],
        }
        await self.catalog.create_template(TemplateInput(product.id, 1, definition))
        view = await self.customization.start(product.id, None, None)
        assert view.session_key is not None
        png = io.BytesIO()
        Image.new("RGB", (300, 300), (10, 20, 30)).save(png, "PNG")
        png.seek(0)
        asset = await self.customization.upload(view.session.id, view.session_key, png, 1000)
        await self.customization.update(view.session.id, view.session_key, {"photo": {"asset_id": asset.id}})
        return view.session.id, view.session_key, asset.storage_key


# -- print files -----------------------------------------------------------------------------------

SECRET = format_secret(b"f" * 32)
#: 40 × 60 canvas pixels printed at 20 × 30 mm, 254 DPI: 200 × 300 pixels.
SNAPSHOT: dict[str, Any] = {
    "canvas": {
        "width": 40,
        "height": 60,
        "background": "#ffffff",
        "dpi": 254,
        "width_mm": 20,
        "height_mm": 30,
    },
    "zones": [
        {
            "id": "photo",
            "type": "image",
            "label": "Photo",
            "required": True,
            "allowed_types": ["image/png"],
            "max_bytes": 1_000_000,
            "min_width": 1,
            "min_height": 1,
            "price_delta": 0,
            "area": {"x": 0, "y": 0, "width": 40, "height": 30},
        },
        {
            "id": "name",
            "type": "text",
            "label": "Name",
            "required": False,
            "min_length": 0,
            "max_length": 20,
            "fonts": ["Sans"],
            "price_delta": 0,
            "area": {"x": 0, "y": 30, "width": 40, "height": 30},
        },
        {
            "id": "size",
            "type": "option",
            "label": "Size",
            "required": True,
            "option_set_id": "gone",
            "multiple": False,
        },
    ],
}
RED = (200, 0, 0)


class Setup:
    """Print files of paid orders on one memory store: jobs kept for the test to run
    (:meth:`run_renders`), a renderer that fails ``failures`` times, a receiver for the fulfillment
    delivery (configured unless ``fulfillment`` is false)."""

    def __init__(
        self, *, failures: int = 0, fulfillment: bool = True, metrics: Metrics | None = None
    ) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock(T0)
        self.jobs = RecordingQueue()
        self.storage = MemoryFileStorage()
        self.renderer = FlakyRenderer(failures)
        self.receiver = Receiver()
        uow = partial(MemoryUnitOfWork, self.store)
        target = FulfillmentTarget("http://10.0.0.7/orders", SECRET) if fulfillment else None
        self.webhooks = Webhooks(
            uow,
            self.clock,
            IDS,
            self.jobs,
            self.receiver,
            refuse_all,
            (5,),
            fulfillment=target,
            metrics=metrics,
        )
        self.prints = PrintFiles(
            uow,
            self.clock,
            IDS,
            self.jobs,
            self.storage,
            self.renderer,
            self.webhooks,
            public_url="https://shop.example/",
            render_timeout=timedelta(seconds=30),
            preview_side=50,
            fulfillment=fulfillment,
            metrics=metrics,
        )

    async def paid_order(self, lines: int = 2) -> Order:
        photo = io.BytesIO()
        Image.new("RGB", (64, 48), RED).save(photo, "PNG")
        asset = Asset(
            "asset-1", "session", "image/png", 64, 48, 999, "digest", "assets/session/asset-1.png", T0
        )
        await self.storage.put(asset.storage_key, photo.getvalue(), "image/png")
        order_lines = tuple(
            OrderLine(
                id=f"line-{n}",
                product_id="tee",
                product_name="Tee",
                template_id="template",
                template_version=3,
                template_snapshot=SNAPSHOT,
                options={"photo": {"asset_id": asset.id}, "name": {"text": f"Ada {n}"}, "size": "L"},
                components=(PriceComponent("size", "L", "Large", 0),),
                unit_price=1500,
                quantity=1,
            )
            for n in range(lines)
        )
        order = Order.place(
            id=IDS.new_id(),
            guest="guest",
            email="ada@example.com",
            shipping_address=ShippingAddress("Ada", "1 Main St", "Springfield", "12345", "US"),
            lines=order_lines,
            quote=quoted(order_lines),
            stock=(),
            reserved_until=T0 + timedelta(minutes=30),
            payment_provider="test",
            at=T0,
        )
        order.confirm_placement(hash_secret("order-token"), "payment", T0)
        order.mark_paid("payment", order.total.amount, "USD", T0)
        async with MemoryUnitOfWork(self.store) as uow:
            await uow.assets.add(asset)
            await uow.orders.add(order)
            await schedule_prints(uow, order, IDS, T0)  # what taking the payment does
            await uow.commit()
        return order

    async def order(self, order_id: str) -> Order:
        async with MemoryUnitOfWork(self.store, read_only=True) as uow:
            order = await uow.orders.get(order_id)
        assert order is not None
        return order

    async def run_renders(self) -> None:
        for payload in self.jobs.take(RENDER_PRINT):
            await self.prints.render(payload["line_id"], payload["file_id"])
