"""Paying with PayPal through HTTP: customshop's PayPal adapter (Orders v2 over httpx) talks to a
local stand-in of the PayPal API, which also verifies webhook signatures as PayPal does."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.entrypoints.settings import Settings
from tests.builders import ORDER, TEE
from tests.integration.shopping import carted
from tests.integration.standins.paypal_api import (
    PayPalStandIn,
    paypal_api_fixture,
    paypal_event,
    sign_paypal_event,
)

__all__ = ["paypal_api_fixture"]  # a fixture used here

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
def settings(
    database_url: str, clean_engine: AsyncEngine, tmp_path: Path, paypal_api: PayPalStandIn
) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        paypal_client_id=paypal_api.client_id,
        paypal_client_secret=paypal_api.client_secret,
        paypal_webhook_id=paypal_api.webhook_id,
        paypal_api_base=paypal_api.url,
        rate_limit_enabled=False,
    )


async def deliver(client: Client, event: bytes, webhook_id: str) -> int:
    headers = {**sign_paypal_event(event, webhook_id), "Content-Type": "application/json"}
    return (await client.post("/webhooks/paypal", content=event, headers=headers)).status_code


async def test_an_approved_paypal_order_is_captured_and_paid_once(
    client: Client, catalog: dict[str, str], paypal_api: PayPalStandIn
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    response = await client.post("/checkout", json={**ORDER, "payment_provider": "paypal"}, headers=key)
    assert response.status_code == 201, response.text
    placed = response.json()
    approval_url = placed["payment"]["approval_url"]
    assert approval_url.startswith("https://")
    paypal_order_id = approval_url.rsplit("token=", 1)[-1]
    assert paypal_api.order(paypal_order_id)["purchase_units"][0]["amount"]["value"] == "29.20"

    approved = paypal_event("CHECKOUT.ORDER.APPROVED", paypal_api.approve(paypal_order_id))
    assert await deliver(client, approved, "some-other-webhook") == 400  # not for us: refused
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert order["status"] == "created"

    assert await deliver(client, approved, paypal_api.webhook_id) == 200
    assert await deliver(client, approved, paypal_api.webhook_id) == 200  # redelivered: a no-op
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert order["status"] == "paid"
    assert order["payment"]["paid"] == placed["total"]
    assert [e["status"] for e in order["timeline"]] == ["created", "paid"]
    completed = paypal_event("PAYMENT.CAPTURE.COMPLETED", paypal_api.capture_resource(paypal_order_id))
    assert await deliver(client, completed, paypal_api.webhook_id) == 200
    assert (await client.get(f"/orders/{placed['order_id']}", headers=key)).json() == order
