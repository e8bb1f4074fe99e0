"""Static proof that every adapter implements its port: mypy checks these assignments, so a missing
or mistyped method fails ``make lint`` instead of a test at run time. Nothing here runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from customshop.adapters.imaging import PillowImageProcessor, PillowRenderer
    from customshop.adapters.jobs.inprocess import InProcessJobQueue
    from customshop.adapters.jobs.rq import RqJobQueue
    from customshop.adapters.mail.folder import FolderMailer
    from customshop.adapters.mail.smtp import SmtpMailer
    from customshop.adapters.memory import MemoryCache, MemoryUnitOfWork
    from customshop.adapters.memory.clock import ManualClock
    from customshop.adapters.memory.pricing import (
        MemoryPromotionRepository,
        MemoryPromotionUses,
        MemoryRegionRepository,
        MemoryShippingMethodRepository,
    )
    from customshop.adapters.memory.storage import MemoryFileStorage
    from customshop.adapters.payments.paypal import PayPalPaymentGateway
    from customshop.adapters.payments.stripe import StripePaymentGateway
    from customshop.adapters.sqlalchemy.pricing import (
        SqlPromotionRepository,
        SqlPromotionUses,
        SqlRegionRepository,
        SqlShippingMethodRepository,
    )
    from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
    from customshop.adapters.storage.local import LocalFileStorage
    from customshop.adapters.storage.s3 import S3FileStorage
    from customshop.adapters.system import SystemClock, UuidV7Ids
    from customshop.application import ports

    def _conforms(
        memory_uow: MemoryUnitOfWork,
        sql_uow: SqlUnitOfWork,
        memory_cache: MemoryCache,
        local: LocalFileStorage,
        s3: S3FileStorage,
        memory_files: MemoryFileStorage,
        sanitizer: PillowImageProcessor,
        renderer: PillowRenderer,
        rq: RqJobQueue,
        inprocess: InProcessJobQueue,
        clock: SystemClock,
        manual: ManualClock,
        ids: UuidV7Ids,
        stripe: StripePaymentGateway,
        paypal: PayPalPaymentGateway,
        smtp: SmtpMailer,
        folder: FolderMailer,
    ) -> None:
        _: ports.UnitOfWork = memory_uow
        _ = sql_uow
        bulk: ports.BulkCatalogUnitOfWork = memory_uow
        bulk = sql_uow
        __: ports.Cache = memory_cache
        files: ports.FileStorage = local
        files = s3
        files = memory_files
        images: ports.ImageProcessor = sanitizer
        drawing: ports.Renderer = renderer
        queue: ports.JobQueue = rq
        queue = inprocess
        time: ports.Clock = clock
        time = manual
        id_source: ports.IdGenerator = ids
        payments: ports.PaymentGateway = stripe
        payments = paypal
        mail: ports.Mailer = smtp
        mail = folder
        del bulk
        del _, __, files, images, drawing, queue, time, id_source, payments, mail

    def _pricing_conforms(
        memory_regions: MemoryRegionRepository,
        sql_regions: SqlRegionRepository,
        memory_methods: MemoryShippingMethodRepository,
        sql_methods: SqlShippingMethodRepository,
        memory_promotions: MemoryPromotionRepository,
        sql_promotions: SqlPromotionRepository,
        memory_uses: MemoryPromotionUses,
        sql_uses: SqlPromotionUses,
    ) -> None:
        regions: ports.RegionRepository = memory_regions
        regions = sql_regions
        methods: ports.ShippingMethodRepository = memory_methods
        methods = sql_methods
        promotions: ports.PromotionRepository = memory_promotions
        promotions = sql_promotions
        uses: ports.PromotionUses = memory_uses
        uses = sql_uses
        del regions, methods, promotions, uses
