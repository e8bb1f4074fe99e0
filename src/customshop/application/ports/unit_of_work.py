"""The unit of work: one transaction over every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from customshop.application.ports.catalog import (
    ApiKeyRepository,
    CatalogVersion,
    OptionSetRepository,
    ProductRepository,
    TemplateRepository,
)
from customshop.application.ports.customization import (
    AssetRepository,
    GuestKeyRepository,
    PreviewRepository,
    SessionRepository,
)
from customshop.application.ports.events import EmailRepository, Outbox, WebhookRepository
from customshop.application.ports.orders import (
    CartDetailsRepository,
    CartRepository,
    IdempotencyRepository,
    InventoryRepository,
    OrderRepository,
    PaymentRepository,
    PrintRepository,
    WebhookReceipts,
)
from customshop.application.ports.pricing import (
    PromotionRepository,
    PromotionUses,
    RegionRepository,
    ShippingMethodRepository,
)
from customshop.application.ports.reports import ReportRepository


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
    def cart_details(self) -> CartDetailsRepository: ...

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

    @property
    def regions(self) -> RegionRepository: ...

    @property
    def shipping_methods(self) -> ShippingMethodRepository: ...

    @property
    def promotions(self) -> PromotionRepository: ...

    @property
    def promotion_uses(self) -> PromotionUses: ...

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
