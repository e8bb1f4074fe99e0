"""Receiving one uploaded file from a multipart/form-data body, streamed, with a byte limit.

The body is parsed as it arrives (the ``multipart`` package's push parser) and the file part is
spooled to a temporary file that stays in memory only while small. Past the limit, reading stops at
once: a 50 MB upload to a 10 MB zone costs about 10 MB of disk and no more reading; when the client
declared a length beyond the limit, nothing is read at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import IO, Any

from litestar import Request
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from customshop.domain.errors import InvalidInput, Violation
from customshop.entrypoints.http.body import UnsupportedMediaType

#: Room for the multipart envelope (boundaries, part headers) around the file itself.
ENVELOPE = 64 * 1024
_IN_MEMORY = 1024 * 1024


@dataclass
class Upload:
    file: IO[bytes]
    size: int
    filename: str | None


def _bad(code: str, message: str) -> InvalidInput:
    return InvalidInput([Violation("file", code, message)], "The upload was refused.")


@asynccontextmanager
async def receive_upload(request: Request[Any, Any, Any], limit: int) -> AsyncIterator[Upload]:
    """The first file part of the request, at most ``limit`` bytes, as a rewound temporary file.

    Raises:
        UnsupportedMediaType: the body is not multipart/form-data (JSON, say, or no type at all).
        InvalidInput: (field ``file``) no boundary, no file part, a malformed body, or more than
            ``limit`` bytes (code ``too_large``).
    """
    content_type = request.headers.get("content-type", "")
    media_type, options = parse_options_header(content_type)
    if media_type.lower() != "multipart/form-data":
        raise UnsupportedMediaType(
            detail=f"Send the image as multipart/form-data with one file part, not {content_type[:100]!r}."
        )
    boundary = options.get("boundary")
    if not boundary:
        raise _bad("invalid_multipart", "the multipart/form-data type names no boundary")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE:
        raise _bad("too_large", f"the upload is larger than {limit} bytes")
    with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as spool:
        size = 0
        filename: str | None = None
        state = "before"  # before the file part, "in" it, or "after" it
        try:
            with PushMultipartParser(boundary, max_segment_count=16) as parser:
                async for chunk in request.stream():
                    for event in parser.parse(chunk):
                        if isinstance(event, MultipartSegment):
                            if state == "before" and event.filename is not None:
                                state, filename = "in", event.filename
                        elif event is None:
                            state = "after" if state == "in" else state
                        elif state == "in":
                            size += len(event)
                            if size > limit:
                                raise _bad("too_large", f"the upload is larger than {limit} bytes")
                            spool.write(event)
                for event in parser.parse(b""):  # end of input: the parser checks the body is complete
                    if event is None and state == "in":
                        state = "after"
        except MultipartError as exc:
            raise _bad("invalid_multipart", f"the multipart body is malformed ({exc})") from None
        if state != "after":
            raise _bad("required", "the body has no file part")
        spool.seek(0)
        yield Upload(spool, size, filename)
