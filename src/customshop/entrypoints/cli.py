"""The ``customshop`` command. Every failure is one line on stderr and a non-zero exit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from alembic.util.exc import CommandError
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from typer.exceptions import Abort as TyperAbort
from typer.exceptions import TyperException

from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.adapters.metrics.prometheus import use_multiprocess_directory
from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import UnsupportedDatabase
from customshop.application.catalog_csv import ImportRejected
from customshop.application.catalog_io import ProductExport, ProductImport
from customshop.application.ports import Unavailable
from customshop.application.pricing_rules import PromotionInput, PromotionNotFound
from customshop.application.reports import SalesReport
from customshop.application.retention import RecordKind
from customshop.domain.errors import DomainError, InvalidInput, Violation
from customshop.domain.orders import Order, OrderStatus, PrintStatus
from customshop.domain.promotions import Promotion, PromotionKind
from customshop.domain.regions import Region
from customshop.domain.shipping import ShippingMethod
from customshop.entrypoints.catalog_files import (
    RichProgress,
    progress_display,
    read_catalog_file,
    read_templates_file,
    replaced_on_success,
)
from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.demo import DEMO_CODE, seed_demo_catalog, seed_demo_pricing, seed_demo_stock
from customshop.entrypoints.logs import granian_log_config
from customshop.entrypoints.settings import Settings, SettingsError
from customshop.entrypoints.worker import WorkerNeedsRedis, work

T = TypeVar("T")

app = typer.Typer(
    name="customshop",
    help="customshop: a backend for shops that sell customized products.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
apikey_app = typer.Typer(help="Admin API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
orders_app = typer.Typer(help="Orders: list, show, move along.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
app.add_typer(orders_app, name="orders")
webhooks_app = typer.Typer(help="Partner webhook deliveries: list attempts, retry one.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
report_app = typer.Typer(help="Sales reports of paid orders.", no_args_is_help=True)
app.add_typer(report_app, name="report")
products_app = typer.Typer(help="The catalog as CSV: products and option sets.", no_args_is_help=True)
app.add_typer(products_app, name="products")
templates_app = typer.Typer(help="Template versions from JSON files.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
promotions_app = typer.Typer(help="Promotions: discount codes and automatic discounts.", no_args_is_help=True)
app.add_typer(promotions_app, name="promotions")
regions_app = typer.Typer(
    help="Regions: where the shop ships and the tax that applies.", no_args_is_help=True
)
app.add_typer(regions_app, name="regions")

out = Console(highlight=False, soft_wrap=True)


class CliError(Exception):
    """A failure to report as one line."""


def _settings() -> Settings:
    return Settings.load()


def _run(work: Callable[[Container], Awaitable[T]]) -> T:
    """Run ``work`` with a container built from the settings, closing it afterwards."""

    async def main() -> T:
        container = build_container(_settings())
        try:
            return await work(container)
        finally:
            await close(container)

    return asyncio.run(main())


# -- serve and demo --------------------------------------------------------------------------------


async def _require_migrated(container: Container) -> None:
    current = await migrate.current(container.adapters.engine())
    if current != migrate.head():
        raise CliError(
            f"the database is at revision {current or 'none'}, not {migrate.head()}: "
            "run `customshop db upgrade`"
        )


def _serve(host: str, port: int, workers: int, tls_cert: Path | None, tls_key: Path | None) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops

    if (tls_cert is None) != (tls_key is None):
        raise CliError("--tls-cert and --tls-key go together")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise CliError(f"{path} is not a readable file")
    settings = _settings()
    # Before granian starts its workers: they inherit the directory and count into it.
    use_multiprocess_directory(settings.metrics_path)
    Granian(
        "customshop.entrypoints.http.app:create_app",
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        ssl_cert=tls_cert,
        ssl_key=tls_key,
        # Plain HTTP/1.1 unless TLS lets clients negotiate HTTP/2; no websocket routes exist.
        http=HTTPModes.auto if tls_cert else HTTPModes.http1,
        websockets=False,
        log_access=False,
        log_dictconfig=granian_log_config(settings.log_format),
    ).serve()


Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
Workers = Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")]


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Workers = 1,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate: serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Serve the HTTP API (granian, uvloop)."""
    _run(_require_migrated)
    _serve(host, port, workers, tls_cert, tls_key)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Stop once the queue is empty.")] = False,
) -> None:
    """Run jobs from Redis (previews, events, webhook deliveries); needs CUSTOMSHOP_REDIS_URL."""
    settings = _settings()
    _run(_require_migrated)
    work(settings, burst=burst)


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate the database, seed a demo catalog, print an admin key, and serve."""

    async def prepare(container: Container) -> str:
        await migrate.upgrade(container.adapters.engine())
        created = await seed_demo_catalog(container.use_cases.catalog())
        await seed_demo_stock(container.use_cases.inventory(), created)
        for product in created:
            out.print(f"seeded {product.name} ({product.id})")
        for region in await seed_demo_pricing(container.use_cases.pricing_rules()):
            out.print(f"seeded region {region.name} ({region.id})")
        out.print(f"demo discount code: {DEMO_CODE}")
        _, secret = await container.use_cases.access().create("demo admin", ["admin"])
        return secret

    secret = _run(prepare)
    out.print(f"Admin API key (shown once, scope admin): {secret}")
    out.print(f"Serving on http://{host}:{port}  - try: curl http://{host}:{port}/products")
    _serve(host, port, 1, None, None)


# -- db --------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database up (to the newest revision by default)."""

    async def work(container: Container) -> str | None:
        await migrate.upgrade(container.adapters.engine(), revision)
        return await migrate.current(container.adapters.engine())

    out.print(f"database at revision {_run(work)}")


# A relative target such as -1 is an argument, not an unknown option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision: -1 is one step, base is empty.")] = "-1",
) -> None:
    """Migrate the database down (one revision by default)."""

    async def work(container: Container) -> str | None:
        await migrate.downgrade(container.adapters.engine(), revision)
        return await migrate.current(container.adapters.engine())

    out.print(f"database at revision {_run(work) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest this version ships."""

    async def work(container: Container) -> str | None:
        return await migrate.current(container.adapters.engine())

    out.print(f"database at revision {_run(work) or 'base'} (newest: {migrate.head()})")


# -- apikey ----------------------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    scope: Annotated[
        list[str],
        typer.Option(
            help="catalog:write, orders:read, orders:write, reports:read, webhooks:manage, pricing:write "
            "or admin (repeatable)."
        ),
    ],
) -> None:
    """Create a key. It is printed once, alone on the last line; only its hash is kept."""

    async def work(container: Container) -> tuple[str, str]:
        key, secret = await container.use_cases.access().create(name, scope)
        return key.id, secret

    key_id, secret = _run(work)
    out.print(f"created API key {key_id} ({name}); store it now, it cannot be shown again:")
    print(secret)


@apikey_app.command("list")
def apikey_list() -> None:
    """List keys (never their secrets)."""
    keys = _run(lambda c: c.use_cases.access().list())
    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("name", "starts with", "scopes", "created", "revoked"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.id,
            key.name,
            key.hint + "…",
            " ".join(sorted(key.scopes)),
            key.created_at.strftime("%Y-%m-%d %H:%M"),
            key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "",
        )
    _print_table(table)


def _print_table(table: Table) -> None:
    if out.is_terminal:
        out.print(table)
    else:  # piped or redirected: whole values at the table's natural width, not cut to 80 columns
        width = Measurement.get(out, out.options.update_width(1_000), table).maximum
        Console(highlight=False, soft_wrap=True, width=width).print(table)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `apikey list`).")]) -> None:
    """Revoke a key; requests carrying it are refused from now on."""
    key = _run(lambda c: c.use_cases.access().revoke(key_id))
    out.print(f"revoked API key {key.id} ({key.name})")


# -- orders ---------------------------------------------------------------------------------------

STATUSES = ", ".join(status.value for status in OrderStatus)


def _status(value: str, option: str) -> OrderStatus:
    try:
        return OrderStatus(value)
    except ValueError:
        raise InvalidInput([Violation(option, "invalid_choice", f"a status is one of {STATUSES}")]) from None


def _money(amount: int, currency: str) -> str:
    return f"{amount} {currency}"


@orders_app.command("list")
def orders_list(
    status: Annotated[str | None, typer.Option(help=f"Only orders in this status: {STATUSES}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 50,
) -> None:
    """List orders, newest first."""
    wanted = _status(status, "--status") if status is not None else None
    page = _run(lambda c: c.use_cases.orders().list(status=wanted, limit=limit))
    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("status", "total", "items", "email", "created"):
        table.add_column(column)
    for order in page.items:
        table.add_row(
            order.id,
            order.status.value,
            _money(order.total.amount, order.currency),
            str(sum(line.quantity for line in order.lines)),
            order.email,
            order.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    _print_table(table)


@orders_app.command("show")
def orders_show(order_id: Annotated[str, typer.Argument(help="The order's id.")]) -> None:
    """Show one order: its lines, totals, payment and timeline."""
    order = _run(lambda c: c.use_cases.orders().get(order_id))
    address = order.shipping_address
    out.print(f"order {order.id}: {order.status.value}")
    out.print(f"  email     {order.email}")
    out.print(
        f"  ship to   {address.name}, {address.line1}{', ' + address.line2 if address.line2 else ''}, "
        f"{address.postal_code} {address.city}, {address.country}"
    )
    for line in order.lines:
        out.print(
            f"  {line.quantity} × {line.product_name} (template v{line.template_version}) "
            f"at {_money(line.unit_price, order.currency)} = {_money(line.line_total, order.currency)}"
        )
        printed = line.print_file
        where = f" /print-files/{printed.id}" if printed.status is PrintStatus.READY else ""
        out.print(
            f"      print file {printed.status.value}{where}"
            + (f": {printed.error}" if printed.error else "")
        )
    for discount in order.discounts:
        out.print(f"  discount  {discount.code or discount.description}: -{discount.amount}")
    method = f" ({order.shipping_method.name})" if order.shipping_method else ""
    included = " included" if order.prices_include_tax else ""
    out.print(
        f"  subtotal {order.subtotal.amount}, discounts {order.discount_total.amount}, "
        f"shipping{method} {order.shipping.amount}, tax{included} {order.tax.amount}, "
        f"total {_money(order.total.amount, order.currency)}"
    )
    out.print(
        f"  payment   {order.payment_provider} {order.payment_id or '-'}: "
        f"paid {order.paid_amount.amount}, refunded {order.refunded_amount.amount}"
        + (f", last failure: {order.payment_failure}" if order.payment_failure else "")
    )
    if order.tracking_url:
        out.print(f"  tracking  {order.tracking_url}")
    for entry in order.timeline:
        note = f" ({entry.note})" if entry.note else ""
        out.print(f"  {entry.at.strftime('%Y-%m-%d %H:%M:%S')}  {entry.status.value}{note}")


@orders_app.command("advance")
def orders_advance(
    order_id: Annotated[str, typer.Argument(help="The order's id.")],
    status: Annotated[
        str,
        typer.Argument(
            help="The next status: in_production, fulfilled, shipped, delivered, cancelled or refunded."
        ),
    ],
    tracking_url: Annotated[
        str | None, typer.Option(help="The parcel's tracking page (with shipped).")
    ] = None,
) -> None:
    """Move an order to its next status (cancelled/refunded also release stock or refund the payment)."""
    target = _status(status, "STATUS")
    order = _run(lambda c: c.use_cases.orders().advance(order_id, target, tracking_url))
    out.print(f"order {order.id} is now {order.status.value}")


@orders_app.command("reprint")
def orders_reprint(order_id: Annotated[str, typer.Argument(help="The order's id.")]) -> None:
    """Render a paid order's print files again. With Redis, a `customshop worker` renders them;
    embedded, this command renders them before returning."""

    async def work(container: Container) -> Order:
        await container.use_cases.print_files().reprint(order_id)
        queue = container.adapters.queue()
        if isinstance(queue, InProcessJobQueue):
            await queue.drain()
        return await container.use_cases.orders().get(order_id)

    order = _run(work)
    for line in order.lines:
        printed = line.print_file
        out.print(
            f"{line.product_name}: print file {printed.status.value}"
            + (f" ({printed.error})" if printed.error else "")
        )


# -- report ---------------------------------------------------------------------------------------


def _report_options(exc: InvalidInput) -> InvalidInput:
    """The report's bad parameters named as the command's options (``start`` → ``--start``)."""
    return InvalidInput([replace(v, field=f"--{v.field}") for v in exc.violations], exc.message)


@report_app.command("sales")
def report_sales(
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (UTC), included.")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (UTC), included.")],
    currency: Annotated[
        str | None, typer.Option(help="Only orders in this currency (default: the shop's).")
    ] = None,
) -> None:
    """Sales paid from --start to --end (UTC, both included), by product and template version."""

    async def work(container: Container) -> SalesReport:
        try:
            return await container.use_cases.reports().sales(start, end, currency)
        except InvalidInput as exc:
            raise _report_options(exc) from None

    report = _run(work)
    money = report.currency
    out.print(
        f"sales paid {report.days.start} to {report.days.end} (UTC, both included): "
        f"{report.orders} orders, {report.units} units, {_money(report.total_sales, money)}"
    )
    out.print(
        f"  discounts {_money(report.discounts, money)}, shipping {_money(report.shipping, money)}, "
        f"tax {_money(report.tax, money)}"
    )
    table = Table(show_footer=True)
    table.add_column("product", "total", no_wrap=True, min_width=36)
    table.add_column("name")
    table.add_column("template", justify="right")
    table.add_column("units", str(report.units), justify="right")
    table.add_column("revenue", _money(report.total_sales, money), justify="right")
    for sales in report.by_product:
        table.add_row(
            sales.product_id,
            sales.product_name,
            f"v{sales.template_version}",
            str(sales.units),
            _money(sales.revenue, money),
        )
    _print_table(table)


# -- webhooks -------------------------------------------------------------------------------------


@webhooks_app.command("list")
def webhooks_list(
    event: Annotated[
        str | None, typer.Option(help="Only attempts of this event type (order.paid...).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 50,
) -> None:
    """List delivery attempts, newest first (the delivery id is what `webhooks retry` takes)."""
    page = _run(lambda c: c.use_cases.webhooks().logs(event=event, before=None, limit=limit))
    table = Table()
    table.add_column("delivery", no_wrap=True, min_width=36)
    for column in ("event", "attempt", "status", "sent", "endpoint", "error"):
        table.add_column(column)
    for log in page.items:
        table.add_row(
            log.delivery_id,
            log.event,
            str(log.attempt),
            str(log.response_status) if log.response_status is not None else "-",
            log.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
            log.endpoint_id,
            log.error or "",
        )
    _print_table(table)


@webhooks_app.command("retry")
def webhooks_retry(
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (see `webhooks list`).")],
) -> None:
    """Send a delivery again now, even one that gave up. With Redis, a `customshop worker` sends it;
    embedded, this command sends it before returning."""

    async def work(container: Container) -> str:
        delivery = await container.use_cases.webhooks().retry(delivery_id)
        queue = container.adapters.queue()
        if isinstance(queue, InProcessJobQueue):
            await queue.drain()
        return delivery.id

    out.print(f"delivery {_run(work)} is being sent again")


# -- retention -------------------------------------------------------------------------------------


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False,
) -> None:
    """Delete finished records past their retention (CUSTOMSHOP_RETENTION_*): dispatched outbox
    events, finished webhook deliveries and their logs, sent or failed emails, old idempotency keys,
    expired guest session keys.
    Pending work is never deleted. The serving processes also do this on their own, hourly."""

    async def work(container: Container) -> dict[RecordKind, int]:
        await _require_migrated(container)
        return await container.use_cases.retention().purge(dry_run=dry_run)

    counts = _run(work)
    verb = "would delete" if dry_run else "deleted"
    for kind in RecordKind:
        out.print(f"{kind.value}: {verb} {counts[kind]}" if kind in counts else f"{kind.value}: kept forever")


# -- products and templates -----------------------------------------------------------------------

CsvPath = Annotated[Path, typer.Argument(help="The CSV file (format: docs/operations.md, Catalog files).")]


def _rejected(path: Path, exc: ImportRejected) -> CliError:
    """Print every problem of a rejected file on stderr, one a line; the error that ends the report."""
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    return CliError(f"{path}: {exc.message}")


@products_app.command("import")
def products_import(path: CsvPath) -> None:
    """Create or update products and their option sets from a CSV file: all rows or none.

    Every problem is printed on stderr as `line N: field: why`; then nothing is imported.
    """
    try:
        with progress_display() as display:
            file = read_catalog_file(path, display)
            done: ProductImport = _run(
                lambda c: c.use_cases.catalog_transfer().import_products(file, RichProgress(display))
            )
    except ImportRejected as exc:
        raise _rejected(path, exc) from None
    out.print(
        f"imported {path}: {done.created} products created, {done.updated} updated, "
        f"{done.unchanged} unchanged; {done.option_sets_created} option sets created, "
        f"{done.option_sets_updated} updated"
    )


@products_app.command("export")
def products_export(path: CsvPath) -> None:
    """Write every product (active or not) with its media and option sets to a CSV file, replacing it."""
    with progress_display() as display, replaced_on_success(path) as sink:
        done: ProductExport = _run(
            lambda c: c.use_cases.catalog_transfer().export_products(sink, RichProgress(display))
        )
    out.print(f"exported {done.products} products and {done.option_sets} option sets to {path}")


@templates_app.command("import")
def templates_import(
    path: Annotated[
        Path, typer.Argument(help="A JSON file: one template object or a list (docs/operations.md).")
    ],
) -> None:
    """Add template versions from a JSON file: all of them or none.

    Each problem is one line on stderr naming its template (index from 0) and field; then nothing is imported.
    """
    try:
        with progress_display() as display:
            items = read_templates_file(path, display)
            created = _run(
                lambda c: c.use_cases.catalog_transfer().import_templates(items, RichProgress(display))
            )
    except ImportRejected as exc:
        raise _rejected(path, exc) from None
    for template in created:
        default = ", the default" if template.is_default else ""
        status = "" if template.starts_sessions else f", {template.status}"  # a draft, or retired
        out.print(
            f"template {template.id}: version {template.version} of product {template.product_id}"
            f"{default}{status}"
        )
    out.print(f"imported {path}: {len(created)} template{'' if len(created) == 1 else 's'}")


# -- promotions and regions ------------------------------------------------------------------------

KINDS = ", ".join(kind.value for kind in PromotionKind)
#: A promotion's fields as this command's options name them.
_PROMOTION_OPTIONS = {"product_ids": "--product"}


def _promotion_options(exc: InvalidInput) -> InvalidInput:
    """The promotion's bad fields named as the command's options (``usage_limit`` → ``--usage-limit``,
    ``product_ids[1]`` → ``--product``)."""

    def option(field: str) -> str:
        name = field.split("[", 1)[0]
        return _PROMOTION_OPTIONS.get(name, "--" + name.replace("_", "-"))

    return InvalidInput([replace(v, field=option(v.field)) for v in exc.violations], exc.message)


def _instant(value: str | None, option: str) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 time with its zone."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        at = datetime.fromisoformat(value)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidInput(
            [Violation(option, "invalid_format", "a day YYYY-MM-DD or a time like 2026-12-01T09:00:00Z")]
        )
    return at.astimezone(UTC)


def _kind(value: str) -> PromotionKind:
    try:
        return PromotionKind(value)
    except ValueError:
        raise InvalidInput([Violation("--kind", "invalid_choice", f"a kind is one of {KINDS}")]) from None


@promotions_app.command("create")
def promotions_create(
    description: Annotated[str, typer.Option(help='What the customer is told ("10 % off").')],
    kind: Annotated[str, typer.Option(help=f"{KINDS}.")],
    code: Annotated[
        str | None, typer.Option(help="The code customers enter (case-insensitive); none: automatic.")
    ] = None,
    value: Annotated[
        int | None, typer.Option(help="percentage: basis points (1000 = 10 %); fixed: minor units.")
    ] = None,
    product: Annotated[
        list[str] | None, typer.Option(help="A product it applies to (repeatable; none: every product).")
    ] = None,
    min_subtotal: Annotated[int | None, typer.Option(help="Least eligible subtotal, minor units.")] = None,
    starts_at: Annotated[str | None, typer.Option(help="From YYYY-MM-DD (UTC) or an RFC 3339 time.")] = None,
    ends_at: Annotated[str | None, typer.Option(help="Until YYYY-MM-DD (UTC) or an RFC 3339 time.")] = None,
    usage_limit: Annotated[int | None, typer.Option(help="At most this many placed orders.")] = None,
    per_email_limit: Annotated[int | None, typer.Option(help="At most this many per customer email.")] = None,
    buy_quantity: Annotated[int | None, typer.Option(help="buy_x_get_y: units to buy.")] = None,
    get_quantity: Annotated[int | None, typer.Option(help="buy_x_get_y: units then free.")] = None,
    combinable: Annotated[
        bool, typer.Option(help="A code that applies together with automatic promotions.")
    ] = False,
    active: Annotated[bool, typer.Option(help="Applies from now on (--inactive: not yet).")] = True,
) -> None:
    """Create a promotion; every bad option is named on one line, and nothing is created."""
    problems: list[Violation] = []
    instants: dict[str, datetime | None] = {}
    for name, given in (("--starts-at", starts_at), ("--ends-at", ends_at)):
        try:
            instants[name] = _instant(given, name)
        except InvalidInput as exc:
            problems += exc.violations
    try:
        chosen = _kind(kind)
    except InvalidInput as exc:
        raise InvalidInput([*exc.violations, *problems]) from None
    if problems:
        raise InvalidInput(problems)
    data = PromotionInput(
        description=description,
        kind=chosen,
        combinable=combinable,
        active=active,
        code=code,
        value=value,
        product_ids=tuple(product or ()),
        min_subtotal=min_subtotal,
        starts_at=instants["--starts-at"],
        ends_at=instants["--ends-at"],
        usage_limit=usage_limit,
        per_email_limit=per_email_limit,
        buy_quantity=buy_quantity,
        get_quantity=get_quantity,
    )

    async def work(container: Container) -> Promotion:
        try:
            return await container.use_cases.pricing_rules().create_promotion(data)
        except InvalidInput as exc:
            raise _promotion_options(exc) from None

    promotion = _run(work)
    out.print(f"created promotion {promotion.id} ({promotion.code or 'automatic'})")


def _promotion_value(promotion: Promotion) -> str:
    match promotion.kind:
        case PromotionKind.PERCENTAGE:
            return f"{(promotion.value or 0) / 100:g} %"
        case PromotionKind.FIXED:
            return str(promotion.value)
        case PromotionKind.BUY_X_GET_Y:
            return f"buy {promotion.buy_quantity} get {promotion.get_quantity}"
    return "-"


@promotions_app.command("list")
def promotions_list(
    active: Annotated[bool, typer.Option("--active", help="Only active promotions.")] = False,
) -> None:
    """List promotions, oldest first, with their uses."""
    promotions = _run(lambda c: c.use_cases.pricing_rules().all_promotions(active_only=active))
    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("code", "kind", "value", "used", "active", "from", "until", "description"):
        table.add_column(column)
    for promotion in promotions:
        limit = f" / {promotion.usage_limit}" if promotion.usage_limit is not None else ""
        table.add_row(
            promotion.id,
            promotion.code or "(automatic)",
            promotion.kind.value,
            _promotion_value(promotion),
            f"{promotion.times_used}{limit}",
            "yes" if promotion.active else "no",
            promotion.starts_at.strftime("%Y-%m-%d %H:%M") if promotion.starts_at else "",
            promotion.ends_at.strftime("%Y-%m-%d %H:%M") if promotion.ends_at else "",
            promotion.description,
        )
    _print_table(table)


@promotions_app.command("disable")
def promotions_disable(
    code_or_id: Annotated[str, typer.Argument(help="The promotion's code (any case) or id.")],
) -> None:
    """Deactivate a promotion: it no longer applies to carts; its uses and history stay."""

    async def work(container: Container) -> Promotion:
        rules = container.use_cases.pricing_rules()
        try:
            return await rules.deactivate_promotion_by_code(code_or_id)
        except PromotionNotFound:
            pass
        try:
            return await rules.deactivate_promotion(code_or_id)
        except PromotionNotFound:
            raise CliError(f"no promotion has the code or id {code_or_id!r}") from None

    promotion = _run(work)
    out.print(f"disabled promotion {promotion.id} ({promotion.code or 'automatic'})")


def _rates(region: Region) -> str:
    return ", ".join(
        f"{rate.name} {rate.rate_bps / 100:g} %"
        + (f" in {rate.subdivision}" if rate.subdivision else "")
        + (f" ({rate.tax_class})" if rate.tax_class != "standard" else "")
        for rate in region.tax_rates
    )


@regions_app.command("list")
def regions_list() -> None:
    """List regions by name: countries, tax rates, how prices carry tax, shipping methods."""

    async def work(container: Container) -> list[tuple[Region, list[ShippingMethod]]]:
        rules = container.use_cases.pricing_rules()
        regions = await rules.all_regions()
        methods = (await rules.list_shipping_methods(region_id=None, after=None, limit=10_000)).items
        return [
            (r, sorted((m for m in methods if m.region_id == r.id), key=lambda m: m.name)) for r in regions
        ]

    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("name", "countries", "tax rates", "prices", "shipping taxed", "shipping methods"):
        table.add_column(column)
    for region, methods in _run(work):
        table.add_row(
            region.id,
            region.name,
            " ".join(region.countries),
            _rates(region) or "-",
            "include tax" if region.prices_include_tax else "before tax",
            "yes" if region.tax_shipping else "no",
            ", ".join(m.name + ("" if m.active else " (inactive)") for m in methods) or "-",
        )
    _print_table(table)


# -- errors ----------------------------------------------------------------------------------------


def describe(exc: BaseException) -> str:
    """One line for any failure: what went wrong and, where known, what to do."""
    match exc:
        case InvalidInput():
            return "; ".join(f"{v.field}: {v.message}" for v in exc.violations) or exc.message
        case DomainError():
            return exc.message
        case CliError() | SettingsError() | UnsupportedDatabase() | WorkerNeedsRedis() | Unavailable():
            return str(exc)
        case CommandError():
            return f"migration: {exc}"
        case DBAPIError() if _missing_table(exc):
            return "the database is not migrated: run `customshop db upgrade`"
        case DBAPIError():
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            return f"database error: {first}"
        case SQLAlchemyError():
            return f"database error: {str(exc).splitlines()[0]}"
        case OSError():
            return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}"


def _missing_table(exc: DBAPIError) -> bool:
    """Whether the database lacks customshop's tables (never migrated, or migrated down)."""
    text = str(exc.orig).lower()
    return "no such table" in text or (" relation " in text and "does not exist" in text)


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:  # usage errors (Typer's own copy of click's)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())  # a group run bare: its help, as usual
            sys.exit(0)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        print(f"error: {exc.format_message()}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, TyperAbort):
        sys.exit(130)
    except Exception as exc:
        print(f"error: {describe(exc)}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
