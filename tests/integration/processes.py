"""Running ``customshop`` as real processes: one-shot commands and servers, always cleaned up.

Every process is started in a session of its own, so stopping it also stops whatever it spawned
(granian's worker processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import CUSTOMSHOP, free_port


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def _kill_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def start(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CUSTOMSHOP, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[str], args: tuple[str, ...], timeout: float = 60) -> Result:
    """Wait for a command started with :func:`start`; one still running after ``timeout`` is killed
    (with every process it started) and the test fails."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"customshop {' '.join(args)} still ran after {timeout}s\n{stdout}\n{stderr}")
    return Result(args, proc.returncode, stdout, stderr)


def run(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> Result:
    """Run ``customshop ARGS`` to completion."""
    return finish(start(*args, env=env, cwd=cwd), args, timeout)


def ok(*args: str, env: dict[str, str], cwd: Path) -> Result:
    """Run ``customshop ARGS``, which must succeed."""
    result = run(*args, env=env, cwd=cwd)
    assert result.returncode == 0, f"customshop {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def create_key(env: dict[str, str], cwd: Path, *scopes: str) -> str:
    """A new API key made with ``customshop apikey create`` (printed alone on the last line)."""
    scope_args = [arg for scope in scopes or ("admin",) for arg in ("--scope", scope)]
    secret = ok("apikey", "create", "--name", "tests", *scope_args, env=env, cwd=cwd).stdout.splitlines()[-1]
    assert secret.startswith("csk_"), secret
    return secret


class Server:
    """A ``customshop`` command that serves HTTP, its output kept in files (never a pipe that could
    fill up and block it)."""

    def __init__(self, *args: str, env: dict[str, str], cwd: Path, port: int, scheme: str = "http") -> None:
        self.args = args
        self.port = port
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.stdout_path = cwd / f"server-{port}.out"
        self.stderr_path = cwd / f"server-{port}.err"
        with self.stdout_path.open("w") as stdout, self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [CUSTOMSHOP, *args, "--port", str(port)],
                env=env,
                cwd=cwd,
                stdout=stdout,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def wait_live(self, timeout: float = 30) -> None:
        """Poll ``/health/live`` until it answers 200; fail (with the server's output) otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"customshop {' '.join(self.args)} exited with {self.proc.returncode}:\n{self.output}"
                )
            try:
                if httpx.get(f"{self.url}/health/live", verify=False, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"customshop {' '.join(self.args)} did not answer within {timeout}s:\n{self.output}")

    def stop(self) -> None:
        """Ask the server to stop (SIGTERM to its whole group); kill it if it does not within 10 s."""
        if self.proc.poll() is None:
            _kill_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Workers that outlived their parent go too.
        _kill_group(self.proc, signal.SIGKILL)


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str], cwd: Path, scheme: str = "http") -> Iterator[Server]:
    """A live server on a free port, stopped however the block ends."""
    server = Server(*args, env=env, cwd=cwd, port=free_port(), scheme=scheme)
    try:
        server.wait_live()
        yield server
    finally:
        server.stop()
