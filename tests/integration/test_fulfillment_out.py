"""Fulfillment out, through HTTP on SQLite and PostgreSQL: a paid order's print files are rendered,
and the order is then delivered to the configured fulfillment endpoint (a real loopback receiver),
signed with the fulfillment secret (checked with the `standardwebhooks` package), retried on
failure, logged, and its links lead to the files; `orders reprint` renders them again."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from customshop.entrypoints.container import Container
from customshop.entrypoints.settings import Settings
from tests.builders import ORDER
from tests.integration.conftest import make_key, render_prints
from tests.integration.shopping import pump
from tests.integration.standins.webhook_receiver import WebhookReceiver

Client = AsyncTestClient  # type: ignore[type-arg]
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
PUBLIC_URL = "http://testserver.local"
PHOTO_COLOUR = (20, 120, 220)


@pytest.fixture
def settings(
    database_url: str, clean_engine: AsyncEngine, tmp_path: Path, receiver: WebhookReceiver
) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        test_payments_enabled=True,
        # Not allowed for partners' endpoints: the fulfillment endpoint is the shop's own setting,
        # so it may be on loopback or a private network all the same.
        webhook_allow_private_networks=False,
        webhook_retry_schedule=(0, 0, 0),
        outbox_poll_seconds=3600,
        reservation_sweep_seconds=3600,
        fulfillment_url=receiver.url + "/orders",
        fulfillment_secret=SECRET,
        public_url=PUBLIC_URL,
        rate_limit_enabled=False,
    )


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


async def designed_and_paid(client: Client, tee: str) -> tuple[dict[str, str], dict[str, object], str]:
    """A guest designs a tee with a photo of its own, carts it, checks out and pays."""
    started = (await client.post("/sessions", json={"product_id": tee})).json()
    client.cookies.clear()
    key = {"X-Session-Key": started["session_key"]}
    session = started["session_id"]
    uploaded = await client.post(
        f"/sessions/{session}/assets",
        files={"file": ("me.png", png((800, 800), PHOTO_COLOUR), "image/png")},
        headers=key,
    )
    assert uploaded.status_code == 201, uploaded.text
    asset_id = uploaded.json()["asset_id"]
    design = {"front_text": {"text": "Hi", "font": "Sans"}, "size": "L", "photo": {"asset_id": asset_id}}
    changed = await client.patch(f"/sessions/{session}", json={"options": design}, headers=key)
    assert changed.status_code == 200, changed.text
    assert (await client.post("/cart/items", json={"session_id": session}, headers=key)).status_code == 200
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    payment = placed["payment"]
    assert (await client.post(f"/test-payments/{payment['payment_id']}/succeed")).status_code == 200
    return key, placed, asset_id


async def test_print_ready_orders_go_to_fulfillment_signed_retried_and_logged(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    container: Container,
    receiver: WebhookReceiver,
) -> None:
    key, placed, asset_id = await designed_and_paid(client, catalog["classic-tee"])
    order_id = placed["order_id"]
    await pump(container)
    assert receiver.requests == []  # nothing goes out before the print files are ready

    receiver.answer_with(500)
    await render_prints(container)  # the last print file ready: the order is sent (and refused)
    await pump(container)  # the retry, due at once on the shrunk schedule
    first, second = receiver.requests
    assert first.path == second.path == "/orders"
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"]
    payload = Webhook(SECRET).verify(second.body, second.headers)
    assert isinstance(payload, dict) and payload["type"] == "fulfillment.requested"

    data = payload["data"]
    order = (await client.get(f"/orders/{order_id}", headers=key)).json()
    (item,) = order["items"]
    assert (data["order_id"], data["status"], data["total"], data["currency"]) == (
        order_id,
        "paid",
        order["total"],
        "USD",
    )
    assert data["shipping_address"] == {**ORDER["shipping_address"], "line2": None, "subdivision": None}
    (line,) = data["lines"]
    assert (line["id"], line["quantity"], line["options"]) == (item["item_id"], 1, item["options"])
    assert line["template_snapshot"] == item["template_snapshot"]
    assert line["print_file"]["url"] == PUBLIC_URL + item["print_file"]["url"]
    assert line["preview_url"] == PUBLIC_URL + item["print_file"]["preview_url"]
    # The tee's print area is 280 mm square at 300 DPI.
    assert (line["print_file"]["width"], line["print_file"]["height"], line["print_file"]["dpi"]) == (
        3307,
        3307,
        300,
    )
    (image,) = line["assets"]
    assert (image["zone_id"], image["asset_id"], image["content_type"]) == ("photo", asset_id, "image/png")

    # The links lead to the files (no key needed: the ids are the capability).
    printed = await client.get(line["print_file"]["url"].removeprefix(PUBLIC_URL))
    with Image.open(io.BytesIO(printed.content)) as drawn:
        assert drawn.size == (3307, 3307)
        # The photo zone (x 250..750, y 300..800 of 1000) shows the guest's photo.
        assert drawn.convert("RGB").getpixel((round(3307 * 0.5), round(3307 * 0.55))) == PHOTO_COLOUR
    preview = await client.get(line["preview_url"].removeprefix(PUBLIC_URL))
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    original = await client.get(image["url"].removeprefix(PUBLIC_URL))
    with Image.open(io.BytesIO(original.content)) as photo:
        assert photo.size == (800, 800)

    logs = (await client.get("/webhooklogs", params={"event": "fulfillment.requested"}, headers=admin)).json()
    attempts = sorted((log["attempt"], log["response_status"], log["endpoint_id"]) for log in logs["items"])
    assert attempts == [(1, 500, "fulfillment"), (2, 204, "fulfillment")]
    await pump(container)
    assert len(receiver.requests) == 2  # delivered: never sent again

    # Production may start now; a reprint renders again, under new links, and sends the order again.
    moved = await client.post(f"/orders/{order_id}/status", json={"status": "in_production"}, headers=admin)
    assert moved.status_code == 200, moved.text
    reprinted = await client.post(f"/orders/{order_id}/reprint", headers=admin)
    assert reprinted.status_code == 202
    assert reprinted.json()["items"][0]["print_file"]["status"] == "pending"
    # The reprint's jobs run in the app's own event loop (the in-process queue): wait for them.
    for _ in range(200):
        if len(receiver.requests) == 3:
            break
        await asyncio.sleep(0.05)
    third = receiver.requests[2]
    again = json.loads(third.body)["data"]
    assert again["status"] == "in_production"
    assert again["lines"][0]["print_file"]["url"] != line["print_file"]["url"]
    assert third.headers["webhook-id"] != first.headers["webhook-id"]
    assert (await client.get(line["print_file"]["url"].removeprefix(PUBLIC_URL))).status_code == 404


async def test_a_reprint_needs_a_paid_order_and_the_orders_write_scope(
    client: Client, catalog: dict[str, str], admin: dict[str, str], container: Container
) -> None:
    started = await client.post(
        "/cart/items", json={"product_id": catalog["classic-tee"], "options": {"size": "M"}}
    )
    key = {"X-Session-Key": started.headers["x-session-key"]}
    client.cookies.clear()
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    unpaid = await client.post(f"/orders/{placed['order_id']}/reprint", headers=admin)
    assert unpaid.status_code == 409
    reader = {"X-API-Key": await make_key(container, "orders:read")}
    for headers in ({}, reader):
        assert (
            await client.post(f"/orders/{placed['order_id']}/reprint", headers=headers)
        ).status_code == 403
    assert (await client.post("/orders/no-such-order/reprint", headers=admin)).status_code == 404
