"""The font files behind the type faces a text zone may name (``KNOWN_FONTS``).

The files are DejaVu fonts shipped inside the package (``fonts/``, licence in ``fonts/LICENSE-DejaVu.txt``),
so rendering never depends on the fonts of the machine it runs on.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from PIL import ImageFont

#: The font file of each face of ``customshop.domain.templates.KNOWN_FONTS``.
FONT_FILES: Mapping[str, str] = {
    "Serif": "DejaVuSerif.ttf",
    "Sans": "DejaVuSans.ttf",
    "Mono": "DejaVuSansMono.ttf",
}

# The package is installed as files (a hatchling wheel), so a path beside this module is a real path;
# FreeType maps files given by path instead of copying them into memory for every size.
FONTS_DIR = Path(__file__).resolve().parent / "fonts"


def font_path(family: str) -> Path:
    """The file of ``family``.

    Raises:
        ValueError: ``family`` is not one of ``FONT_FILES``.
    """
    try:
        return FONTS_DIR / FONT_FILES[family]
    except KeyError:
        raise ValueError(f"no font file for the type face {family!r}") from None


@functools.lru_cache(maxsize=256)
def load_font(family: str, size: int) -> ImageFont.FreeTypeFont:
    """``family`` at ``size`` pixels, loaded once per process (fonts are read-only once loaded).

    Raises:
        ValueError: an unknown ``family`` or a ``size`` below 1.
    """
    if size < 1:
        raise ValueError(f"a font size is at least 1 pixel, not {size}")
    return ImageFont.truetype(str(font_path(family)), size)
