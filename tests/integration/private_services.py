"""PostgreSQL and Redis servers of a test's own, to stop and start again at will.

The machine's shared PostgreSQL and Redis serve every other test and must never be stopped; a test
that needs a dependency to go away starts a private one on a free port instead. The PostgreSQL
cluster is made with ``initdb`` into a temporary folder and run as the ``postgres`` OS user
(PostgreSQL refuses to run as root); both are stopped and removed when the block ends. Failing to
start one fails the test with one line naming it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

from tests.integration.conftest import free_port

POSTGRES_BIN = Path(os.environ.get("TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
POSTGRES_USER = "postgres"


def _as_postgres(*command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", POSTGRES_USER, "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=timeout, check=False)


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own on 127.0.0.1:``port`` (trust authentication)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data = root / "data"
        self.url = f"postgresql://{POSTGRES_USER}@127.0.0.1:{port}/postgres"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _as_postgres(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args)

    def init(self) -> None:
        initdb = str(POSTGRES_BIN / "initdb")
        made = _as_postgres(initdb, "-D", str(self.data), "-A", "trust", "-U", POSTGRES_USER, "-E", "UTF8")
        if made.returncode != 0:
            pytest.fail(f"initdb of a private PostgreSQL failed: {_first_line(made.stderr)}", pytrace=False)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = self._ctl("-o", options, "-l", str(self.root / "postgres.log"), "start")
        if started.returncode != 0:
            log = (self.root / "postgres.log").read_text() if (self.root / "postgres.log").exists() else ""
            pytest.fail(
                f"the private PostgreSQL on port {self.port} did not start: "
                f"{_first_line(log or started.stderr)}",
                pytrace=False,
            )

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    @property
    def running(self) -> bool:
        return self._ctl("status").returncode == 0


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL; stopped and deleted afterwards."""
    if not (POSTGRES_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL's programs are not in {POSTGRES_BIN} (set TEST_POSTGRES_BIN)", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="customshop-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, POSTGRES_USER)
    server = PrivatePostgres(root, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


class PrivateRedis:
    """A ``redis-server`` of the test's own on 127.0.0.1:``port``, without persistence."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server is not installed", pytrace=False)
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(RedisError), Redis.from_url(self.url, socket_connect_timeout=1) as redis:
                if redis.ping():
                    return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"the private Redis on port {self.port} did not start", pytrace=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A running private Redis; stopped afterwards."""
    server = PrivateRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
