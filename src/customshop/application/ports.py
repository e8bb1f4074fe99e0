"""The ports: what use cases need from the world, each stated by its contract.

Adapters implement these structurally (``typing.Protocol``); ``adapters/memory`` holds an in-memory
implementation of each one, used by unit tests and by the same contract tests as the real adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import IO, Any, Generic, Protocol, Self, TypeVar

from customshop.domain.access import ApiKey
from customshop.domain.cart import CartLine
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.customization import Asset, CustomizationSession, PreviewJob
from customshop.domain.money import Money
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

    async def get(self, job_id: str) -> PreviewJob | None: ...

    async def update(self, job: PreviewJob) -> None: ...

    async def latest_for_design(self, design_hash: str) -> PreviewJob | None:
        """The newest job of this design that is not failed, if any."""
        ...

    async def stalled(self, updated_before: datetime, limit: int) -> list[PreviewJob]:
        """Queued or running jobs last updated before ``updated_before``, oldest first."""
        ...


class CartRepository(Protocol):
    """Cart lines, by guest. Never commits."""

    async def lines(self, guest: str) -> list[CartLine]:
        """The guest's lines, oldest first."""
        ...

    async def add(self, line: CartLine) -> None: ...

    async def update(self, line: CartLine) -> None: ...

    async def delete(self, line_id: str) -> None: ...


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
    def assets(self) -> AssetRepository: ...

    @property
    def previews(self) -> PreviewRepository: ...

    @property
    def carts(self) -> CartRepository: ...

    @property
    def catalog_version(self) -> CatalogVersion: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...

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
    """A backend the operation needs cannot be reached; trying again later may succeed."""


class CacheUnavailable(Unavailable):
    """The cache backend cannot be reached."""


class FileMissing(Exception):
    """No file is stored under the key."""


class StorageUnavailable(Unavailable):
    """The storage backend cannot be reached."""


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


class TaxPolicy(Protocol):
    """The tax due on a cart's subtotal, in its currency; never negative."""

    def tax_on(self, subtotal: Money) -> Money: ...


class ShippingPolicy(Protocol):
    """The shipping charged for a cart of ``units`` items in ``currency``; never negative."""

    def shipping_for(self, units: int, currency: str) -> Money: ...
