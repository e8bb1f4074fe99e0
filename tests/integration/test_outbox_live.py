"""Events are never lost: production-shaped processes (``customshop serve`` on PostgreSQL with Redis,
and a ``customshop worker``) deliver an order's events to a partner after the API process was killed
with SIGKILL right after committing the order, exactly once per event id."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.builders import ORDER
from tests.integration.conftest import free_port, redis_or_fail
from tests.integration.processes import Server, create_key, ok, serving, start
from tests.integration.standins.webhook_receiver import WebhookReceiver

GUEST_DESIGN = {"size": "M"}


def wait_until(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_events_committed_before_a_sigkill_are_delivered_after_restart_exactly_once(
    cli_env: dict[str, str], tmp_path: Path, fresh_postgres_url: str, receiver: WebhookReceiver
) -> None:
    env = cli_env | {
        "CUSTOMSHOP_DATABASE_URL": fresh_postgres_url,
        "CUSTOMSHOP_REDIS_URL": redis_or_fail(2),
        "CUSTOMSHOP_TEST_PAYMENTS_ENABLED": "true",
        "CUSTOMSHOP_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "CUSTOMSHOP_RESERVATION_SWEEP_SECONDS": "3600",
    }
    ok("db", "upgrade", env=env, cwd=tmp_path)
    admin = {"X-API-Key": create_key(env, tmp_path, "admin")}
    worker = start("worker", env=env, cwd=tmp_path)
    try:
        # First life: the relay never gets to run (its period is an hour), so the events stay in the
        # outbox when the process dies.
        first = Server(
            "serve", env=env | {"CUSTOMSHOP_OUTBOX_POLL_SECONDS": "3600"}, cwd=tmp_path, port=free_port()
        )
        first.wait_live()
        with httpx.Client(base_url=first.url, timeout=10) as http:
            product = http.post(
                "/products", json={"name": "Classic T-shirt", "base_price": 1900}, headers=admin
            ).json()["id"]
            sizes = http.post(
                "/optionsets",
                json={"product_id": product, "name": "Size", "options": [{"code": "M", "label": "Medium"}]},
                headers=admin,
            ).json()["id"]
            template = {
                "canvas": {"width": 100, "height": 100},
                "zones": [{"id": "size", "type": "option", "option_set_id": sizes, "required": True}],
            }
            created = http.post(
                "/templates",
                json={"product_id": product, "version": 1, "definition": template},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            endpoint = http.post(
                "/webhook-endpoints",
                json={"url": receiver.url, "events": ["order.created", "order.paid"]},
                headers=admin,
            ).json()
            carted = http.post(
                "/cart/items", json={"product_id": product, "options": GUEST_DESIGN, "quantity": 1}
            )
            guest = {"X-Session-Key": carted.headers["x-session-key"]}
            placed = http.post("/checkout", json=ORDER, headers=guest).json()
            paid = http.post(f"/test-payments/{placed['payment']['payment_id']}/succeed")
            assert paid.json()["result"] == "applied"
        first.proc.send_signal(signal.SIGKILL)  # the whole group: no chance to hand anything on
        first.stop()
        time.sleep(1)
        assert receiver.requests == []

        # Second life: the relay runs; the worker delivers.
        with serving("serve", env=env | {"CUSTOMSHOP_OUTBOX_POLL_SECONDS": "0.2"}, cwd=tmp_path):
            wait_until(lambda: len(receiver.requests) >= 2, 30, "the events to arrive")
            time.sleep(2)  # more rounds of the relay: nothing is sent again
        verifier = Webhook(endpoint["secret"])
        events = [verifier.verify(r.body, r.headers) for r in receiver.requests]
        assert sorted(e["type"] for e in events) == ["order.created", "order.paid"]
        assert {e["data"]["order_id"] for e in events} == {placed["order_id"]}
        ids = Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert len(ids) == 2 and set(ids.values()) == {1}
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, worker_log = worker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, worker_log = worker.communicate()
        assert "Traceback" not in worker_log, worker_log
