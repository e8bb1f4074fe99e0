"""An in-memory unit of work: each block works on a copy of the store and publishes it on commit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

from customshop.adapters.memory.cart import MemoryCartDetailsRepository, MemoryCartRepository
from customshop.adapters.memory.catalog_io import MemoryBulkCatalogRepository
from customshop.adapters.memory.customization import (
    MemoryAssetRepository,
    MemoryGuestKeyRepository,
    MemoryPreviewRepository,
    MemorySessionRepository,
)
from customshop.adapters.memory.emails import MemoryEmailRepository
from customshop.adapters.memory.orders import (
    MemoryIdempotencyRepository,
    MemoryInventoryRepository,
    MemoryOrderRepository,
    MemoryPaymentRepository,
    MemoryPrintRepository,
    MemoryWebhookReceipts,
)
from customshop.adapters.memory.outbox import MemoryOutbox, MemoryWebhookRepository
from customshop.adapters.memory.pricing import (
    MemoryPromotionRepository,
    MemoryPromotionUses,
    MemoryRegionRepository,
    MemoryShippingMethodRepository,
)
from customshop.adapters.memory.reports import MemoryReportRepository
from customshop.application.outbox import stage_events
from customshop.application.ports import Page
from customshop.domain.access import ApiKey
from customshop.domain.cart import CartDetails, CartLine
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.customization import Asset, CustomizationSession, PreviewJob
from customshop.domain.emails import EmailDelivery
from customshop.domain.errors import Conflict, DuplicateSlug, DuplicateTemplateVersion
from customshop.domain.idempotency import IdempotencyRecord
from customshop.domain.inventory import StockKey, StockLevel
from customshop.domain.orders import Order
from customshop.domain.outbox import OutboxMessage
from customshop.domain.payments import Payment
from customshop.domain.prints import PrintJob
from customshop.domain.promotions import Promotion
from customshop.domain.regions import Region
from customshop.domain.shipping import ShippingMethod
from customshop.domain.templates import Template
from customshop.domain.webhooks import WebhookDelivery, WebhookEndpoint, WebhookLog

T = TypeVar("T")


def _page(items: Iterable[T], key: Callable[[T], str], after: str | None, limit: int) -> Page[T]:
    ordered = sorted((item for item in items if after is None or key(item) > after), key=key)
    chosen = ordered[: limit + 1]
    if len(chosen) > limit:
        return Page(chosen[:limit], key(chosen[limit - 1]))
    return Page(chosen, None)


@dataclass
class MemoryStore:
    """The committed state, shared by every unit of work made from it."""

    products: dict[str, Product] = field(default_factory=dict)
    option_sets: dict[str, OptionSet] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    sessions: dict[str, CustomizationSession] = field(default_factory=dict)
    #: Issued session keys by hash: when each expires.
    guest_keys: dict[str, datetime] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    previews: dict[str, PreviewJob] = field(default_factory=dict)
    cart_items: dict[str, CartLine] = field(default_factory=dict)
    cart_details: dict[str, CartDetails] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    stock: dict[StockKey, StockLevel] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    receipts: dict[tuple[str, str], datetime] = field(default_factory=dict)
    outbox: dict[str, OutboxMessage] = field(default_factory=dict)
    outbox_leases: dict[str, datetime] = field(default_factory=dict)
    webhook_endpoints: dict[str, WebhookEndpoint] = field(default_factory=dict)
    webhook_deliveries: dict[str, WebhookDelivery] = field(default_factory=dict)
    webhook_logs: dict[str, WebhookLog] = field(default_factory=dict)
    emails: dict[str, EmailDelivery] = field(default_factory=dict)
    prints: dict[str, PrintJob] = field(default_factory=dict)
    regions: dict[str, Region] = field(default_factory=dict)
    shipping_methods: dict[str, ShippingMethod] = field(default_factory=dict)
    promotions: dict[str, Promotion] = field(default_factory=dict)
    #: The uses of promotions held by orders: ``(promotion_id, order_id)`` -> the email, lower case.
    promotion_uses: dict[tuple[str, str], str] = field(default_factory=dict)
    #: A dict like the other collections, so copying and publishing treat it the same way.
    catalog_state: dict[str, int] = field(default_factory=lambda: {"version": 1})
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    #: The collections a unit of work copies and publishes.
    COLLECTIONS = (
        "products",
        "option_sets",
        "templates",
        "api_keys",
        "sessions",
        "guest_keys",
        "assets",
        "previews",
        "cart_items",
        "cart_details",
        "orders",
        "payments",
        "stock",
        "idempotency",
        "receipts",
        "outbox",
        "outbox_leases",
        "webhook_endpoints",
        "webhook_deliveries",
        "webhook_logs",
        "emails",
        "prints",
        "regions",
        "shipping_methods",
        "promotions",
        "promotion_uses",
        "catalog_state",
    )

    def copy(self) -> MemoryStore:
        return MemoryStore(lock=self.lock, **{name: dict(getattr(self, name)) for name in self.COLLECTIONS})

    def publish(self, work: MemoryStore) -> None:
        for name in self.COLLECTIONS:
            setattr(self, name, dict(getattr(work, name)))


class MemoryProductRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    def _check_slug(self, product: Product) -> None:
        if any(p.slug == product.slug and p.id != product.id for p in self._state.products.values()):
            raise DuplicateSlug(f"another product already uses the slug {product.slug!r}")

    async def add(self, product: Product) -> None:
        self._check_slug(product)
        self._state.products[product.id] = product

    async def update(self, product: Product) -> None:
        self._check_slug(product)
        if product.id in self._state.products:  # like SQL UPDATE: an unknown id changes nothing
            self._state.products[product.id] = product

    async def get(self, product_id: str) -> Product | None:
        return self._state.products.get(product_id)

    async def list(self, *, active_only: bool, after: str | None, limit: int) -> Page[Product]:
        products = (p for p in self._state.products.values() if p.active or not active_only)
        return _page(products, lambda p: p.id, after, limit)


class MemoryOptionSetRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, option_set: OptionSet) -> None:
        self._state.option_sets[option_set.id] = option_set

    async def update(self, option_set: OptionSet) -> None:
        if option_set.id in self._state.option_sets:  # like SQL UPDATE: an unknown id changes nothing
            self._state.option_sets[option_set.id] = option_set

    async def delete(self, option_set_id: str) -> None:
        self._state.option_sets.pop(option_set_id, None)

    async def get(self, option_set_id: str) -> OptionSet | None:
        return self._state.option_sets.get(option_set_id)

    async def get_many(self, option_set_ids: Iterable[str]) -> Mapping[str, OptionSet]:
        return {i: s for i in option_set_ids if (s := self._state.option_sets.get(i)) is not None}

    async def list(self, *, product_id: str | None, after: str | None, limit: int) -> Page[OptionSet]:
        sets = (
            s for s in self._state.option_sets.values() if product_id is None or s.product_id == product_id
        )
        return _page(sets, lambda s: s.id, after, limit)


class MemoryTemplateRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    def _of(self, product_id: str) -> list[Template]:
        return [t for t in self._state.templates.values() if t.product_id == product_id]

    async def add(self, template: Template) -> None:
        siblings = self._of(template.product_id)
        if any(t.version == template.version for t in siblings):
            raise DuplicateTemplateVersion(f"version {template.version} of this product exists already")
        if template.is_default and any(t.is_default for t in siblings):
            raise Conflict("another template became the default at the same time")
        self._state.templates[template.id] = template

    async def update(self, template: Template) -> None:
        current = self._state.templates.get(template.id)
        if current is None:
            return
        if template.is_default and any(
            t.is_default and t.id != template.id for t in self._of(template.product_id)
        ):
            raise Conflict("another template became the default at the same time")
        self._state.templates[template.id] = replace(
            current, definition=template.definition, status=template.status, is_default=template.is_default
        )

    async def get_default(self, product_id: str) -> Template | None:
        return next((t for t in self._of(product_id) if t.is_default), None)

    async def get(self, template_id: str, *, for_update: bool = False) -> Template | None:
        return self._state.templates.get(template_id)

    async def get_version(self, product_id: str, version: int) -> Template | None:
        return next((t for t in self._of(product_id) if t.version == version), None)

    async def clear_default(self, product_id: str) -> None:
        for template in self._of(product_id):
            if template.is_default:
                self._state.templates[template.id] = replace(template, is_default=False)

    async def list_for_product(
        self, product_id: str, *, before_version: int | None, limit: int, include_drafts: bool = True
    ) -> Page[Template]:
        newest_first = sorted(
            (
                t
                for t in self._of(product_id)
                if (before_version is None or t.version < before_version) and (include_drafts or t.is_public)
            ),
            key=lambda t: -t.version,
        )
        chosen = newest_first[: limit + 1]
        if len(chosen) > limit:
            return Page(chosen[:limit], str(chosen[limit - 1].version))
        return Page(chosen, None)

    async def uses_option_set(self, option_set_id: str) -> bool:
        return any(option_set_id in t.definition.option_set_ids for t in self._state.templates.values())


class MemoryApiKeyRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, key: ApiKey) -> None:
        self._state.api_keys[key.id] = key

    async def get(self, key_id: str) -> ApiKey | None:
        return self._state.api_keys.get(key_id)

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self._state.api_keys.values() if k.key_hash == key_hash), None)

    async def list(self) -> list[ApiKey]:
        return sorted(self._state.api_keys.values(), key=lambda k: k.id)

    async def revoke(self, key_id: str, at: datetime) -> None:
        key = self._state.api_keys.get(key_id)
        if key is not None:
            self._state.api_keys[key_id] = replace(key, revoked_at=at)


class MemoryCatalogVersion:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def current(self) -> int:
        return self._state.catalog_state["version"]

    async def bump(self) -> None:
        self._state.catalog_state["version"] += 1


class MemoryUnitOfWork:
    """Implements ``UnitOfWork`` over a :class:`MemoryStore`.

    Units of work are serialized on the store's lock, so concurrent blocks behave like serializable
    transactions: each sees the state the previous ones committed.
    """

    def __init__(self, store: MemoryStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._work = store.copy()
        self._bind()

    def _bind(self) -> None:
        self.products = MemoryProductRepository(self._work)
        self.option_sets = MemoryOptionSetRepository(self._work)
        self.templates = MemoryTemplateRepository(self._work)
        self.api_keys = MemoryApiKeyRepository(self._work)
        self.sessions = MemorySessionRepository(self._work)
        self.guest_keys = MemoryGuestKeyRepository(self._work)
        self.assets = MemoryAssetRepository(self._work)
        self.previews = MemoryPreviewRepository(self._work)
        self.carts = MemoryCartRepository(self._work)
        self.cart_details = MemoryCartDetailsRepository(self._work)
        self.orders = MemoryOrderRepository(self._work)
        self.payments = MemoryPaymentRepository(self._work)
        self.inventory = MemoryInventoryRepository(self._work)
        self.idempotency = MemoryIdempotencyRepository(self._work)
        self.receipts = MemoryWebhookReceipts(self._work)
        self.outbox = MemoryOutbox(self._work)
        self.webhooks = MemoryWebhookRepository(self._work)
        self.catalog_version = MemoryCatalogVersion(self._work)
        self.emails = MemoryEmailRepository(self._work)
        self.reports = MemoryReportRepository(self._work)
        self.bulk_catalog = MemoryBulkCatalogRepository(self._work)
        self.prints = MemoryPrintRepository(self._work)
        self.regions = MemoryRegionRepository(self._work)
        self.shipping_methods = MemoryShippingMethodRepository(self._work)
        self.promotions = MemoryPromotionRepository(self._work)
        self.promotion_uses = MemoryPromotionUses(self._work)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._work = self._store.copy()
        self._bind()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._store.lock.release()

    async def commit(self) -> None:
        """Publish the work, first adding to the outbox the events of every order stored in it."""
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        stored = await stage_events(self.orders.seen, self.outbox)
        self.orders.seen = []
        self._store.publish(self._work)
        for order in stored:
            order.events.clear()

    async def rollback(self) -> None:
        self._work = self._store.copy()
        self._bind()
