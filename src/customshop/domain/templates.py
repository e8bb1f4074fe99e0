"""Template definitions: the canvas of a product and the zones a guest may fill.

A :class:`TemplateDefinition` is checked when it is made from JSON-like data (see
``domain/template_parsing.py``); what is stored is its explicit, canonical form
(``TemplateDefinition.to_dict()``).

Zone kinds (``type``):

* ``text`` — a line of text in one of ``fonts`` and, when ``palette`` is given, one of its colours;
* ``image`` — an uploaded picture of an ``allowed_types`` type, at least ``min_width`` × ``min_height``;
* ``color`` — one colour of ``palette`` (the product's body colour, say);
* ``option`` — one code (or, with ``multiple``, between ``min`` and ``max`` codes) of an option set of
  the same product.

Any zone may be conditional (``visible_when``): it shows only while an option zone of the template
has one of the given codes chosen (see ``domain/visibility.py``).

A :class:`Template` is a numbered version of a product's definition with a lifecycle
(:class:`TemplateStatus`): a ``draft`` is edited and seen by designers only; ``published`` versions
are what guests design on; a ``retired`` one starts no new session, while the sessions, carts and
orders already on it go on. :data:`TEMPLATE_MOVES` is the table of moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from customshop.domain.errors import Conflict, NotFound
from customshop.domain.money import MAX_AMOUNT

#: The type faces a text zone may name; the renderer ships a font file for each.
KNOWN_FONTS: tuple[str, ...] = ("Serif", "Sans", "Mono")
#: Image types an image zone may accept.
IMAGE_TYPES: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp")

ZONE_ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
CANVAS_MAX = 10_000
#: Template versions are numbered from 1 up to this.
VERSION_MAX = 1_000_000
#: Print resolution when a canvas states none, and the range a canvas may state.
DEFAULT_DPI = 300
DPI_MIN, DPI_MAX = 72, 2400
#: Largest physical side a canvas may state, in millimetres (5 m), and the most pixels a side of
#: its print file may have at its resolution.
PHYSICAL_MAX_MM = 5000
PRINT_SIDE_MAX = 10_000
#: How far a canvas's physical proportions may stray from its pixel proportions.
PROPORTION_TOLERANCE = 0.01
MM_PER_INCH = 25.4
ZONES_MAX = 50
TEXT_LENGTH_LIMIT = 1_000
#: The most a text zone may charge per character: the longest text at that price is still an
#: amount (``MAX_AMOUNT``).
PRICE_PER_CHARACTER_MAX = MAX_AMOUNT // TEXT_LENGTH_LIMIT
IMAGE_BYTES_LIMIT = 50 * 1024 * 1024
PALETTE_MAX = 100
DEFAULT_TEXT_MAX_LENGTH = 100
DEFAULT_IMAGE_TYPES: tuple[str, ...] = ("image/png", "image/jpeg")
DEFAULT_IMAGE_MAX_BYTES = 10 * 1024 * 1024
#: Upper bound for an option zone's min/max while its option set is unknown (already reported).
OPTIONS_UNKNOWN = 10_000


class ZoneKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    COLOR = "color"
    OPTION = "option"


@dataclass(frozen=True, slots=True)
class Area:
    """A rectangle on the canvas, in canvas pixels, origin top left."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Canvas:
    """The design surface, in canvas pixels (the unit of zone areas).

    A canvas may state the physical size it prints at (``width_mm`` × ``height_mm``, in the canvas's
    proportions) and its print resolution (``dpi``). Its print file is then that size at that
    resolution; without a physical size, the canvas's pixels are the print file's pixels.
    """

    width: int
    height: int
    background: str = "#ffffff"
    dpi: int = DEFAULT_DPI
    width_mm: float | None = None
    height_mm: float | None = None

    @property
    def print_size(self) -> tuple[int, int]:
        """The print file's width and height in pixels: the physical size at ``dpi`` (each side
        rounded, at least 1), else the canvas's own size."""
        if self.width_mm is None or self.height_mm is None:
            return self.width, self.height
        return print_pixels(self.width_mm, self.dpi), print_pixels(self.height_mm, self.dpi)


def print_pixels(millimetres: float, dpi: int) -> int:
    """How many pixels ``millimetres`` take at ``dpi`` (at least one)."""
    return max(1, round(millimetres / MM_PER_INCH * dpi))


@dataclass(frozen=True, slots=True)
class VisibleWhen:
    """The condition of a conditional zone: it shows only while the option zone ``zone`` shows and
    has one of ``codes`` chosen (JSON: ``{"zone": "gift_wrap", "in": ["yes"]}``)."""

    zone: str
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TextZone:
    """A line of text. Filled, it adds ``price_delta``, and ``price_per_character`` for each
    character beyond the first ``free_characters`` that is not a space (see
    :meth:`charged_characters`)."""

    id: str
    label: str
    required: bool
    price_delta: int
    area: Area
    min_length: int
    max_length: int
    fonts: tuple[str, ...]
    palette: tuple[str, ...] | None
    price_per_character: int = 0
    free_characters: int = 0
    kind: ZoneKind = field(default=ZoneKind.TEXT, init=False)
    visible_when: VisibleWhen | None = None

    def charged_characters(self, text: str) -> int:
        """How many characters of ``text`` are paid for: those that are not spaces, beyond the first
        ``free_characters``. Spaces are every Unicode white-space character (``str.isspace``: the
        space, the no-break and ideographic spaces, the line and paragraph separators...), which
        print nothing; characters are counted as ``max_length`` counts them, code points of the
        NFC-normalized text that a design stores."""
        printed = sum(1 for character in text if not character.isspace())
        return max(0, printed - self.free_characters)


@dataclass(frozen=True, slots=True)
class ImageZone:
    id: str
    label: str
    required: bool
    price_delta: int
    area: Area
    allowed_types: tuple[str, ...]
    max_bytes: int
    min_width: int
    min_height: int
    kind: ZoneKind = field(default=ZoneKind.IMAGE, init=False)
    visible_when: VisibleWhen | None = None


@dataclass(frozen=True, slots=True)
class ColorZone:
    id: str
    label: str
    required: bool
    price_delta: int
    palette: tuple[str, ...]
    default: str | None
    area: Area | None
    kind: ZoneKind = field(default=ZoneKind.COLOR, init=False)
    visible_when: VisibleWhen | None = None


@dataclass(frozen=True, slots=True)
class OptionZone:
    """Choices from an option set; the price comes from each chosen option's ``price_delta``."""

    id: str
    label: str
    required: bool
    option_set_id: str
    multiple: bool
    min: int
    max: int
    kind: ZoneKind = field(default=ZoneKind.OPTION, init=False)
    visible_when: VisibleWhen | None = None


Zone = TextZone | ImageZone | ColorZone | OptionZone


@dataclass(frozen=True, slots=True)
class TemplateDefinition:
    canvas: Canvas
    zones: tuple[Zone, ...]
    #: The zones, each after the zone its condition names, otherwise in template order (``zones``
    #: itself when no zone is conditional): the order in which a design's visibility is decided
    #: (``domain/visibility.py``), worked out once per definition rather than on every check.
    controllers_first: tuple[Zone, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "controllers_first", _controllers_first(self.zones))

    def zone(self, zone_id: str) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)

    @property
    def option_set_ids(self) -> frozenset[str]:
        return frozenset(z.option_set_id for z in self.zones if isinstance(z, OptionZone))

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form, every default spelled out; ``parse_definition`` reads it back."""
        canvas: dict[str, Any] = {
            "width": self.canvas.width,
            "height": self.canvas.height,
            "background": self.canvas.background,
            "dpi": self.canvas.dpi,
        }
        if self.canvas.width_mm is not None and self.canvas.height_mm is not None:
            canvas |= {"width_mm": _plain(self.canvas.width_mm), "height_mm": _plain(self.canvas.height_mm)}
        return {"canvas": canvas, "zones": [_zone_to_dict(zone) for zone in self.zones]}


def _controllers_first(zones: tuple[Zone, ...]) -> tuple[Zone, ...]:
    """``zones``, each after the zone its condition names (a cycle, which a checked definition does
    not have, is cut where it is met), otherwise in their order; ``zones`` itself without conditions."""
    if all(zone.visible_when is None for zone in zones):
        return zones
    by_id = {zone.id: zone for zone in zones}
    placed: dict[str, Zone] = {}
    visiting: set[str] = set()

    def place(zone: Zone) -> None:
        if zone.id in placed or zone.id in visiting:
            return
        visiting.add(zone.id)
        controller = by_id.get(zone.visible_when.zone) if zone.visible_when is not None else None
        if controller is not None:
            place(controller)
        visiting.discard(zone.id)
        placed[zone.id] = zone

    for zone in zones:
        place(zone)
    return tuple(placed.values())


def _plain(number: float) -> float | int:
    """A whole number of millimetres as an int, so that ``297`` stays ``297`` in JSON."""
    return int(number) if number == int(number) else number


class TemplateStatus(StrEnum):
    """Where a template version is in its life (see :data:`TEMPLATE_MOVES`)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


#: The moves of a template version: a draft is published once (a published definition never
#: changes again: sessions, carts and orders hold it); a published version may be retired, and a
#: retired one published again (as an archived Shopify product is made active again). Nothing else.
TEMPLATE_MOVES: Mapping[TemplateStatus, frozenset[TemplateStatus]] = {
    TemplateStatus.DRAFT: frozenset({TemplateStatus.PUBLISHED}),
    TemplateStatus.PUBLISHED: frozenset({TemplateStatus.RETIRED}),
    TemplateStatus.RETIRED: frozenset({TemplateStatus.PUBLISHED}),
}


class TemplateNotFound(NotFound):
    pass


class IllegalTemplateMove(Conflict):
    """The template version cannot make the move asked for from its status (not in
    :data:`TEMPLATE_MOVES`), or cannot become the default (only a published version can)."""


class TemplateNotDraft(IllegalTemplateMove):
    """Only a draft's definition may be edited; a published or retired one is fixed for good."""


class DefaultTemplateRetirement(IllegalTemplateMove):
    """The product's default version cannot be retired: another is made the default first (a
    product leaves the storefront by being deactivated, not by losing its template)."""


class DefinitionOutOfDate(Conflict):
    """A version cannot be published: its definition no longer fits the product's option sets (an
    option set changed since it was written); ``violations`` names each problem."""


def can_be_default(status: TemplateStatus) -> bool:
    """Whether a version of this status may be its product's default: only a published one."""
    return status is TemplateStatus.PUBLISHED


@dataclass(frozen=True, slots=True)
class Template:
    """A numbered version of a product's definition; one published version per product is the
    default. It changes only through its methods, each returning the changed version or raising an
    :class:`IllegalTemplateMove` (a 409 at the HTTP edge)."""

    id: str
    product_id: str
    version: int
    definition: TemplateDefinition
    is_default: bool
    created_at: datetime
    status: TemplateStatus = TemplateStatus.PUBLISHED

    @property
    def starts_sessions(self) -> bool:
        """Whether guests may start designing on this version (published only)."""
        return self.status is TemplateStatus.PUBLISHED

    @property
    def is_public(self) -> bool:
        """Whether guests may see this version: not a draft (a retired one stays readable for the
        sessions, carts and orders made on it)."""
        return self.status is not TemplateStatus.DRAFT

    def require_draft(self) -> None:
        """Raises ``TemplateNotDraft`` unless this version is a draft (the only one that may be edited)."""
        if self.status is not TemplateStatus.DRAFT:
            raise TemplateNotDraft(
                f"version {self.version} is {self.status}: only a draft can be edited; "
                "create a new version instead"
            )

    def revise(self, definition: TemplateDefinition) -> Template:
        """This draft with another definition.

        Raises:
            TemplateNotDraft: the version is published or retired.
        """
        self.require_draft()
        return replace(self, definition=definition)

    def publish(self) -> Template:
        """This version published (a draft, or a retired version brought back).

        Raises:
            IllegalTemplateMove: it is published already.
        """
        return self._move(TemplateStatus.PUBLISHED)

    def retire(self) -> Template:
        """This version retired: it starts no new session; those on it go on.

        Raises:
            DefaultTemplateRetirement: it is the product's default.
            IllegalTemplateMove: it is a draft, or retired already.
        """
        if self.is_default:
            raise DefaultTemplateRetirement(
                f"version {self.version} is the product's default: make another version the default "
                "before retiring it"
            )
        return self._move(TemplateStatus.RETIRED)

    def make_default(self) -> Template:
        """This version as its product's default (the caller clears the previous default).

        Raises:
            IllegalTemplateMove: it is not published.
        """
        if not can_be_default(self.status):
            raise IllegalTemplateMove(
                f"version {self.version} is {self.status}: only a published version can be the default"
            )
        return replace(self, is_default=True)

    def _move(self, target: TemplateStatus) -> Template:
        if target not in TEMPLATE_MOVES[self.status]:
            allowed = " or ".join(sorted(TEMPLATE_MOVES[self.status]))
            raise IllegalTemplateMove(
                f"version {self.version} is {self.status} and cannot become {target}; it can become {allowed}"
            )
        return replace(self, status=target)


def _area_to_dict(area: Area) -> dict[str, int]:
    return {"x": area.x, "y": area.y, "width": area.width, "height": area.height}


def _zone_to_dict(zone: Zone) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": zone.id,
        "type": zone.kind.value,
        "label": zone.label,
        "required": zone.required,
    }
    match zone:
        case TextZone():
            out |= {
                "min_length": zone.min_length,
                "max_length": zone.max_length,
                "fonts": list(zone.fonts),
                "price_delta": zone.price_delta,
                "area": _area_to_dict(zone.area),
            }
            if zone.palette is not None:
                out["palette"] = list(zone.palette)
            # Written only for zones that price characters, so that definitions made before these
            # fields existed keep their canonical form (and the snapshots of carts and orders theirs).
            if zone.price_per_character or zone.free_characters:
                out |= {
                    "price_per_character": zone.price_per_character,
                    "free_characters": zone.free_characters,
                }
        case ImageZone():
            out |= {
                "allowed_types": list(zone.allowed_types),
                "max_bytes": zone.max_bytes,
                "min_width": zone.min_width,
                "min_height": zone.min_height,
                "price_delta": zone.price_delta,
                "area": _area_to_dict(zone.area),
            }
        case ColorZone():
            out |= {"palette": list(zone.palette), "price_delta": zone.price_delta}
            if zone.default is not None:
                out["default"] = zone.default
            if zone.area is not None:
                out["area"] = _area_to_dict(zone.area)
        case OptionZone():
            out |= {"option_set_id": zone.option_set_id, "multiple": zone.multiple}
            if zone.multiple:
                out |= {"min": zone.min, "max": zone.max}
    # Written only for conditional zones: the other zones keep the canonical form they had before
    # conditions existed (and the snapshots of carts and orders theirs).
    if zone.visible_when is not None:
        out["visible_when"] = {"zone": zone.visible_when.zone, "in": list(zone.visible_when.codes)}
    return out
