"""Logs: one JSON object per line (or plain text), each carrying the id of the request it belongs
to, with secrets masked.

``configure_logging`` installs one handler on the root logger of the process: records are formatted
where they are emitted (so the request id and the redaction see that request's context) and the
lines written to stderr in batches by a background thread, so that a slow terminal or pipe never
blocks the event loop. The access line of every request (:func:`access_log`) takes a shorter way to
the same writer: it holds nothing secret, so it is built as one string, without a log record.

Every record passes two filters on the way: :class:`RequestContext` stamps it with the current
request id (a ``ContextVar`` the HTTP middleware sets for each request, so it follows the request
into every task it starts), and :class:`RedactSecrets` masks what looks like a secret. Secrets should
never be logged in the first place; the filter is the second line of defence, for the message that
quotes an exception, a URL or a header it should not have.
"""

from __future__ import annotations

import atexit
import logging
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

#: The id of the request being handled, if any (set by the HTTP middleware).
REQUEST_ID: ContextVar[str | None] = ContextVar("customshop_request_id", default=None)

#: Record attributes (given with ``extra=``) a JSON line carries when present: the request log's.
REQUEST_FIELDS = ("method", "route", "status", "duration_ms")
LOG_FORMATS = ("json", "text")
#: The logger of the access lines, one per answered request.
ACCESS_LOGGER = "customshop.access"
#: How long a line waits at most before the writer thread writes it.
FLUSH_SECONDS = 0.1
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


class _Lines:
    """Finished lines on their way to stderr, written in batches by a thread of their own.

    Any thread appends whole lines (``collections.deque.append`` is atomic, so appending costs no
    lock and never waits for the terminal or pipe); the writer thread wakes every
    :data:`FLUSH_SECONDS`, takes what is there and writes it with one ``write`` and one ``flush``.
    :meth:`flush` does the same at once, from the calling thread. Lines are written to whatever
    ``sys.stderr`` is at the time (test runners swap it), in the order they were appended.
    """

    def __init__(self) -> None:
        self._pending: deque[str] = deque()
        self._write_lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def append(self, line: str) -> None:
        self._pending.append(line)

    def start(self) -> None:
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="customshop-log-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is pending, then end the thread."""
        if self._thread is not None:
            self._stopped.set()
            self._thread.join()
            self._thread = None
        self.flush()

    def flush(self) -> None:
        """Write every line appended so far."""
        with self._write_lock:
            pending = self._pending
            count = len(pending)
            if not count:
                return
            # popleft is atomic too: lines appended meanwhile wait for the next batch.
            text = "\n".join([pending.popleft() for _ in range(count)]) + "\n"
            stream = sys.stderr
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: the lines are lost
                pass

    def _run(self) -> None:
        while not self._stopped.wait(FLUSH_SECONDS):
            self.flush()


class _Enqueue(logging.Handler):
    """Formats each record where it is emitted and hands the line to the writer thread."""

    def __init__(self, lines: _Lines) -> None:
        super().__init__()
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)


class AccessLog:
    """The access line of every answered request, written without the ``logging`` machinery.

    A request's line holds nothing that needs masking (the route template, never the path or
    query; a sane request id; method, status and duration), so it skips the record, the filters and
    the formatter: one string built from the fields and appended to the writer's lines, about a
    tenth of what ``logging`` spends on it. The line is exactly what the configured formatter
    would write for a ``customshop.access`` record with those fields (see :class:`JsonFormatter`).
    """

    def __init__(self, append: Callable[[str], None], log_format: str) -> None:
        self._append = append
        self._json = log_format == "json"
        self._second = -1
        self._second_text = ""
        #: route -> its JSON string and that string's content (escaped for a message): a small set.
        self._routes: dict[str, tuple[str, str]] = {}

    def __call__(self, method: str, route: str, status: int, seconds: float, request_id: str) -> None:
        created = time.time()
        second = int(created)
        if second != self._second:  # one strftime a second, not one a line
            self._second = second
            self._second_text = (
                datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
                if self._json
                else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))  # as logging's asctime
            )
        milliseconds = int((created - second) * 1000)
        duration_ms = round(seconds * 1000, 2)
        if not self._json:
            self._append(
                f"{self._second_text},{milliseconds:03d} INFO {ACCESS_LOGGER} [{request_id}] "
                f"{method} {route} {status} {duration_ms:.2f} ms"
            )
            return
        encoded = self._routes.get(route)
        if encoded is None:
            text = msgspec.json.encode(route).decode("utf-8")
            encoded = self._routes[route] = (text, text[1:-1])
        route_json, route_in_message = encoded
        # The request id is 1-128 of [A-Za-z0-9._:+/=-] (observability.py) and the method one of a
        # fixed set: neither needs escaping.
        self._append(
            f'{{"time":"{self._second_text}.{milliseconds:03d}Z","level":"INFO",'
            f'"logger":"{ACCESS_LOGGER}","message":"{method} {route_in_message} {status} '
            f'{duration_ms:.2f} ms","request_id":"{request_id}","method":"{method}",'
            f'"route":{route_json},"status":{status},"duration_ms":{duration_ms!r}}}'
        )


class _Pipeline:
    """The root handler this module installed, and the lines its thread writes."""

    def __init__(self, handler: _Enqueue, lines: _Lines, access: AccessLog) -> None:
        self.handler = handler
        self.lines = lines
        self.access = access

    def flush(self) -> None:
        self.lines.flush()

    def close(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.lines.stop()


_installed: list[_Pipeline] = []


def configure_logging(level: str, log_format: str = "json") -> None:
    """Send every record of level ``level`` or above, of every logger that propagates to the root,
    to stderr in ``log_format`` (``json`` or ``text``), stamped with the request id and with secrets
    masked; and the access lines given to :func:`access_log` in the same format. Calling it again
    replaces what it installed before; other handlers are left alone.

    Raises:
        ValueError: an unknown format.
    """
    formatter = make_formatter(log_format)
    stop_logging()
    lines = _Lines()
    handler = _Enqueue(lines)
    handler.setFormatter(formatter)
    handler.addFilter(RequestContext())
    handler.addFilter(RedactSecrets())
    lines.start()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    _installed.append(_Pipeline(handler, lines, AccessLog(lines.append, log_format)))
    atexit.unregister(stop_logging)  # once, however often logging is configured
    atexit.register(stop_logging)


def access_log(method: str, route: str, status: int, seconds: float, request_id: str) -> None:
    """Write the access line of one answered request (at INFO, logger ``customshop.access``: only
    while that logger is enabled for INFO).

    With :func:`configure_logging` in force the line goes straight to its writer
    (:class:`AccessLog`); without it, through ``logging`` like any record.
    """
    if not _access_logger.isEnabledFor(logging.INFO):
        return
    if _installed:
        _installed[-1].access(method, route, status, seconds, request_id)
    else:
        duration_ms = round(seconds * 1000, 2)
        _access_logger.info(
            "%s %s %d %.2f ms",
            method,
            route,
            status,
            duration_ms,
            extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
        )


def stop_logging() -> None:
    """Write what is queued and remove what :func:`configure_logging` installed."""
    while _installed:
        _installed.pop().close()


def flush_logs() -> None:
    """Write every line logged so far (before a process ends: worker processes of granian end
    without running ``atexit`` functions)."""
    for pipeline in _installed:
        pipeline.flush()


_access_logger = logging.getLogger(ACCESS_LOGGER)


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
