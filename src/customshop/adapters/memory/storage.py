"""Files kept in a dict: the ``FileStorage`` fake, held to the same contract tests as the real ones."""

from __future__ import annotations

from customshop.adapters.storage.keys import check_key
from customshop.application.ports import FileMissing


class MemoryFileStorage:
    """Implements ``FileStorage`` in process memory (keys checked like every other adapter's)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.files[check_key(key)] = (bytes(data), content_type)

    async def get(self, key: str) -> bytes:
        try:
            return self.files[check_key(key)][0]
        except KeyError:
            raise FileMissing(key) from None

    async def exists(self, key: str) -> bool:
        return check_key(key) in self.files
