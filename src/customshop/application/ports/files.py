"""Stored files, images and their rendering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Protocol

from customshop.application.ports.unavailable import Unavailable
from customshop.domain.templates import TemplateDefinition
from customshop.domain.validation import Design


class FileMissing(Exception):
    """No file is stored under the key."""


class StorageUnavailable(Unavailable):
    """The storage backend cannot be reached."""

    dependency = "file storage"


class FileStorage(Protocol):
    """Files by key (``assets/…``, ``previews/…``). Keys are relative paths of ``[A-Za-z0-9._/-]``.

    ``put`` replaces any file under the key; ``get`` raises ``FileMissing``; a backend that cannot be
    reached raises ``StorageUnavailable``.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SanitizedImage:
    """An uploaded image re-encoded without metadata, its EXIF orientation applied."""

    content_type: str
    width: int
    height: int
    data: bytes


class UnsupportedImage(Exception):
    """The upload is not an image customshop accepts. ``code`` is one of ``unsupported_type``,
    ``undecodable``, ``decompression_bomb``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ImageProcessor(Protocol):
    """Judges and cleans uploaded images (CPU-bound: call it from a worker thread)."""

    def sanitize(self, upload: IO[bytes]) -> SanitizedImage:
        """The image in ``upload``, its type judged from the bytes (never the file name).

        Raises:
            UnsupportedImage: not PNG, JPEG or WebP; corrupt; or so many pixels that decoding it
                would be a decompression bomb.
        """
        ...


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """Everything a rendering needs: the template, the checked design, the bytes of each image it
    names (by asset id), the labels of chosen option codes (by zone id), and the size of the longest
    side of the output in pixels (the canvas is scaled to it, keeping its proportions)."""

    definition: TemplateDefinition
    design: Design
    images: Mapping[str, bytes]
    option_labels: Mapping[str, tuple[str, ...]]
    longest_side: int
    #: The resolution written into the PNG (its ``pHYs`` chunk), for print files; none for previews.
    dpi: int | None = None


class Renderer(Protocol):
    """Draws a design. CPU-bound: call it from a worker thread."""

    def render(self, request: RenderRequest) -> bytes:
        """The design as PNG bytes."""
        ...
