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


def one_line_error(result: Result, *fragments: str) -> list[str]:
    """What is wrong with ``result`` as a failure report: it must fail, with exactly one ``error:``
    line on stderr mentioning every fragment, and no traceback. Empty when all is well."""
    command = f"customshop {' '.join(result.args)}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    problems = []
    if result.returncode == 0:
        problems.append(f"{command}: exit status 0")
    if "Traceback" in result.stderr:
        problems.append(f"{command}: a traceback on stderr")
    if len(lines) != 1 or not lines[0].startswith("error: "):
        problems.append(f"{command}: stderr is not one 'error:' line:\n{result.stderr}")
    problems += [
        f"{command}: {fragment!r} not in {lines}" for fragment in fragments if fragment not in "".join(lines)
    ]
    return problems


def assert_one_line_error(result: Result, *fragments: str) -> None:
    problems = one_line_error(result, *fragments)
    assert not problems, "\n".join(problems)


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

    def wait_live(self, timeout: float = 60) -> None:
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

    def pids(self) -> list[int]:
        """The server's processes (granian's supervisor and its workers): its process group (Linux
        /proc)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == self.proc.pid:  # fields after the command: state, ppid, pgrp, ...
                pids.append(int(stat.parent.name))
        return sorted(pids)

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


def answering_pid(server: Server, response: httpx.Response) -> int:
    """The process of ``server`` that accepted the (still open) connection ``response`` came over:
    the one holding the socket whose peer is this client's port (Linux /proc)."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, remote, inode = (line.split()[i] for i in (1, 2, 9))
            if (
                int(local.rsplit(":", 1)[1], 16) == server.port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                inodes.add(f"socket:[{inode}]")
    for pid in server.pids():
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return pid
    raise AssertionError(f"no process of the server holds the connection from port {client_port}")


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str], cwd: Path, scheme: str = "http") -> Iterator[Server]:
    """A live server on a free port, stopped however the block ends."""
    server = Server(*args, env=env, cwd=cwd, port=free_port(), scheme=scheme)
    try:
        server.wait_live()
        yield server
    finally:
        server.stop()
