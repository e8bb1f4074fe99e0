"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from customshop.adapters.sqlalchemy.cart import SqlCartRepository
from customshop.adapters.sqlalchemy.customization import (
    SqlAssetRepository,
    SqlPreviewRepository,
    SqlSessionRepository,
)
from customshop.adapters.sqlalchemy.emails import SqlEmailRepository
from customshop.adapters.sqlalchemy.orders import (
    SqlIdempotencyRepository,
    SqlInventoryRepository,
    SqlOrderRepository,
    SqlPaymentRepository,
    SqlWebhookReceipts,
)
from customshop.adapters.sqlalchemy.outbox import SqlOutbox, SqlWebhookRepository
from customshop.adapters.sqlalchemy.repositories import (
    SqlApiKeyRepository,
    SqlCatalogVersion,
    SqlOptionSetRepository,
    SqlProductRepository,
    SqlTemplateRepository,
)
from customshop.application.outbox import stage_events


class SqlUnitOfWork:
    """Implements ``UnitOfWork``: a connection from the engine's pool is held for the block, its
    transaction committed only by ``commit()``; leaving the block rolls back whatever is pending and
    returns the connection. A ``read_only`` one runs in autocommit and refuses to commit."""

    products: SqlProductRepository
    option_sets: SqlOptionSetRepository
    templates: SqlTemplateRepository
    api_keys: SqlApiKeyRepository
    sessions: SqlSessionRepository
    assets: SqlAssetRepository
    previews: SqlPreviewRepository
    carts: SqlCartRepository
    orders: SqlOrderRepository
    payments: SqlPaymentRepository
    inventory: SqlInventoryRepository
    idempotency: SqlIdempotencyRepository
    receipts: SqlWebhookReceipts
    outbox: SqlOutbox
    webhooks: SqlWebhookRepository
    catalog_version: SqlCatalogVersion
    emails: SqlEmailRepository

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        if self._read_only:
            # No BEGIN and no ROLLBACK: two round trips fewer for every pure read.
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        self._conn = conn
        self.products = SqlProductRepository(conn)
        self.option_sets = SqlOptionSetRepository(conn)
        self.templates = SqlTemplateRepository(conn)
        self.api_keys = SqlApiKeyRepository(conn)
        self.sessions = SqlSessionRepository(conn)
        self.assets = SqlAssetRepository(conn)
        self.previews = SqlPreviewRepository(conn)
        self.carts = SqlCartRepository(conn)
        self.orders = SqlOrderRepository(conn)
        self.payments = SqlPaymentRepository(conn)
        self.inventory = SqlInventoryRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.receipts = SqlWebhookReceipts(conn)
        self.outbox = SqlOutbox(conn)
        self.webhooks = SqlWebhookRepository(conn)
        self.catalog_version = SqlCatalogVersion(conn)
        self.emails = SqlEmailRepository(conn)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if conn.in_transaction():
                    await conn.rollback()
            finally:
                await conn.close()

    async def commit(self) -> None:
        """Commit, first adding to the outbox (in the same transaction) the events of every order
        stored since the last commit or rollback; the orders' ``events`` are emptied once committed."""
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._conn is None:
            return
        stored = await stage_events(self.orders.seen, self.outbox)
        self.orders.seen = []
        await self._conn.commit()
        for order in stored:
            order.events.clear()

    async def rollback(self) -> None:
        if self._conn is not None:
            self.orders.seen = []
            await self._conn.rollback()
