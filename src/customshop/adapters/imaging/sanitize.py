"""Uploaded images judged by their bytes, checked, and re-encoded without metadata, with Pillow."""

from __future__ import annotations

import contextlib
import io
from typing import IO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from customshop.application.ports import SanitizedImage, UnsupportedImage

#: The default limit of pixels (width × height) an upload may have: 40 megapixels, about 120 MB decoded.
DEFAULT_MAX_PIXELS = 40_000_000

#: Pillow format → (the format written back, its media type). Multi-picture JPEGs (MPO, as some cameras
#: and phones write) are JPEG files; their first picture is kept.
_ACCEPTED: dict[str, tuple[str, str]] = {
    "PNG": ("PNG", "image/png"),
    "JPEG": ("JPEG", "image/jpeg"),
    "MPO": ("JPEG", "image/jpeg"),
    "WEBP": ("WEBP", "image/webp"),
}
_ACCEPTED_PLUGINS = ("PNG", "JPEG", "WEBP")

_JPEG_QUALITY = 92
_WEBP_QUALITY = 90

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class PillowImageProcessor:
    """Judges uploads with Pillow and re-encodes the PNG, JPEG and WebP ones it accepts.

    ``sanitize`` reads the upload from its start and does not close it. The type comes from the bytes
    alone. The pixel count is checked from the header, before any pixel is decoded. The result is
    the first frame (of an animated PNG or WebP, or a multi-picture JPEG), turned upright by its EXIF
    orientation, converted to sRGB when it carries an ICC profile, and re-encoded in its own format
    with no metadata at all (no EXIF, ICC profile, XMP, comments or text chunks): PNG losslessly,
    JPEG at quality 92, WebP at quality 90. Pixels become ``RGB``, ``RGBA`` (any transparency) or
    ``L`` (grey PNG or JPEG; 16-bit grey is scaled to 8 bits). Stateless and thread-safe.

    The upload is read whole into memory only when it cannot seek; bounding its size is the caller's
    business (a template's ``max_bytes``).

    Args:
        max_pixels: the most pixels (width × height) an accepted image may have. Pillow's own
            ``Image.MAX_IMAGE_PIXELS``, when lower, applies too: an image over it, which Pillow only
            warns about (``DecompressionBombWarning``), is refused like one over ``max_pixels``, and
            Pillow's ``DecompressionBombError`` is a ``decompression_bomb`` as well. (The warning is
            not turned into an error with the warnings filters: they are process-wide and not
            thread-safe.)
    """

    def __init__(self, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        if max_pixels < 1:
            raise ValueError("max_pixels must be at least 1")
        self._max_pixels = max_pixels

    def sanitize(self, upload: IO[bytes]) -> SanitizedImage:
        """The image in ``upload``, its type judged from the bytes (never the file name).

        Raises:
            UnsupportedImage: ``unsupported_type`` (an image, but not PNG, JPEG or WebP),
                ``undecodable`` (not an image, or corrupt or truncated), or ``decompression_bomb``
                (more pixels than the limit).
        """
        if not upload.seekable():
            upload = io.BytesIO(upload.read())
        image = _open(upload)
        with image:
            pil_format = image.format or ""
            if pil_format not in _ACCEPTED:  # defensive: the plugins asked for return only these
                raise UnsupportedImage("unsupported_type", f"{pil_format} images are not accepted")
            self._check_pixels(image.size)
            out_format, content_type = _ACCEPTED[pil_format]
            try:
                image.load()
                _turn_upright(image)
                clean = _normalized_pixels(image, out_format)
                width, height = clean.size
                data = _encode(clean, out_format)
            except Image.DecompressionBombError as exc:
                raise UnsupportedImage("decompression_bomb", str(exc)) from exc
            except Exception as exc:  # Pillow's decoders fail on bad input with many exception types
                raise UnsupportedImage(
                    "undecodable", f"the {pil_format} image is corrupt or truncated: {exc}"
                ) from exc
        return SanitizedImage(content_type=content_type, width=width, height=height, data=data)

    def _check_pixels(self, size: tuple[int, int]) -> None:
        limit = self._max_pixels
        if Image.MAX_IMAGE_PIXELS is not None:
            limit = min(limit, Image.MAX_IMAGE_PIXELS)
        width, height = size
        if width * height > limit:
            raise UnsupportedImage(
                "decompression_bomb",
                f"the image is {width}×{height} pixels; at most {limit} pixels are accepted",
            )


def _open(upload: IO[bytes]) -> Image.Image:
    """The image in ``upload``, its header read and no pixel decoded.

    Only the plugins of accepted formats parse the bytes; when none recognizes them, all plugins are
    tried, only to tell an image of another type from something that is no image at all.
    """
    try:
        return Image.open(upload, formats=_ACCEPTED_PLUGINS)
    except UnidentifiedImageError:
        pass
    except Image.DecompressionBombError as exc:
        raise UnsupportedImage("decompression_bomb", str(exc)) from exc
    except Exception as exc:
        raise UnsupportedImage("undecodable", f"the image header is damaged: {exc}") from exc
    try:
        with Image.open(upload) as other:
            kind = other.format or "unknown"
    except Exception as exc:  # unidentified, a bomb of another type, or a damaged header alike
        raise UnsupportedImage("undecodable", "the file is not an image Pillow can read") from exc
    raise UnsupportedImage("unsupported_type", f"{kind} images are not accepted; upload PNG, JPEG or WebP")


def _turn_upright(image: Image.Image) -> None:
    # Damaged EXIF leaves the orientation unknowable; the image is kept as stored (its EXIF goes anyway).
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)


def _to_srgb(image: Image.Image) -> Image.Image:
    """``image`` converted from its embedded ICC profile to sRGB; unchanged when it has no (usable)
    profile, since a profile about to be dropped would otherwise take its colours with it."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken or mismatched profile: keep the pixels as they are
    assert converted is not None  # profileToProfile returns None only with inPlace=True
    return converted


def _normalized_pixels(image: Image.Image, out_format: str) -> Image.Image:
    """The pixels of ``image`` in a mode ``out_format`` stores well, with no metadata attached."""
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit grey (PNG): Pillow's convert would clip every value above 255 to white.
        image = image.point(lambda value: value / 256).convert("L")
    image = _to_srgb(image)
    if image.has_transparency_data and out_format != "JPEG":
        target = "RGBA"
    elif image.mode in ("1", "L") and out_format != "WEBP":
        target = "L"
    else:
        target = "RGB"
    if image.mode != target:
        image = image.convert(target)
    image.info = {}  # PNG and JPEG writers fall back on info for the ICC profile, comments and such
    return image


def _encode(image: Image.Image, out_format: str) -> bytes:
    out = io.BytesIO()
    if out_format == "PNG":
        image.save(out, "PNG", optimize=False)
    elif out_format == "JPEG":
        image.save(out, "JPEG", quality=_JPEG_QUALITY)
    else:
        image.save(out, "WEBP", quality=_WEBP_QUALITY)
    return out.getvalue()
