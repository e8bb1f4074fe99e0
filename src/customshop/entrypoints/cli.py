"""The ``customshop`` command. Every failure is one line on stderr and a non-zero exit."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
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

from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import UnsupportedDatabase
from customshop.domain.errors import DomainError, InvalidInput
from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.demo import seed_demo_catalog
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
app.add_typer(apikey_app, name="apikey")

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
    current = await migrate.current(container.engine())
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
    """Run jobs (preview renders) from Redis; needs CUSTOMSHOP_REDIS_URL."""
    settings = _settings()
    _run(_require_migrated)
    work(settings, burst=burst)


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate the database, seed a demo catalog, print an admin key, and serve."""

    async def prepare(container: Container) -> str:
        await migrate.upgrade(container.engine())
        created = await seed_demo_catalog(container.catalog())
        for product in created:
            out.print(f"seeded {product.name} ({product.id})")
        _, secret = await container.access().create("demo admin", ["admin"])
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
        await migrate.upgrade(container.engine(), revision)
        return await migrate.current(container.engine())

    out.print(f"database at revision {_run(work)}")


# A relative target such as -1 is an argument, not an unknown option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision: -1 is one step, base is empty.")] = "-1",
) -> None:
    """Migrate the database down (one revision by default)."""

    async def work(container: Container) -> str | None:
        await migrate.downgrade(container.engine(), revision)
        return await migrate.current(container.engine())

    out.print(f"database at revision {_run(work) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest this version ships."""

    async def work(container: Container) -> str | None:
        return await migrate.current(container.engine())

    out.print(f"database at revision {_run(work) or 'base'} (newest: {migrate.head()})")


# -- apikey ----------------------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    scope: Annotated[
        list[str],
        typer.Option(
            help="catalog:write, orders:read, orders:write, reports:read, webhooks:manage or admin "
            "(repeatable)."
        ),
    ],
) -> None:
    """Create a key. It is printed once, alone on the last line; only its hash is kept."""

    async def work(container: Container) -> tuple[str, str]:
        key, secret = await container.access().create(name, scope)
        return key.id, secret

    key_id, secret = _run(work)
    out.print(f"created API key {key_id} ({name}); store it now, it cannot be shown again:")
    print(secret)


@apikey_app.command("list")
def apikey_list() -> None:
    """List keys (never their secrets)."""
    keys = _run(lambda c: c.access().list())
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
    if out.is_terminal:
        out.print(table)
    else:  # piped or redirected: whole values at the table's natural width, not cut to 80 columns
        width = Measurement.get(out, out.options.update_width(1_000), table).maximum
        Console(highlight=False, soft_wrap=True, width=width).print(table)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `apikey list`).")]) -> None:
    """Revoke a key; requests carrying it are refused from now on."""
    key = _run(lambda c: c.access().revoke(key_id))
    out.print(f"revoked API key {key.id} ({key.name})")


# -- errors ----------------------------------------------------------------------------------------


def describe(exc: BaseException) -> str:
    """One line for any failure: what went wrong and, where known, what to do."""
    match exc:
        case InvalidInput():
            return "; ".join(f"{v.field}: {v.message}" for v in exc.violations) or exc.message
        case DomainError():
            return exc.message
        case CliError() | SettingsError() | UnsupportedDatabase() | WorkerNeedsRedis():
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
