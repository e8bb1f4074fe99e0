"""Builders shared by unit and integration tests: one instant, one shipping address (as a domain
value and as a request body), one checkout body and one design of the demo tee.

A test that means another value says so where it builds it (``replace(ADDRESS, name=...)``,
``{**ORDER, "payment_provider": "stripe"}``); these are the values a test does not care about.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from customshop.domain.orders import ShippingAddress

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
