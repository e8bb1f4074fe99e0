"""Reading template definitions: JSON-like data (``dict``/``list``/``str``/``int``/``bool``) to a
:class:`~customshop.domain.templates.TemplateDefinition`, with *every* problem found at once.

:func:`parse_definition` returns the definition or raises :class:`InvalidDefinition` listing each
problem with its path and, where there is one, its zone id; :func:`check_definition` returns them.
Defaults are filled in, so the stored definition is explicit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from customshop.domain.catalog import LABEL_MAX, OPTIONS_MAX, OptionSet
from customshop.domain.errors import InvalidDefinition, Violation
from customshop.domain.money import MAX_AMOUNT
from customshop.domain.templates import (
    CANVAS_MAX,
    COLOR_PATTERN,
    DEFAULT_DPI,
    DEFAULT_IMAGE_MAX_BYTES,
    DEFAULT_IMAGE_TYPES,
    DEFAULT_TEXT_MAX_LENGTH,
    DPI_MAX,
    DPI_MIN,
    IMAGE_BYTES_LIMIT,
    IMAGE_TYPES,
    KNOWN_FONTS,
    OPTIONS_UNKNOWN,
    PALETTE_MAX,
    PHYSICAL_MAX_MM,
    PRICE_PER_CHARACTER_MAX,
    PRINT_SIDE_MAX,
    PROPORTION_TOLERANCE,
    TEXT_LENGTH_LIMIT,
    ZONE_ID_PATTERN,
    ZONES_MAX,
    Area,
    Canvas,
    ColorZone,
    ImageZone,
    OptionZone,
    TemplateDefinition,
    TextZone,
    VisibleWhen,
    Zone,
    ZoneKind,
    print_pixels,
)
from customshop.domain.visibility import condition_cycles

_ZONE_ID_RE = re.compile(ZONE_ID_PATTERN)
_COLOR_RE = re.compile(COLOR_PATTERN)


class _Missing:
    pass


_MISSING = _Missing()
T = TypeVar("T")

_ZONE_KINDS = frozenset(kind.value for kind in ZoneKind)
_COMMON_KEYS = frozenset({"id", "type", "label", "required", "visible_when"})
_KEYS_BY_KIND: dict[ZoneKind, frozenset[str]] = {
    ZoneKind.TEXT: _COMMON_KEYS
    | {
        "min_length",
        "max_length",
        "fonts",
        "palette",
        "price_delta",
        "area",
        "price_per_character",
        "free_characters",
    },
    ZoneKind.IMAGE: _COMMON_KEYS
    | {"allowed_types", "max_bytes", "min_width", "min_height", "price_delta", "area"},
    ZoneKind.COLOR: _COMMON_KEYS | {"palette", "default", "price_delta", "area"},
    ZoneKind.OPTION: _COMMON_KEYS | {"option_set_id", "multiple", "min", "max"},
}


class _Object:
    """Reads typed fields of one JSON object, recording a violation for each bad one.

    Every getter returns a usable value: the field's value when valid, else the fallback, so that
    checking can go on and report everything in one pass.
    """

    def __init__(
        self,
        raw: Mapping[str, Any],
        path: str,
        problems: list[Violation],
        allowed: frozenset[str],
        zone_id: str | None = None,
    ) -> None:
        self.raw = raw
        self.path = path
        self.problems = problems
        self.zone_id = zone_id
        for key in raw:
            if key not in allowed:
                self.fail(key, "unknown_field", f"{key!r} is not a field here")

    def where(self, key: str) -> str:
        return f"{self.path}.{key}"

    def fail(self, key: str, code: str, message: str) -> None:
        prefix = f"zone {self.zone_id!r}: " if self.zone_id else ""
        self.problems.append(Violation(self.where(key), code, prefix + message, self.zone_id))

    def _get(self, key: str, default: T | _Missing, fallback: T) -> tuple[Any, T | None]:
        """(value, None) when present; (_MISSING, default-or-fallback) when absent."""
        if key in self.raw:
            return self.raw[key], None
        if isinstance(default, _Missing):
            self.fail(key, "required", f"{key} is required")
            return _MISSING, fallback
        return _MISSING, default

    def integer(
        self, key: str, lo: int, hi: int, default: int | _Missing = _MISSING, fallback: int = 0
    ) -> int:
        value, absent = self._get(key, default, fallback)
        if absent is not None:
            return absent
        if type(value) is not int:
            self.fail(key, "invalid_type", f"{key} must be an integer")
            return fallback
        if not lo <= value <= hi:
            self.fail(key, "out_of_range", f"{key} must be between {lo} and {hi}")
            return fallback
        return value

    def number(self, key: str, lo: float, hi: float) -> float | None:
        """An optional number (integer or decimal) in ``[lo, hi]``; None when absent or bad."""
        if key not in self.raw:
            return None
        value = self.raw[key]
        if type(value) not in (int, float) or value != value:  # bool is not a number here; nor NaN
            self.fail(key, "invalid_type", f"{key} must be a number")
            return None
        if not lo <= value <= hi:
            self.fail(key, "out_of_range", f"{key} must be between {lo:g} and {hi:g}")
            return None
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value, absent = self._get(key, default, default)
        if absent is not None:
            return absent
        if type(value) is not bool:
            self.fail(key, "invalid_type", f"{key} must be true or false")
            return default
        return value

    def text(self, key: str, max_length: int, default: str | _Missing = _MISSING) -> str:
        value, absent = self._get(key, default, "")
        if absent is not None:
            return absent
        if not isinstance(value, str):
            self.fail(key, "invalid_type", f"{key} must be a string")
            return ""
        if not value.strip() or len(value) > max_length:
            self.fail(key, "invalid_length", f"{key} must be 1 to {max_length} characters")
        return value

    def color(self, key: str, default: str | _Missing | None = _MISSING) -> str | None:
        value, absent = self._get(key, default, None)
        if value is _MISSING:
            return absent
        if not isinstance(value, str) or not _COLOR_RE.fullmatch(value):
            self.fail(key, "invalid_color", f"{key} must be a colour written #rrggbb")
            return None
        return value.lower()

    def strings(
        self,
        key: str,
        check: Callable[[str], str | None],
        default: tuple[str, ...] | _Missing | None = _MISSING,
        max_items: int = PALETTE_MAX,
    ) -> tuple[str, ...] | None:
        """A non-empty list of distinct strings, each passed through ``check`` (which returns the
        normalized item, or ``None`` after recording why it is bad)."""
        value, absent = self._get(key, default, None)
        if value is _MISSING:
            return absent
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(key, "invalid_type", f"{key} must be a list of strings")
            return None
        if not value or len(value) > max_items:
            self.fail(key, "invalid_length", f"{key} must hold 1 to {max_items} entries")
            return None
        items: list[str] = []
        for index, raw_item in enumerate(value):
            item = check(raw_item)
            if item is None:
                continue
            if item in items:
                self.fail(f"{key}[{index}]", "duplicate", f"{key} lists {raw_item!r} twice")
                continue
            items.append(item)
        return tuple(items) if len(items) == len(value) else None

    def obj(self, key: str, allowed: frozenset[str], required: bool = True) -> _Object | None:
        if key not in self.raw:
            if required:
                self.fail(key, "required", f"{key} is required")
            return None
        value = self.raw[key]
        if not isinstance(value, Mapping):
            self.fail(key, "invalid_type", f"{key} must be an object")
            return None
        return _Object(value, self.where(key), self.problems, allowed, self.zone_id)


_AREA_KEYS = frozenset({"x", "y", "width", "height"})
_CANVAS_KEYS = frozenset({"width", "height", "background", "dpi", "width_mm", "height_mm"})
_DEFINITION_KEYS = frozenset({"canvas", "zones"})


def _area(zone: _Object, canvas: Canvas | None, required: bool) -> Area | None:
    reader = zone.obj("area", _AREA_KEYS, required=required)
    if reader is None:
        return None
    before = len(zone.problems)
    area = Area(
        x=reader.integer("x", 0, CANVAS_MAX),
        y=reader.integer("y", 0, CANVAS_MAX),
        width=reader.integer("width", 1, CANVAS_MAX, fallback=1),
        height=reader.integer("height", 1, CANVAS_MAX, fallback=1),
    )
    if (
        len(zone.problems) == before
        and canvas is not None
        and (area.x + area.width > canvas.width or area.y + area.height > canvas.height)
    ):
        zone.fail(
            "area", "outside_canvas", f"the area reaches outside the {canvas.width}×{canvas.height} canvas"
        )
    return area


def _font_checker(zone: _Object) -> Callable[[str], str | None]:
    def check(font: str) -> str | None:
        if font not in KNOWN_FONTS:
            zone.fail("fonts", "unknown_font", f"font {font!r} is not one of {', '.join(KNOWN_FONTS)}")
            return None
        return font

    return check


def _color_checker(zone: _Object, key: str) -> Callable[[str], str | None]:
    def check(color: str) -> str | None:
        if not _COLOR_RE.fullmatch(color):
            zone.fail(key, "invalid_color", f"{color!r} in {key} is not a colour written #rrggbb")
            return None
        return color.lower()

    return check


def _type_checker(zone: _Object) -> Callable[[str], str | None]:
    def check(content_type: str) -> str | None:
        if content_type not in IMAGE_TYPES:
            zone.fail(
                "allowed_types", "invalid_choice", f"{content_type!r} is not one of {', '.join(IMAGE_TYPES)}"
            )
            return None
        return content_type

    return check


def _text_zone(z: _Object, zone_id: str, label: str, required: bool, canvas: Canvas | None) -> TextZone:
    before = len(z.problems)
    min_length = z.integer("min_length", 0, TEXT_LENGTH_LIMIT, default=0)
    max_length = z.integer("max_length", 1, TEXT_LENGTH_LIMIT, default=DEFAULT_TEXT_MAX_LENGTH, fallback=1)
    if len(z.problems) == before and min_length > max_length:  # compare only lengths that were valid
        z.fail("min_length", "min_exceeds_max", f"min_length {min_length} exceeds max_length {max_length}")
    return TextZone(
        id=zone_id,
        label=label,
        required=required,
        price_delta=z.integer("price_delta", -MAX_AMOUNT, MAX_AMOUNT, default=0),
        area=_area(z, canvas, required=True) or Area(0, 0, 1, 1),
        min_length=min_length,
        max_length=max_length,
        fonts=z.strings("fonts", _font_checker(z), default=(KNOWN_FONTS[1],)) or (),
        palette=z.strings("palette", _color_checker(z, "palette"), default=None),
        price_per_character=z.integer("price_per_character", 0, PRICE_PER_CHARACTER_MAX, default=0),
        free_characters=z.integer("free_characters", 0, TEXT_LENGTH_LIMIT, default=0),
    )


def _image_zone(z: _Object, zone_id: str, label: str, required: bool, canvas: Canvas | None) -> ImageZone:
    return ImageZone(
        id=zone_id,
        label=label,
        required=required,
        price_delta=z.integer("price_delta", -MAX_AMOUNT, MAX_AMOUNT, default=0),
        area=_area(z, canvas, required=True) or Area(0, 0, 1, 1),
        allowed_types=z.strings("allowed_types", _type_checker(z), default=DEFAULT_IMAGE_TYPES) or (),
        max_bytes=z.integer("max_bytes", 1, IMAGE_BYTES_LIMIT, default=DEFAULT_IMAGE_MAX_BYTES, fallback=1),
        min_width=z.integer("min_width", 0, CANVAS_MAX, default=0),
        min_height=z.integer("min_height", 0, CANVAS_MAX, default=0),
    )


def _color_zone(z: _Object, zone_id: str, label: str, required: bool, canvas: Canvas | None) -> ColorZone:
    palette = z.strings("palette", _color_checker(z, "palette")) or ()
    default = z.color("default", default=None)
    if default is not None and palette and default not in palette:
        z.fail("default", "not_in_palette", f"default {default} is not in the palette")
    return ColorZone(
        id=zone_id,
        label=label,
        required=required,
        price_delta=z.integer("price_delta", -MAX_AMOUNT, MAX_AMOUNT, default=0),
        palette=palette,
        default=default,
        area=_area(z, canvas, required=False),
    )


def _option_zone(
    z: _Object,
    zone_id: str,
    label: str,
    required: bool,
    product_id: str,
    option_sets: Mapping[str, OptionSet] | None,
) -> OptionZone:
    set_id = z.raw.get("option_set_id")
    option_set: OptionSet | None = None
    if "option_set_id" not in z.raw:
        z.fail("option_set_id", "required", "option_set_id is required")
    elif not isinstance(set_id, str):
        z.fail("option_set_id", "invalid_type", "option_set_id must be a string")
    elif option_sets is None:
        pass  # a stored definition being reloaded: its references were checked when it was written
    elif (option_set := option_sets.get(set_id)) is None:
        z.fail("option_set_id", "not_found", f"there is no option set {set_id!r}")
    elif option_set.product_id != product_id:
        z.fail("option_set_id", "wrong_product", f"option set {set_id!r} belongs to another product")
        option_set = None
    multiple = z.boolean("multiple", default=False)
    count = len(option_set.options) if option_set else OPTIONS_UNKNOWN
    low, high = 0, 1
    if multiple:
        low = z.integer("min", 0, count, default=0)
        high = z.integer("max", 0, count, default=count, fallback=count)
        if low > high:
            z.fail("min", "min_exceeds_max", f"min {low} exceeds max {high}")
        elif required and high == 0:
            z.fail("max", "out_of_range", "a required zone must allow at least one choice (max ≥ 1)")
    elif type(z.raw.get("multiple", False)) is bool:  # a malformed `multiple` is reported already
        for key in ("min", "max"):
            if key in z.raw:
                z.fail(key, "needs_multiple", f"{key} applies only when multiple is true")
    return OptionZone(
        id=zone_id,
        label=label,
        required=required,
        option_set_id=set_id if isinstance(set_id, str) else "",
        multiple=multiple,
        min=low,
        max=high,
    )


def _zone(
    raw: object,
    index: int,
    seen_ids: set[str],
    canvas: Canvas | None,
    product_id: str,
    option_sets: Mapping[str, OptionSet] | None,
    problems: list[Violation],
    path: str,
) -> Zone | None:
    where = f"{path}.zones[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(Violation(where, "invalid_type", f"zone {index} must be an object"))
        return None
    zone_id = raw.get("id")
    good_id = isinstance(zone_id, str) and bool(_ZONE_ID_RE.fullmatch(zone_id))
    named = zone_id if good_id and isinstance(zone_id, str) else None
    raw_type = raw.get("type")
    kind = ZoneKind(raw_type) if isinstance(raw_type, str) and raw_type in _ZONE_KINDS else None
    z = _Object(raw, where, problems, _KEYS_BY_KIND[kind] if kind else frozenset(raw), named)
    if "id" not in raw:
        z.fail("id", "required", "every zone needs an id")
    elif not good_id:
        z.fail(
            "id", "invalid_format", "a zone id is lower-case letters, digits and '_', starting with a letter"
        )
    elif named in seen_ids:
        z.fail("id", "duplicate", f"zone id {named!r} is used by an earlier zone")
    if named:
        seen_ids.add(named)
    if kind is None:
        z.fail("type", "invalid_choice", f"type must be one of {', '.join(k.value for k in ZoneKind)}")
        return None
    label = z.text("label", LABEL_MAX, default=named or "zone")
    required = z.boolean("required", default=False)
    zid = named or ""
    zone: Zone
    match kind:
        case ZoneKind.TEXT:
            zone = _text_zone(z, zid, label, required, canvas)
        case ZoneKind.IMAGE:
            zone = _image_zone(z, zid, label, required, canvas)
        case ZoneKind.COLOR:
            zone = _color_zone(z, zid, label, required, canvas)
        case ZoneKind.OPTION:
            zone = _option_zone(z, zid, label, required, product_id, option_sets)
    condition = _condition(z)
    return zone if condition is None else replace(zone, visible_when=condition)


_CONDITION_KEYS = frozenset({"zone", "in"})


def _condition(z: _Object) -> VisibleWhen | None:
    """The zone's ``visible_when``, its own shape checked; what it names is checked once every
    zone is read (:func:`_condition_problems`)."""
    reader = z.obj("visible_when", _CONDITION_KEYS, required=False)
    if reader is None:
        return None
    before = len(z.problems)
    controller = reader.raw.get("zone")
    if "zone" not in reader.raw:
        reader.fail("zone", "required", "zone is required: the id of the option zone the condition reads")
    elif not isinstance(controller, str):
        reader.fail("zone", "invalid_type", "zone must be the id of an option zone")
    codes = reader.strings("in", lambda code: code, max_items=OPTIONS_MAX)
    if len(z.problems) > before or not isinstance(controller, str) or codes is None:
        return None
    return VisibleWhen(controller, codes)


def check_definition(
    raw: object,
    *,
    product_id: str,
    option_sets: Mapping[str, OptionSet],
    path: str = "definition",
) -> tuple[TemplateDefinition | None, list[Violation]]:
    """Check a JSON-like definition against every rule.

    Args:
        raw: the definition as decoded JSON.
        product_id: the product the template is for; option zones must use this product's sets.
        option_sets: option sets by id (those of other products are reported as ``wrong_product``).
        path: the prefix of every violation's field path.

    Returns:
        ``(definition, [])`` when valid, else ``(None, violations)`` with every problem found.
    """
    return _check(raw, product_id=product_id, option_sets=option_sets, path=path)


def definition_problems(raw: object, path: str = "definition") -> list[Violation]:
    """Every problem of a definition that shows without the stored catalog: all of
    :func:`check_definition` but whether its option zones name option sets of the product."""
    return _check(raw, product_id="", option_sets=None, path=path)[1]


def _check(
    raw: object, *, product_id: str, option_sets: Mapping[str, OptionSet] | None, path: str
) -> tuple[TemplateDefinition | None, list[Violation]]:
    problems: list[Violation] = []
    if not isinstance(raw, Mapping):
        return None, [Violation(path, "invalid_type", "the definition must be an object")]
    root = _Object(raw, path, problems, _DEFINITION_KEYS)
    canvas: Canvas | None = None
    canvas_reader = root.obj("canvas", _CANVAS_KEYS)
    if canvas_reader is not None:
        before = len(problems)
        width = canvas_reader.integer("width", 1, CANVAS_MAX, fallback=1)
        height = canvas_reader.integer("height", 1, CANVAS_MAX, fallback=1)
        sized = len(problems) == before  # areas can be checked against the canvas only if it has a size
        background = canvas_reader.color("background", default="#ffffff") or "#ffffff"
        dpi = canvas_reader.integer("dpi", DPI_MIN, DPI_MAX, default=DEFAULT_DPI, fallback=DEFAULT_DPI)
        width_mm, height_mm = _physical_size(canvas_reader, width, height, dpi, sized)
        canvas = Canvas(width, height, background, dpi, width_mm, height_mm) if sized else None
    zones: list[Zone] = []
    raw_zones = raw.get("zones", _MISSING)
    if raw_zones is _MISSING:
        root.fail("zones", "required", "zones is required (it may be an empty list)")
    elif not isinstance(raw_zones, Sequence) or isinstance(raw_zones, str):
        root.fail("zones", "invalid_type", "zones must be a list")
    elif len(raw_zones) > ZONES_MAX:
        root.fail("zones", "too_long", f"a template has at most {ZONES_MAX} zones")
    else:
        seen: set[str] = set()
        indices: list[int] = []
        for index, raw_zone in enumerate(raw_zones):
            zone = _zone(raw_zone, index, seen, canvas, product_id, option_sets, problems, path)
            if zone is not None:
                zones.append(zone)
                indices.append(index)
        problems.extend(_condition_problems(zones, indices, product_id, option_sets, path))
    if problems or canvas is None:
        return None, problems
    return TemplateDefinition(canvas=canvas, zones=tuple(zones)), []


def _condition_problems(
    zones: Sequence[Zone],
    indices: Sequence[int],
    product_id: str,
    option_sets: Mapping[str, OptionSet] | None,
    path: str,
) -> list[Violation]:
    """What the zones' conditions name: an option zone of this definition, and codes of its option
    set (when the set is known: not while a stored definition is reloaded, nor one of another
    product, reported already); and no zone shows only through a chain leading back to itself."""
    problems: list[Violation] = []
    by_id: dict[str, Zone] = {}
    where_of: dict[str, str] = {}
    for zone, index in zip(zones, indices, strict=True):
        if zone.id and zone.id not in by_id:
            by_id[zone.id] = zone
            where_of[zone.id] = f"{path}.zones[{index}].visible_when"
    controller_of: dict[str, str] = {}
    for zone, index in zip(zones, indices, strict=True):
        condition = zone.visible_when
        if condition is None:
            continue
        where = f"{path}.zones[{index}].visible_when"
        controller = by_id.get(condition.zone)
        if not isinstance(controller, OptionZone):
            code, message = (
                ("unknown_zone", f"the template has no zone {condition.zone!r}")
                if controller is None
                else ("not_an_option_zone", f"zone {condition.zone!r} is not an option zone")
            )
            problems.append(Violation(f"{where}.zone", code, f"zone {zone.id!r}: {message}", zone.id))
            continue
        option_set = option_sets.get(controller.option_set_id) if option_sets is not None else None
        if option_set is not None and option_set.product_id == product_id:
            problems.extend(
                Violation(
                    f"{where}.in[{position}]",
                    "unknown_option",
                    f"zone {zone.id!r}: {code!r} is not a code of zone {controller.id!r}'s option set",
                    zone.id,
                )
                for position, code in enumerate(condition.codes)
                if code not in option_set.codes
            )
        if isinstance(zone, OptionZone) and by_id.get(zone.id) is zone:
            controller_of[zone.id] = controller.id
    for cycle in condition_cycles(controller_of):
        chain = " → ".join((*cycle, cycle[0]))
        problems.extend(
            Violation(
                where_of[zone_id],
                "cycle",
                f"zone {zone_id!r}: its visibility depends on itself ({chain})",
                zone_id,
            )
            for zone_id in cycle
        )
    return problems


def _physical_size(
    reader: _Object, width: int, height: int, dpi: int, sized: bool
) -> tuple[float | None, float | None]:
    """The canvas's physical size: both sides or neither, in the canvas's proportions, and not
    more than :data:`PRINT_SIDE_MAX` pixels a side at ``dpi``."""
    width_mm = reader.number("width_mm", 1, PHYSICAL_MAX_MM)
    height_mm = reader.number("height_mm", 1, PHYSICAL_MAX_MM)
    given = {key for key in ("width_mm", "height_mm") if key in reader.raw}
    if len(given) == 1:
        missing = ({"width_mm", "height_mm"} - given).pop()
        reader.fail(missing, "required", "a physical size gives both width_mm and height_mm")
        return None, None
    if width_mm is None or height_mm is None:
        return None, None
    if sized and abs((width_mm / height_mm) / (width / height) - 1) > PROPORTION_TOLERANCE:
        reader.fail(
            "height_mm",
            "proportions",
            f"{width_mm:g} × {height_mm:g} mm does not have the proportions of the {width}×{height} canvas",
        )
        return None, None
    longest = max(print_pixels(width_mm, dpi), print_pixels(height_mm, dpi))
    if longest > PRINT_SIDE_MAX:
        reader.fail(
            "dpi",
            "too_large",
            f"at {dpi} DPI the print file would be {longest} pixels a side, above {PRINT_SIDE_MAX}",
        )
        return None, None
    return width_mm, height_mm


def parse_definition(
    raw: object, *, product_id: str, option_sets: Mapping[str, OptionSet], path: str = "definition"
) -> TemplateDefinition:
    """Like :func:`check_definition`, but returns the definition or raises.

    Raises:
        InvalidDefinition: with every violation found.
    """
    definition, problems = check_definition(raw, product_id=product_id, option_sets=option_sets, path=path)
    if definition is None:
        raise InvalidDefinition(problems, "The template definition is invalid.")
    return definition


def load_definition(raw: object) -> TemplateDefinition:
    """Read back a definition stored in canonical form, without re-checking option-set references.

    Raises:
        InvalidDefinition: the stored document is damaged.
    """
    definition, problems = _check(raw, product_id="", option_sets=None, path="definition")
    if definition is None:
        raise InvalidDefinition(problems, "A stored template definition is damaged.")
    return definition
