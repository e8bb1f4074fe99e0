"""The ports: what use cases need from the world, each stated by its contract, grouped by role.

Adapters implement these structurally (``typing.Protocol``); ``adapters/memory`` holds an in-memory
implementation of each one, used by unit tests and by the same contract tests as the real adapters.
Records with a lifecycle of their own (print jobs, idempotency records, outbox messages, webhook
deliveries, emails) live in ``customshop.domain``; they are named here too, for the ports that
store them.
"""

from __future__ import annotations

from customshop.application.ports.basics import Clock, IdGenerator, Page
from customshop.application.ports.bulk import (
    BulkCatalogRepository,
    BulkCatalogUnitOfWork,
    BulkCatalogUnitOfWorkFactory,
    Progress,
)
from customshop.application.ports.cache import Cache, CacheUnavailable
from customshop.application.ports.catalog import (
    ApiKeyRepository,
    CatalogVersion,
    JsonPage,
    OptionSetRepository,
    ProductPages,
    ProductRepository,
    TemplateRepository,
)
from customshop.application.ports.customization import (
    AssetRepository,
    GuestKeyRepository,
    PreviewRepository,
    SessionRepository,
)
from customshop.application.ports.events import EmailRepository, Outbox, UrlCheck, WebhookRepository
from customshop.application.ports.files import (
    FileMissing,
    FileStorage,
    ImageProcessor,
    Renderer,
    RenderRequest,
    SanitizedImage,
    StorageUnavailable,
    UnsupportedImage,
)
from customshop.application.ports.messaging import (
    DeliveryResult,
    EmailMessage,
    JobQueue,
    Mailer,
    MailRejected,
    MailUnavailable,
    QueueUnavailable,
    WebhookSender,
)
from customshop.application.ports.operations import (
    GiveUpReason,
    Metrics,
    NoMetrics,
    RenderKind,
    RenderOutcome,
    WebhookTarget,
)
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
from customshop.application.ports.payments import (
    InvalidSignature,
    PaymentGateway,
    PaymentHandle,
    PaymentNotice,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)
from customshop.application.ports.pricing import (
    PromotionRepository,
    PromotionUses,
    RegionRepository,
    ShippingMethodRepository,
)
from customshop.application.ports.reports import (
    ChoiceCount,
    Granularity,
    PeriodSales,
    ProductSales,
    PromotionSales,
    ReportRepository,
    SalesFigures,
    SalesWindow,
)
from customshop.application.ports.unavailable import DatabaseUnavailable, Unavailable
from customshop.application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from customshop.domain.emails import EmailDelivery
from customshop.domain.idempotency import IdempotencyRecord
from customshop.domain.outbox import OutboxMessage
from customshop.domain.prints import PrintJob
from customshop.domain.webhooks import WebhookDelivery, WebhookEndpoint, WebhookLog

__all__ = [
    "ApiKeyRepository",
    "AssetRepository",
    "BulkCatalogRepository",
    "BulkCatalogUnitOfWork",
    "BulkCatalogUnitOfWorkFactory",
    "Cache",
    "CacheUnavailable",
    "CartDetailsRepository",
    "CartRepository",
    "CatalogVersion",
    "ChoiceCount",
    "Clock",
    "DatabaseUnavailable",
    "DeliveryResult",
    "EmailDelivery",
    "EmailMessage",
    "EmailRepository",
    "FileMissing",
    "FileStorage",
    "GiveUpReason",
    "Granularity",
    "GuestKeyRepository",
    "IdGenerator",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "ImageProcessor",
    "InvalidSignature",
    "InventoryRepository",
    "JobQueue",
    "JsonPage",
    "MailRejected",
    "MailUnavailable",
    "Mailer",
    "Metrics",
    "NoMetrics",
    "OptionSetRepository",
    "OrderRepository",
    "Outbox",
    "OutboxMessage",
    "Page",
    "PaymentGateway",
    "PaymentHandle",
    "PaymentNotice",
    "PaymentRejected",
    "PaymentRepository",
    "PaymentRequest",
    "PaymentUnavailable",
    "PeriodSales",
    "PreviewRepository",
    "PrintJob",
    "PrintRepository",
    "ProductPages",
    "ProductRepository",
    "ProductSales",
    "Progress",
    "PromotionRepository",
    "PromotionSales",
    "PromotionUses",
    "QueueUnavailable",
    "RegionRepository",
    "RenderKind",
    "RenderOutcome",
    "RenderRequest",
    "Renderer",
    "ReportRepository",
    "SalesFigures",
    "SalesWindow",
    "SanitizedImage",
    "SessionRepository",
    "ShippingMethodRepository",
    "StorageUnavailable",
    "TemplateRepository",
    "Unavailable",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UnsupportedImage",
    "UrlCheck",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookLog",
    "WebhookReceipts",
    "WebhookRepository",
    "WebhookSender",
    "WebhookTarget",
]
