"""The ports: what use cases need from the world, each stated by its contract.

Adapters implement these structurally (``typing.Protocol``); ``adapters/memory`` holds an in-memory
implementation of each one, used by unit tests and by the same contract tests as the real adapters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import TracebackType
from typing import IO, Any, ClassVar, Generic, Literal, Protocol, Self, TypeVar

from customshop.domain.access import ApiKey
from customshop.domain.cart import CartLine
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.customization import Asset, CustomizationSession, PreviewJob
from customshop.domain.events import OrderEvent
from customshop.domain.inventory import StockKey, StockLevel
from customshop.domain.money import Money
from customshop.domain.orders import Order, OrderStatus, PrintFile, StockHold
from customshop.domain.payments import Payment
from customshop.domain.retries import JobStatus
from customshop.domain.templates import Template, TemplateDefinition
from customshop.domain.validation import Design

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing. ``next_after`` is the sort key to continue after, or ``None`` at the end."""

    items: list[T]
    next_after: str | None


class Clock(Protocol):
    """The current time. Always timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New opaque, unguessable identifiers. Successive ids sort in creation order within a process."""

    def new_id(self) -> str: ...


class ProductRepository(Protocol):
    """Products. Never commits; the unit of work does.

    ``add`` and ``update`` raise ``DuplicateSlug`` when another product holds the slug.
    """

    async def add(self, product: Product) -> None: ...

    async def update(self, product: Product) -> None: ...

    async def get(self, product_id: str) -> Product | None: ...

    async def list(self, *, active_only: bool, after: str | None, limit: int) -> Page[Product]:
        """Products ordered by id, those with an id greater than ``after``, at most ``limit``."""
        ...


@dataclass(frozen=True, slots=True)
class JsonPage:
    """One page of a listing already written as JSON: ``items`` is a UTF-8 JSON array, ``next_after``
    the sort key to continue after, or ``None`` at the end (as in :class:`Page`)."""

    items: bytes
    next_after: str | None


class ProductPages(Protocol):
    """The storefront's product list as a read model: pages written straight as JSON, apart from the
    repositories that writes go through (the catalog's hottest read, ``GET /products``).

    A page holds the products ``ProductRepository.list`` gives for the same arguments (ordered by
    id, after ``after``, at most ``limit``; only active ones unless ``include_inactive``), each in
    its public form: ``id, slug, name, description, base_price, currency, media: [{url, alt}],
    active, created_at, updated_at``, times in RFC 3339, UTC, as msgspec writes them.
    """

    async def page_json(self, *, include_inactive: bool, after: str | None, limit: int) -> JsonPage: ...


class OptionSetRepository(Protocol):
    """Option sets. Never commits."""

    async def add(self, option_set: OptionSet) -> None: ...

    async def update(self, option_set: OptionSet) -> None: ...

    async def delete(self, option_set_id: str) -> None: ...

    async def get(self, option_set_id: str) -> OptionSet | None: ...

    async def get_many(self, option_set_ids: Iterable[str]) -> Mapping[str, OptionSet]:
        """The sets among ``option_set_ids`` that exist, by id."""
        ...

    async def list(self, *, product_id: str | None, after: str | None, limit: int) -> Page[OptionSet]:
        """Sets ordered by id (of one product when ``product_id`` is given)."""
        ...


class TemplateRepository(Protocol):
    """Template versions. Never commits.

    ``add`` raises ``DuplicateTemplateVersion`` when the product already has that version, and
    ``Conflict`` when a concurrent writer made another template the default first.
    """

    async def add(self, template: Template) -> None: ...

    async def get_default(self, product_id: str) -> Template | None: ...

    async def get(self, template_id: str) -> Template | None: ...

    async def get_version(self, product_id: str, version: int) -> Template | None: ...

    async def count_for_product(self, product_id: str) -> int: ...

    async def clear_default(self, product_id: str) -> None:
        """Make none of the product's templates the default (before adding a new default)."""
        ...

    async def list_for_product(
        self, product_id: str, *, before_version: int | None, limit: int
    ) -> Page[Template]:
        """The product's templates, newest version first, those below ``before_version``."""
        ...

    async def uses_option_set(self, option_set_id: str) -> bool:
        """Whether any template refers to this option set."""
        ...


class ApiKeyRepository(Protocol):
    """Admin API keys. Never commits."""

    async def add(self, key: ApiKey) -> None: ...

    async def get(self, key_id: str) -> ApiKey | None: ...

    async def get_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list(self) -> list[ApiKey]: ...

    async def revoke(self, key_id: str, at: datetime) -> None: ...


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


class CartRepository(Protocol):
    """Cart lines, by guest. Never commits."""

    async def lines(self, guest: str, *, for_update: bool = False) -> list[CartLine]:
        """The guest's lines, oldest first; ``for_update`` locks them until the transaction ends
        (PostgreSQL), so two checkouts of one cart run one after the other."""
        ...

    async def add(self, line: CartLine) -> None: ...

    async def update(self, line: CartLine) -> None:
        """Store the line's quantity and ``updated_at``."""
        ...

    async def reprice(self, line: CartLine) -> None:
        """Store the line's price: ``unit_price``, ``components``, ``currency``, ``updated_at``."""
        ...

    async def delete(self, line_id: str) -> None: ...


class OrderRepository(Protocol):
    """Orders with their lines. Never commits."""

    async def add(self, order: Order) -> None: ...

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        """The order; ``for_update`` locks its row until the transaction ends (PostgreSQL), so
        concurrent changes to one order are applied one after the other."""
        ...

    async def lock(self, order_id: str) -> OrderStatus | None:
        """Lock the order's row until the transaction ends (PostgreSQL) and return its status, or
        None for an unknown order: cheaper than ``get`` when the caller holds the order already."""
        ...

    async def update(self, order: Order, *, if_status: OrderStatus | None = None) -> bool:
        """Store what may change after placing: status, timeline, token hash, payment and stock
        fields, tracking URL, times (guest, contact, lines and totals never change). With
        ``if_status``, only while the stored order still has that status (one conditional
        statement, which also locks the row until the transaction ends). Returns whether the order
        was stored (False for an unknown order, or one whose status moved)."""
        ...

    async def delete(self, order_id: str) -> None:
        """Remove an order that was never placed (its payment could not start), with its payments."""
        ...

    async def expired(self, now: datetime, limit: int) -> list[str]:
        """Ids of ``created`` orders whose reservation ended before ``now``, oldest first."""
        ...

    async def list(
        self,
        *,
        status: OrderStatus | None,
        created_from: datetime | None,
        created_to: datetime | None,
        before: str | None,
        limit: int,
    ) -> Page[Order]:
        """Orders newest first (by id), created in ``[created_from, created_to)``, with an id below
        ``before``."""
        ...


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


class PrintRepository(Protocol):
    """Print files of order lines (stored with the lines), written here only (``update``; ``due``
    leases what it hands out): ``OrderRepository.update`` never writes them. Never commits."""

    async def due(self, now: datetime, lease_until: datetime, limit: int) -> list[PrintJob]:
        """Pending print files due by ``now``, the longest waiting first, each leased (``due_at``
        set to ``lease_until``) so that no other caller takes it; rows another transaction holds
        are skipped (PostgreSQL)."""
        ...

    async def get(self, line_id: str, *, for_update: bool = False) -> PrintJob | None:
        """The line's print file; ``for_update`` locks the line until the transaction ends."""
        ...

    async def find(self, file_id: str) -> PrintJob | None:
        """The print file of one rendering, by its id."""
        ...

    async def update(self, *jobs: PrintJob) -> None:
        """Store each line's print file: status, id, error, attempts and ``due_at`` (lines that do not
        exist are left out). The one method that writes a print file once the order's lines exist:
        scheduling, every rendering attempt and its outcome go through it."""
        ...

    async def for_order(self, order_id: str) -> list[PrintJob]:
        """The print files of the order's lines, in line order."""
        ...


class PaymentRepository(Protocol):
    """Payments. Never commits. A provider's reference belongs to one payment: ``add`` and
    ``update`` raise ``Conflict`` when another payment of the provider holds it."""

    async def add(self, payment: Payment) -> None: ...

    async def get(self, payment_id: str) -> Payment | None: ...

    async def by_reference(self, provider: str, reference: str) -> Payment | None: ...

    async def update(self, payment: Payment) -> None: ...


class InventoryRepository(Protocol):
    """Stock levels. Never commits. ``reserve_holds`` and the other movements are atomic per call and
    safe against concurrent callers: on PostgreSQL they are conditional updates taken in key order.
    """

    async def get(self, key: StockKey, *, for_update: bool = False) -> StockLevel | None:
        """The level; ``for_update`` locks it until the transaction ends (PostgreSQL), so an
        operator's count never overwrites a reservation made meanwhile."""
        ...

    async def save(self, level: StockLevel) -> None:
        """Create or replace a level (an operator's count)."""
        ...

    async def list(self, *, product_id: str | None, after: StockKey | None, limit: int) -> list[StockLevel]:
        """Levels ordered by key, those after ``after``, at most ``limit``."""
        ...

    async def holds_for(self, wanted: Mapping[StockKey, int]) -> tuple[StockHold, ...]:
        """The part of ``wanted`` that levels count (the rest is unlimited), in key order. Nothing
        is locked: a level created after this call counts only for later orders."""
        ...

    async def reserve_holds(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Reserve ``holds`` (from ``holds_for``) all or nothing, taking each level's row lock in
        key order until the transaction ends: call it last, just before committing.

        Raises:
            OutOfStock: naming every short level; the caller must roll back.
        """
        ...

    async def release(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Reserved units go back to ``available``."""
        ...

    async def commit(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Reserved units are sold: they leave ``on_hand`` and ``reserved``."""
        ...

    async def restock(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Sold units come back on the shelf."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A request made with an ``Idempotency-Key``, by one guest (``scope``).

    ``result`` is the first request's outcome (JSON) once there is one; until then the request is in
    progress, and ``order_id`` names the order it created, if it got that far.
    """

    scope: str
    key: str
    request_hash: str
    order_id: str | None
    result: bytes | None
    created_at: datetime
    updated_at: datetime


class IdempotencyRepository(Protocol):
    """Idempotency keys. Never commits (a claim must be committed before the work it guards)."""

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Store ``record`` unless its key is taken; returns the existing record when it is."""
        ...

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    async def take_over(self, scope: str, key: str, stale_before: datetime, at: datetime) -> bool:
        """Take over an in-progress record last touched before ``stale_before`` (its process died):
        true when this caller now holds it."""
        ...

    async def update(self, record: IdempotencyRecord) -> None: ...

    async def delete(self, scope: str, key: str) -> None: ...

    async def purge(self, created_before: datetime, limit: int | None = None) -> int:
        """Forget keys created before the cut-off, at most ``limit`` of them (all when ``None``);
        returns how many."""
        ...

    async def count_purgeable(self, created_before: datetime) -> int:
        """How many keys ``purge`` would forget."""
        ...


class WebhookReceipts(Protocol):
    """Which provider events were handled, so a redelivered event is a no-op. Never commits."""

    async def first_time(self, provider: str, event_id: str, at: datetime) -> bool:
        """Record the event; false when it was recorded before (by this or a concurrent transaction
        that committed)."""
        ...

    async def purge(self, received_before: datetime) -> int:
        """Forget events received before the cut-off (providers stop redelivering after days);
        returns how many."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A domain event as stored with the change that caused it. ``id`` is the event's id: stable
    across redeliveries, so receivers deduplicate on it."""

    id: str
    name: str
    order_id: str
    payload: dict[str, Any]
    created_at: datetime
    relayed_at: datetime | None


class Outbox(Protocol):
    """Events waiting to be handed to the job queue. Never commits: events are added in the
    transaction of the change that caused them (the unit of work does it at commit)."""

    async def add(self, events: Iterable[OrderEvent]) -> None: ...

    async def get(self, message_id: str) -> OutboxMessage | None: ...

    async def pending(self, limit: int, now: datetime) -> list[OutboxMessage]:
        """Messages not yet dispatched and not leased at ``now``, oldest first, locked until the
        transaction ends; concurrent relays skip each other's (``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL)."""
        ...

    async def lease(self, message_ids: Iterable[str], until: datetime) -> None:
        """Keep these messages from ``pending`` until ``until``: their dispatch is under way."""
        ...

    async def mark_relayed(self, message_ids: Iterable[str], at: datetime) -> None:
        """These messages were dispatched: they are never pending again."""
        ...

    async def purge_relayed(self, relayed_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` messages dispatched before the cut-off (never a pending one), oldest
        first; returns how many. Rows another transaction holds are skipped, not waited for."""
        ...

    async def count_relayed(self, relayed_before: datetime) -> int:
        """How many messages ``purge_relayed`` would delete, all batches together."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A partner's URL and the events it subscribed to; ``secret`` signs every delivery."""

    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    active: bool
    created_at: datetime
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event for one endpoint, tried until it succeeds or the schedule runs out.

    ``status`` is ``pending`` (``next_attempt_at`` says when; while an attempt runs, it holds a
    lease), ``delivered`` or ``failed``; ``attempts`` counts the attempts begun (see
    ``domain/retries.py``).
    """

    id: str
    endpoint_id: str
    event_id: str
    event: str
    body: bytes
    attempts: int
    status: JobStatus
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookLog:
    """One attempt to deliver: what the endpoint answered, or why nothing was answered."""

    id: str
    delivery_id: str
    endpoint_id: str
    event: str
    attempt: int
    response_status: int | None
    sent_at: datetime
    error: str | None


#: Checks a partner's endpoint URL before it is registered; raises ``ValueError`` (with the reason)
#: for one that may not be called (malformed, or resolving to a private address).
UrlCheck = Callable[[str], Awaitable[None]]


class WebhookRepository(Protocol):
    """Endpoints, deliveries and their logs. Never commits."""

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        """Every endpoint, oldest first (active or disabled; deleted ones are gone)."""
        ...

    async def endpoint_page(self, *, after: str | None, limit: int) -> Page[WebhookEndpoint]:
        """Up to ``limit`` endpoints with ids after ``after``, oldest first, as ``list_endpoints``."""
        ...

    async def update_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove the endpoint with its deliveries and logs."""
        ...

    async def add_delivery(self, delivery: WebhookDelivery) -> bool:
        """Store the delivery unless the endpoint already has one for this event; true if stored."""
        ...

    async def get_delivery(self, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery | None:
        """The delivery; ``for_update`` locks it until the transaction ends (PostgreSQL), so two
        workers never make the same attempt, nor record an attempt that is not the current one."""
        ...

    async def update_delivery(self, delivery: WebhookDelivery) -> None: ...

    async def due_deliveries(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, oldest first, locked until the transaction
        ends; concurrent callers skip each other's (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
        ...

    async def add_log(self, log: WebhookLog) -> None: ...

    async def list_logs(self, *, event: str | None, before: str | None, limit: int) -> Page[WebhookLog]:
        """Attempts newest first (by id), of one event type when ``event`` is given."""
        ...

    async def purge_finished_deliveries(self, finished_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` deliveries that ended (``delivered`` or ``failed``) before the
        cut-off, by ``updated_at``; a pending one never. Returns how many; rows another transaction
        holds are skipped."""
        ...

    async def count_finished_deliveries(self, finished_before: datetime) -> int:
        """How many deliveries ``purge_finished_deliveries`` would delete, all batches together."""
        ...

    async def purge_logs(self, sent_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` attempt logs sent before the cut-off, except those of a delivery
        still pending; returns how many."""
        ...

    async def count_logs(self, sent_before: datetime) -> int:
        """How many logs ``purge_logs`` would delete, all batches together."""
        ...


class CatalogVersion(Protocol):
    """A number that changes with every catalog write, in the same transaction. Never commits."""

    async def current(self) -> int: ...

    async def bump(self) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over all repositories.

    Use as ``async with uow_factory() as uow: ...; await uow.commit()``. Leaving the block without
    ``commit()`` rolls everything back, as does an exception. The block owns (and closes) its
    connection.
    """

    @property
    def products(self) -> ProductRepository: ...

    @property
    def option_sets(self) -> OptionSetRepository: ...

    @property
    def templates(self) -> TemplateRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def guest_keys(self) -> GuestKeyRepository: ...

    @property
    def assets(self) -> AssetRepository: ...

    @property
    def previews(self) -> PreviewRepository: ...

    @property
    def carts(self) -> CartRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def inventory(self) -> InventoryRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def receipts(self) -> WebhookReceipts: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def webhooks(self) -> WebhookRepository: ...

    @property
    def catalog_version(self) -> CatalogVersion: ...

    @property
    def emails(self) -> EmailRepository: ...

    @property
    def reports(self) -> ReportRepository: ...

    @property
    def prints(self) -> PrintRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None:
        """Commit, first adding to the outbox the events of every order this unit of work stored."""
        ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Makes units of work. A ``read_only`` one may not commit, and may skip the transaction (each
    statement then sees the latest committed state): cheaper for pure reads."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


class Cache(Protocol):
    """A byte cache shared by the processes that use the same backend.

    Failures of the backend surface as ``CacheUnavailable``; callers fall back to the source of truth.
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    async def delete(self, *keys: str) -> None: ...


class Unavailable(Exception):
    """A backend the operation needs cannot be reached; trying again later may succeed.

    ``dependency`` names the backend the way a client may be told ("the database"); the message is
    for the operator's log and may carry what the driver said (addresses, error codes), which
    clients never see.
    """

    dependency: ClassVar[str] = "a service this request needs"


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached, or did not answer in time (it is down, restarting, out of
    connections, or locked by another writer for longer than the configured wait)."""

    dependency = "the database"


class CacheUnavailable(Unavailable):
    """The cache backend cannot be reached."""

    dependency = "the cache"


class FileMissing(Exception):
    """No file is stored under the key."""


class StorageUnavailable(Unavailable):
    """The storage backend cannot be reached."""

    dependency = "file storage"


class FileStorage(Protocol):
    """Files by key (``assets/…``, ``previews/…``). Keys are relative paths of ``[A-Za-z0-9._/-]``.

    ``put`` replaces any file under the key; ``get`` raises ``FileMissing``; a backend that cannot be
    reached raises ``StorageUnavailable``.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SanitizedImage:
    """An uploaded image re-encoded without metadata, its EXIF orientation applied."""

    content_type: str
    width: int
    height: int
    data: bytes


class UnsupportedImage(Exception):
    """The upload is not an image customshop accepts. ``code`` is one of ``unsupported_type``,
    ``undecodable``, ``decompression_bomb``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ImageProcessor(Protocol):
    """Judges and cleans uploaded images (CPU-bound: call it from a worker thread)."""

    def sanitize(self, upload: IO[bytes]) -> SanitizedImage:
        """The image in ``upload``, its type judged from the bytes (never the file name).

        Raises:
            UnsupportedImage: not PNG, JPEG or WebP; corrupt; or so many pixels that decoding it
                would be a decompression bomb.
        """
        ...


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """Everything a rendering needs: the template, the checked design, the bytes of each image it
    names (by asset id), the labels of chosen option codes (by zone id), and the size of the longest
    side of the output in pixels (the canvas is scaled to it, keeping its proportions)."""

    definition: TemplateDefinition
    design: Design
    images: Mapping[str, bytes]
    option_labels: Mapping[str, tuple[str, ...]]
    longest_side: int
    #: The resolution written into the PNG (its ``pHYs`` chunk), for print files; none for previews.
    dpi: int | None = None


class Renderer(Protocol):
    """Draws a design. CPU-bound: call it from a worker thread."""

    def render(self, request: RenderRequest) -> bytes:
        """The design as PNG bytes."""
        ...


class JobQueue(Protocol):
    """Runs named jobs with JSON payloads outside the request, at least once.

    ``enqueue`` returns once the job is accepted (durably, for a networked queue); a backend that
    cannot be reached raises ``QueueUnavailable``.
    """

    async def enqueue(self, job: str, payload: Mapping[str, Any], *, job_id: str) -> None: ...


class QueueUnavailable(Unavailable):
    """The job queue cannot be reached."""

    dependency = "the job queue"


class TaxPolicy(Protocol):
    """The tax due on a cart's subtotal, in its currency; never negative."""

    def tax_on(self, subtotal: Money) -> Money: ...


class ShippingPolicy(Protocol):
    """The shipping charged for a cart of ``units`` items in ``currency``; never negative."""

    def shipping_for(self, units: int, currency: str) -> Money: ...


# -- payments ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """What a gateway needs to start collecting a payment.

    ``idempotency_key`` is passed on to the provider: starting the same payment twice (a retried
    checkout) gives back the same provider payment.
    """

    payment_id: str
    order_id: str
    amount: int
    currency: str
    email: str
    description: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PaymentHandle:
    """How the buyer pays: ``reference`` is the provider's id; a storefront confirms with
    ``client_secret`` (Stripe), sends the buyer to ``approval_url`` (PayPal) or ``payment_url``
    (the test provider)."""

    reference: str
    client_secret: str | None = None
    approval_url: str | None = None
    payment_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    """A provider's verified report about a payment.

    ``outcome`` is ``succeeded`` or ``failed``; ``event_id`` identifies the delivery for
    de-duplication; ``amount``/``currency`` are what was received (succeeded only).
    """

    event_id: str
    reference: str
    outcome: str
    amount: int = 0
    currency: str = ""
    failure: str | None = None


class InvalidSignature(Exception):
    """A webhook delivery is not signed by the provider, or its signature is too old."""


class PaymentUnavailable(Unavailable):
    """The payment provider cannot be reached, did not answer in time, or answered with an error of
    its own."""

    dependency = "the payment provider"


class PaymentRejected(Exception):
    """The provider refused the request itself (not a temporary failure)."""


class PaymentGateway(Protocol):
    """One payment provider.

    ``start`` and ``refund`` are idempotent by their ``idempotency_key``. Network failures and the
    provider's own errors raise ``PaymentUnavailable``; a request the provider refuses raises
    ``PaymentRejected``.
    """

    @property
    def provider(self) -> str: ...

    async def start(self, request: PaymentRequest) -> PaymentHandle: ...

    async def cancel(self, reference: str) -> None:
        """Stop a pending payment so the buyer can no longer complete it (best effort)."""
        ...

    async def refund(self, reference: str, amount: int, currency: str, idempotency_key: str) -> None: ...

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotice | None:
        """Verify and read a webhook delivery. ``None`` for events customshop does not act on. Where
        the provider needs a step after the buyer approves (PayPal's capture), this takes it and
        reports its outcome.

        Raises:
            InvalidSignature: a bad or stale signature; nothing may change then.
        """
        ...


# -- webhook delivery --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one attempt to deliver a webhook.

    ``status`` is the receiver's HTTP status, or ``None`` when there was no answer (refused
    destination, no connection, timeout), and then ``error`` says why. ``duration_ms`` is the
    attempt's wall time, destination check included.
    """

    status: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        """Whether the receiver answered 2xx (Standard Webhooks' only success; 3xx is a failure)."""
        return self.status is not None and 200 <= self.status < 300


class WebhookSender(Protocol):
    """Sends webhook requests to partners' URLs."""

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        """POST ``body`` (JSON) with ``headers`` to ``url``, once: no retry, no redirect followed.
        A ``trusted`` URL (the shop's own configuration, not a partner's) may be on a private network.

        Never raises for a failed attempt: a destination that may not be called, a network error or a
        timeout is a result with ``status=None`` and an ``error``. The attempt takes no longer than
        the sender's timeout.
        """
        ...


# -- email -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """One email to one recipient, with a plain-text and an HTML version of the same content.

    ``message_id`` is the ``Message-ID`` header, an RFC 5322 msg-id such as ``<a.b@example.com>``;
    it stays the same when the email is sent again, so the recipient's mail system can tell.
    """

    to: str
    subject: str
    text: str
    html: str
    message_id: str


class MailUnavailable(Unavailable):
    """The mail server cannot be reached, or refused the message for now; sending later may succeed."""

    dependency = "the mail server"


class MailRejected(Exception):
    """The mail server refused the message for good (a 5xx answer, such as an unknown recipient)."""


class Mailer(Protocol):
    """Sends emails from the shop's address."""

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over for delivery, once: no retry.

        Raises:
            MailUnavailable: the server cannot be reached or refused temporarily.
            MailRejected: the server refused the message permanently.
        """
        ...


@dataclass(frozen=True, slots=True)
class EmailDelivery:
    """One email the shop owes a guest because of one event (``kind`` per event, never two).

    ``status`` is ``pending`` (``next_attempt_at`` says when; while an attempt runs, it holds a
    lease), ``sent`` or ``failed``; ``error`` says why the last attempt did not succeed; ``attempts``
    counts the attempts begun (see ``domain/retries.py``).
    """

    id: str
    kind: str
    event_id: str
    order_id: str
    attempts: int
    status: JobStatus
    next_attempt_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class EmailRepository(Protocol):
    """The emails owed, with their progress. Never commits."""

    async def add(self, email: EmailDelivery) -> bool:
        """Store the email unless one of its kind exists for the event; true if stored."""
        ...

    async def get(self, email_id: str, *, for_update: bool = False) -> EmailDelivery | None:
        """The email; ``for_update`` locks it until the transaction ends (PostgreSQL), so two
        workers never make the same attempt."""
        ...

    async def update(self, email: EmailDelivery) -> None:
        """Store what changes between attempts: attempts, status, next attempt, error, ``updated_at``."""
        ...

    async def due(self, now: datetime, limit: int) -> list[EmailDelivery]:
        """Pending emails whose next attempt is due, oldest first, locked until the transaction ends;
        concurrent callers skip each other's (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
        ...

    async def purge_finished(self, finished_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` emails that ended (``sent`` or ``failed``) before the cut-off, by
        ``updated_at``; a pending one never. Returns how many; rows another transaction holds are
        skipped."""
        ...

    async def count_finished(self, finished_before: datetime) -> int:
        """How many emails ``purge_finished`` would delete, all batches together."""
        ...


# -- reports -----------------------------------------------------------------------------------


class Granularity(StrEnum):
    """The length of a revenue report's periods, in UTC: a day, an ISO week (Monday to Sunday) or a
    calendar month. A period is named by its first day."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class SalesWindow:
    """The sales a report counts: the lines of orders in ``currency`` that are in a paid state
    (``PAID_STATES``: refunded and cancelled orders are not) and were paid in
    ``[paid_from, paid_before)``."""

    currency: str
    paid_from: datetime
    paid_before: datetime


@dataclass(frozen=True, slots=True)
class ProductSales:
    """What one template version of a product sold: ``revenue`` is Σ ``unit_price × quantity`` of
    its lines, ``units`` Σ ``quantity``. ``product_name`` is the name it was sold under (the greatest
    in code-point order, should the product have been renamed)."""

    product_id: str
    product_name: str
    template_version: int
    units: int
    revenue: int


@dataclass(frozen=True, slots=True)
class SalesFigures:
    """A window's sales, all read at once: ``revenue`` and ``units`` equal the sums over
    ``by_product``; ``orders`` counts the orders (an order may hold several products)."""

    orders: int
    units: int
    revenue: int
    by_product: list[ProductSales]


@dataclass(frozen=True, slots=True)
class PeriodSales:
    """The sales of one period, named by its first day (UTC)."""

    period: date
    orders: int
    units: int
    revenue: int


@dataclass(frozen=True, slots=True)
class ChoiceCount:
    """How often one choice was made in paid orders' lines of a product.

    ``kind`` is ``option`` (``value`` an option code of the zone's option set, ``label`` its label
    as sold) or ``color`` (``value`` the ``#rrggbb`` colour chosen in a colour zone; ``label`` None).
    ``count`` is the number of order lines (designs) with the choice, ``units`` their quantities.
    """

    product_id: str
    zone_id: str
    kind: str
    value: str
    label: str | None
    count: int
    units: int


class ReportRepository(Protocol):
    """Sales figures of paid orders, summed where the orders are stored. Read-only; never commits.

    A line's revenue is ``unit_price × quantity``; a window selects lines as :class:`SalesWindow`
    says. Each method answers from one consistent reading of the data.
    """

    async def sales(self, window: SalesWindow) -> SalesFigures:
        """The window's totals and its sales per ``(product_id, template_version)``, by revenue,
        highest first (ties by product id, then version)."""
        ...

    async def sales_by_period(self, window: SalesWindow, granularity: Granularity) -> list[PeriodSales]:
        """The sales of each period that has some, oldest first (periods without sales are left out)."""
        ...

    async def popular_choices(
        self, *, paid_from: datetime, paid_before: datetime, product_id: str | None, limit: int
    ) -> list[ChoiceCount]:
        """The ``limit`` most made choices of each product (of ``product_id`` only, when given) in the
        lines of orders in a paid state paid in ``[paid_from, paid_before)``, in any currency. By
        product id, then most chosen first: ``count``, then ``units`` descending, then zone id and
        value in code-point order."""
        ...


# -- bulk catalog import and export ------------------------------------------------------------


class Progress(Protocol):
    """Hears how far a long operation got, to show it to someone waiting.

    ``start`` opens a stage (``"Checking rows"``) of ``total`` steps (``None`` when unknown) and ends
    the previous one; ``advance`` counts steps done in the current stage. Called from the operation's
    own task: an implementation returns at once and never raises.
    """

    def start(self, stage: str, total: int | None) -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class BulkCatalogRepository(Protocol):
    """Products and option sets by the thousand, for catalog imports and exports. Never commits.

    Lookups take any number of keys (an adapter splits them into batches its database accepts) and
    return what exists, in no particular order unless stated. Writes take a batch of checked objects
    and raise ``DuplicateSlug`` when a slug would be held twice; the unit of work must then be rolled
    back.
    """

    async def count_products(self) -> int: ...

    async def products_with_ids(self, product_ids: Iterable[str]) -> list[Product]: ...

    async def products_with_slugs(self, slugs: Iterable[str]) -> list[Product]: ...

    async def option_sets_with_ids(self, option_set_ids: Iterable[str]) -> list[OptionSet]: ...

    async def option_sets_of_products(self, product_ids: Iterable[str]) -> list[OptionSet]:
        """Every option set of these products, ordered by product id, then by set id."""
        ...

    async def add_products(self, products: Iterable[Product]) -> None: ...

    async def vacate_slugs(self, product_ids: Iterable[str]) -> None:
        """Give these products a placeholder slug that no product can hold (not a valid slug), so
        that ``update_products`` later in the same transaction may hand slugs around among them."""
        ...

    async def update_products(self, products: Iterable[Product]) -> None:
        """Store every field but ``id`` and ``created_at``; unknown ids change nothing."""
        ...

    async def add_option_sets(self, option_sets: Iterable[OptionSet]) -> None: ...

    async def update_option_sets(self, option_sets: Iterable[OptionSet]) -> None:
        """Store name, options and ``updated_at`` (never the product); unknown ids change nothing."""
        ...


class BulkCatalogUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also offers the bulk catalog repository, in the same transaction."""

    @property
    def bulk_catalog(self) -> BulkCatalogRepository: ...


class BulkCatalogUnitOfWorkFactory(Protocol):
    """Makes :class:`BulkCatalogUnitOfWork` s, like :class:`UnitOfWorkFactory`."""

    def __call__(self, *, read_only: bool = False) -> BulkCatalogUnitOfWork: ...


# -- operations --------------------------------------------------------------------------------

#: What a rendering made: a design session's preview, or an order line's print file.
RenderKind = Literal["preview", "print"]
#: How one rendering attempt ended: the file is stored; it failed for good; it failed and is tried again.
RenderOutcome = Literal["succeeded", "failed", "retried"]
#: Who a webhook delivery was for: a registered partner endpoint, or the configured fulfillment partner.
WebhookTarget = Literal["partner", "fulfillment"]
#: Why a delivery was given up: its retry schedule ran out; the receiver answered 410 Gone; its
#: endpoint was disabled (or the fulfillment endpoint unconfigured) before the attempt.
GiveUpReason = Literal["exhausted", "gone", "disabled"]


class Metrics(Protocol):
    """Hears the outcomes operators count and alert on, for a metrics backend (Prometheus in
    production, ``adapters/metrics``).

    Use cases call it once per outcome, after the outcome is committed, so a rolled-back change is
    never counted. An implementation returns at once and never raises.
    """

    def render_finished(self, kind: RenderKind, outcome: RenderOutcome) -> None:
        """One rendering attempt ended (a vanished renderer counts as a failed attempt)."""
        ...

    def webhook_given_up(self, target: WebhookTarget, reason: GiveUpReason) -> None:
        """A webhook delivery became ``failed``: nothing more is sent unless an operator retries it."""
        ...


class NoMetrics:
    """The :class:`Metrics` of use cases built without one: counts nothing."""

    def render_finished(self, kind: RenderKind, outcome: RenderOutcome) -> None:
        return None

    def webhook_given_up(self, target: WebhookTarget, reason: GiveUpReason) -> None:
        return None
