"""A partner's webhook receiver: a real HTTP server on loopback that records what it is sent.

It runs ``http.server`` in a daemon thread on a free port of 127.0.0.1, so a sender reaches it over
real sockets. By default it answers 204 to every request; the controls make it answer given
statuses, redirect, stall before answering, drip its answer slowly, or answer with a body that never
ends. Whatever it does, every request is recorded first, body included.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver got it; ``headers`` has lower-case names."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """The receiver's record and controls; ``running`` serves one until its block ends."""

    def __init__(self) -> None:
        self.url = ""
        self._requests: list[ReceivedRequest] = []
        self._statuses: deque[int] = deque()
        self._mode = "answer"
        self._redirect_to = ""
        self._lock = threading.Lock()
        #: Set when the receiver shuts down: releases handlers that stall or drip.
        self.stopping = threading.Event()

    # -- controls ----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def answer_with(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, one each, then 204 again."""
        with self._lock:
            self._statuses.extend(statuses)

    def redirect(self, location: str, status: int = 302) -> None:
        """Answer every request with a redirect to ``location``."""
        with self._lock:
            self._mode = "redirect"
            self._redirect_to = location
            self._statuses = deque([status])

    def stall(self) -> None:
        """Read each request, then never answer (until the receiver shuts down)."""
        with self._lock:
            self._mode = "stall"

    def drip(self) -> None:
        """Answer 200 at once, then send the body one byte every 50 ms, endlessly: each read is
        quick, the answer never ends."""
        with self._lock:
            self._mode = "drip"

    def flood(self) -> None:
        """Answer 200 with a body as fast as the socket takes it, endlessly."""
        with self._lock:
            self._mode = "flood"

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[WebhookReceiver]:
        """Serve a new receiver on 127.0.0.1 (a free port) until the block ends."""
        receiver = cls()
        server = _Server(receiver)
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )
        thread.start()
        try:
            yield receiver
        finally:
            receiver.stopping.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    # -- serving -----------------------------------------------------------------------------------

    def record(self, request: ReceivedRequest) -> tuple[str, int, str]:
        """Record ``request``; what to do about it (the mode), the status and the redirect target."""
        with self._lock:
            self._requests.append(request)
            if self._mode == "redirect":
                return self._mode, self._statuses[0], self._redirect_to
            if self._mode in ("drip", "flood"):
                return self._mode, 200, ""  # a status whose answer has a body
            return self._mode, self._statuses.popleft() if self._statuses else 204, ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: WebhookReceiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        receiver = self.server.receiver
        mode, status, location = receiver.record(ReceivedRequest(self.command, self.path, headers, body))
        if mode == "stall":
            receiver.stopping.wait()
            return
        self.send_response(status)
        if mode == "redirect":
            self.send_header("Location", location)
        if mode in ("drip", "flood"):
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            self._endless(0.05 if mode == "drip" else 0.0)
            return
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _endless(self, pause: float) -> None:
        chunk = b"x" if pause else b"x" * 65536
        try:
            while not self.server.receiver.stopping.is_set():
                self.wfile.write(chunk)
                self.wfile.flush()
                if pause:
                    self.server.receiver.stopping.wait(pause)
        except OSError:
            pass  # the sender hung up, as it should
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass
