"""What guests, operators and the serving process do through the in-process app, as steps that
tests compose: a guest with a design in its cart, stock levels, a paid order, a partner's
subscription, a preview awaited, the outbox pumped.

Each step asserts that the app answered as it should, so a test reads as its story; the behaviour a
test is about stays in the test.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.entrypoints.container import Container
from tests.builders import ORDER, TEE

Client = AsyncTestClient  # type: ignore[type-arg]


async def carted(
    client: Client, product_id: str, options: dict[str, Any], quantity: int = 1
) -> dict[str, str]:
    """A new guest with one design in its cart; returns its headers."""
    response = await client.post(
        "/cart/items", json={"product_id": product_id, "options": options, "quantity": quantity}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"X-Session-Key": response.headers["x-session-key"]}


async def stock(
    client: Client, admin: dict[str, str], product_id: str, on_hand: int, code: str | None = None
) -> None:
    """Set the stock level of a product (or of one of its option codes) with ``PUT /inventory``."""
    body: dict[str, Any] = {"product_id": product_id, "on_hand": on_hand}
    if code is not None:
        body["option_code"] = code
    response = await client.put("/inventory", json=body, headers=admin)
    assert response.status_code == 200, response.text


async def levels(client: Client, admin: dict[str, str], product_id: str) -> dict[str | None, dict[str, int]]:
    """A product's stock levels by option code: ``on_hand``, ``reserved``, ``available``, ``sold``."""
    response = await client.get("/inventory", params={"product_id": product_id}, headers=admin)
    assert response.status_code == 200, response.text
    return {
        item["option_code"]: {k: item[k] for k in ("on_hand", "reserved", "available", "sold")}
        for item in response.json()["items"]
    }


async def order_count(client: Client, admin: dict[str, str]) -> int:
    """How many orders ``GET /orders`` lists (up to 200)."""
    response = await client.get("/orders", params={"limit": 200}, headers=admin)
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


async def paid_order(client: Client, catalog: dict[str, str]) -> tuple[dict[str, str], dict[str, object]]:
    """A guest's order of the demo tee, placed and paid with the ``test`` provider: the guest's
    headers and the checkout answer."""
    key = await carted(client, catalog["classic-tee"], TEE)
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    payment = placed["payment"]
    assert isinstance(payment, dict)
    assert (await client.post(f"/test-payments/{payment['payment_id']}/succeed")).status_code == 200
    return key, placed


async def subscribe(client: Client, admin: dict[str, str], url: str, *events: str) -> dict[str, str]:
    """Register a partner endpoint for ``events``; the created endpoint (with its secret)."""
    response = await client.post(
        "/webhook-endpoints", json={"url": url, "events": list(events)}, headers=admin
    )
    assert response.status_code == 201, response.text
    return response.json()


async def wait_for_preview(client: Client, job_id: str) -> dict[str, Any]:
    """Poll ``GET /previews/{job_id}`` until the job is done or failed (10 s at most); its answer."""
    for _ in range(200):
        body: dict[str, Any] = (await client.get(f"/previews/{job_id}")).json()
        if body["status"] in ("done", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"preview {job_id} did not finish: {body}")


async def pump(container: Container) -> None:
    """What every serving process does each ``outbox_poll_seconds``: relay committed events to the
    job queue, send due webhook deliveries and emails; then wait for the in-process jobs (and those
    they start)."""
    queue = container.adapters.queue()
    assert isinstance(queue, InProcessJobQueue)
    while True:
        relayed = await container.use_cases.outbox_relay().relay()
        await queue.drain()
        sent = (
            await container.use_cases.webhooks().send_due()
            + await container.use_cases.notifications().send_due()
        )
        await queue.drain()
        if not relayed and not sent:
            return
