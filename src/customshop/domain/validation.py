"""Checking a guest's design (the values of a template's zones) against the template.

Values arrive as JSON-like data keyed by zone id:

* text zone: ``{"text": "Happy birthday", "font": "Serif", "color": "#000000"}`` (font and colour
  default to the zone's first font and first palette colour, or black without a palette);
* image zone: ``{"asset_id": "..."}`` naming an uploaded image;
* colour zone: ``"#c0392b"``;
* option zone: ``"L"``, or with ``multiple`` a list of codes ``["ribbon", "card"]``.

:func:`check_design` returns the normalized :class:`Design` or every :class:`Violation`, each naming
its zone (``options.<zone_id>``). A design may be saved while incomplete; required zones are
enforced only with ``complete=True`` (when the design is carted).

A conditional zone that the design hides (``domain/visibility.py``) is not checked and not required:
its value is kept as given, apart (``Design.hidden``), for the session to hold until the zone shows
again, when it is checked like any other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from customshop.domain.catalog import OptionSet
from customshop.domain.errors import InvalidInput, Violation
from customshop.domain.templates import (
    ColorZone,
    ImageZone,
    OptionZone,
    TemplateDefinition,
    TextZone,
    Zone,
)
from customshop.domain.visibility import condition_met, controllers_first

DEFAULT_TEXT_COLOR = "#000000"
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True, slots=True)
class TextValue:
    text: str
    font: str
    color: str


@dataclass(frozen=True, slots=True)
class ImageValue:
    asset_id: str


#: A zone's value: text, an image, a colour (``"#rrggbb"``), an option code, or several codes.
ZoneValue = TextValue | ImageValue | str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """What validation needs to know of an uploaded image."""

    id: str
    content_type: str
    width: int
    height: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Design:
    """The normalized values of a design's shown zones, by zone id, in template order: what is
    priced, drawn, carted and ordered. ``hidden`` holds the values given for zones the design hides,
    unchecked and as given, in template order: what a design session keeps for when they show."""

    values: Mapping[str, ZoneValue]
    hidden: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self, *, keep_hidden: bool = False) -> dict[str, Any]:
        """The JSON form (the input format, defaults spelled out) of the shown zones' values (a cart
        line's options); with ``keep_hidden``, the hidden zones' values too (a session's options)."""
        shown = {zone_id: value_to_json(value) for zone_id, value in self.values.items()}
        return shown | dict(self.hidden) if keep_hidden else shown


def value_to_json(value: ZoneValue) -> Any:
    match value:
        case TextValue():
            return {"text": value.text, "font": value.font, "color": value.color}
        case ImageValue():
            return {"asset_id": value.asset_id}
        case tuple():
            return list(value)
    return value


class _Zone:
    """Records violations for one zone."""

    def __init__(self, zone: Zone, path: str, problems: list[Violation]) -> None:
        self.zone = zone
        self.path = f"{path}.{zone.id}"
        self.problems = problems
        self.before = len(problems)

    def fail(self, code: str, message: str, sub: str = "") -> None:
        field = f"{self.path}.{sub}" if sub else self.path
        self.problems.append(Violation(field, code, f"zone {self.zone.id!r}: {message}", self.zone.id))


def _printable(text: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") for ch in text)


def _text(z: _Zone, zone: TextZone, raw: object) -> TextValue | None:
    if not isinstance(raw, Mapping):
        z.fail(
            "invalid_type",
            'a text value is an object like {"text": "...", "font": "...", "color": "#rrggbb"}',
        )
        return None
    for key in raw:
        if key not in ("text", "font", "color"):
            z.fail("unknown_field", f"{key!r} is not part of a text value", str(key))
    text = _text_content(z, zone, raw.get("text"))
    font = raw.get("font", zone.fonts[0] if zone.fonts else "")
    if not isinstance(font, str) or font not in zone.fonts:
        z.fail("font_not_allowed", f"font must be one of {', '.join(zone.fonts)}", "font")
        font = None
    color = raw.get("color", zone.palette[0] if zone.palette else DEFAULT_TEXT_COLOR)
    if not isinstance(color, str) or not _COLOR_RE.fullmatch(color):
        z.fail("invalid_color", "color must be written #rrggbb", "color")
        color = None
    elif zone.palette is not None and color.lower() not in zone.palette:
        z.fail("not_in_palette", f"color must be one of {', '.join(zone.palette)}", "color")
        color = None
    if text is None or font is None or color is None or len(z.problems) > z.before:
        return None
    return TextValue(text, font, color.lower())


def _text_content(z: _Zone, zone: TextZone, text: object) -> str | None:
    if not isinstance(text, str):
        z.fail("required" if text is None else "invalid_type", "text must be a string")
        return None
    text = unicodedata.normalize("NFC", text)
    if not _printable(text):
        z.fail("invalid_characters", "text may not contain control characters")
    elif len(text) > zone.max_length:
        z.fail("too_long", f"at most {zone.max_length} characters")
    elif 0 < len(text) < zone.min_length:
        z.fail("too_short", f"at least {zone.min_length} characters")
    else:
        return text
    return None


def _image(z: _Zone, zone: ImageZone, raw: object, assets: Mapping[str, AssetInfo]) -> ImageValue | None:
    if not isinstance(raw, Mapping) or set(raw) != {"asset_id"} or not isinstance(raw["asset_id"], str):
        z.fail("invalid_type", 'an image value is {"asset_id": "..."} naming an uploaded image')
        return None
    asset = assets.get(raw["asset_id"])
    if asset is None:
        z.fail("unknown_asset", "no image with this asset_id was uploaded to this session")
        return None
    ok = True
    if asset.content_type not in zone.allowed_types:
        z.fail(
            "type_not_allowed", f"the image is {asset.content_type}; allowed: {', '.join(zone.allowed_types)}"
        )
        ok = False
    if asset.width < zone.min_width or asset.height < zone.min_height:
        needed = f"{zone.min_width}×{zone.min_height}"
        z.fail("too_small", f"the image is {asset.width}×{asset.height}; at least {needed} is needed")
        ok = False
    if asset.bytes > zone.max_bytes:
        z.fail("too_large", f"the image has {asset.bytes} bytes; at most {zone.max_bytes}")
        ok = False
    return ImageValue(asset.id) if ok else None


def _color(z: _Zone, zone: ColorZone, raw: object) -> str | None:
    if not isinstance(raw, str) or not _COLOR_RE.fullmatch(raw):
        z.fail("invalid_color", "a colour is written #rrggbb")
        return None
    if raw.lower() not in zone.palette:
        z.fail("not_in_palette", f"the colour must be one of {', '.join(zone.palette)}")
        return None
    return raw.lower()


def _option(
    z: _Zone, zone: OptionZone, raw: object, option_set: OptionSet | None
) -> str | tuple[str, ...] | None:
    codes = option_set.codes if option_set else frozenset()
    if not zone.multiple:
        if not isinstance(raw, str):
            z.fail("invalid_type", "choose one option code (a string)")
            return None
        if raw not in codes:
            z.fail("unknown_option", f"{raw!r} is not one of {', '.join(sorted(codes))}")
            return None
        return raw
    if not isinstance(raw, list) or not all(isinstance(code, str) for code in raw):
        z.fail("invalid_type", "choose a list of option codes")
        return None
    ok = True
    unknown = [code for code in raw if code not in codes]
    if unknown:
        z.fail("unknown_option", f"{', '.join(map(repr, unknown))} not in {', '.join(sorted(codes))}")
        ok = False
    if len(set(raw)) != len(raw):
        z.fail("duplicate", "each option may be chosen once")
        ok = False
    if len(raw) > zone.max:
        z.fail("too_many", f"choose at most {zone.max}")
        ok = False
    elif 0 < len(raw) < zone.min:
        z.fail("too_few", f"choose at least {zone.min}")
        ok = False
    return tuple(raw) if ok else None


def _empty(value: ZoneValue) -> bool:
    return (isinstance(value, TextValue) and value.text == "") or value == ()


def check_design(
    definition: TemplateDefinition,
    option_sets: Mapping[str, OptionSet],
    options: Mapping[str, object],
    *,
    assets: Mapping[str, AssetInfo] | None = None,
    complete: bool = False,
    path: str = "options",
) -> tuple[Design | None, list[Violation]]:
    """Check every value of ``options`` against ``definition``.

    Args:
        definition: the template the design is made on.
        option_sets: the option sets the template's option zones use, by id.
        options: zone id → value (see the module docstring).
        assets: the uploaded images the design may use, by asset id.
        complete: also require every required zone (a design being carted).
        path: the prefix of each violation's field.

    Returns:
        ``(design, [])`` when valid, else ``(None, violations)``, one per broken rule, each naming its
        zone. The order of ``options`` never matters. A zone the design hides is neither checked nor
        required (its value goes to ``Design.hidden``); a controlling option zone whose value is
        bad hides the zones it controls.
    """
    problems: list[Violation] = []
    zones = {zone.id: zone for zone in definition.zones}
    for key in options:
        if key not in zones:
            problems.append(Violation(f"{path}.{key}", "unknown_zone", f"the template has no zone {key!r}"))
    values: dict[str, ZoneValue] = {}
    hidden: dict[str, Any] = {}
    shown: set[str] = set()
    order = controllers_first(definition)
    for zone in order:
        if not condition_met(zone.visible_when, shown, values):
            if zone.id in options:
                hidden[zone.id] = options[zone.id]
            continue
        shown.add(zone.id)
        z = _Zone(zone, path, problems)
        if zone.id in options:
            raw = options[zone.id]
            value: ZoneValue | None
            match zone:
                case TextZone():
                    value = _text(z, zone, raw)
                case ImageZone():
                    value = _image(z, zone, raw, assets or {})
                case ColorZone():
                    value = _color(z, zone, raw)
                case OptionZone():
                    value = _option(z, zone, raw, option_sets.get(zone.option_set_id))
            if value is None:
                continue
            if not _empty(value):
                values[zone.id] = value
                continue
        if isinstance(zone, ColorZone) and zone.default is not None:
            continue  # the default colour applies without being chosen
        if complete and zone.required:
            z.fail("required", "this zone must be filled in")
    if problems:
        return None, problems
    if order is not definition.zones:  # back to template order
        values = {zone.id: values[zone.id] for zone in definition.zones if zone.id in values}
        hidden = {zone.id: hidden[zone.id] for zone in definition.zones if zone.id in hidden}
    return Design(values, hidden), []


def validate(
    definition: TemplateDefinition,
    option_sets: Mapping[str, OptionSet],
    options: Mapping[str, object],
    *,
    assets: Mapping[str, AssetInfo] | None = None,
    complete: bool = False,
) -> list[Violation]:
    """Every violation of ``options`` against ``definition`` (empty when the design is valid)."""
    return check_design(definition, option_sets, options, assets=assets, complete=complete)[1]


def parse_design(
    definition: TemplateDefinition,
    option_sets: Mapping[str, OptionSet],
    options: Mapping[str, object],
    *,
    assets: Mapping[str, AssetInfo] | None = None,
    complete: bool = False,
) -> Design:
    """Like :func:`check_design`, but returns the design or raises.

    Raises:
        InvalidInput: with every violation.
    """
    design, problems = check_design(definition, option_sets, options, assets=assets, complete=complete)
    if design is None:
        raise InvalidInput(problems, "The design does not fit the template.")
    return design
