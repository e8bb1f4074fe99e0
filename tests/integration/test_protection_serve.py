"""Protection on real ``customshop serve`` processes: a 30 MB body refused without the process taking
30 MB (declared and chunked), rate limits counted once across two workers on Redis, and a trusted
proxy naming the client (docs/operations.md, "Protection"). HSTS over TLS: test_serve.py."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from redis import Redis

from tests.integration.processes import answering_pid, create_key, ok, serving

MIB = 1024 * 1024
BODY_SIZE = 30 * MIB
CHUNK = 64 * 1024


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of process ``pid`` in KiB: its resident memory now, and the most it ever had."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def product_body(size: int) -> Iterator[bytes]:
    """A JSON product of ``size`` bytes (a long description), produced a chunk at a time."""
    head, tail = b'{"name": "Mug", "base_price": 100, "description": "', b'"}'
    yield head
    left = size - len(head) - len(tail)
    while left > 0:
        yield b"x" * min(CHUNK, left)
        left -= CHUNK
    yield tail


def post_streaming(
    port: int, path: str, headers: dict[str, str], size: int, chunked: bool
) -> tuple[int, bytes]:
    """POST a ``size``-byte body over a raw connection (declared with Content-Length, or chunked with
    none), reading the answer while the body is still being sent: a server that refuses early answers
    and closes, and the rest of the body is never delivered."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    sent = [0]

    def send_body() -> None:
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            for piece in product_body(size):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent[0] += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed the connection: the rest is not wanted

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    finally:
        sender.join(timeout=30)
        sock.close()
    assert sent[0] < size, "the whole body was taken in before the answer"
    return response.status, body


def test_a_30_mb_body_is_refused_without_the_process_taking_it_in(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    ok("db", "upgrade", env=cli_env, cwd=tmp_path)
    admin = {"X-API-Key": create_key(cli_env, tmp_path, "catalog:write")}
    with serving("serve", env=cli_env, cwd=tmp_path) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http_client:
            # Warm up with the largest body that is read (refused for its content: a description
            # that long is invalid), so that the baseline includes reading one.
            json_headers = admin | {"Content-Type": "application/json"}
            under = b"".join(product_body(MIB - 1024))
            warm = http_client.post("/products", content=under, headers=json_headers)
            assert warm.json()["errors"][0]["code"] == "too_long", warm.text
            plain = http_client.get("/products")
            # Over plain HTTP: the security headers, and no HSTS (that is for TLS only).
            assert plain.headers["x-content-type-options"] == "nosniff"
            assert plain.headers["referrer-policy"] == "no-referrer"
            assert "strict-transport-security" not in plain.headers
        pids = server.pids()
        before = {pid: memory_kib(pid) for pid in pids}

        for chunked in (False, True):
            status, body = post_streaming(server.port, "/products", admin, BODY_SIZE, chunked)
            assert status == 413, body
            assert b'"type":"/problems/too-large"' in body
            assert b"larger than the 1048576 bytes" in body

        time.sleep(0.5)
        after = {pid: memory_kib(pid) for pid in pids}
        for pid in pids:
            grown_rss = after[pid][0] - before[pid][0]
            grown_peak = after[pid][1] - before[pid][1]
            assert grown_rss < 10 * 1024, (
                f"process {pid} grew by {grown_rss} KiB: {before[pid]} -> {after[pid]}"
            )
            assert grown_peak < 10 * 1024, f"process {pid} peaked {grown_peak} KiB higher"

        with httpx.Client(base_url=server.url, timeout=30) as http_client:
            assert http_client.get("/products").json()["items"] == [], "the refused bodies stored nothing"
            assert (
                http_client.post(
                    "/products", json={"name": "Mug", "base_price": 100}, headers=admin
                ).status_code
                == 201
            )


def test_two_workers_count_a_client_once_on_redis(
    cli_env: dict[str, str], tmp_path: Path, redis_url: str
) -> None:
    limit = 40
    env = cli_env | {
        "CUSTOMSHOP_REDIS_URL": redis_url,
        "CUSTOMSHOP_RATE_LIMIT_ENABLED": "true",
        "CUSTOMSHOP_RATE_LIMIT_GENERAL": f"{limit}/minute",
    }
    ok("db", "upgrade", env=env, cwd=tmp_path)
    with serving("serve", "--workers", "2", env=env, cwd=tmp_path) as server:
        answered: dict[int, int] = {}
        refused = None
        deadline = time.monotonic() + 30
        while refused is None:
            assert time.monotonic() < deadline, f"no 429 after {sum(answered.values())} answers"
            with httpx.Client(base_url=server.url, timeout=10) as one_connection:
                response = one_connection.get("/products")
                if response.status_code == 429:
                    refused = response
                else:
                    assert response.status_code == 200, response.text
                    pid = answering_pid(server, response)
                    answered[pid] = answered.get(pid, 0) + 1
        assert sum(answered.values()) == limit, f"not counted once: {answered}\n{server.output}"
        assert len(answered) == 2, f"only process {set(answered)} answered; both must share the count"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["type"] == "/problems/too-many-requests"
        with httpx.Client(base_url=server.url, timeout=10) as http_client:
            # The client cannot pick another identity: X-Forwarded-For is not trusted by default.
            spoofed = http_client.get("/products", headers={"X-Forwarded-For": "198.51.100.23"})
            assert spoofed.status_code == 429
            assert http_client.get("/health/ready").status_code == 200
        with Redis.from_url(redis_url) as redis:
            assert redis.get("customshop:ratelimit:general:127.0.0.1") is not None


def test_a_trusted_proxy_names_the_client(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = cli_env | {
        "CUSTOMSHOP_RATE_LIMIT_ENABLED": "true",
        "CUSTOMSHOP_RATE_LIMIT_GENERAL": "3/minute",
        "CUSTOMSHOP_TRUSTED_PROXIES": "127.0.0.0/8",
    }
    ok("db", "upgrade", env=env, cwd=tmp_path)
    with serving("serve", env=env, cwd=tmp_path) as server, httpx.Client(base_url=server.url) as http_client:

        def status(client_address: str) -> int:
            forwarded = {"X-Forwarded-For": f"203.0.113.9, {client_address}"}
            return http_client.get("/products", headers=forwarded).status_code

        assert [status("198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
        assert status("198.51.100.2") == 200, "another client behind the same proxy has its own count"
        assert http_client.get("/products").status_code == 200, "the proxy's own requests count apart"
