"""The files of ``customshop products import|export`` and ``customshop templates import``: opening,
decoding and writing them, with a progress bar on the terminal.

Formats and rules are the application's (``application/catalog_csv.py``, ``catalog_io.py``); this
module only deals with paths, bytes and the display.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

from customshop.application.catalog_csv import CatalogFile, MalformedFile, read_catalog_csv
from customshop.application.catalog_io import read_templates_json


class RichProgress:
    """Implements the ``Progress`` port on a rich progress display: one bar per stage."""

    def __init__(self, display: Progress) -> None:
        self._display = display
        self._task: TaskID | None = None
        self._total: int | None = None

    def start(self, stage: str, total: int | None) -> None:
        if self._task is not None and self._total is not None:  # a stage that ended early looks done
            self._display.update(self._task, completed=self._total)
        self._task = self._display.add_task(stage, total=total)
        self._total = total

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._display.advance(self._task, steps)


@contextlib.contextmanager
def progress_display() -> Iterator[Progress]:
    """A progress display on stderr, shown only when stderr is a terminal (never in a pipe or a log),
    so that stdout keeps the result and stderr only errors."""
    console = Console(stderr=True)
    display = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    with display:
        yield display


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> MalformedFile:
    bad = exc.object[exc.start] if isinstance(exc.object, bytes | bytearray) else None
    byte = f" (byte 0x{bad:02x})" if bad is not None else ""
    return MalformedFile(f'{path} is not UTF-8 text{byte}: save it as UTF-8 ("CSV UTF-8" in spreadsheets)')


def _malformed(path: Path, exc: MalformedFile) -> MalformedFile:
    return MalformedFile(f"{path}: {exc.message}")


def read_catalog_file(path: Path, display: Progress) -> CatalogFile:
    """Read a catalog CSV file (UTF-8, with or without a byte order mark).

    Raises:
        MalformedFile: not UTF-8, or not a catalog CSV (the message names the file).
        OSError: the file cannot be opened or read.
    """
    try:
        with display.open(
            path, "r", encoding="utf-8-sig", newline="", description=f"Reading {path.name}"
        ) as lines:
            return read_catalog_csv(lines)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except MalformedFile as exc:
        raise _malformed(path, exc) from None


def read_templates_file(path: Path, display: Progress) -> list[Any]:
    """Read a templates JSON file: the template objects it holds (one, or a list).

    Raises:
        MalformedFile: not UTF-8, not JSON, or JSON of another shape (the message names the file).
        OSError: the file cannot be opened or read.
    """
    with display.open(path, "rb", description=f"Reading {path.name}") as data:
        raw = data.read()
    try:
        return read_templates_json(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except MalformedFile as exc:
        raise _malformed(path, exc) from None


@contextlib.contextmanager
def replaced_on_success(path: Path) -> Iterator[IO[str]]:
    """A text file (UTF-8, lines as written) that becomes ``path`` when the block ends without an
    error, replacing any file there; on an error it is removed and ``path`` is left as it was."""
    directory = path.parent if str(path.parent) else Path()
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would make it, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
