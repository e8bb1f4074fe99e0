"""The composition root: the one place that chooses adapters, from the settings, and wires the use
cases to them.

Two containers, as dependency-injector's use-cases example lays them out: :class:`Adapters` (the
outside world: database, storage, Redis, queues, payment providers, mail, clocks) and
:class:`UseCases` (the application services), which sees the adapters only through
``adapters = providers.DependenciesContainer()``, so a test swaps an adapter without touching a use
case. :func:`build_container` composes the two into a :class:`Container`.

Nothing here runs at import time; ``build_container(settings)`` makes a container, engines and
clients are created on first use, and ``close(container)`` releases them. With
``CUSTOMSHOP_REDIS_URL`` set, jobs go to rq (run by ``customshop worker``); without it they run
inside the serving process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from functools import partial
from typing import Any

from dependency_injector import containers, providers

from customshop.adapters.imaging.render import PillowRenderer
from customshop.adapters.imaging.sanitize import PillowImageProcessor
from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.adapters.jobs.rq import RqJobQueue
from customshop.adapters.mail.folder import FolderMailer
from customshop.adapters.mail.smtp import SmtpMailer
from customshop.adapters.memory import MemoryCache
from customshop.adapters.metrics.prometheus import PrometheusMetrics
from customshop.adapters.payments.sandbox import TestPaymentGateway
from customshop.adapters.redis.cache import RedisCache
from customshop.adapters.redis.client import queue_client
from customshop.adapters.sqlalchemy.engine import create_engine, ping
from customshop.adapters.sqlalchemy.product_pages import SqlProductPages
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.adapters.storage.factory import storage_from_url
from customshop.adapters.system import SystemClock, UuidV7Ids
from customshop.adapters.webhooks.sender import HttpWebhookSender, check_destination
from customshop.application.access import AccessKeys
from customshop.application.cart import Carts
from customshop.application.catalog import Catalog
from customshop.application.catalog_cache import CatalogCache
from customshop.application.catalog_io import CatalogTransfer
from customshop.application.checkout import Checkout
from customshop.application.customization import Customization
from customshop.application.inventory import Inventory
from customshop.application.notifications import Notifications
from customshop.application.orders import Orders
from customshop.application.outbox import OutboxRelay
from customshop.application.ports import Mailer, PaymentGateway, UrlCheck
from customshop.application.pricing_rules import PricingRules
from customshop.application.prints import PrintFiles
from customshop.application.reports import Reports
from customshop.application.retention import Retention, RetentionPolicy
from customshop.application.webhooks import FulfillmentTarget, Webhooks
from customshop.domain.quote import FlatRates
from customshop.entrypoints.jobs import run_job
from customshop.entrypoints.settings import Settings

#: The function rq workers call (see ``entrypoints/worker.py``).
WORKER_ENTRYPOINT = "customshop.entrypoints.worker.run_job"


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def _url_check(allow_private: bool) -> UrlCheck:
    return partial(check_destination, allow_private=allow_private)


def configured_flat_rates(settings: Settings) -> FlatRates:
    """The configured rates of tax and shipping where no region applies (``CUSTOMSHOP_TAX_RATE_BPS``,
    ``CUSTOMSHOP_SHIPPING_FLAT``, ``CUSTOMSHOP_SHIPPING_PER_EXTRA_ITEM``)."""
    return FlatRates(settings.tax_rate_bps, settings.shipping_flat, settings.shipping_per_extra_item)


def retention_policy(settings: Settings) -> RetentionPolicy:
    """The ``CUSTOMSHOP_RETENTION_*`` settings (0 keeps a kind forever)."""
    return RetentionPolicy(
        outbox=timedelta(days=settings.retention_outbox_days),
        webhook_deliveries=timedelta(days=settings.retention_webhook_deliveries_days),
        webhook_logs=timedelta(days=settings.retention_webhook_logs_days),
        emails=timedelta(days=settings.retention_emails_days),
        idempotency=timedelta(hours=settings.retention_idempotency_hours),
    )


def make_mailer(settings: Settings) -> Mailer:
    """SMTP when ``CUSTOMSHOP_SMTP_URL`` is set; otherwise emails are written as ``.eml`` files into
    ``mail/`` of the data directory."""
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from)
    return FolderMailer(settings.data_path / "mail", settings.mail_from)


def _shop_name(mail_from: str) -> str:
    """The display name of the sender address (``customshop`` in ``customshop <shop@localhost>``)."""
    name, address = parseaddr(mail_from)
    return name or address or "customshop"


def _mail_domain(mail_from: str) -> str:
    """The domain of the sender address, for ``Message-ID`` headers."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


def payment_gateways(settings: Settings) -> dict[str, PaymentGateway]:
    """The enabled payment providers, by name. A provider's SDK is imported only when it is
    configured, which keeps start-up of the CLI and of the embedded mode light."""
    gateways: dict[str, PaymentGateway] = {}
    if settings.test_payments:
        gateways["test"] = TestPaymentGateway()
    if settings.stripe_secret_key and settings.stripe_webhook_secret:
        from customshop.adapters.payments.stripe import StripePaymentGateway

        gateways["stripe"] = StripePaymentGateway(
            secret_key=settings.stripe_secret_key,
            webhook_secret=settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base,
            timeout_seconds=settings.payment_timeout_seconds,
        )
    if settings.paypal_client_id and settings.paypal_client_secret and settings.paypal_webhook_id:
        from customshop.adapters.payments.paypal import PayPalPaymentGateway

        gateways["paypal"] = PayPalPaymentGateway(
            client_id=settings.paypal_client_id,
            client_secret=settings.paypal_client_secret,
            webhook_id=settings.paypal_webhook_id,
            api_base=settings.paypal_api_base or "https://api-m.paypal.com",
            return_url=settings.paypal_return_url,
            cancel_url=settings.paypal_cancel_url,
            timeout_seconds=settings.payment_timeout_seconds,
        )
    return gateways


def _fulfills(settings: Settings) -> bool:
    return _fulfillment_target(settings) is not None


def _fulfillment_target(settings: Settings) -> FulfillmentTarget | None:
    if settings.fulfillment_url is None or settings.fulfillment_secret is None:
        return None
    return FulfillmentTarget(settings.fulfillment_url, settings.fulfillment_secret)


class Adapters(containers.DeclarativeContainer):
    """The adapters: clocks, ids, the database, storage, imaging, Redis, the job queue, metrics,
    the flat rates of pricing, payment gateways, outgoing HTTP and mail, chosen from ``settings``.

    Each is swappable for tests without touching the use cases: pass an overriding provider when
    making it (``Adapters(settings=settings, engine=engine)``), or override one on a built container
    (``container.adapters.clock.override(providers.Object(clock))``) and reset the use-case
    singletons that already hold the old one.
    """

    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidV7Ids)
    engine = providers.Singleton(
        create_engine,
        settings.provided.resolved_database_url,
        pool_size=settings.provided.database_pool_size,
        timeout_seconds=settings.provided.database_timeout_seconds,
        statement_timeout_seconds=settings.provided.database_statement_timeout_seconds,
    )
    uow = providers.Factory(SqlUnitOfWork, engine=engine)
    storage = providers.Singleton(
        storage_from_url, settings.provided.storage_url, settings.provided.storage_root
    )
    images = providers.Singleton(PillowImageProcessor)
    renderer = providers.Singleton(PillowRenderer)
    redis = providers.Singleton(queue_client, settings.provided.redis_url)
    #: Runs a job by name inside this process (set by ``build_container``, which knows the use cases).
    job_runner: providers.Dependency[Any] = providers.Dependency()
    rq_queue = providers.Singleton(
        RqJobQueue,
        redis=redis,
        entrypoint=WORKER_ENTRYPOINT,
        job_timeout=settings.provided.render_timeout_seconds,
    )
    #: Prometheus metrics; the queue's depth is read from Redis, or kept by the in-process queue.
    in_process_metrics = providers.Singleton(PrometheusMetrics)
    metrics = providers.Selector(
        settings.provided.shared_services,
        redis=providers.Singleton(PrometheusMetrics, queue_depth=rq_queue.provided.depth),
        in_process=in_process_metrics,
    )
    queue = providers.Selector(
        settings.provided.shared_services,
        redis=rq_queue,
        in_process=providers.Singleton(
            InProcessJobQueue, dispatch=job_runner, on_depth=in_process_metrics.provided.jobs_pending
        ),
    )
    shared_cache = providers.Selector(
        settings.provided.shared_services,
        redis=providers.Singleton(RedisCache, settings.provided.redis_url),
        in_process=providers.Singleton(MemoryCache),
    )
    #: Tax and shipping where no region applies (a cart without an address, or no regions at all).
    flat_rates = providers.Singleton(configured_flat_rates, settings)
    gateways = providers.Singleton(payment_gateways, settings)
    webhook_sender = providers.Singleton(
        HttpWebhookSender,
        timeout_seconds=settings.provided.webhook_timeout_seconds,
        allow_private_networks=settings.provided.webhook_allow_private_networks,
    )
    mailer = providers.Singleton(make_mailer, settings)
    #: The read model of the product listing (``GET /products``), queried by the controller.
    product_pages = providers.Singleton(SqlProductPages, uow=uow.provider)


class UseCases(containers.DeclarativeContainer):
    """The application services, each given the adapters it needs from ``adapters`` (an
    :class:`Adapters`, or any container providing the same names) and its knobs from ``settings``."""

    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    catalog_cache = providers.Singleton(
        CatalogCache,
        uow=adapters.uow.provider,
        shared=adapters.shared_cache,
        ttl=settings.provided.catalog_cache_ttl_seconds,
    )
    catalog = providers.Singleton(
        Catalog,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        default_currency=settings.provided.currency,
        on_change=catalog_cache.provided.forget,
    )
    #: Bulk imports and exports (the CLI); invalidates cached catalogs like ``catalog`` does.
    catalog_transfer = providers.Singleton(
        CatalogTransfer,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        default_currency=settings.provided.currency,
        on_change=catalog_cache.provided.forget,
    )
    access = providers.Singleton(
        AccessKeys, uow=adapters.uow.provider, clock=adapters.clock, ids=adapters.ids
    )
    carts = providers.Singleton(
        Carts,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        flat=adapters.flat_rates,
        currency=settings.provided.currency,
        catalog_cache=catalog_cache,
    )
    checkout = providers.Singleton(
        Checkout,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        flat=adapters.flat_rates,
        gateways=adapters.gateways,
        reservation_ttl=providers.Callable(_minutes, settings.provided.reservation_ttl_minutes),
        catalog_cache=catalog_cache,
    )
    orders = providers.Singleton(
        Orders, uow=adapters.uow.provider, clock=adapters.clock, gateways=adapters.gateways, ids=adapters.ids
    )
    outbox_relay = providers.Singleton(
        OutboxRelay, uow=adapters.uow.provider, queue=adapters.queue, clock=adapters.clock
    )
    webhooks = providers.Singleton(
        Webhooks,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        queue=adapters.queue,
        sender=adapters.webhook_sender,
        check_url=providers.Callable(_url_check, settings.provided.webhook_allow_private_networks),
        schedule=settings.provided.webhook_retry_schedule,
        fulfillment=providers.Callable(_fulfillment_target, settings),
        metrics=adapters.metrics,
    )
    print_files = providers.Singleton(
        PrintFiles,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        queue=adapters.queue,
        storage=adapters.storage,
        renderer=adapters.renderer,
        webhooks=webhooks,
        public_url=settings.provided.public_url,
        render_timeout=providers.Callable(_seconds, settings.provided.render_timeout_seconds),
        preview_side=settings.provided.preview_size,
        fulfillment=providers.Callable(_fulfills, settings),
        metrics=adapters.metrics,
    )
    inventory = providers.Singleton(Inventory, uow=adapters.uow.provider, clock=adapters.clock)
    pricing_rules = providers.Singleton(
        PricingRules, uow=adapters.uow.provider, clock=adapters.clock, ids=adapters.ids
    )
    reports = providers.Singleton(Reports, uow=adapters.uow.provider, currency=settings.provided.currency)
    notifications = providers.Singleton(
        Notifications,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        mailer=adapters.mailer,
        queue=adapters.queue,
        shop_name=providers.Callable(_shop_name, settings.provided.mail_from),
        # Emails back off like webhook deliveries: the same schedule for every outgoing message.
        retry_schedule=settings.provided.webhook_retry_schedule,
        message_domain=providers.Callable(_mail_domain, settings.provided.mail_from),
    )
    retention = providers.Singleton(
        Retention,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        policy=providers.Callable(retention_policy, settings),
        interval=providers.Callable(_minutes, settings.provided.retention_interval_minutes),
    )
    customization = providers.Singleton(
        Customization,
        uow=adapters.uow.provider,
        clock=adapters.clock,
        ids=adapters.ids,
        storage=adapters.storage,
        images=adapters.images,
        renderer=adapters.renderer,
        queue=adapters.queue,
        session_ttl=providers.Callable(_seconds, settings.provided.session_ttl_seconds),
        render_timeout=providers.Callable(_seconds, settings.provided.render_timeout_seconds),
        preview_side=settings.provided.preview_size,
        catalog_cache=catalog_cache,
        metrics=adapters.metrics,
    )


@dataclass(frozen=True, slots=True)
class Container:
    """The composed application: its settings, its adapters, and the use cases wired to them.

    Made only by :func:`build_container`; entrypoints (HTTP app, CLI, worker) take what they need
    from it at their start and hand it on explicitly.
    """

    settings: Settings
    adapters: Adapters
    use_cases: UseCases


def build_container(settings: Settings, *, adapters: Adapters | None = None) -> Container:
    """Compose the application from ``settings`` (the one place that does).

    Args:
        settings: The configuration every adapter and use case is chosen and tuned from.
        adapters: The adapters to wire the use cases to; by default ``Adapters(settings=settings)``.
            Tests pass their own (``Adapters(settings=settings, engine=engine)``) to swap some.

    Nothing connects here: engines and clients are made on first use and released by :func:`close`.
    """
    if adapters is None:
        adapters = Adapters(settings=settings)
    use_cases = UseCases(settings=settings, adapters=adapters)
    container = Container(settings=settings, adapters=adapters, use_cases=use_cases)
    adapters.job_runner.override(providers.Object(partial(run_job, container)))
    return container


def dependency_probes(container: Container) -> dict[str, Callable[[], Awaitable[None]]]:
    """What must answer for the process to serve, by name: the database, and the job queue when it
    is Redis (the in-process queue is part of the process)."""
    adapters = container.adapters
    probes: dict[str, Callable[[], Awaitable[None]]] = {"database": partial(ping, adapters.engine())}
    if container.settings.redis_url:
        probes["job queue"] = adapters.rq_queue().ping
    return probes


async def close(container: Container) -> None:
    """Dispose of the pooled connections (making an engine connects nothing, so this is cheap even
    when none was used) and of the Redis client when there is one."""
    adapters = container.adapters
    await adapters.engine().dispose()
    await adapters.webhook_sender().close()
    for gateway in adapters.gateways().values():
        closer = getattr(gateway, "close", None)  # the gateways that own an HTTP client
        if closer is not None:
            await closer()
    if container.settings.redis_url:
        adapters.redis().close()
        shared = adapters.shared_cache()
        if isinstance(shared, RedisCache):
            await shared.close()
