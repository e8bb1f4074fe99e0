"""Behaviour only a real server shows: catalog writes reaching every worker process's cache within a
second, and uploads refused while they stream in."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import redis_or_fail
from tests.integration.processes import create_key, ok, serving


@pytest.fixture
def env(cli_env: dict[str, str], fresh_postgres_url: str, tmp_path: Path) -> dict[str, str]:
    environment = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url}
    ok("db", "upgrade", env=environment, cwd=tmp_path)
    return environment


def names(client: httpx.Client) -> set[str]:
    return {p["name"] for p in client.get("/products").json()["items"]}


@pytest.mark.parametrize("shared", ["redis", "none"])
def test_every_worker_sees_a_catalog_write_within_a_second(
    env: dict[str, str], tmp_path: Path, shared: str
) -> None:
    if shared == "redis":
        env = env | {"CUSTOMSHOP_REDIS_URL": redis_or_fail(1)}
    key = {"X-API-Key": create_key(env, tmp_path, "catalog:write")}
    with serving("serve", "--workers", "2", env=env, cwd=tmp_path) as server:
        # Separate connections are spread over both workers; fill both caches.
        clients = [httpx.Client(base_url=server.url, timeout=10) for _ in range(8)]
        try:
            with httpx.Client(base_url=server.url) as admin:
                created = admin.post("/products", json={"name": "Mug", "base_price": 900}, headers=key)
                assert created.status_code == 201
                product = created.json()["id"]
                for client in clients:
                    assert names(client) == {"Mug"}
                admin.put(f"/products/{product}", json={"name": "Big mug", "base_price": 900}, headers=key)
                written = time.monotonic()
            pending = set(range(len(clients)))
            while pending and time.monotonic() - written < 1.0:
                pending = {i for i in pending if names(clients[i]) != {"Big mug"}}
                time.sleep(0.02)
            assert not pending, "some workers still served the old catalog a second after the write"
            for _ in range(5):  # and never the old one again
                assert all(names(client) == {"Big mug"} for client in clients)
        finally:
            for client in clients:
                client.close()


def test_an_upload_past_the_limit_is_refused_while_it_streams(env: dict[str, str], tmp_path: Path) -> None:
    with (
        serving("demo", env=env, cwd=tmp_path) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        tee = next(p["id"] for p in client.get("/products").json()["items"] if p["slug"] == "classic-tee")
        started = client.post("/sessions", json={"product_id": tee}).json()
        path = f"/sessions/{started['session_id']}/assets"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Session-Key: {started['session_key']}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
        megabyte = b"\0" * (1024 * 1024)
        sent = 0
        answer = b""
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
            sock.settimeout(0.05)
            for _ in range(50):  # up to 50 MB, unless the server answers first
                try:
                    sock.sendall(f"{len(megabyte):x}\r\n".encode() + megabyte + b"\r\n")
                    sent += 1
                    answer += sock.recv(65536)
                except (TimeoutError, BlockingIOError):
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    break
                if answer:
                    break
            sock.settimeout(10)
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"too_large" in answer
        assert sent < 20, f"the server read {sent} MB before refusing a 10 MB-limited upload"
