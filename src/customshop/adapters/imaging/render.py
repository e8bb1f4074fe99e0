"""Designs drawn as PNG with Pillow."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

from PIL import Image, ImageDraw, ImageFont

from customshop.adapters.imaging.typefaces import load_font
from customshop.application.ports import RenderRequest
from customshop.domain.templates import Area, ColorZone, ImageZone, TextZone
from customshop.domain.validation import ImageValue, TextValue, ZoneValue
from customshop.domain.visibility import shown_zones

#: A box on the output image: left, top, right, bottom (exclusive), in output pixels.
Box = tuple[int, int, int, int]

# Big photos are first shrunk by whole factors (cheap) down to about three times the target size, then
# resampled with Lanczos; Pillow documents the result as indistinguishable from resampling all the way.
_REDUCING_GAP = 3.0
_PNG_COMPRESS_LEVEL = 1
# Pictures are sanitized uploads; no other Pillow plugin needs to parse them.
_PICTURE_FORMATS = ("PNG", "JPEG", "WEBP")


class PillowRenderer:
    """Draws a design on its template's canvas, scaled so that its longest side is
    ``request.longest_side`` pixels, and returns it as an RGB PNG.

    Drawing order: the canvas background; the colour zones without an area, which colour the whole
    canvas (a product's body colour; the last one chosen wins); then the other zones in template
    order, each over the ones before:

    * a colour zone with an area fills it with the chosen colour, else with its default, else
      nothing;
    * an image zone's picture covers its area: scaled to fill it, cut to the area centred, its
      transparency respected;
    * a text zone's text is drawn in its font and colour at the largest pixel size whose line
      (ascent to descent, or further where glyphs reach out) fits the area, centred, and clipped to
      the area;
    * option zones draw nothing: they choose a product variant, not artwork
      (``request.option_labels`` is not used);
    * a conditional zone the design hides (``domain/visibility.py``) draws nothing, not even a colour
      zone's default.

    The pictures in ``request.images`` are expected to be what ``ImageProcessor.sanitize`` returns
    (upright, at most a few dozen megapixels). The same request always gives the same bytes, with the
    same Pillow build. Fonts are loaded once per size and process, and shared read-only; the renderer
    is stateless and thread-safe.
    """

    def render(self, request: RenderRequest) -> bytes:
        """The design as PNG bytes.

        Raises:
            ValueError: ``longest_side`` is below 1, or an image zone names an asset whose bytes are
                missing from ``request.images`` or cannot be decoded.
        """
        if request.longest_side < 1:
            raise ValueError(f"longest_side must be at least 1, not {request.longest_side}")
        canvas = request.definition.canvas
        scale = request.longest_side / max(canvas.width, canvas.height)
        size = (max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale)))
        values = request.design.values
        shown = shown_zones(request.definition, values)
        zones = [zone for zone in request.definition.zones if zone.id in shown]

        background = canvas.background
        for zone in zones:
            if isinstance(zone, ColorZone) and zone.area is None:
                background = _chosen_color(zone, values) or background
        image = Image.new("RGB", size, background)

        for zone in zones:
            value = values.get(zone.id)
            if isinstance(zone, ColorZone):
                color = _chosen_color(zone, values)
                if zone.area is not None and color is not None:
                    image.paste(color, _box(zone.area, scale, size))
            elif isinstance(zone, ImageZone) and isinstance(value, ImageValue):
                data = request.images.get(value.asset_id)
                if data is None:
                    raise ValueError(f"zone {zone.id!r}: no bytes were given for image {value.asset_id!r}")
                _paste_cover(image, _box(zone.area, scale, size), data, zone.id)
            elif isinstance(zone, TextZone) and isinstance(value, TextValue):
                _draw_text(image, _box(zone.area, scale, size), value)

        out = io.BytesIO()
        if request.dpi is None:
            image.save(out, "PNG", compress_level=_PNG_COMPRESS_LEVEL)
        else:
            image.save(out, "PNG", compress_level=_PNG_COMPRESS_LEVEL, dpi=(request.dpi, request.dpi))
        return out.getvalue()


def _chosen_color(zone: ColorZone, values: Mapping[str, ZoneValue]) -> str | None:
    value = values.get(zone.id)
    return value if isinstance(value, str) else zone.default


def _box(area: Area, scale: float, size: tuple[int, int]) -> Box:
    """The area on the output: its edges scaled and rounded (so that touching areas still touch),
    at least one pixel each way, inside the image."""
    width, height = size
    left = min(round(area.x * scale), width - 1)
    top = min(round(area.y * scale), height - 1)
    right = min(max(round((area.x + area.width) * scale), left + 1), width)
    bottom = min(max(round((area.y + area.height) * scale), top + 1), height)
    return left, top, right, bottom


def _paste_cover(image: Image.Image, box: Box, data: bytes, zone_id: str) -> None:
    """Paste the picture in ``data`` over ``box``, scaled to cover it and centred."""
    left, top, right, bottom = box
    target = (right - left, bottom - top)
    try:
        with Image.open(io.BytesIO(data), formats=_PICTURE_FORMATS) as photo:
            fitted = _cover(photo, target)
    except Exception as exc:  # Pillow's decoders fail on bad input with many exception types
        raise ValueError(f"zone {zone_id!r}: the image cannot be decoded: {exc}") from exc
    if fitted.mode in ("RGBA", "LA"):
        image.paste(fitted, (left, top), fitted)
    else:
        image.paste(fitted, (left, top))


def _cover(photo: Image.Image, target: tuple[int, int]) -> Image.Image:
    """``photo`` resampled to exactly ``target``, cut evenly on the sides that overflow."""
    target_width, target_height = target
    scale = max(target_width / photo.width, target_height / photo.height)
    if photo.format in ("JPEG", "MPO"):
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale while the result still covers the target: a large
        # photo then takes less time and memory to decode, at no loss of output resolution.
        photo.draft(None, (math.ceil(photo.width * scale), math.ceil(photo.height * scale)))
        scale = max(target_width / photo.width, target_height / photo.height)
    if photo.mode not in ("RGB", "RGBA", "L", "LA"):
        photo = photo.convert("RGBA" if photo.has_transparency_data else "RGB")
    crop_width, crop_height = target_width / scale, target_height / scale
    crop_left, crop_top = (photo.width - crop_width) / 2, (photo.height - crop_height) / 2
    return photo.resize(
        target,
        Image.Resampling.LANCZOS,
        box=(crop_left, crop_top, crop_left + crop_width, crop_top + crop_height),
        reducing_gap=_REDUCING_GAP,
    )


def _draw_text(image: Image.Image, box: Box, value: TextValue) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    fitted = _fit_text(value.text, value.font, width, height)
    if fitted is None:
        return
    font, (ink_left, ink_top, ink_right, ink_bottom) = fitted
    # The text is drawn into a mask of the area, so nothing can spill over the area's edges.
    mask = Image.new("L", (width, height), 0)
    origin = (
        (width - (ink_right - ink_left)) // 2 - ink_left,
        (height - (ink_bottom - ink_top)) // 2 - ink_top,
    )
    ImageDraw.Draw(mask).text(origin, value.text, fill=255, font=font, anchor="ls")
    image.paste(value.color, box, mask)


def _fit_text(text: str, family: str, width: int, height: int) -> tuple[ImageFont.FreeTypeFont, Box] | None:
    """The font of the largest pixel size at which ``text`` fits ``width`` × ``height``, with the
    text's box relative to its baseline origin; ``None`` when the text shows nothing at all.

    The box spans the ink horizontally and, vertically, the font's ascent and descent (or the ink
    where it reaches further), so that texts of the same zone share a size unless one is too wide.
    A text too large even at 1 pixel gets size 1 (and is clipped).
    """
    if not text.strip():
        return None
    best: tuple[ImageFont.FreeTypeFont, Box] | None = None
    low, high = 1, max(1, height)  # a line (ascent + descent) is never shorter than the font size
    while low <= high:
        size = (low + high) // 2
        font, text_box = _measure(text, family, size)
        if text_box[2] - text_box[0] <= width and text_box[3] - text_box[1] <= height:
            best = (font, text_box)
            low = size + 1
        else:
            high = size - 1
    if best is None:
        best = _measure(text, family, 1)
    return best if best[1][2] > best[1][0] else None


def _measure(text: str, family: str, size: int) -> tuple[ImageFont.FreeTypeFont, Box]:
    font = load_font(family, size)
    ink_left, ink_top, ink_right, ink_bottom = (int(edge) for edge in font.getbbox(text, anchor="ls"))
    ascent, descent = font.getmetrics()
    return font, (ink_left, min(ink_top, -ascent), ink_right, max(ink_bottom, descent))
