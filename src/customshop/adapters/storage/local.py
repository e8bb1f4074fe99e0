"""Files on the local filesystem: the embedded default, and any single-host deployment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from pathlib import Path

from customshop.adapters.storage.keys import check_key
from customshop.application.ports import FileMissing, StorageUnavailable


class LocalFileStorage:
    """Implements ``FileStorage`` as files under one root folder, the key being the relative path.

    Contract:
        * Keys follow ``check_key``; a key that breaks it, or that would leave the root through a
          symbolic link planted inside it, raises ``ValueError`` before anything is touched. (The
          root itself is resolved once, so pointing it at a symlink to another disk is fine.)
        * ``put`` is atomic: the bytes go to a temporary file beside the target, are fsynced, and
          replace the target with ``os.replace``, so readers (and a crash at any moment) see the old
          file or the new one, never part of one. Missing folders are created. Concurrent ``put``
          calls of one key are safe; the last to finish wins.
        * ``get`` raises ``FileMissing`` when no file is stored under the key (a folder is not a file);
          ``exists`` answers the same question without raising.
        * On disk a key cannot be both a file and the folder of other keys (``a`` and ``a/b``); such a
          ``put`` raises ``ValueError``.
        * Other filesystem failures (disk full, permission denied, read-only mount) raise
          ``StorageUnavailable``: the backend cannot serve the request, whatever the key.

    All I/O runs in a worker thread (``asyncio.to_thread``): even a small write ends in an fsync,
    which can stall for tens of milliseconds or more on a busy disk, too long to hold the event loop.
    """

    def __init__(self, root: Path) -> None:
        """Store files under ``root`` (created on the first ``put``; resolved now, so a relative root
        is relative to the current working directory)."""
        self._root = root.resolve()

    @property
    def root(self) -> Path:
        """The absolute, resolved root folder."""
        return self._root

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing any file there. ``content_type`` is not kept:
        on disk the type is a property of the bytes and the key's extension."""
        check_key(key)
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes:
        """The bytes stored under ``key``.

        Raises:
            FileMissing: nothing is stored under the key.
        """
        check_key(key)
        return await asyncio.to_thread(self._get, key)

    async def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
        check_key(key)
        return await asyncio.to_thread(self._exists, key)

    def _path(self, key: str) -> Path:
        try:
            path = (self._root / key).resolve()
        except RuntimeError:  # how Python 3.11 reports a symlink loop
            raise ValueError(f"storage key {key!r} runs into a loop of symbolic links") from None
        if not path.is_relative_to(self._root) or path == self._root:
            raise ValueError(f"storage key {key!r} leads outside the storage root")
        return path

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ValueError(f"storage key {key!r} needs a folder where a file is stored") from None
        except OSError as exc:
            raise _unavailable(exc) from exc
        try:
            _replace_atomically(path, data)
        except IsADirectoryError:
            raise ValueError(f"storage key {key!r} names a folder of other keys") from None
        except OSError as exc:
            raise _unavailable(exc) from exc

    def _get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileMissing(key) from None
        except OSError as exc:
            raise _unavailable(exc) from exc

    def _exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            return path.is_file()
        except OSError as exc:
            raise _unavailable(exc) from exc


_O_BINARY: int = getattr(os, "O_BINARY", 0)  # Windows only: no newline translation


def _replace_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file beside ``path``, fsync it, rename it over ``path``, fsync the folder.

    The temporary file is removed on any failure, so none is left behind but by a crash.
    """
    # A random name of our own (not mkstemp) so the file gets the usual umask-governed mode.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        with open(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):  # keep the original error
            temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open a folder, nor needs to."""
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _unavailable(exc: OSError) -> StorageUnavailable:
    return StorageUnavailable(f"local file storage failed: {exc.strerror or exc}")
