"""Email written to a local folder instead of being sent (embedded mode: ``var/mail/``)."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from customshop.adapters.mail import mime_message
from customshop.application.ports import EmailMessage, MailUnavailable

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(message_id: str) -> str:
    """The file of a message: its id without angle brackets, every other character outside
    ``[A-Za-z0-9._-]`` replaced by ``_``, and ``.eml``."""
    stem = _UNSAFE.sub("_", message_id.strip().strip("<>")).strip("._") or "message"
    return f"{stem}.eml"


class FolderMailer:
    """Implements ``Mailer`` by writing each message as an ``.eml`` file (RFC 5322, readable by any
    mail client) into ``folder``, created when missing.

    Each file appears whole or not at all (written aside, then renamed into place); a message sent
    again replaces its file, named after its ``Message-ID``. A folder that cannot be written raises
    ``MailUnavailable``. Nothing to close.
    """

    def __init__(self, folder: Path, sender: str) -> None:
        self._folder = folder
        self._sender = sender

    @property
    def folder(self) -> Path:
        return self._folder

    async def send(self, message: EmailMessage) -> None:
        data = mime_message(message, self._sender).as_bytes()
        try:
            await asyncio.to_thread(self._write, file_name(message.message_id), data)
        except OSError as exc:
            raise MailUnavailable(f"cannot write the email into {self._folder}: {exc}") from exc

    def _write(self, name: str, data: bytes) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self._folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
