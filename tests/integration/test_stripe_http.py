"""Paying with Stripe through HTTP: customshop's real Stripe adapter (the official SDK) talks to a
local stand-in of the Stripe API, and webhook deliveries are signed with the endpoint secret exactly
as Stripe signs them. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.entrypoints.container import Container
from customshop.entrypoints.settings import Settings
from tests.builders import ORDER, TEE
from tests.integration.shopping import carted, levels, order_count, stock
from tests.integration.standins.stripe_api import (
    StripeStandIn,
    sign_stripe_event,
    stripe_api_fixture,
    stripe_event,
)

__all__ = ["stripe_api_fixture"]  # a fixture used here

Client = AsyncTestClient  # type: ignore[type-arg]
WEBHOOK_SECRET = "whsec_test_secret"
STRIPE_ORDER = {**ORDER, "payment_provider": "stripe"}


@pytest.fixture
def settings(
    database_url: str, clean_engine: AsyncEngine, tmp_path: Path, stripe_api: StripeStandIn
) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        stripe_secret_key=stripe_api.secret_key,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_api.url,
        rate_limit_enabled=False,
    )


async def deliver(
    client: Client, event: bytes, *, secret: str = WEBHOOK_SECRET, signed_at: int | None = None
) -> int:
    response = await client.post(
        "/webhooks/stripe",
        content=event,
        headers={
            "Stripe-Signature": sign_stripe_event(event, secret, signed_at),
            "Content-Type": "application/json",
        },
    )
    return response.status_code


async def checkout(client: Client, catalog: dict[str, str]) -> tuple[dict[str, str], dict[str, object]]:
    key = await carted(client, catalog["classic-tee"], TEE)
    response = await client.post("/checkout", json=STRIPE_ORDER, headers=key)
    assert response.status_code == 201, response.text
    return key, response.json()


async def test_a_stripe_checkout_creates_a_payment_intent(
    client: Client, catalog: dict[str, str], stripe_api: StripeStandIn
) -> None:
    _, placed = await checkout(client, catalog)
    payment = placed["payment"]
    assert isinstance(payment, dict)
    assert payment["client_secret"].startswith("pi_")
    (intent,) = stripe_api.intents.values()
    assert intent["client_secret"] == payment["client_secret"]
    assert (intent["amount"], intent["currency"]) == (placed["total"], "usd")
    assert intent["metadata"] == {"order_id": placed["order_id"], "payment_id": payment["payment_id"]}
    (created,) = stripe_api.requests_to("POST", "/v1/payment_intents")
    assert created.header("Idempotency-Key") == payment["payment_id"]  # our key, passed on


async def test_the_same_webhook_delivered_five_times_at_once_changes_the_order_once(
    client: Client, catalog: dict[str, str], stripe_api: StripeStandIn, admin: dict[str, str]
) -> None:
    await stock(client, admin, catalog["classic-tee"], 3, "L")
    key, placed = await checkout(client, catalog)
    (intent_id,) = stripe_api.intents
    event = stripe_event("payment_intent.succeeded", stripe_api.succeed(intent_id))
    answers = await asyncio.gather(*(deliver(client, event) for _ in range(5)))
    assert answers == [200] * 5
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert order["status"] == "paid"
    assert [entry["status"] for entry in order["timeline"]] == ["created", "paid"]
    assert (await levels(client, admin, catalog["classic-tee"]))["L"]["sold"] == 1


async def test_unsigned_or_stale_deliveries_are_refused_and_change_nothing(
    client: Client, catalog: dict[str, str], stripe_api: StripeStandIn
) -> None:
    key, placed = await checkout(client, catalog)
    (intent_id,) = stripe_api.intents
    event = stripe_event("payment_intent.succeeded", stripe_api.succeed(intent_id))
    assert await deliver(client, event, secret="whsec_someone_else") == 400
    assert await deliver(client, event, signed_at=int(time.time()) - 600) == 400
    unsigned = await client.post(
        "/webhooks/stripe", content=event, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 400
    assert unsigned.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()["status"] == "created"
    assert await deliver(client, event) == 200  # the genuine delivery still works afterwards
    assert (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()["status"] == "paid"


async def test_a_failed_payment_leaves_the_order_created_and_a_retry_gets_a_new_intent(
    client: Client, catalog: dict[str, str], stripe_api: StripeStandIn
) -> None:
    key, placed = await checkout(client, catalog)
    (first,) = stripe_api.intents
    declined = stripe_event("payment_intent.payment_failed", stripe_api.decline(first, "Insufficient funds."))
    assert await deliver(client, declined) == 200
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert (order["status"], order["payment"]["failure"]) == ("created", "Insufficient funds.")

    retry = await client.post(f"/orders/{placed['order_id']}/payment", headers=key)
    assert retry.status_code == 201, retry.text
    second = next(i for i in stripe_api.intents if i != first)
    assert retry.json()["client_secret"] == stripe_api.intents[second]["client_secret"]
    # A success reported before the failure (out of order) still pays the order; the failure after
    # it changes nothing.
    assert await deliver(client, stripe_event("payment_intent.succeeded", stripe_api.succeed(second))) == 200
    assert (
        await deliver(client, stripe_event("payment_intent.payment_failed", stripe_api.intents[second]))
        == 200
    )
    order = (await client.get(f"/orders/{placed['order_id']}", headers=key)).json()
    assert (order["status"], order["payment"]["failure"]) == ("paid", None)


async def test_cancelling_a_paid_order_refunds_it_through_stripe(
    client: Client, catalog: dict[str, str], stripe_api: StripeStandIn, admin: dict[str, str]
) -> None:
    _, placed = await checkout(client, catalog)
    (intent_id,) = stripe_api.intents
    await deliver(client, stripe_event("payment_intent.succeeded", stripe_api.succeed(intent_id)))
    stripe_api.fail_next(10)
    down = await client.post(f"/orders/{placed['order_id']}/cancel", headers=admin)
    assert down.status_code == 503  # Stripe unreachable: nothing changed
    assert (await client.get(f"/orders/{placed['order_id']}", headers=admin)).json()["status"] == "paid"
    stripe_api.fail_next(0)
    refunded = await client.post(f"/orders/{placed['order_id']}/cancel", headers=admin)
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    (refund,) = stripe_api.refunds.values()
    assert (refund["payment_intent"], refund["amount"]) == (intent_id, placed["total"])


async def test_when_stripe_is_down_checkout_keeps_nothing(
    client: Client,
    catalog: dict[str, str],
    stripe_api: StripeStandIn,
    admin: dict[str, str],
    container: Container,
) -> None:
    await stock(client, admin, catalog["classic-tee"], 1, "L")
    key = await carted(client, catalog["classic-tee"], TEE)
    stripe_api.fail_next(10)
    response = await client.post("/checkout", json=STRIPE_ORDER, headers={**key, "Idempotency-Key": "k1"})
    assert response.status_code == 503
    assert await order_count(client, admin) == 0
    assert (await levels(client, admin, catalog["classic-tee"]))["L"]["reserved"] == 0
    assert len((await client.get("/cart", headers=key)).json()["items"]) == 1
    stripe_api.fail_next(0)
    again = await client.post("/checkout", json=STRIPE_ORDER, headers={**key, "Idempotency-Key": "k1"})
    assert again.status_code == 201
