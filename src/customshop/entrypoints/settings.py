"""Configuration: ``CUSTOMSHOP_*`` environment variables over an optional TOML file, read once.

With nothing set, customshop runs *embedded*: everything lives under ``./var`` of the working
directory (or ``CUSTOMSHOP_DATA_DIR``), so two working directories never share state. The TOML file
is ``CUSTOMSHOP_CONFIG`` when set, else ``./customshop.toml`` when present; its keys are the
variable names without the prefix, in lower case. Environment variables win over the file.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

from customshop.domain.money import MAX_AMOUNT, is_currency
from customshop.domain.webhooks import secret_bytes

PREFIX = "CUSTOMSHOP_"
#: Variables that steer loading itself rather than being settings.
_META = {"CUSTOMSHOP_CONFIG"}

#: The API promises that an ``Idempotency-Key`` is remembered at least this long.
MIN_IDEMPOTENCY_HOURS = 24

NonNegativeMoney = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT)]


_HTTP_URL = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
#: A rate limit: ``COUNT/UNIT`` requests per client, UNIT one of second, minute, hour, day.
RateLimitSpec = Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$")]
#: A CORS origin: ``scheme://host[:port]`` exactly as browsers send it (no path), or ``*``.
CorsOrigin = Annotated[str, msgspec.Meta(pattern=r"^(\*|https?://[^\s/?#]+)$")]
#: Settings given as comma-separated lists in environment variables.
_LISTS = {"webhook_retry_schedule", "cors_origins", "trusted_proxies"}


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the variable."""


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    data_dir: str = "var"
    database_url: str | None = None
    #: Database connections each process keeps (PostgreSQL); size it so that processes × pool fits
    #: the server's max_connections.
    database_pool_size: Annotated[int, msgspec.Meta(ge=1, le=500)] = 20
    #: The longest wait for the database (a free pooled connection, a new connection, SQLite's
    #: lock); past it the request answers 503 (docs/operations.md, "When a dependency is down").
    database_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    #: PostgreSQL's statement_timeout, lock waits included; 0: none (migrations always run without).
    database_statement_timeout_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 30.0
    #: The longest a call to a payment provider may take (Stripe: retries included; PayPal: each
    #: request); past it checkout or a payment retry answers 503 and keeps nothing.
    payment_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 2.0
    redis_url: str | None = None
    storage_url: str | None = None
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "USD"
    tax_rate_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    shipping_flat: NonNegativeMoney = 0
    shipping_per_extra_item: NonNegativeMoney = 0
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    paypal_client_id: str | None = None
    paypal_client_secret: str | None = None
    paypal_api_base: str | None = None
    paypal_webhook_id: str | None = None
    smtp_url: str | None = None
    mail_from: str = "customshop <shop@localhost>"
    fulfillment_url: str | None = None
    fulfillment_secret: str | None = None
    #: Where clients reach this server: the base of the links in fulfillment payloads (print files,
    #: previews, uploaded images), which are made outside any request.
    public_url: Annotated[str, msgspec.Meta(pattern=_HTTP_URL)] = "http://127.0.0.1:8000"
    test_payments_enabled: bool | None = None
    rate_limit_enabled: bool = True
    #: Per-client limits (see docs/operations.md, "Protection"): every route but health and metrics
    #: counts against the general one; checkout and payment retries, uploads and preview requests
    #: also against their own.
    rate_limit_general: RateLimitSpec = "600/minute"
    rate_limit_checkout: RateLimitSpec = "10/minute"
    rate_limit_uploads: RateLimitSpec = "20/minute"
    rate_limit_previews: RateLimitSpec = "30/minute"
    #: Addresses or networks of reverse proxies whose ``X-Forwarded-For`` names the client (for rate
    #: limits); empty: the peer address is the client, and the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    #: The largest request body accepted (uploads have their own, larger limit).
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=100 * 1024 * 1024)] = 1024 * 1024
    #: Browser origins allowed to call the API (CORS); empty: no CORS headers at all.
    cors_origins: tuple[CorsOrigin, ...] = ()
    webhook_allow_private_networks: bool = False
    webhook_retry_schedule: tuple[Annotated[int, msgspec.Meta(ge=0)], ...] = (
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    )
    #: How long catalog reads are cached (in each process and in Redis); 0 turns the cache off.
    catalog_cache_ttl_seconds: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 60
    #: How long a guest's design session lives after its last change.
    session_ttl_seconds: Annotated[int, msgspec.Meta(ge=60)] = 7 * 24 * 3600
    #: How long one render may take before it is stopped and retried.
    render_timeout_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 60
    #: The longest side of preview images, in pixels.
    preview_size: Annotated[int, msgspec.Meta(ge=100, le=4000)] = 1000
    #: How long one webhook delivery attempt may take.
    webhook_timeout_seconds: Annotated[int, msgspec.Meta(ge=1, le=60)] = 10
    #: How often each serving process hands committed events to the job queue and sends due
    #: webhook retries.
    outbox_poll_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 1.0
    #: How long checkout holds an unpaid order's stock; then the order is cancelled.
    reservation_ttl_minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)] = 30
    #: How often each serving process looks for expired reservations.
    reservation_sweep_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 30
    #: How long finished records are kept before the periodic purge deletes them (0: forever):
    #: dispatched outbox events, finished webhook deliveries, attempt logs, sent or failed emails,
    #: and idempotency keys (at least 24 hours, as the API promises).
    retention_outbox_days: Annotated[int, msgspec.Meta(ge=0)] = 30
    retention_webhook_deliveries_days: Annotated[int, msgspec.Meta(ge=0)] = 30
    retention_webhook_logs_days: Annotated[int, msgspec.Meta(ge=0)] = 30
    retention_emails_days: Annotated[int, msgspec.Meta(ge=0)] = 30
    retention_idempotency_hours: Annotated[int, msgspec.Meta(ge=0)] = 48
    #: The least time between two purges by one serving process.
    retention_interval_minutes: Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)] = 60
    #: Where PayPal sends the buyer back after approving or cancelling (optional).
    paypal_return_url: str | None = None
    paypal_cancel_url: str | None = None
    log_level: Annotated[str, msgspec.Meta(pattern="^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    #: How `serve` and `worker` write their logs: one JSON object per line, or plain text.
    log_format: Annotated[str, msgspec.Meta(pattern="^(json|text)$")] = "json"
    #: Where the processes of one host keep their metrics for `/metrics` to add up (default
    #: DATA_DIR/metrics); `serve` and the `worker`s of one host must share it.
    metrics_dir: str | None = None

    def __post_init__(self) -> None:
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"CUSTOMSHOP_TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
                ) from None
        if 0 < self.retention_idempotency_hours < MIN_IDEMPOTENCY_HOURS:
            raise ValueError(
                f"CUSTOMSHOP_RETENTION_IDEMPOTENCY_HOURS: idempotency keys are kept at least "
                f"{MIN_IDEMPOTENCY_HOURS} hours (or 0: forever), not {self.retention_idempotency_hours}"
            )
        if not is_currency(self.currency):
            raise ValueError(f"CUSTOMSHOP_CURRENCY {self.currency!r} is not an ISO 4217 currency code")
        _require_together(
            "Stripe",
            {
                "CUSTOMSHOP_STRIPE_SECRET_KEY": self.stripe_secret_key,
                "CUSTOMSHOP_STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
            },
            {"CUSTOMSHOP_STRIPE_API_BASE": self.stripe_api_base},
        )
        if self.fulfillment_secret is not None:
            try:
                secret_bytes(self.fulfillment_secret)
            except ValueError:
                raise ValueError(
                    "CUSTOMSHOP_FULFILLMENT_SECRET must be a Standard Webhooks secret: whsec_ and base64"
                ) from None
        if self.fulfillment_url and not self.fulfillment_secret:
            raise ValueError("CUSTOMSHOP_FULFILLMENT_SECRET is needed with CUSTOMSHOP_FULFILLMENT_URL")
        _require_together(
            "PayPal",
            {
                "CUSTOMSHOP_PAYPAL_CLIENT_ID": self.paypal_client_id,
                "CUSTOMSHOP_PAYPAL_CLIENT_SECRET": self.paypal_client_secret,
                "CUSTOMSHOP_PAYPAL_WEBHOOK_ID": self.paypal_webhook_id,
            },
            {
                "CUSTOMSHOP_PAYPAL_API_BASE": self.paypal_api_base,
                "CUSTOMSHOP_PAYPAL_RETURN_URL": self.paypal_return_url,
                "CUSTOMSHOP_PAYPAL_CANCEL_URL": self.paypal_cancel_url,
            },
        )

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def embedded(self) -> bool:
        """Whether the database is the embedded SQLite default."""
        return self.database_url is None

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'customshop.db'}"

    @property
    def shared_services(self) -> str:
        """Where jobs and the shared cache live: ``redis`` when configured, else ``in_process``."""
        return "redis" if self.redis_url else "in_process"

    @property
    def storage_root(self) -> Path:
        """Where the embedded file storage keeps files."""
        return self.data_path / "storage"

    @property
    def metrics_path(self) -> Path:
        """The directory of multiprocess metrics (``metrics_dir``, or ``metrics`` in the data folder)."""
        return Path(self.metrics_dir).resolve() if self.metrics_dir else self.data_path / "metrics"

    @property
    def test_payments(self) -> bool:
        """The ``test`` payment provider is on when asked, and by default only when embedded."""
        return self.embedded if self.test_payments_enabled is None else self.test_payments_enabled

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``) and the optional TOML file.

        Raises:
            SettingsError: an unknown ``CUSTOMSHOP_*`` variable (a typo must not be silently ignored),
                an unreadable file, or a value of the wrong type or range.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        config_path = env.get("CUSTOMSHOP_CONFIG")
        path = Path(config_path) if config_path else (cwd or Path.cwd()) / "customshop.toml"
        if config_path or path.is_file():
            try:
                values.update(tomllib.loads(path.read_text("utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"cannot read the configuration file {path}: {exc}") from None
        fields = {field.name: field for field in msgspec.structs.fields(cls)}
        unknown = [key for key in values if key not in fields]
        if unknown:
            raise SettingsError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        for name, raw in env.items():
            if not name.startswith(PREFIX) or name in _META:
                continue
            key = name[len(PREFIX) :].lower()
            if key not in fields:
                raise SettingsError(f"{name} is not a customshop setting")
            if raw == "":
                continue  # an empty variable means "not set"
            if key in _LISTS:
                values[key] = [part.strip() for part in raw.split(",") if part.strip()]
            else:
                values[key] = raw
        try:
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(_explain(str(exc))) from None


def _require_together(
    provider: str, needed: Mapping[str, str | None], extras: Mapping[str, str | None]
) -> None:
    """Refuse a partial payment configuration: a provider is configured by all of ``needed`` or by
    none of them, and ``extras`` (which only tune it) only beside all of them. Half a provider would
    start payments that are never confirmed (no webhook secret), or not be enabled at all while its
    settings suggest it is.

    Raises:
        ValueError: naming the variables that are missing, and those that are set.
    """
    given = [name for name, value in {**needed, **extras}.items() if value]
    missing = [name for name, value in needed.items() if not value]
    if given and missing:
        raise ValueError(
            f"{provider} needs {', '.join(needed)} together: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing (set: {', '.join(given)})"
        )


def _explain(message: str) -> str:
    text, _, where = message.partition(" - at `$.")
    if where:
        field = where.split("`")[0].split(".")[0].split("[")[0]
        return f"{PREFIX}{field.upper()}: {text}"
    return text
