"""The one rule for storage keys, shared by every ``FileStorage`` adapter so they accept the same keys."""

from __future__ import annotations

import re

#: The characters a key may contain (the ``FileStorage`` port's alphabet).
_ALPHABET = re.compile(r"[A-Za-z0-9._/-]+")
#: Longest key: S3's limit, and far beyond what customshop's own keys need.
MAX_KEY_LENGTH = 1024
#: Longest folder or file name: the common filesystem limit, so a key valid on S3 is valid on disk too.
MAX_SEGMENT_LENGTH = 255


def check_key(key: str) -> str:
    """Return ``key`` unchanged when it is a safe relative path, else raise.

    A key is one or more ``/``-separated segments of ``[A-Za-z0-9._-]``: no leading or trailing
    ``/``, no empty segment (``a//b``), no ``.`` or ``..`` segment. Keys therefore name one file each
    on every backend (``a/./b`` and ``a/b`` would be one file on disk but two objects on S3) and can
    never climb out of the storage root.

    Raises:
        ValueError: the key breaks one of these rules; the message says which.
    """
    if not key:
        raise ValueError("storage key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"storage key is longer than {MAX_KEY_LENGTH} characters")
    if not _ALPHABET.fullmatch(key):
        raise ValueError(f"storage key {key!r} has characters outside [A-Za-z0-9._/-]")
    if key.startswith("/"):
        raise ValueError(f"storage key {key!r} is absolute; keys are relative paths")
    for segment in key.split("/"):
        if not segment:
            raise ValueError(f"storage key {key!r} has an empty path segment")
        if segment in (".", ".."):
            raise ValueError(f"storage key {key!r} has a {segment!r} segment")
        if len(segment) > MAX_SEGMENT_LENGTH:
            raise ValueError(f"storage key {key!r} has a segment longer than {MAX_SEGMENT_LENGTH}")
    return key
