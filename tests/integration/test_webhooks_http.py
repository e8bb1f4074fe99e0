"""Partner webhooks and the fulfillment webhook through HTTP, on SQLite and PostgreSQL: events
committed with their order reach a real loopback receiver, signed the Standard Webhooks way (checked
with the `standardwebhooks` package), retried on failure and logged; fulfillment reports are
verified, deduplicated and applied through the state machine."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.domain.webhooks import signature_headers
from customshop.entrypoints.container import Container
from customshop.entrypoints.settings import Settings
from tests.integration.conftest import render_prints
from tests.integration.standins.webhook_receiver import WebhookReceiver
from tests.integration.test_checkout_http import ORDER, TEE, carted, catalog

__all__ = ["catalog"]  # a fixture used here

Client = AsyncTestClient  # type: ignore[type-arg]
FULFILLMENT_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver.running() as running:
        yield running


@pytest.fixture
def settings(database_url: str, clean_engine: AsyncEngine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        test_payments_enabled=True,
        webhook_allow_private_networks=True,  # the receiver listens on 127.0.0.1
        webhook_retry_schedule=(0, 0, 0),
        webhook_timeout_seconds=5,
        outbox_poll_seconds=3600,  # the tests pump events themselves (see `pump`)
        reservation_sweep_seconds=3600,
        fulfillment_secret=FULFILLMENT_SECRET,
        rate_limit_enabled=False,
    )


async def pump(container: Container) -> None:
    """What every serving process does each `outbox_poll_seconds`: relay committed events to the
    job queue and send due retries; then wait for the in-process jobs (and those they start)."""
    queue = container.adapters.queue()
    assert isinstance(queue, InProcessJobQueue)
    while True:
        relayed = await container.use_cases.outbox_relay().relay()
        await queue.drain()
        sent = await container.use_cases.webhooks().send_due()
        await queue.drain()
        if not relayed and not sent:
            return


async def subscribe(client: Client, admin: dict[str, str], url: str, *events: str) -> dict[str, str]:
    response = await client.post(
        "/webhook-endpoints", json={"url": url, "events": list(events)}, headers=admin
    )
    assert response.status_code == 201, response.text
    return response.json()


async def paid_order(client: Client, catalog: dict[str, str]) -> tuple[dict[str, str], dict[str, object]]:
    key = await carted(client, catalog["classic-tee"], TEE)
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    payment = placed["payment"]
    assert isinstance(payment, dict)
    assert (await client.post(f"/test-payments/{payment['payment_id']}/succeed")).status_code == 200
    return key, placed


async def test_order_events_reach_the_partner_signed(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    receiver: WebhookReceiver,
    container: Container,
) -> None:
    endpoint = await subscribe(client, admin, receiver.url, "order.created", "order.paid", "order.shipped")
    assert endpoint["secret"].startswith("whsec_") and endpoint["active"] is True
    listed = (await client.get("/webhook-endpoints", headers=admin)).json()
    assert [e["id"] for e in listed["items"]] == [endpoint["id"]]

    _, placed = await paid_order(client, catalog)
    assert receiver.requests == []  # committed, not yet relayed
    await pump(container)
    await pump(container)  # a second round sends nothing again
    verifier = Webhook(endpoint["secret"])
    events = []
    for request in receiver.requests:
        event = verifier.verify(request.body, request.headers)  # raises on a bad signature
        events.append((request.headers["webhook-id"], event["type"], event["data"]["order_id"]))
    assert sorted(e[1] for e in events) == ["order.created", "order.paid"]  # not order.status_changed
    assert {e[2] for e in events} == {placed["order_id"]}
    assert len({e[0] for e in events}) == 2  # one id per event

    logs = (await client.get("/webhooklogs", params={"event": "order.paid"}, headers=admin)).json()
    (log,) = logs["items"]
    assert (log["endpoint_id"], log["attempt"], log["response_status"], log["error"]) == (
        endpoint["id"],
        1,
        204,
        None,
    )


async def test_a_failed_delivery_is_retried_and_every_attempt_logged(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    receiver: WebhookReceiver,
    container: Container,
) -> None:
    await subscribe(client, admin, receiver.url, "order.paid")
    receiver.answer_with(500)
    await paid_order(client, catalog)
    await pump(container)  # the attempt that fails, then (the schedule being 0 s here) the retry
    (first, second) = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the same event, again
    logs = (await client.get("/webhooklogs", headers=admin)).json()["items"]
    assert [(log["attempt"], log["response_status"]) for log in reversed(logs)] == [(1, 500), (2, 204)]


async def test_an_endpoint_answering_410_is_disabled(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    receiver: WebhookReceiver,
    container: Container,
) -> None:
    endpoint = await subscribe(client, admin, receiver.url, "order.created", "order.paid")
    receiver.answer_with(410, 410)
    await paid_order(client, catalog)
    await pump(container)
    (listed,) = (await client.get("/webhook-endpoints", headers=admin)).json()["items"]
    assert listed["id"] == endpoint["id"] and "410" in listed["disabled_reason"]
    assert (await client.delete(f"/webhook-endpoints/{endpoint['id']}", headers=admin)).status_code == 204
    assert (await client.get("/webhook-endpoints", headers=admin)).json()["items"] == []
    assert (await client.get("/webhooklogs", headers=admin)).json()["items"] == []


async def test_bad_endpoints_are_refused(client: Client, admin: dict[str, str]) -> None:
    response = await client.post(
        "/webhook-endpoints",
        json={"url": "ftp://example.com/x", "events": ["order.paid", "order.lost"]},
        headers=admin,
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"url", "events[1]"}
    empty = await client.post(
        "/webhook-endpoints", json={"url": "https://example.com/", "events": []}, headers=admin
    )
    assert [e["field"] for e in empty.json()["errors"]] == ["events"]
    assert (await client.get("/webhook-endpoints")).status_code == 403
    assert (await client.delete("/webhook-endpoints/nope", headers=admin)).status_code == 404


async def test_endpoints_are_listed_a_page_at_a_time(
    client: Client, admin: dict[str, str], receiver: WebhookReceiver
) -> None:
    created = [
        (await subscribe(client, admin, f"{receiver.url}?n={n}", "order.paid"))["id"] for n in range(5)
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/webhook-endpoints", params=query, headers=admin)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        assert all("secret" in item and "url" in item for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor not in seen, "the cursor is opaque, not an id"
    assert seen == created, "every endpoint once, oldest first"
    assert pages == 3
    everything = (await client.get("/webhook-endpoints", headers=admin)).json()
    assert [item["id"] for item in everything["items"]] == created and everything["next_cursor"] is None
    for bad in ({"limit": "0"}, {"limit": "201"}, {"cursor": "not a cursor!"}):
        refused = await client.get("/webhook-endpoints", params=bad, headers=admin)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")


# -- fulfillment in ---------------------------------------------------------------------------------


async def report(
    client: Client,
    body: dict[str, object],
    *,
    message_id: str | None = None,
    at: int | None = None,
    secret: str = FULFILLMENT_SECRET,
) -> tuple[int, dict[str, object]]:
    raw = json.dumps(body).encode()
    headers = signature_headers(
        secret, message_id or f"msg_{secrets.token_hex(8)}", at or int(time.time()), raw
    )
    response = await client.post(
        "/webhooks/fulfillment", content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    return response.status_code, response.json()


async def test_fulfillment_reports_are_verified_deduplicated_and_applied(
    client: Client, catalog: dict[str, str], admin: dict[str, str], container: Container
) -> None:
    key, placed = await paid_order(client, catalog)
    order_id = placed["order_id"]
    body = {"order_id": order_id, "status": "in_production"}
    # Production waits for the print files, whoever reports it.
    assert (await report(client, body, message_id="msg_early"))[0] == 409
    await render_prints(container)
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    assert (await report(client, body, secret=other))[0] == 401
    assert (await report(client, body, at=int(time.time()) - 400))[0] == 401
    assert (await report(client, body, at=int(time.time()) + 400))[0] == 401
    unsigned = await client.post("/webhooks/fulfillment", json=body)
    assert unsigned.status_code == 401
    order = (await client.get(f"/orders/{order_id}", headers=key)).json()
    assert order["status"] == "paid"

    status, answer = await report(client, body, message_id="msg_1")
    assert (status, answer["result"]) == (200, "applied")
    status, answer = await report(client, body, message_id="msg_1")  # replayed
    assert (status, answer["result"]) == (200, "duplicate")
    assert (await report(client, {"order_id": order_id, "status": "delivered"}))[0] == 409
    assert (await report(client, {"order_id": "nope", "status": "fulfilled"}))[0] == 404
    assert (await report(client, {"order_id": order_id, "status": "refunded"}))[0] == 409
    assert (await report(client, {"order_id": order_id, "status": "lost"}))[0] == 400
    for status_name in ("fulfilled", "shipped"):
        extra = {"tracking_url": "https://track.example.com/42"} if status_name == "shipped" else {}
        assert (await report(client, {"order_id": order_id, "status": status_name, **extra}))[0] == 200
    order = (await client.get(f"/orders/{order_id}", headers=key)).json()
    assert (order["status"], order["tracking_url"]) == ("shipped", "https://track.example.com/42")
