"""The Litestar application: routes, the bridge from the container to handlers, errors, OpenAPI."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from typing import TypeVar

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from customshop import __version__
from customshop.adapters.metrics.prometheus import forget_live_values, multiprocess_directory
from customshop.entrypoints import background
from customshop.entrypoints.container import Container, build_container, close, dependency_probes
from customshop.entrypoints.http.body import RequestBodyPlugin
from customshop.entrypoints.http.controllers.cart import CartController
from customshop.entrypoints.http.controllers.checkout import CheckoutController
from customshop.entrypoints.http.controllers.health import HealthController
from customshop.entrypoints.http.controllers.inventory import InventoryController
from customshop.entrypoints.http.controllers.metrics import MetricsController
from customshop.entrypoints.http.controllers.optionsets import OptionSetController
from customshop.entrypoints.http.controllers.orders import OrderController
from customshop.entrypoints.http.controllers.payments import PaymentWebhookController, TestPaymentController
from customshop.entrypoints.http.controllers.previews import PreviewController
from customshop.entrypoints.http.controllers.pricing import (
    PromotionController,
    RegionController,
    ShippingMethodController,
)
from customshop.entrypoints.http.controllers.prints import PrintFileController
from customshop.entrypoints.http.controllers.products import ProductController
from customshop.entrypoints.http.controllers.reports import ReportController
from customshop.entrypoints.http.controllers.sessions import SessionController
from customshop.entrypoints.http.controllers.templates import TemplateController
from customshop.entrypoints.http.controllers.webhooks import (
    FulfillmentWebhookController,
    WebhookEndpointController,
    WebhookLogController,
)
from customshop.entrypoints.http.errors import EXCEPTION_HANDLERS
from customshop.entrypoints.http.observability import ObservabilityMiddleware
from customshop.entrypoints.http.openapi import ProblemDocumentsOpenAPIConfig
from customshop.entrypoints.http.params import API_KEY_HEADER, CatalogHook, ScopeGuard
from customshop.entrypoints.http.rate_limits import rate_limiting
from customshop.entrypoints.http.security import SecurityHeadersMiddleware, cors_config
from customshop.entrypoints.logs import configure_logging, flush_logs, redact
from customshop.entrypoints.settings import Settings

T = TypeVar("T")

DESCRIPTION = """\
The customshop API: a catalog of customizable products and their templates, guest design sessions,
carts, checkout and orders.

Conventions: JSON with snake_case fields; money is an integer of minor units beside a `currency`;
ids are opaque strings; errors are RFC 9457 problem documents (`application/problem+json`) whose
`errors` list names each offending field; lists are `{items, next_cursor}` pages (`?limit=`,
`?cursor=`). Admin operations need an `X-API-Key` header whose key has the operation's scope.
"""


def _bridge(provider: Callable[[], T]) -> Provide:
    """A Litestar dependency resolved by a container provider (the one bridge between the two)."""

    def dependency() -> T:
        return provider()

    return Provide(dependency, sync_to_thread=False, use_cache=True)


def _value(value: T) -> Provide:
    """A Litestar dependency that is ``value`` (taken from the container when the app is built)."""

    def dependency() -> T:
        return value

    return Provide(dependency, sync_to_thread=False, use_cache=True)


def create_app(container: Container | None = None, *, readiness_probes: bool = True) -> Litestar:
    """Build the ASGI app around ``container`` (by default one made from the environment's settings).

    Also the factory ``customshop serve`` hands to granian, one call per worker process.
    """
    container = container or build_container(Settings.load())
    settings = container.settings
    configure_logging(settings.log_level, settings.log_format)
    adapters, use_cases = container.adapters, container.use_cases
    metrics = adapters.metrics()
    readiness = dependency_probes(container) if readiness_probes else {}

    tasks: background.Tasks = []

    async def start_background(_: Litestar) -> None:
        tasks.extend(background.start(container))

    async def stop_background(_: Litestar) -> None:
        await background.stop(tasks)
        tasks.clear()

    async def freeze_startup_objects(_: Litestar) -> None:
        # Everything alive now (modules, app, routes) lives as long as the process: moving it out of
        # the collector's generations keeps full collections short, and with them the p99 tail.
        gc.collect()
        gc.freeze()

    async def release(_: Litestar) -> None:
        await close(container)

    async def stop_observing(_: Litestar) -> None:
        metrics.flush_requests()
        directory = multiprocess_directory()
        if directory is not None:  # this process's share of the queue depth ends with it
            forget_live_values(directory)
        flush_logs()

    limits = rate_limiting(settings)

    app = Litestar(
        route_handlers=[
            ProductController,
            TemplateController,
            OptionSetController,
            SessionController,
            PreviewController,
            PrintFileController,
            CartController,
            CheckoutController,
            OrderController,
            InventoryController,
            RegionController,
            ShippingMethodController,
            PromotionController,
            ReportController,
            PaymentWebhookController,
            FulfillmentWebhookController,
            WebhookEndpointController,
            WebhookLogController,
            *([TestPaymentController] if "test" in adapters.gateways() else []),
            HealthController,
            MetricsController,
        ],
        # Every handler gets what it uses from here, and the guard and the hook from their
        # constructors below; nothing is looked up on ``app.state`` or by name.
        dependencies={
            "catalog": _bridge(use_cases.catalog),
            "customization": _bridge(use_cases.customization),
            "carts": _bridge(use_cases.carts),
            "checkout": _bridge(use_cases.checkout),
            "orders": _bridge(use_cases.orders),
            "print_files": _bridge(use_cases.print_files),
            "inventory": _bridge(use_cases.inventory),
            "pricing_rules": _bridge(use_cases.pricing_rules),
            "reports": _bridge(use_cases.reports),
            "webhooks": _bridge(use_cases.webhooks),
            "catalog_cache": _bridge(use_cases.catalog_cache),
            "access": _bridge(use_cases.access),
            "clock": _bridge(adapters.clock),
            "metrics": _value(metrics),
            "readiness": _value(readiness),
            "fulfillment_secret": _value(settings.fulfillment_secret),
            "product_pages": _bridge(adapters.product_pages),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # Routes say what they need in ``opt``: the scope of an admin key (``params.requires``),
        # or a cached catalog read (``params.CACHED_CATALOG``).
        guards=[ScopeGuard(use_cases.access())],
        before_request=CatalogHook(use_cases.catalog_cache()),
        plugins=[RequestBodyPlugin()],
        # Protection (docs/operations.md, "Protection"): limits per client, body size, headers, CORS.
        middleware=limits.middleware,
        stores=limits.stores,
        request_max_body_size=settings.max_body_bytes,
        cors_config=cors_config(settings),
        on_startup=[start_background, freeze_startup_objects],
        on_shutdown=[stop_background, release, limits.close, stop_observing],
        # Finished by http/openapi.py: every status documented with the body the server sends.
        openapi_config=ProblemDocumentsOpenAPIConfig(
            title="customshop",
            version=__version__,
            description=DESCRIPTION,
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            use_handler_docstrings=True,
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="apiKey",
                        name=API_KEY_HEADER,
                        security_scheme_in="header",
                        description="An admin API key (`customshop apikey create`).",
                    )
                }
            ),
        ),
        # Logs are configured above (entrypoints/logs.py); unexpected errors are logged once, with
        # their traceback, by the error border.
        logging_config=None,
        debug=False,
    )
    # Security headers on every answer, those of the router and of CORS included.
    app.asgi_handler = SecurityHeadersMiddleware(app.asgi_handler)
    # Outermost, around routing and the error border: every answer is counted and carries its id.
    app.asgi_handler = ObservabilityMiddleware(app.asgi_handler, metrics.observe_request)
    logging.getLogger("customshop.http").info(
        "process %d ready: database %s, job queue %s, metrics %s",
        os.getpid(),
        redact(settings.resolved_database_url),
        redact(settings.redis_url) if settings.redis_url else "in process",
        multiprocess_directory() or "in process",
    )
    return app
