"""Builders shared by unit and integration tests: one instant, one shipping address (as a domain
value and as a request body), one checkout body and one design of the demo tee; records of the ports
(idempotency keys, webhook endpoints, deliveries and logs, emails, regions, shipping methods,
promotions) stamped with the real time, for
the contract suites.

A test that means another value says so where it builds it (``replace(ADDRESS, name=...)``,
``{**ORDER, "payment_provider": "stripe"}``); these are the values a test does not care about.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from customshop.adapters.system import UuidV7Ids
from customshop.domain.emails import EmailDelivery
from customshop.domain.hashing import hash_secret
from customshop.domain.idempotency import IdempotencyRecord
from customshop.domain.orders import OrderLine, ShippingAddress
from customshop.domain.promotions import Promotion, PromotionKind
from customshop.domain.quote import AppliedDiscount, Quote, QuotedLine, TaxLine
from customshop.domain.regions import Region, TaxRate
from customshop.domain.shipping import FlatRate, ShippingMethod, ShippingRate
from customshop.domain.webhooks import WebhookDelivery, WebhookEndpoint, WebhookLog

IDS = UuidV7Ids()

#: The media type of every error answer (RFC 9457).
PROBLEM = "application/problem+json"

#: The instant unit tests start their clocks at.
T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

ADDRESS = ShippingAddress(
    name="Ada Lovelace", line1="12 St James's Square", city="London", postal_code="SW1Y 4JH", country="GB"
)
#: :data:`ADDRESS` as a JSON request body (``shipping_address``).
ADDRESS_BODY: dict[str, Any] = {
    "name": ADDRESS.name,
    "line1": ADDRESS.line1,
    "city": ADDRESS.city,
    "postal_code": ADDRESS.postal_code,
    "country": ADDRESS.country,
}
#: The body of ``POST /checkout`` with the ``test`` payment provider.
ORDER: dict[str, Any] = {
    "email": "ada@example.com",
    "shipping_address": ADDRESS_BODY,
    "payment_provider": "test",
}
#: A design of the demo catalog's classic tee: printed text in size L (1900 + 300).
TEE: dict[str, Any] = {"front_text": {"text": "Hi", "font": "Sans"}, "size": "L"}


def quoted(
    lines: Sequence[OrderLine],
    currency: str = "USD",
    *,
    tax: int = 0,
    shipping: int = 0,
    discounts: Sequence[AppliedDiscount] = (),
) -> Quote:
    """A quote of ``lines`` at their unit prices, with the ``tax``, ``shipping`` and order
    ``discounts`` given (one tax line ``Tax`` when there is tax; the discounts on no line in
    particular): what :meth:`Order.place` needs of an order whose pricing the test does not care
    about."""
    subtotal = sum(line.line_total for line in lines)
    off = sum(d.amount for d in discounts)
    return Quote(
        currency=currency,
        lines=tuple(
            QuotedLine(line.id, line.product_id, line.quantity, line.unit_price, line.line_total, 0, 0, 0)
            for line in lines
        ),
        subtotal=subtotal,
        discounts=tuple(discounts),
        discount_total=off,
        shipping_discount=0,
        shipping=shipping,
        shipping_method=None,
        shipping_options=(),
        tax_lines=(TaxLine("Tax", 0, tax),) if tax else (),
        tax=tax,
        total=subtotal - off + shipping + tax,
        prices_include_tax=False,
        region_id=None,
        refused=(),
    )


# -- records of the ports ---------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(UTC)


def make_record(
    scope: str = "guest-a", key: str = "key-1", *, at: datetime | None = None, request_hash: str = "h1"
) -> IdempotencyRecord:
    moment = at or now()
    return IdempotencyRecord(scope, key, hash_secret(request_hash), None, None, moment, moment)


def make_endpoint(url: str = "https://partner.example.com/hooks", *events: str) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=IDS.new_id(),
        url=url,
        events=events or ("order.created", "order.paid"),
        secret="whsec_" + secrets.token_hex(16),
        active=True,
        created_at=now(),
    )


def make_delivery(
    endpoint: WebhookEndpoint,
    *,
    event_id: str | None = None,
    status: str = "pending",
    next_attempt_at: datetime | None = None,
) -> WebhookDelivery:
    at = now()
    return WebhookDelivery(
        id=IDS.new_id(),
        endpoint_id=endpoint.id,
        event_id=event_id or IDS.new_id(),
        event="order.paid",
        body=b'{"type":"order.paid","data":{"amount":4200}}\x00\xff',
        attempts=0,
        status=status,
        next_attempt_at=next_attempt_at if next_attempt_at is not None or status != "pending" else at,
        created_at=at,
        updated_at=at,
    )


def make_log(delivery: WebhookDelivery, attempt: int = 1, *, event: str | None = None) -> WebhookLog:
    return WebhookLog(
        id=IDS.new_id(),
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event=event or delivery.event,
        attempt=attempt,
        response_status=500 if attempt % 2 else None,
        sent_at=now(),
        error=None if attempt % 2 else "connection refused",
    )


def make_email(
    *,
    event_id: str | None = None,
    kind: str = "order_confirmation",
    status: str = "pending",
    next_attempt_at: datetime | None = None,
) -> EmailDelivery:
    at = now()
    return EmailDelivery(
        id=IDS.new_id(),
        kind=kind,
        event_id=event_id or IDS.new_id(),
        order_id=IDS.new_id(),
        attempts=0,
        status=status,
        next_attempt_at=next_attempt_at if next_attempt_at is not None or status != "pending" else at,
        error=None,
        created_at=at,
        updated_at=at,
    )


def make_region(
    *countries: str,
    name: str = "Europe",
    tax_rates: tuple[TaxRate, ...] = (),
    prices_include_tax: bool = True,
) -> Region:
    at = now()
    return Region(
        id=IDS.new_id(),
        name=name,
        countries=countries or ("DE", "FR"),
        prices_include_tax=prices_include_tax,
        tax_shipping=True,
        tax_rates=tax_rates or (TaxRate("VAT", 1900),),
        created_at=at,
        updated_at=at,
    )


def make_shipping_method(
    region: Region, *, name: str = "Standard", rate: ShippingRate | None = None, active: bool = True
) -> ShippingMethod:
    at = now()
    return ShippingMethod(
        id=IDS.new_id(),
        region_id=region.id,
        name=name,
        rate=rate or FlatRate(500),
        active=active,
        created_at=at,
        updated_at=at,
        free_over=10000,
        min_days=2,
        max_days=5,
    )


def make_promotion(
    code: str | None = "SUMMER10",
    *,
    usage_limit: int | None = None,
    per_email_limit: int | None = None,
    active: bool = True,
    kind: PromotionKind = PromotionKind.PERCENTAGE,
) -> Promotion:
    at = now()
    return Promotion(
        id=IDS.new_id(),
        code=code,
        description="10 % off",
        kind=kind,
        combinable=False,
        active=active,
        created_at=at,
        updated_at=at,
        value=1000 if kind == PromotionKind.PERCENTAGE else None,
        usage_limit=usage_limit,
        per_email_limit=per_email_limit,
    )
