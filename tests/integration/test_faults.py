"""Dependencies going down under a live ``customshop serve`` (contract §10): a private PostgreSQL
stopped and started, a private Redis killed and restarted, the file storage made unwritable, the
SMTP server absent, and a payment provider that accepts connections and never answers.

For each: the answers during the outage are 503 problem documents of type ``/problems/unavailable``
with ``Retry-After``, naming the dependency and nothing secret, within a few seconds (never a 500,
never a hang); nothing partial is kept; and once the dependency is back the same process serves
again, at the first request.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import secrets
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from PIL import Image

from tests.builders import ORDER, PROBLEM
from tests.integration.mail import MailServer
from tests.integration.private_services import private_postgres, private_redis
from tests.integration.processes import create_key, ok, serving
from tests.integration.standins.stripe_api import StripeStandIn

#: The contract's 2 s, and a margin for a busy test machine.
WITHIN_SECONDS = 3.0
TEMPLATE = {
    "canvas": {"width": 400, "height": 400, "background": "#ffffff"},
    "zones": [
        {
            "id": "name",
            "type": "text",
            "max_length": 12,
            "area": {"x": 20, "y": 20, "width": 360, "height": 80},
        },
        {
            "id": "photo",
            "type": "image",
            "allowed_types": ["image/png"],
            "max_bytes": 1_000_000,
            "min_width": 10,
            "min_height": 10,
            "area": {"x": 50, "y": 120, "width": 300, "height": 250},
        },
    ],
}
DESIGN = {"name": {"text": "Ada"}}


def order(provider: str = "test") -> dict[str, Any]:
    return ORDER | {"payment_provider": provider}


def timed(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = http.request(method, path, **kwargs)
    return response, time.monotonic() - started


def assert_unavailable(answer: tuple[httpx.Response, float], dependency: str, *secrets_: str) -> None:
    """A 503 naming ``dependency``, with Retry-After, in time, revealing none of ``secrets_``."""
    response, elapsed = answer
    assert response.status_code == 503, f"{response.request.method} {response.request.url}: {response.text}"
    assert elapsed < WITHIN_SECONDS, f"{response.request.url} answered after {elapsed:.1f} s"
    assert response.headers["content-type"].startswith(PROBLEM)
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert (problem["type"], problem["status"]) == ("/problems/unavailable", 503)
    assert dependency in problem["detail"], problem
    for secret in secrets_:
        assert secret not in response.text


def make_product(http: httpx.Client, admin: dict[str, str], on_hand: int | None = None) -> str:
    """A product with a text and an image zone; ``on_hand`` units in stock when given."""
    name = f"Name tag {secrets.token_hex(3)}"
    product = http.post("/products", json={"name": name, "base_price": 500}, headers=admin)
    assert product.status_code == 201, product.text
    product_id = str(product.json()["id"])
    template = {"product_id": product_id, "version": 1, "definition": TEMPLATE}
    made = http.post("/templates", json=template, headers=admin)
    assert made.status_code == 201, made.text
    if on_hand is not None:
        stocked = http.put("/inventory", json={"product_id": product_id, "on_hand": on_hand}, headers=admin)
        assert stocked.status_code == 200, stocked.text
    return product_id


def carted(http: httpx.Client, product_id: str) -> dict[str, str]:
    """A new guest with one unit of the design in its cart; its headers."""
    added = http.post("/cart/items", json={"product_id": product_id, "options": DESIGN, "quantity": 1})
    assert added.status_code == 200, added.text
    http.cookies.clear()
    return {"X-Session-Key": added.headers["x-session-key"]}


def level(http: httpx.Client, admin: dict[str, str], product_id: str) -> dict[str, int]:
    response = http.get("/inventory", params={"product_id": product_id}, headers=admin)
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    return {key: item[key] for key in ("on_hand", "reserved", "available")}


def cart_quantities(http: httpx.Client, key: dict[str, str]) -> list[int]:
    response = http.get("/cart", headers=key)
    assert response.status_code == 200, response.text
    return [item["quantity"] for item in response.json()["items"]]


def no_tracebacks(output: str) -> None:
    assert "Traceback" not in output, output[-4000:]
    assert "unhandled error" not in output, output[-4000:]


# -- PostgreSQL ------------------------------------------------------------------------------------


def test_postgres_stopped_then_started_under_a_live_server(cli_env: dict[str, str], tmp_path: Path) -> None:
    with private_postgres() as postgres:
        env = cli_env | {
            "CUSTOMSHOP_DATABASE_URL": postgres.url,
            "CUSTOMSHOP_TEST_PAYMENTS_ENABLED": "true",
            "CUSTOMSHOP_CATALOG_CACHE_TTL_SECONDS": "0",  # every catalog read goes to the database
        }
        ok("db", "upgrade", env=env, cwd=tmp_path)
        admin = {"X-API-Key": create_key(env, tmp_path, "admin")}
        with (
            serving("serve", env=env, cwd=tmp_path) as server,
            httpx.Client(base_url=server.url, timeout=10) as http,
        ):
            product = make_product(http, admin, on_hand=5)
            key = carted(http, product)
            checkout = {"json": order(), "headers": key | {"Idempotency-Key": secrets.token_hex(8)}}
            requests: list[tuple[str, str, dict[str, Any]]] = [
                ("GET", "/products", {}),
                ("GET", f"/products/{product}", {}),
                ("POST", "/sessions", {"json": {"product_id": product}}),
                (
                    "POST",
                    "/cart/items",
                    {"json": {"product_id": product, "options": DESIGN, "quantity": 2}, "headers": key},
                ),
                ("POST", "/checkout", checkout),
                ("PUT", "/inventory", {"json": {"product_id": product, "on_hand": 50}, "headers": admin}),
                ("GET", "/orders", {"headers": admin}),
            ]

            postgres.stop()
            for method, path, kwargs in requests:
                assert_unavailable(
                    timed(http, method, path, **kwargs), "database", str(postgres.port), "postgresql"
                )
            assert http.get("/health/ready").status_code == 503
            assert http.get("/health/live").status_code == 200

            postgres.start()
            # The same process, at the first request: no stale pooled connection answers.
            assert http.get("/products").status_code == 200
            assert http.get("/health/ready").status_code == 200
            # Nothing the failed requests began was kept: the cart has its one line, the stock its
            # old level and no reservation, and the checkout's Idempotency-Key is free.
            assert cart_quantities(http, key) == [1]
            assert level(http, admin, product) == {"on_hand": 5, "reserved": 0, "available": 5}
            placed = http.post("/checkout", **checkout)
            assert placed.status_code == 201, placed.text
            assert level(http, admin, product) == {"on_hand": 5, "reserved": 1, "available": 4}
        output = server.output
    no_tracebacks(output)
    assert "the database is unavailable on POST /checkout" in output  # the operator's view
    assert "Connection refused" in output  # ...with the driver's reason, which clients never see


# -- Redis -----------------------------------------------------------------------------------------


def test_redis_killed_then_restarted_under_a_live_server(
    cli_env: dict[str, str], tmp_path: Path, fresh_postgres_url: str
) -> None:
    with private_redis() as redis:
        env = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url, "CUSTOMSHOP_REDIS_URL": redis.url}
        ok("db", "upgrade", env=env, cwd=tmp_path)
        admin = {"X-API-Key": create_key(env, tmp_path, "catalog:write")}
        with (
            serving("serve", env=env, cwd=tmp_path) as server,
            httpx.Client(base_url=server.url, timeout=10) as http,
        ):
            product = make_product(http, admin)
            assert http.get("/products").status_code == 200  # cached, in Redis too
            session = http.post("/sessions", json={"product_id": product}).json()
            http.cookies.clear()
            key = {"X-Session-Key": session["session_key"]}
            preview = f"/sessions/{session['session_id']}/preview"
            patched = http.patch(f"/sessions/{session['session_id']}", json={"options": DESIGN}, headers=key)
            assert patched.status_code == 200, patched.text

            redis.stop()
            # The catalog is read from the database: a product made during the outage shows.
            other = make_product(http, admin)
            listing, elapsed = timed(http, "GET", "/products")
            assert listing.status_code == 200 and elapsed < WITHIN_SECONDS, listing.text
            assert {item["id"] for item in listing.json()["items"]} == {product, other}
            assert http.post("/sessions", json={"product_id": other}).status_code == 201
            http.cookies.clear()
            # A preview needs the job queue.
            assert_unavailable(timed(http, "POST", preview, headers=key), "job queue", str(redis.port))
            assert http.get("/health/ready").status_code == 503

            redis.start()
            queued = http.post(preview, headers=key)
            assert queued.status_code == 202, queued.text
            job_id = queued.json()["job_id"]
            assert http.get("/health/ready").status_code == 200
        output = server.output
    no_tracebacks(output)
    # The job the failed request recorded was failed, not left waiting; the new one is queued.
    with psycopg.connect(fresh_postgres_url) as conn:
        jobs = conn.execute("SELECT id, status, error FROM preview_jobs ORDER BY id").fetchall()
    assert [(status, error) for _, status, error in jobs] == [
        ("failed", "the job queue was unreachable"),
        ("queued", None),
    ]
    assert jobs[1][0] == job_id


# -- file storage ----------------------------------------------------------------------------------


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """``folder`` cannot be written to, even by root (immutable then), until the block ends."""
    folder.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable:
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True, check=False)
        if made.returncode != 0:
            folder.chmod(0o755)
            pytest.fail(f"cannot make {folder} unwritable for root: {made.stderr.strip()}", pytrace=False)
    try:
        with pytest.raises(OSError, match=r"not permitted|Permission denied"):
            (folder / "probe").write_bytes(b"")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "#c0392b").save(buffer, format="PNG")
    return buffer.getvalue()


def test_unwritable_storage_under_a_live_server_on_sqlite(cli_env: dict[str, str], tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    env = cli_env | {"CUSTOMSHOP_STORAGE_URL": f"file://{files}"}  # embedded: SQLite
    ok("db", "upgrade", env=env, cwd=tmp_path)
    admin = {"X-API-Key": create_key(env, tmp_path, "catalog:write")}
    with (
        serving("serve", env=env, cwd=tmp_path) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        product = make_product(http, admin)
        session = http.post("/sessions", json={"product_id": product}).json()
        http.cookies.clear()
        key = {"X-Session-Key": session["session_key"]}
        upload = f"/sessions/{session['session_id']}/assets"

        with unwritable(files):
            failed = timed(http, "POST", upload, files={"file": ("a.png", png(), "image/png")}, headers=key)
            assert_unavailable(failed, "File storage", str(files))
        assert list(files.iterdir()) == []  # not a byte, not a temporary file

        stored = http.post(upload, files={"file": ("a.png", png(), "image/png")}, headers=key)
        assert stored.status_code == 201, stored.text
        asset_id = stored.json()["asset_id"]
    no_tracebacks(server.output)
    # Only the upload that was stored is recorded.
    with contextlib.closing(sqlite3.connect(tmp_path / "var" / "customshop.db")) as db:
        assert db.execute("SELECT id FROM assets").fetchall() == [(asset_id,)]
    assert len(list(files.rglob("*.png"))) == 1


# -- payment provider and SMTP ---------------------------------------------------------------------


class HangingRelay:
    """A TCP relay on a loopback port in front of ``target_port``. While ``hanging`` it accepts
    connections and never answers (a provider that hangs); otherwise it relays both ways."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.hanging = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(client)
            if not self.hanging:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                self._open.append(upstream)
                threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
                threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def relay(self) -> None:
        """Stop hanging: connections held so far are closed, new ones are relayed."""
        self.hanging = False
        for held in self._open:
            with contextlib.suppress(OSError):
                held.close()
        self._open.clear()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for held in self._open:
            with contextlib.suppress(OSError):
                held.close()


def test_a_hanging_payment_provider_and_an_absent_mail_server_under_a_live_server(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    mail = MailServer()  # its port stays closed until started
    with StripeStandIn.running() as stripe_api:
        relay = HangingRelay(int(stripe_api.url.rsplit(":", 1)[1]))
        env = cli_env | {
            "CUSTOMSHOP_TEST_PAYMENTS_ENABLED": "true",
            "CUSTOMSHOP_STRIPE_SECRET_KEY": stripe_api.secret_key,
            "CUSTOMSHOP_STRIPE_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            "CUSTOMSHOP_STRIPE_API_BASE": relay.url,
            "CUSTOMSHOP_SMTP_URL": f"smtp://127.0.0.1:{mail.port}",
            "CUSTOMSHOP_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1",
            "CUSTOMSHOP_OUTBOX_POLL_SECONDS": "0.5",
        }
        ok("db", "upgrade", env=env, cwd=tmp_path)
        admin = {"X-API-Key": create_key(env, tmp_path, "admin")}
        try:
            with (
                serving("serve", env=env, cwd=tmp_path) as server,
                httpx.Client(base_url=server.url, timeout=10) as http,
            ):
                product = make_product(http, admin, on_hand=5)
                key = carted(http, product)
                checkout = {
                    "json": order("stripe"),
                    "headers": key | {"Idempotency-Key": secrets.token_hex(8)},
                }

                assert_unavailable(
                    timed(http, "POST", "/checkout", **checkout), "payment provider", relay.url
                )
                # Nothing partial: no order, no reservation, the line back in the cart.
                assert http.get("/orders", headers=admin).json()["items"] == []
                assert level(http, admin, product) == {"on_hand": 5, "reserved": 0, "available": 5}
                assert cart_quantities(http, key) == [1]

                relay.relay()
                placed = http.post("/checkout", **checkout)
                assert placed.status_code == 201, placed.text
                assert placed.json()["payment"]["client_secret"]
                assert level(http, admin, product)["reserved"] == 1

                # An order paid while the mail server is down: nobody sees an error, the email waits.
                paid_key = carted(http, product)
                test_order = http.post("/checkout", json=order(), headers=paid_key).json()
                succeeded = http.post(f"/test-payments/{test_order['payment']['payment_id']}/succeed")
                assert succeeded.status_code == 200, succeeded.text
                assert (
                    http.get(f"/orders/{test_order['order_id']}", headers=paid_key).json()["status"] == "paid"
                )
                time.sleep(1.5)  # the first attempt at least (the pump runs every 0.5 s)
                assert mail.received == []
                mail.start()
                deadline = time.monotonic() + 15
                while not mail.received and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert len(mail.received) == 1, "the confirmation did not arrive once the mail server was up"
                output = server.output
        finally:
            relay.close()
            mail.stop()
    no_tracebacks(output)
    assert "the payment provider is unavailable on POST /checkout" in output
