"""The schema, as SQLAlchemy Core tables. Alembic migrations create exactly this (a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone, so it is restored on read)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Timestamps: on PostgreSQL a plain ``timestamptz`` (sessions run in UTC, see ``engine.py``, so
#: psycopg already returns aware UTC datetimes and rows need no per-value conversion); on SQLite the
#: decorator above.
Timestamp: sa.types.TypeEngine[datetime] = UtcDateTime().with_variant(
    sa.DateTime(timezone=True), "postgresql"
)

#: JSON documents: JSONB on PostgreSQL, JSON text elsewhere.
Json: sa.types.TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

ID = sa.String(36)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("base_price", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("media", Json, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("tax_class", sa.String(32), nullable=False, server_default="standard"),
    # As the API shows it: [{min_quantity, discount_bps}], smallest quantity first.
    sa.Column("volume_pricing", Json, nullable=False, server_default="[]"),
)

option_sets = sa.Table(
    "option_sets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("product_id", ID, sa.ForeignKey("products.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("options", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("product_id", ID, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", Json, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    # draft | published | retired (domain.templates.TemplateStatus)
    sa.Column("status", sa.String(16), nullable=False, server_default="published"),
    sa.UniqueConstraint("product_id", "version"),
    sa.Index(
        "uq_templates_default_per_product",
        "product_id",
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    ),
)

#: Which option sets each template draws on, so "is this set in use?" is an indexed lookup.
template_option_sets = sa.Table(
    "template_option_sets",
    metadata,
    sa.Column("template_id", ID, sa.ForeignKey("templates.id"), primary_key=True),
    sa.Column("option_set_id", ID, sa.ForeignKey("option_sets.id"), primary_key=True, index=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("hint", sa.String(20), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
)

# -- customization ---------------------------------------------------------------------------------

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    #: SHA-256 of the guest's session key: the only link between a guest and what it owns.
    sa.Column("guest", sa.String(64), nullable=False, index=True),
    sa.Column("product_id", ID, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("template_id", ID, sa.ForeignKey("templates.id"), nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("options", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
)

assets = sa.Table(
    "assets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("session_id", ID, sa.ForeignKey("sessions.id"), nullable=False, index=True),
    sa.Column("content_type", sa.String(40), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(300), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

preview_jobs = sa.Table(
    "preview_jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("session_id", ID, sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("design_hash", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("storage_key", sa.String(300), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_preview_jobs_status_updated_at", "status", "updated_at"),
)

# -- cart ------------------------------------------------------------------------------------------

cart_items = sa.Table(
    "cart_items",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("guest", sa.String(64), nullable=False, index=True),
    sa.Column("product_id", ID, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("product_name", sa.String(200), nullable=False),
    sa.Column("template_id", ID, sa.ForeignKey("templates.id"), nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("template_snapshot", Json, nullable=False),
    sa.Column("options", Json, nullable=False),
    sa.Column("components", Json, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("unit_price", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("design_key", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

#: What a guest told its cart besides the lines. ``address`` is ``{country, subdivision?,
#: postal_code?, name?, line1?, line2?, city?}``; ``promotion_code`` is stored normalized.
cart_details = sa.Table(
    "cart_details",
    metadata,
    sa.Column("guest", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("address", Json, nullable=True),
    sa.Column("shipping_method_id", ID, nullable=True),
    sa.Column("promotion_code", sa.String(100), nullable=True),
    sa.Column("updated_at", Timestamp, nullable=False),
)

#: One row: the catalog's version stamp, bumped by every catalog write (cache invalidation).
catalog_state = sa.Table(
    "catalog_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)

# -- orders, payments, stock -----------------------------------------------------------------------

#: Orders. Their lines are in ``order_lines``; ``timeline`` is a list of ``{status, at, note}`` (``at``
#: an RFC 3339 string) and ``stock`` the units held, a list of ``{product_id, option_code, units}``.
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("guest", sa.String(64), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("shipping_address", Json, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("subtotal", sa.BigInteger, nullable=False),
    sa.Column("tax", sa.BigInteger, nullable=False),
    sa.Column("shipping", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    #: The price breakdown (revision 0013): Σ ``discounts[].amount``, the promotions in effect
    #: (``{promotion_id, code, description, amount}``), the tax per rate (``{name, rate_bps,
    #: amount}``), the shipping method (``{id, name, amount, min_days, max_days}``; NULL: flat rates).
    sa.Column("discount_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("discounts", Json, nullable=False, server_default="[]"),
    sa.Column("tax_lines", Json, nullable=False, server_default="[]"),
    sa.Column("shipping_method", Json, nullable=True),
    sa.Column("prices_include_tax", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("region_id", ID, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("timeline", Json, nullable=False),
    sa.Column("stock", Json, nullable=False),
    sa.Column("stock_state", sa.String(20), nullable=False),
    sa.Column("reserved_until", Timestamp, nullable=True),
    sa.Column("payment_provider", sa.String(20), nullable=False),
    sa.Column("payment_id", ID, nullable=True),
    sa.Column("paid_amount", sa.BigInteger, nullable=False),
    sa.Column("refunded_amount", sa.BigInteger, nullable=False),
    sa.Column("payment_failure", sa.Text, nullable=True),
    sa.Column("tracking_url", sa.Text, nullable=True),
    sa.Column("paid_at", Timestamp, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False, index=True),
    sa.Column("updated_at", Timestamp, nullable=False),
    #: The expiry sweep: ``created`` orders whose reservation has ended.
    sa.Index("ix_orders_status_reserved_until", "status", "reserved_until"),
)

#: An order's lines, frozen at checkout. No foreign key to products or templates: deleting from the
#: catalog never touches what was sold.
order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("order_id", ID, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("product_id", ID, nullable=False),
    sa.Column("product_name", sa.String(200), nullable=False),
    sa.Column("template_id", ID, nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("template_snapshot", Json, nullable=False),
    sa.Column("options", Json, nullable=False),
    sa.Column("components", Json, nullable=False),
    #: After the volume discount; ``volume_discount``, ``discount`` and ``tax`` are the line's
    #: shares of the order's quote (revision 0013).
    sa.Column("unit_price", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("volume_discount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("discount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("tax", sa.BigInteger, nullable=False, server_default="0"),
    #: The line's print file: its status, current rendering, last error, renderings started and
    #: when the next one is due (NULL: none is wanted).
    sa.Column("print_status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("print_file_id", ID, nullable=True, unique=True, index=True),
    sa.Column("print_error", sa.Text, nullable=True),
    sa.Column("print_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("print_due_at", Timestamp, nullable=True, index=True),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("order_id", ID, sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("provider", sa.String(20), nullable=False),
    sa.Column("reference", sa.String(255), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("client_secret", sa.Text, nullable=True),
    sa.Column("approval_url", sa.Text, nullable=True),
    sa.Column("payment_url", sa.Text, nullable=True),
    sa.Column("failure", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("provider", "reference"),
)

#: Stock levels. ``option_code`` is ``''`` for the product's own level (a key column cannot be NULL).
stock_levels = sa.Table(
    "stock_levels",
    metadata,
    sa.Column("product_id", ID, primary_key=True),
    sa.Column("option_code", sa.String(64), primary_key=True),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("reserved", sa.BigInteger, nullable=False),
    sa.Column("sold", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    sa.CheckConstraint("sold >= 0", name="sold_not_negative"),
    sa.CheckConstraint("on_hand >= reserved", name="reserved_within_on_hand"),
)

#: The session keys this server issued, by hash (never the key itself): a key that is not here, or
#: has expired, is never adopted.
guest_keys = sa.Table(
    "guest_keys",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("issued_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False, index=True),
)

#: ``Idempotency-Key`` requests per guest (``scope``); ``result`` is the first outcome, as JSON bytes.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("order_id", ID, nullable=True),
    sa.Column("result", sa.LargeBinary, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False, index=True),
    sa.Column("updated_at", Timestamp, nullable=False),
)

#: Provider webhook events already handled.
webhook_receipts = sa.Table(
    "webhook_receipts",
    metadata,
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("received_at", Timestamp, nullable=False),
)

# -- outbox, partner webhooks ----------------------------------------------------------------------

#: Order events stored with the change that caused them, until the relay hands them to the job queue.
#: ``order_id`` has no foreign key: an event outlives whatever happens to its order.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("order_id", ID, nullable=False, index=True),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("relayed_at", Timestamp, nullable=True),
    #: While a dispatch is under way; a dispatch that died is taken up again after it.
    sa.Column("leased_until", Timestamp, nullable=True),
    #: The relay's scan: only the messages still to relay, by id.
    sa.Index(
        "ix_outbox_pending",
        "id",
        postgresql_where=sa.text("relayed_at IS NULL"),
        sqlite_where=sa.text("relayed_at IS NULL"),
    ),
    #: The retention purge: dispatched messages by when they were dispatched.
    sa.Index("ix_outbox_relayed_at", "relayed_at"),
)

#: Partners' endpoints; ``events`` is the list of event names subscribed to.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("events", Json, nullable=False),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

#: One event for one endpoint; ``body`` is the exact bytes sent (and signed) on every attempt.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    #: A stored endpoint's id, or ``fulfillment`` for the configured fulfillment endpoint.
    sa.Column("endpoint_id", ID, nullable=False),
    sa.Column("event_id", ID, nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("next_attempt_at", Timestamp, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    #: One delivery per endpoint and event, however often the event is dispatched.
    sa.UniqueConstraint("endpoint_id", "event_id"),
    #: The sender's scan: pending deliveries by when they are due.
    sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    #: The retention purge: finished deliveries by when they finished.
    sa.Index("ix_webhook_deliveries_status_updated_at", "status", "updated_at"),
)

#: Every attempt to deliver. No foreign keys: ``delete_endpoint`` removes an endpoint's logs itself.
webhook_logs = sa.Table(
    "webhook_logs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("delivery_id", ID, nullable=False),
    sa.Column("endpoint_id", ID, nullable=False, index=True),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("sent_at", Timestamp, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    #: The log listing filtered by event type, newest first.
    sa.Index("ix_webhook_logs_event_id", "event", "id"),
    #: The retention purge: logs by when they were sent.
    sa.Index("ix_webhook_logs_sent_at", "sent_at"),
)

# -- emails to guests ------------------------------------------------------------------------------

#: The emails owed because of order events, with their progress.
emails = sa.Table(
    "emails",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("event_id", ID, nullable=False),
    sa.Column("order_id", ID, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("next_attempt_at", Timestamp, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    #: One email of a kind per event, however often the event is dispatched.
    sa.UniqueConstraint("event_id", "kind"),
    #: The sender's scan: pending emails by when they are due.
    sa.Index("ix_emails_status_next_attempt_at", "status", "next_attempt_at"),
    #: The retention purge: finished emails by when they finished.
    sa.Index("ix_emails_status_updated_at", "status", "updated_at"),
)

# -- commerce rules: regions, shipping methods, promotions -----------------------------------------

#: Where the shop ships. ``tax_rates`` is the region's list of rates as JSON
#: (``[{name, rate_bps, subdivision, tax_class}]``): they are read and written with their region only.
regions = sa.Table(
    "regions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prices_include_tax", sa.Boolean, nullable=False),
    sa.Column("tax_shipping", sa.Boolean, nullable=False),
    sa.Column("tax_rates", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

#: A region's countries, one row each (``position``: their order in the region): the primary key on
#: ``country`` is what keeps a country in at most one region however many writers race. Deleted with
#: their region.
region_countries = sa.Table(
    "region_countries",
    metadata,
    sa.Column("country", sa.String(2), primary_key=True),
    sa.Column("region_id", ID, sa.ForeignKey("regions.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
)

#: A region's shipping methods; ``rate`` is the rate's JSON shape (``{"type": "flat", ...}``). The
#: foreign key refuses to delete a region that still has methods.
shipping_methods = sa.Table(
    "shipping_methods",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("region_id", ID, sa.ForeignKey("regions.id"), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("rate", Json, nullable=False),
    sa.Column("free_over", sa.BigInteger, nullable=True),
    sa.Column("min_days", sa.Integer, nullable=True),
    sa.Column("max_days", sa.Integer, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

#: Discount codes (``code`` normalized, unique; NULL for automatic promotions) and automatic discounts.
#: ``times_used`` counts the uses held in ``promotion_uses``; claims move it by a conditional UPDATE
#: of this row, so only claims of the same promotion wait on each other.
promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("code", sa.String(32), nullable=True, unique=True),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("value", sa.BigInteger, nullable=True),
    sa.Column("product_ids", Json, nullable=False),
    sa.Column("min_subtotal", sa.BigInteger, nullable=True),
    sa.Column("starts_at", Timestamp, nullable=True),
    sa.Column("ends_at", Timestamp, nullable=True),
    sa.Column("usage_limit", sa.Integer, nullable=True),
    sa.Column("per_email_limit", sa.Integer, nullable=True),
    sa.Column("buy_quantity", sa.Integer, nullable=True),
    sa.Column("get_quantity", sa.Integer, nullable=True),
    sa.Column("combinable", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("times_used", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("times_used >= 0", name="times_used_not_negative"),
)

#: The uses of counted promotions by placed orders, with the order's email in lower case. ``order_id``
#: has no foreign key: ``release`` gives a use back when its order is cancelled or expires.
promotion_uses = sa.Table(
    "promotion_uses",
    metadata,
    sa.Column("promotion_id", ID, sa.ForeignKey("promotions.id"), primary_key=True),
    sa.Column("order_id", ID, primary_key=True, index=True),
    sa.Column("email", sa.String(320), nullable=False),
    #: The per-email count of a promotion's uses.
    sa.Index("ix_promotion_uses_promotion_id_email", "promotion_id", "email"),
)
