"""What happened to orders, as facts other parts of the system (and partners) react to.

Aggregates record these as they change (``Order.events``); the names are the event types partners
subscribe to.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class OrderEvent:
    name: ClassVar[str] = "order.event"
    order_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class OrderCreated(OrderEvent):
    """The order was placed: its stock is reserved and its payment started."""

    name: ClassVar[str] = "order.created"
    total: int
    currency: str


@dataclass(frozen=True, slots=True)
class OrderPaid(OrderEvent):
    name: ClassVar[str] = "order.paid"
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class PaymentFailed(OrderEvent):
    name: ClassVar[str] = "payment.failed"
    reason: str


@dataclass(frozen=True, slots=True)
class OrderStatusChanged(OrderEvent):
    name: ClassVar[str] = "order.status_changed"
    from_status: str
    to_status: str


@dataclass(frozen=True, slots=True)
class OrderShipped(OrderEvent):
    name: ClassVar[str] = "order.shipped"
    tracking_url: str | None


@dataclass(frozen=True, slots=True)
class OrderCancelled(OrderEvent):
    name: ClassVar[str] = "order.cancelled"
    reason: str


@dataclass(frozen=True, slots=True)
class OrderRefunded(OrderEvent):
    name: ClassVar[str] = "order.refunded"
    amount: int
    currency: str


EVENT_NAMES: tuple[str, ...] = tuple(
    kind.name
    for kind in (
        OrderCreated,
        OrderPaid,
        PaymentFailed,
        OrderStatusChanged,
        OrderShipped,
        OrderCancelled,
        OrderRefunded,
    )
)


def event_payload(event: OrderEvent) -> dict[str, Any]:
    """The event's fields as JSON values (times in RFC 3339 UTC), the ``data`` partners receive."""
    payload: dict[str, Any] = {}
    for field in fields(event):
        value = getattr(event, field.name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        payload[field.name] = value
    return payload
