"""Logs: one JSON object per line (or plain text), each carrying the id of the request it belongs
to, with secrets masked.

``configure_logging`` installs one handler on the root logger of the process: records are formatted
where they are emitted (so the request id and the redaction see that request's context) and the
lines written to stderr by a background thread, so that a slow terminal or pipe never blocks the
event loop.

Every record passes two filters on the way: :class:`RequestContext` stamps it with the current
request id (a ``ContextVar`` the HTTP middleware sets for each request, so it follows the request
into every task it starts), and :class:`RedactSecrets` masks what looks like a secret. Secrets should
never be logged in the first place; the filter is the second line of defence, for the message that
quotes an exception, a URL or a header it should not have.
"""

from __future__ import annotations

import atexit
import logging
import queue
import re
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

#: The id of the request being handled, if any (set by the HTTP middleware).
REQUEST_ID: ContextVar[str | None] = ContextVar("customshop_request_id", default=None)

#: Record attributes (given with ``extra=``) a JSON line carries when present: the request log's.
REQUEST_FIELDS = ("method", "route", "status", "duration_ms")
LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

MASK = "***"
_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    # customshop's own: API keys, guest session keys, order tokens.
    (re.compile(r"\b(csk|gsk|otk)_[A-Za-z0-9_-]+"), rf"\1_{MASK}"),
    # Standard Webhooks secrets (the fulfillment partner's, endpoints', Stripe's signing secret).
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), f"whsec_{MASK}"),
    # Stripe secret and restricted keys.
    (re.compile(r"\b([sr]k)_(live|test)_[A-Za-z0-9]+"), rf"\1_\2_{MASK}"),
    # The password of a URL's user information: postgresql://shop:<password>@db, redis://:<password>@cache.
    (re.compile(r"(://[^\s:/@]*):[^\s/]*@"), rf"\1:{MASK}@"),
    # Credentials in headers: "Authorization: Bearer <token>", "Basic <base64>".
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    # key=value and "key": "value" pairs whose key names a secret (password=, client_secret=, token=...).
    (
        re.compile(
            r"(?i)([A-Za-z_-]*(?:password|passwd|secret|token|api[_-]?key|session[_-]?key)"
            r"(?:=[\"']?|[\"']\s*:\s*[\"']))[^\s\"'&,;]+"
        ),
        rf"\1{MASK}",
    ),
)
#: Whatever any pattern of ``_SECRETS`` matches, this matches too: one search tells most lines apart.
_MAYBE_SECRET = re.compile(
    r"(?i)csk_|gsk_|otk_|whsec_|[sr]k_(?:live|test)_|://[^\s/]*@|bearer|basic"
    r"|password|passwd|secret|token|api[_-]?key|session[_-]?key"
)


def redact(text: str) -> str:
    """``text`` with everything that looks like a secret masked (``csk_***``, ``://user:***@``...)."""
    if _MAYBE_SECRET.search(text) is None:
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Masks secrets (:func:`redact`) in a record's message, exception and stack text, in place, so
    that every formatter and handler after it sees the masked text only."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if record.args or masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestContext(logging.Filter):
    """Stamps a record with the id of the request being handled (``request_id``; None outside one).
    Must run where the record is emitted, which filters of a handler do."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (RFC 3339, UTC, milliseconds), ``level``,
    ``logger``, ``message``, ``request_id``, the request fields when given (``method``, ``route``,
    ``status``, ``duration_ms``), and ``exception`` / ``stack`` when there is one."""

    _second = -1
    _second_text = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:  # one strftime a second, not one a line
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return msgspec.json.encode(entry).decode("utf-8")


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format``: ``json`` or ``text``."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return _TextFormatter(TEXT_FORMAT)
    raise ValueError(f"a log format is one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


class _Enqueue(logging.Handler):
    """Formats each record where it is emitted and queues the line for the writer thread."""

    def __init__(self, lines: queue.SimpleQueue[str | None]) -> None:
        super().__init__()
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.put(self.format(record))
        except Exception:
            self.handleError(record)


class _Writer:
    """A thread writing queued lines to whatever ``sys.stderr`` is at the time (test runners swap
    it), flushing whenever the queue runs dry."""

    def __init__(self, lines: queue.SimpleQueue[str | None]) -> None:
        self._lines = lines
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="customshop-log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is not None:
            self._lines.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (line := self._lines.get()) is not None:
            stream = sys.stderr
            try:
                stream.write(line + "\n")
                if self._lines.empty():
                    stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: the line is lost
                pass


class _Pipeline:
    """The root handler this module installed, and the thread that writes its lines."""

    def __init__(self, handler: _Enqueue, writer: _Writer) -> None:
        self.handler = handler
        self.writer = writer

    def flush(self) -> None:
        self.writer.stop()
        self.writer.start()

    def close(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.writer.stop()


_installed: list[_Pipeline] = []


def configure_logging(level: str, log_format: str = "json") -> None:
    """Send every record of level ``level`` or above, of every logger that propagates to the root,
    to stderr in ``log_format`` (``json`` or ``text``), stamped with the request id and with secrets
    masked. Calling it again replaces what it installed before; other handlers are left alone.

    Raises:
        ValueError: an unknown format.
    """
    formatter = make_formatter(log_format)
    stop_logging()
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    handler = _Enqueue(lines)
    handler.setFormatter(formatter)
    handler.addFilter(RequestContext())
    handler.addFilter(RedactSecrets())
    writer = _Writer(lines)
    writer.start()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    _installed.append(_Pipeline(handler, writer))
    atexit.unregister(stop_logging)  # once, however often logging is configured
    atexit.register(stop_logging)


def stop_logging() -> None:
    """Write what is queued and remove what :func:`configure_logging` installed."""
    while _installed:
        _installed.pop().close()


def flush_logs() -> None:
    """Write every line logged so far (before a process ends: worker processes of granian end
    without running ``atexit`` functions)."""
    for pipeline in _installed:
        pipeline.flush()


def granian_log_config(log_format: str) -> dict[str, Any] | None:
    """What ``Granian(log_dictconfig=...)`` takes to write granian's own lines (start-up, workers) in
    ``log_format`` too; None keeps granian's own format (``text``)."""
    if log_format != "json":
        return None
    stdout = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "filters": ["redact"]}
    return {
        "filters": {"redact": {"()": RedactSecrets}},
        "formatters": {
            "generic": {"()": JsonFormatter},
            "access": {"()": logging.Formatter, "fmt": "%(message)s"},
        },
        "handlers": {
            "console": stdout | {"formatter": "generic"},
            "access": stdout | {"formatter": "access"},
        },
    }
