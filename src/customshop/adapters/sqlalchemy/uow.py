"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from customshop.adapters.sqlalchemy.cart import SqlCartDetailsRepository, SqlCartRepository
from customshop.adapters.sqlalchemy.catalog_io import SqlBulkCatalogRepository
from customshop.adapters.sqlalchemy.customization import (
    SqlAssetRepository,
    SqlGuestKeyRepository,
    SqlPreviewRepository,
    SqlSessionRepository,
)
from customshop.adapters.sqlalchemy.emails import SqlEmailRepository
from customshop.adapters.sqlalchemy.engine import unavailable
from customshop.adapters.sqlalchemy.idempotency import SqlIdempotencyRepository
from customshop.adapters.sqlalchemy.inventory import SqlInventoryRepository
from customshop.adapters.sqlalchemy.orders import SqlOrderRepository
from customshop.adapters.sqlalchemy.outbox import SqlOutbox, SqlWebhookRepository
from customshop.adapters.sqlalchemy.payments import SqlPaymentRepository
from customshop.adapters.sqlalchemy.pricing import (
    SqlPromotionRepository,
    SqlPromotionUses,
    SqlRegionRepository,
    SqlShippingMethodRepository,
)
from customshop.adapters.sqlalchemy.prints import SqlPrintRepository
from customshop.adapters.sqlalchemy.receipts import SqlWebhookReceipts
from customshop.adapters.sqlalchemy.reports import SqlReportRepository
from customshop.adapters.sqlalchemy.repositories import (
    SqlApiKeyRepository,
    SqlCatalogVersion,
    SqlOptionSetRepository,
    SqlProductRepository,
    SqlTemplateRepository,
)
from customshop.application.outbox import stage_events
from customshop.application.ports import DatabaseUnavailable

#: The attributes of :class:`SqlUnitOfWork` that are repositories (made on first use).
_REPOSITORIES = (
    "products",
    "option_sets",
    "templates",
    "api_keys",
    "sessions",
    "guest_keys",
    "assets",
    "previews",
    "carts",
    "cart_details",
    "orders",
    "payments",
    "inventory",
    "idempotency",
    "receipts",
    "outbox",
    "webhooks",
    "catalog_version",
    "bulk_catalog",
    "emails",
    "reports",
    "prints",
    "regions",
    "shipping_methods",
    "promotions",
    "promotion_uses",
)


class SqlUnitOfWork:
    """Implements ``UnitOfWork``: a connection from the engine's pool is held for the block, its
    transaction committed only by ``commit()``; leaving the block rolls back whatever is pending and
    returns the connection. A ``read_only`` one runs in autocommit and refuses to commit.

    The border of database failures: when the database cannot be reached (no connection in time,
    connection refused or lost, server shutting down, statement timeout, SQLite locked), entering
    the block or leaving it with such an error raises ``DatabaseUnavailable`` (chained to the
    driver's error) instead, and the transaction is not committed (unless the connection broke while
    the commit itself was answered: then, as with any database, the outcome is unknown). Other
    errors, integrity and programming errors included, pass unchanged.
    """

    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            conn = await self._engine.connect()
        except Exception as exc:
            _raise_if_unavailable(exc)
            raise
        if self._read_only:
            # No BEGIN and no ROLLBACK: two round trips fewer for every pure read.
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        self._conn = conn
        for name in _REPOSITORIES:  # a block entered again gets repositories on its new connection
            self.__dict__.pop(name, None)
        return self

    # Repositories are made on first use: a request touches two or three of them, and making all of
    # them for every unit of work would cost every request.

    @cached_property
    def products(self) -> SqlProductRepository:
        return SqlProductRepository(self._connection())

    @cached_property
    def option_sets(self) -> SqlOptionSetRepository:
        return SqlOptionSetRepository(self._connection())

    @cached_property
    def templates(self) -> SqlTemplateRepository:
        return SqlTemplateRepository(self._connection())

    @cached_property
    def api_keys(self) -> SqlApiKeyRepository:
        return SqlApiKeyRepository(self._connection())

    @cached_property
    def sessions(self) -> SqlSessionRepository:
        return SqlSessionRepository(self._connection())

    @cached_property
    def guest_keys(self) -> SqlGuestKeyRepository:
        return SqlGuestKeyRepository(self._connection())

    @cached_property
    def assets(self) -> SqlAssetRepository:
        return SqlAssetRepository(self._connection())

    @cached_property
    def previews(self) -> SqlPreviewRepository:
        return SqlPreviewRepository(self._connection())

    @cached_property
    def carts(self) -> SqlCartRepository:
        return SqlCartRepository(self._connection())

    @cached_property
    def cart_details(self) -> SqlCartDetailsRepository:
        return SqlCartDetailsRepository(self._connection())

    @cached_property
    def orders(self) -> SqlOrderRepository:
        return SqlOrderRepository(self._connection())

    @cached_property
    def payments(self) -> SqlPaymentRepository:
        return SqlPaymentRepository(self._connection())

    @cached_property
    def inventory(self) -> SqlInventoryRepository:
        return SqlInventoryRepository(self._connection())

    @cached_property
    def idempotency(self) -> SqlIdempotencyRepository:
        return SqlIdempotencyRepository(self._connection())

    @cached_property
    def receipts(self) -> SqlWebhookReceipts:
        return SqlWebhookReceipts(self._connection())

    @cached_property
    def outbox(self) -> SqlOutbox:
        return SqlOutbox(self._connection())

    @cached_property
    def webhooks(self) -> SqlWebhookRepository:
        return SqlWebhookRepository(self._connection())

    @cached_property
    def catalog_version(self) -> SqlCatalogVersion:
        return SqlCatalogVersion(self._connection())

    @cached_property
    def bulk_catalog(self) -> SqlBulkCatalogRepository:
        return SqlBulkCatalogRepository(self._connection())

    @cached_property
    def emails(self) -> SqlEmailRepository:
        return SqlEmailRepository(self._connection())

    @cached_property
    def reports(self) -> SqlReportRepository:
        return SqlReportRepository(self._connection())

    @cached_property
    def prints(self) -> SqlPrintRepository:
        return SqlPrintRepository(self._connection())

    @cached_property
    def regions(self) -> SqlRegionRepository:
        return SqlRegionRepository(self._connection())

    @cached_property
    def shipping_methods(self) -> SqlShippingMethodRepository:
        return SqlShippingMethodRepository(self._connection())

    @cached_property
    def promotions(self) -> SqlPromotionRepository:
        return SqlPromotionRepository(self._connection())

    @cached_property
    def promotion_uses(self) -> SqlPromotionUses:
        return SqlPromotionUses(self._connection())

    @property
    def connection(self) -> AsyncConnection:
        """The block's connection, for read models that run their own statements
        (``product_pages.py``)."""
        return self._connection()

    def _connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("a unit of work is used inside its `async with` block")
        return self._conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if conn.in_transaction():
                    await conn.rollback()
            except Exception as failed:
                # A connection that broke mid-way cannot roll back (the server did when it dropped
                # it); the error that broke it is the one to report.
                if exc is None:
                    _raise_if_unavailable(failed)
                    raise
            finally:
                await conn.close()
        if isinstance(exc, Exception) and not isinstance(exc, DatabaseUnavailable):
            _raise_if_unavailable(exc)

    async def commit(self) -> None:
        """Commit, first adding to the outbox (in the same transaction) the events of every order
        stored since the last commit or rollback; the orders' ``events`` are emptied once committed."""
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._conn is None:
            return
        orders: SqlOrderRepository | None = self.__dict__.get("orders")  # None: no order was touched
        stored = await stage_events(orders.seen, self.outbox) if orders is not None else []
        if orders is not None:
            orders.seen = []
        await self._conn.commit()
        for order in stored:
            order.events.clear()

    async def rollback(self) -> None:
        if self._conn is not None:
            orders: SqlOrderRepository | None = self.__dict__.get("orders")
            if orders is not None:
                orders.seen = []
            await self._conn.rollback()


def _raise_if_unavailable(exc: Exception) -> None:
    """Raise ``DatabaseUnavailable`` (chained to ``exc``) when ``exc`` means the database cannot be
    reached; return otherwise."""
    down = unavailable(exc)
    if down is not None and down is not exc:
        raise down from exc
