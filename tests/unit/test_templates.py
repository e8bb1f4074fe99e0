"""Template definitions: property tests of ``check_definition``, ``parse_definition`` and ``load_definition``.

Valid definitions are generated from valid parts; broken ones are a valid definition with exactly one
rule broken in one zone, and the checker must report that break, once, at that zone.
"""

from __future__ import annotations

import copy
import json
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from customshop.domain.catalog import LABEL_MAX, Option, OptionSet
from customshop.domain.errors import InvalidDefinition, Violation
from customshop.domain.money import MAX_AMOUNT
from customshop.domain.template_parsing import check_definition, load_definition, parse_definition
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
    MM_PER_INCH,
    PALETTE_MAX,
    PHYSICAL_MAX_MM,
    PRINT_SIDE_MAX,
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
    Zone,
)

NOW = datetime(2024, 5, 1, tzinfo=UTC)
PRODUCT = "prod_a"
OTHER_PRODUCT = "prod_b"
KINDS = ("text", "image", "color", "option")

#: The fields each zone kind accepts (the spec, written out independently of the implementation).
COMMON_KEYS = frozenset({"id", "type", "label", "required"})
KEYS: dict[str, frozenset[str]] = {
    "text": COMMON_KEYS
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
    "image": COMMON_KEYS | {"allowed_types", "max_bytes", "min_width", "min_height", "price_delta", "area"},
    "color": COMMON_KEYS | {"palette", "default", "price_delta", "area"},
    "option": COMMON_KEYS | {"option_set_id", "multiple", "min", "max"},
}
#: The keys the canonical form always spells out, defaults included (a text zone's per-character
#: price and free characters only when either is not 0, so that older definitions keep their form).
CANONICAL_KEYS: dict[str, frozenset[str]] = {
    "text": COMMON_KEYS | {"min_length", "max_length", "fonts", "price_delta", "area"},
    "image": COMMON_KEYS | {"allowed_types", "max_bytes", "min_width", "min_height", "price_delta", "area"},
    "color": COMMON_KEYS | {"palette", "price_delta"},
    "option": COMMON_KEYS | {"option_set_id", "multiple"},
}
AREA_KEYS = ("x", "y", "width", "height")

Raw = dict[str, Any]

#: Each case of a parametrized property gets a share of the profile's example budget, so that the
#: dozens of cases together cost about as much as a few properties (the "thorough" profile scales it).
SHARE = settings(max_examples=max(20, settings().max_examples // 6))


# --------------------------------------------------------------------------------------------------
# The world: option sets of the product and of another product


@dataclass(frozen=True)
class World:
    option_sets: dict[str, OptionSet]
    own: tuple[str, ...]
    foreign: tuple[str, ...]


def option_set(set_id: str, product_id: str, size: int) -> OptionSet:
    options = tuple(Option(f"C{n}", f"Choice {n}", 100 * n) for n in range(size))
    return OptionSet(set_id, product_id, f"Set {set_id}", options, NOW, NOW)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """One to three option sets of the product (of 1 to 5 options each), and one or two of another."""
    own_sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    foreign_sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=2))
    sets = {f"set_own_{n}": option_set(f"set_own_{n}", PRODUCT, size) for n, size in enumerate(own_sizes)}
    foreign = {
        f"set_other_{n}": option_set(f"set_other_{n}", OTHER_PRODUCT, size)
        for n, size in enumerate(foreign_sizes)
    }
    return World(sets | foreign, tuple(sets), tuple(foreign))


# --------------------------------------------------------------------------------------------------
# Valid parts

zone_ids = st.builds(
    str.__add__,
    st.sampled_from(string.ascii_lowercase),
    st.text(alphabet=string.ascii_lowercase + string.digits + "_", max_size=12),
)
colours = st.text(alphabet="0123456789abcdefABCDEF", min_size=6, max_size=6).map(lambda hex6: "#" + hex6)
palettes = st.lists(colours, min_size=1, max_size=6, unique_by=str.lower)
labels = st.sampled_from(["Front text", " padded ", "Ünïcødé ✓", "L" * LABEL_MAX]) | st.text(
    min_size=1, max_size=20
).filter(str.strip)
price_deltas = st.integers(-MAX_AMOUNT, MAX_AMOUNT)
# Strategies with fixed bounds are built once: building them on every draw costs more than drawing.
booleans = st.booleans()
kinds = st.sampled_from(KINDS)
canvas_sides = st.integers(1, CANVAS_MAX)
canvas_offsets = st.integers(0, CANVAS_MAX)
max_lengths = st.none() | st.integers(1, TEXT_LENGTH_LIMIT)
font_lists = st.lists(st.sampled_from(KNOWN_FONTS), min_size=1, unique=True)
type_lists = st.lists(st.sampled_from(IMAGE_TYPES), min_size=1, unique=True)
byte_limits = st.integers(1, IMAGE_BYTES_LIMIT)
multiples = st.sampled_from([None, False, True])


def put(draw: st.DrawFn, target: Raw, key: str, strategy: st.SearchStrategy[Any]) -> None:
    """Set an optional field, or leave it out so that its default applies."""
    if draw(booleans):
        target[key] = draw(strategy)


def draw_area(draw: st.DrawFn, width: int, height: int) -> Raw:
    x = draw(st.integers(0, width - 1))
    y = draw(st.integers(0, height - 1))
    return {
        "x": x,
        "y": y,
        "width": draw(st.integers(1, width - x)),
        "height": draw(st.integers(1, height - y)),
    }


def case_variants(colour: str) -> st.SearchStrategy[str]:
    return st.sampled_from([colour, colour.lower(), colour.upper(), colour.swapcase()])


def draw_zone(draw: st.DrawFn, kind: str, zone_id: str, width: int, height: int, world: World) -> Raw:
    """A valid zone of this kind: every optional field either left out or given a valid value."""
    zone: Raw = {"id": zone_id, "type": kind}
    put(draw, zone, "label", labels)
    put(draw, zone, "required", booleans)
    if kind in ("text", "image", "color"):
        put(draw, zone, "price_delta", price_deltas)
    if kind in ("text", "image"):
        zone["area"] = draw_area(draw, width, height)
    if kind == "text":
        max_length = draw(max_lengths)
        if max_length is not None:
            zone["max_length"] = max_length
        put(draw, zone, "min_length", st.integers(0, max_length or DEFAULT_TEXT_MAX_LENGTH))
        put(draw, zone, "fonts", font_lists)
        put(draw, zone, "palette", palettes)
        put(draw, zone, "price_per_character", st.integers(0, MAX_AMOUNT // TEXT_LENGTH_LIMIT))
        put(draw, zone, "free_characters", st.integers(0, TEXT_LENGTH_LIMIT))
    elif kind == "image":
        put(draw, zone, "allowed_types", type_lists)
        put(draw, zone, "max_bytes", byte_limits)
        put(draw, zone, "min_width", canvas_offsets)
        put(draw, zone, "min_height", canvas_offsets)
    elif kind == "color":
        zone["palette"] = draw(palettes)
        put(draw, zone, "default", st.sampled_from(zone["palette"]).flatmap(case_variants))
        if draw(booleans):
            zone["area"] = draw_area(draw, width, height)
    else:
        set_id = draw(st.sampled_from(world.own))
        zone["option_set_id"] = set_id
        count = len(world.option_sets[set_id].options)
        multiple = draw(multiples)
        if multiple is not None:
            zone["multiple"] = multiple
        if multiple:
            low = draw(st.none() | st.integers(0, count))
            if low is not None:
                zone["min"] = low
            floor = 1 if zone.get("required") is True else 0  # a required zone must allow a choice
            put(draw, zone, "max", st.integers(max(low or 0, floor), count))
    return zone


def put_physical_size(draw: st.DrawFn, canvas: Raw, width: int, height: int) -> None:
    """Maybe a physical size in the canvas's proportions, within the size and pixel limits."""
    if not draw(booleans):
        return
    dpi = canvas.get("dpi", DEFAULT_DPI)
    top = 0.99 * min(PHYSICAL_MAX_MM, PRINT_SIDE_MAX * MM_PER_INCH / dpi) / max(width, height)
    bottom = 1.01 / min(width, height)
    if bottom > top:
        return  # no physical size of these proportions fits the limits
    scale = draw(st.floats(bottom, top))
    canvas["width_mm"] = width * scale
    canvas["height_mm"] = height * scale


@st.composite
def definitions(draw: st.DrawFn, world: World, min_zones: int = 0, max_zones: int = 8) -> Raw:
    width = draw(canvas_sides)
    height = draw(canvas_sides)
    canvas: Raw = {"width": width, "height": height}
    put(draw, canvas, "background", colours)
    put(draw, canvas, "dpi", st.integers(DPI_MIN, DPI_MAX))
    put_physical_size(draw, canvas, width, height)
    ids = draw(st.lists(zone_ids, min_size=min_zones, max_size=max_zones, unique=True))
    zones = [draw_zone(draw, draw(kinds), zone_id, width, height, world) for zone_id in ids]
    return {"canvas": canvas, "zones": zones}


@st.composite
def valid_cases(draw: st.DrawFn) -> tuple[World, Raw]:
    world = draw(worlds())
    return world, draw(definitions(world))


def check(
    raw: object, world: World, path: str = "definition"
) -> tuple[TemplateDefinition | None, list[Violation]]:
    return check_definition(raw, product_id=PRODUCT, option_sets=world.option_sets, path=path)


def expected_zone(raw: Raw, world: World) -> Zone:
    """The zone a valid raw zone stands for, every default applied (an oracle independent of the parser)."""
    zone_id, label, required = raw["id"], raw.get("label", raw["id"]), raw.get("required", False)

    def area(value: Raw | None) -> Area | None:
        return None if value is None else Area(value["x"], value["y"], value["width"], value["height"])

    def lower(values: list[str]) -> tuple[str, ...]:
        return tuple(value.lower() for value in values)

    match raw["type"]:
        case "text":
            return TextZone(
                zone_id,
                label,
                required,
                price_delta=raw.get("price_delta", 0),
                area=Area(**raw["area"]),
                min_length=raw.get("min_length", 0),
                max_length=raw.get("max_length", DEFAULT_TEXT_MAX_LENGTH),
                fonts=tuple(raw.get("fonts", ["Sans"])),
                palette=lower(raw["palette"]) if "palette" in raw else None,
                price_per_character=raw.get("price_per_character", 0),
                free_characters=raw.get("free_characters", 0),
            )
        case "image":
            return ImageZone(
                zone_id,
                label,
                required,
                price_delta=raw.get("price_delta", 0),
                area=Area(**raw["area"]),
                allowed_types=tuple(raw.get("allowed_types", DEFAULT_IMAGE_TYPES)),
                max_bytes=raw.get("max_bytes", DEFAULT_IMAGE_MAX_BYTES),
                min_width=raw.get("min_width", 0),
                min_height=raw.get("min_height", 0),
            )
        case "color":
            default = raw.get("default")
            return ColorZone(
                zone_id,
                label,
                required,
                price_delta=raw.get("price_delta", 0),
                palette=lower(raw["palette"]),
                default=None if default is None else default.lower(),
                area=area(raw.get("area")),
            )
        case _:
            multiple = raw.get("multiple", False)
            count = len(world.option_sets[raw["option_set_id"]].options)
            return OptionZone(
                zone_id,
                label,
                required,
                option_set_id=raw["option_set_id"],
                multiple=multiple,
                min=raw.get("min", 0) if multiple else 0,
                max=raw.get("max", count) if multiple else 1,
            )


def expected_definition(raw: Raw, world: World) -> TemplateDefinition:
    canvas = raw["canvas"]
    return TemplateDefinition(
        Canvas(
            canvas["width"],
            canvas["height"],
            canvas.get("background", "#ffffff").lower(),
            canvas.get("dpi", DEFAULT_DPI),
            canvas.get("width_mm"),
            canvas.get("height_mm"),
        ),
        tuple(expected_zone(zone, world) for zone in raw["zones"]),
    )


# --------------------------------------------------------------------------------------------------
# 1. Valid definitions are accepted, and their canonical form reads back to the same definition


@given(valid_cases())
def test_every_valid_definition_is_accepted_with_its_defaults_filled_in(case: tuple[World, Raw]) -> None:
    world, raw = case
    pristine = copy.deepcopy(raw)
    definition, violations = check(raw, world)
    assert violations == []
    assert definition == expected_definition(raw, world)
    assert parse_definition(raw, product_id=PRODUCT, option_sets=world.option_sets) == definition
    assert raw == pristine  # the input is only read
    assert definition.option_set_ids == {z["option_set_id"] for z in raw["zones"] if z["type"] == "option"}
    for zone in raw["zones"]:
        found = definition.zone(zone["id"])
        assert found is not None
        assert found.kind == zone["type"]


@given(valid_cases())
def test_the_canonical_form_reads_back_to_the_same_definition(case: tuple[World, Raw]) -> None:
    world, raw = case
    definition = parse_definition(raw, product_id=PRODUCT, option_sets=world.option_sets)
    stored = definition.to_dict()
    assert load_definition(stored) == definition
    assert parse_definition(stored, product_id=PRODUCT, option_sets=world.option_sets) == definition
    assert load_definition(json.loads(json.dumps(stored))) == definition
    assert load_definition(stored).to_dict() == stored  # to_dict is idempotent
    assert definition.to_dict() == stored
    assert set(stored["canvas"]) - {"width_mm", "height_mm"} == {"width", "height", "background", "dpi"}
    for zone in stored["zones"]:
        assert CANONICAL_KEYS[zone["type"]] <= zone.keys() <= KEYS[zone["type"]]
        priced = zone.get("price_per_character", 0) or zone.get("free_characters", 0)
        assert ("price_per_character" in zone) == ("free_characters" in zone) == bool(priced)


def test_a_stored_definition_is_reloaded_without_its_option_set_references() -> None:
    stored = {
        "canvas": {"width": 10, "height": 10, "background": "#000000"},
        "zones": [{"id": "size", "type": "option", "option_set_id": "gone", "multiple": True, "max": 3}],
    }
    definition = load_definition(stored)
    assert definition.zones == (OptionZone("size", "size", False, "gone", True, 0, 3),)
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(stored, product_id=PRODUCT, option_sets={})
    assert [(v.field, v.code, v.zone_id) for v in info.value.violations] == [
        ("definition.zones[0].option_set_id", "not_found", "size")
    ]


def test_load_definition_refuses_a_damaged_document() -> None:
    with pytest.raises(InvalidDefinition) as info:
        load_definition({"canvas": {"width": 10, "height": 10}, "zones": [{"id": "a", "type": "text"}]})
    assert [(v.field, v.code) for v in info.value.violations] == [("definition.zones[0].area", "required")]


def canvas_problems(**canvas: Any) -> list[tuple[str, str]]:
    _, violations = check_definition(
        {"canvas": {"width": 1000, "height": 1500, **canvas}, "zones": []}, product_id=PRODUCT, option_sets={}
    )
    return [(v.field, v.code) for v in violations]


def test_a_canvas_prints_at_its_physical_size_and_resolution() -> None:
    a4 = parse_definition(
        {"canvas": {"width": 2100, "height": 2970, "width_mm": 210, "height_mm": 297}, "zones": []},
        product_id=PRODUCT,
        option_sets={},
    ).canvas
    assert a4.dpi == DEFAULT_DPI == 300
    assert a4.print_size == (2480, 3508)  # A4 at 300 DPI
    assert parse_definition(
        {
            "canvas": {"width": 2100, "height": 2970, "width_mm": 210, "height_mm": 297, "dpi": 150},
            "zones": [],
        },
        product_id=PRODUCT,
        option_sets={},
    ).canvas.print_size == (1240, 1754)
    # Without a physical size the canvas's pixels are the print file's.
    plain = parse_definition(
        {"canvas": {"width": 800, "height": 600}, "zones": []}, product_id=PRODUCT, option_sets={}
    )
    assert plain.canvas.print_size == (800, 600)
    assert plain.to_dict()["canvas"] == {"width": 800, "height": 600, "background": "#ffffff", "dpi": 300}
    assert (
        a4.width_mm == 210
        and load_definition(
            json.loads(
                json.dumps(
                    {
                        "canvas": {"width": 2100, "height": 2970, "width_mm": 215.9, "height_mm": 305.3},
                        "zones": [],
                    }
                )
            )
        ).canvas.width_mm
        == 215.9
    )


def test_a_physical_size_is_checked() -> None:
    assert canvas_problems(width_mm=200) == [("definition.canvas.height_mm", "required")]
    assert canvas_problems(height_mm=300) == [("definition.canvas.width_mm", "required")]
    assert canvas_problems(width_mm=200, height_mm=200) == [("definition.canvas.height_mm", "proportions")]
    assert canvas_problems(width_mm=200, height_mm=301) == []  # within 1 % of 2:3
    assert canvas_problems(width_mm="200", height_mm=300) == [("definition.canvas.width_mm", "invalid_type")]
    assert canvas_problems(width_mm=True, height_mm=300) == [("definition.canvas.width_mm", "invalid_type")]
    assert canvas_problems(width_mm=0.5, height_mm=0.75) == [
        ("definition.canvas.width_mm", "out_of_range"),
        ("definition.canvas.height_mm", "out_of_range"),
    ]
    assert canvas_problems(dpi=71) == [("definition.canvas.dpi", "out_of_range")]
    assert canvas_problems(dpi=300.0) == [("definition.canvas.dpi", "invalid_type")]
    # 1 m × 1.5 m at 300 DPI is 17,717 pixels a side: too large a file.
    assert canvas_problems(width_mm=1000, height_mm=1500) == [("definition.canvas.dpi", "too_large")]
    assert canvas_problems(width_mm=1000, height_mm=1500, dpi=150) == []


def test_an_area_may_touch_the_canvas_edge_but_not_cross_it() -> None:
    world = World({}, (), ())

    def zone(x: int, width: int) -> Raw:
        area = {"x": x, "y": 0, "width": width, "height": 5}
        return {"canvas": {"width": 100, "height": 5}, "zones": [{"id": "t", "type": "text", "area": area}]}

    assert check(zone(90, 10), world)[1] == []
    assert check(zone(0, 100), world)[1] == []
    assert [(v.field, v.code) for v in check(zone(91, 10), world)[1]] == [
        ("definition.zones[0].area", "outside_canvas")
    ]


# --------------------------------------------------------------------------------------------------
# 2. Breaking any single rule of a zone is reported once, at that zone


@dataclass(frozen=True)
class Expect:
    """Where and how the one violation must be reported."""

    index: int
    suffix: str
    code: str
    zone_id: str | None


Mutate = Callable[[st.DrawFn, Raw, int, World], Expect]


@dataclass(frozen=True)
class Mutation:
    name: str
    kinds: tuple[str, ...]
    apply: Mutate
    needs_other_zone: bool = False

    def __repr__(self) -> str:
        return self.name


MUTATIONS: list[Mutation] = []


def mutation(*kinds: str, needs_other_zone: bool = False) -> Callable[[Mutate], Mutate]:
    def register(apply: Mutate) -> Mutate:
        MUTATIONS.append(Mutation(apply.__name__, kinds or KINDS, apply, needs_other_zone))
        return apply

    return register


def valid_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(ZONE_ID_PATTERN, value) is not None


def has_valid_id(zone: object) -> bool:
    return isinstance(zone, dict) and valid_id(zone.get("id"))


def not_matching(pattern: str, max_size: int = 10) -> st.SearchStrategy[str]:
    return st.text(max_size=max_size).filter(lambda text: re.fullmatch(pattern, text) is None)


json_values = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)
)
bad_ids = st.sampled_from(
    ["", "1st", "Front", "front-text", "front text", "front\n", "zoné", "_x", "a" * 65, 7, None, True, [], {}]
) | not_matching(ZONE_ID_PATTERN)
bad_colours = st.sampled_from(
    ["#fff", "ffffff", "#gggggg", "#ffffff0", "#ffffff\n", " #ffffff", "#FFFFF", "red", "", "#12345G"]
) | not_matching(COLOR_PATTERN)
bad_fonts = st.sampled_from(["Comic Sans", "sans", "SANS", "Sans ", "Helvetica", ""]) | st.text(
    max_size=8
).filter(lambda font: font not in KNOWN_FONTS)
bad_image_types = st.sampled_from(
    ["image/gif", "image/svg+xml", "IMAGE/PNG", "image/png ", "png", "", "application/pdf"]
) | st.text(max_size=10).filter(lambda content_type: content_type not in IMAGE_TYPES)
bad_labels = st.sampled_from(["", " ", "\n\t", "x" * (LABEL_MAX + 1)])

#: Values of the wrong JSON type for each field, and the code that reports them.
NOT_AN_INT = ["5", 1.5, 2.0, True, False, None, [], {}]
NOT_A_STRING_LIST = ["Sans", "#ffffff", 5, None, {}, [1], ["x", None], [["x"]]]
WRONG_TYPES: dict[str, tuple[list[Any], str]] = {
    "label": ([5, None, True, [], {}, ["label"]], "invalid_type"),
    "required": (["true", "yes", 1, 0, None, []], "invalid_type"),
    "price_delta": (NOT_AN_INT, "invalid_type"),
    "min_length": (NOT_AN_INT, "invalid_type"),
    "price_per_character": (NOT_AN_INT, "invalid_type"),
    "free_characters": (NOT_AN_INT, "invalid_type"),
    "max_length": (NOT_AN_INT, "invalid_type"),
    "max_bytes": (NOT_AN_INT, "invalid_type"),
    "min_width": (NOT_AN_INT, "invalid_type"),
    "min_height": (NOT_AN_INT, "invalid_type"),
    "min": (NOT_AN_INT, "invalid_type"),
    "max": (NOT_AN_INT, "invalid_type"),
    "area": ([[], [0, 0, 1, 1], "0,0,1,1", 5, None, True], "invalid_type"),
    "fonts": (NOT_A_STRING_LIST, "invalid_type"),
    "palette": (NOT_A_STRING_LIST, "invalid_type"),
    "allowed_types": (NOT_A_STRING_LIST, "invalid_type"),
    "option_set_id": ([5, None, True, [], {}], "invalid_type"),
    "multiple": (["true", 1, 0, None, []], "invalid_type"),
    "default": ([5, None, True, [], {"r": 1}], "invalid_color"),
}
#: Valid ranges of the integer fields that do not depend on the option set.
RANGES: dict[str, tuple[int, int]] = {
    "price_delta": (-MAX_AMOUNT, MAX_AMOUNT),
    "min_length": (0, TEXT_LENGTH_LIMIT),
    "max_length": (1, TEXT_LENGTH_LIMIT),
    "price_per_character": (0, MAX_AMOUNT // TEXT_LENGTH_LIMIT),
    "free_characters": (0, TEXT_LENGTH_LIMIT),
    "max_bytes": (1, IMAGE_BYTES_LIMIT),
    "min_width": (0, CANVAS_MAX),
    "min_height": (0, CANVAS_MAX),
    "area.x": (0, CANVAS_MAX),
    "area.y": (0, CANVAS_MAX),
    "area.width": (1, CANVAS_MAX),
    "area.height": (1, CANVAS_MAX),
}


def outside(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(max_value=lo - 1) | st.integers(min_value=hi + 1)


def target(raw: Raw, index: int) -> tuple[Raw, str]:
    zone = raw["zones"][index]
    return zone, zone["id"]


def ensure_area(draw: st.DrawFn, raw: Raw, zone: Raw) -> Raw:
    if "area" not in zone:
        zone["area"] = draw_area(draw, raw["canvas"]["width"], raw["canvas"]["height"])
    return zone["area"]


def set_size(world: World, zone: Raw) -> int:
    return len(world.option_sets[zone["option_set_id"]].options)


@mutation(needs_other_zone=True)
def duplicate_id(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zones = raw["zones"]
    others = [j for j, zone in enumerate(zones) if j != index and has_valid_id(zone)]
    other = draw(st.sampled_from(others))
    zones[index]["id"] = zones[other]["id"]
    # the later of the two zones is the one reported
    return Expect(max(index, other), ".id", "duplicate", zones[other]["id"])


@mutation()
def invalid_id(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    raw["zones"][index]["id"] = draw(bad_ids)
    return Expect(index, ".id", "invalid_format", None)


@mutation()
def missing_id(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    del raw["zones"][index]["id"]
    return Expect(index, ".id", "required", None)


@mutation()
def unknown_type(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["type"] = draw(
        st.sampled_from(["circle", "Text", "TEXT", "", " text", 3, None, True, [], {}, ["text"]])
    )
    return Expect(index, ".type", "invalid_choice", zone_id)


@mutation()
def missing_type(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    del zone["type"]
    return Expect(index, ".type", "invalid_choice", zone_id)


@mutation()
def unknown_field(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    key = draw(
        st.sampled_from(["colour", "font", "Label", "areas", "options", "min", "default"])
        | st.text(max_size=8)
    )
    assume(key not in KEYS[zone["type"]])
    zone[key] = draw(json_values)
    return Expect(index, f".{key}", "unknown_field", zone_id)


@mutation()
def wrong_type(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    key = draw(st.sampled_from(sorted(KEYS[zone["type"]] - {"id", "type"})))
    if key in ("min", "max"):
        zone["multiple"] = True
    values, code = WRONG_TYPES[key]
    zone[key] = draw(st.sampled_from(values))
    return Expect(index, f".{key}", code, zone_id)


@mutation("text", "image", "color", "option")
def out_of_range(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    if zone["type"] == "option":
        key = draw(st.sampled_from(["min", "max"]))
        zone["multiple"] = True
        zone[key] = draw(outside(0, set_size(world, zone)))
        return Expect(index, f".{key}", "out_of_range", zone_id)
    fields = {
        "text": ["price_delta", "min_length", "max_length", "price_per_character", "free_characters"],
        "image": ["price_delta", "max_bytes", "min_width", "min_height"],
        "color": ["price_delta"],
    }[zone["type"]] + [f"area.{key}" for key in AREA_KEYS]
    key = draw(st.sampled_from(fields))
    value = draw(outside(*RANGES[key]))
    if key.startswith("area."):
        ensure_area(draw, raw, zone)[key.removeprefix("area.")] = value
    else:
        zone[key] = value
    return Expect(index, f".{key}", "out_of_range", zone_id)


@mutation("text")
def broken_max_length_beside_min_length(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["min_length"] = draw(st.integers(2, TEXT_LENGTH_LIMIT))
    zone["max_length"] = bad = draw(st.sampled_from(["ten", None, 2.5, True, 0, -3, TEXT_LENGTH_LIMIT + 1]))
    return Expect(index, ".max_length", "out_of_range" if type(bad) is int else "invalid_type", zone_id)


@mutation("text")
def text_min_exceeds_max(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    if draw(st.booleans()):
        zone["max_length"] = highest = draw(st.integers(1, TEXT_LENGTH_LIMIT - 1))
    else:
        zone.pop("max_length", None)
        highest = DEFAULT_TEXT_MAX_LENGTH
    zone["min_length"] = draw(st.integers(highest + 1, TEXT_LENGTH_LIMIT))
    return Expect(index, ".min_length", "min_exceeds_max", zone_id)


@mutation("text")
def unknown_font(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    fonts = list(zone.get("fonts", ["Sans"]))
    fonts.insert(draw(st.integers(0, len(fonts))), draw(bad_fonts))
    zone["fonts"] = fonts
    return Expect(index, ".fonts", "unknown_font", zone_id)


@mutation("text")
def duplicate_font(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    fonts = list(zone.get("fonts", ["Sans"]))
    original = draw(st.integers(0, len(fonts) - 1))
    position = draw(st.integers(original + 1, len(fonts)))
    fonts.insert(position, fonts[original])
    zone["fonts"] = fonts
    return Expect(index, f".fonts[{position}]", "duplicate", zone_id)


@mutation("text", "color")
def malformed_palette_colour(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    palette = list(zone.get("palette") or draw(palettes))
    palette.insert(draw(st.integers(0, len(palette))), draw(bad_colours))
    zone["palette"] = palette
    return Expect(index, ".palette", "invalid_color", zone_id)


@mutation("text", "color")
def duplicate_palette_colour(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    palette = list(zone.get("palette") or draw(palettes))
    original = draw(st.integers(0, len(palette) - 1))
    position = draw(st.integers(original + 1, len(palette)))
    palette.insert(position, draw(case_variants(palette[original])))
    zone["palette"] = palette
    return Expect(index, f".palette[{position}]", "duplicate", zone_id)


@mutation("text", "image", "color")
def list_of_bad_length(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    key = draw(
        st.sampled_from(
            {"text": ["fonts", "palette"], "image": ["allowed_types"]}.get(zone["type"], ["palette"])
        )
    )
    too_many = [f"#{n:06x}" for n in range(PALETTE_MAX + 1)] if key == "palette" else None
    zone[key] = draw(st.sampled_from([[], too_many])) if too_many else []
    return Expect(index, f".{key}", "invalid_length", zone_id)


@mutation("text", "image", "color")
def area_outside_canvas(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    area = ensure_area(draw, raw, zone)
    start_key, size_key, limit = draw(
        st.sampled_from([("x", "width", raw["canvas"]["width"]), ("y", "height", raw["canvas"]["height"])])
    )
    start = draw(st.integers(max(0, limit - CANVAS_MAX + 1), CANVAS_MAX))
    area[start_key] = start
    area[size_key] = draw(st.integers(max(1, limit - start + 1), CANVAS_MAX))
    return Expect(index, ".area", "outside_canvas", zone_id)


@mutation("text", "image", "color")
def area_missing_member(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    key = draw(st.sampled_from(AREA_KEYS))
    del ensure_area(draw, raw, zone)[key]
    return Expect(index, f".area.{key}", "required", zone_id)


@mutation("text", "image", "color")
def area_unknown_member(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    key = draw(st.sampled_from(["w", "h", "left", "X", "z"]) | st.text(max_size=5))
    assume(key not in AREA_KEYS)
    ensure_area(draw, raw, zone)[key] = draw(json_values)
    return Expect(index, f".area.{key}", "unknown_field", zone_id)


@mutation()
def missing_required_field(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    key = {"text": "area", "image": "area", "color": "palette", "option": "option_set_id"}[zone["type"]]
    del zone[key]
    return Expect(index, f".{key}", "required", zone_id)


@mutation()
def bad_label(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["label"] = draw(bad_labels)
    return Expect(index, ".label", "invalid_length", zone_id)


@mutation()
def zone_not_an_object(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zones = raw["zones"]
    zones[index] = draw(st.sampled_from([5, "text", None, True, [], [zones[index]]]))
    return Expect(index, "", "invalid_type", None)


@mutation("option")
def option_set_of_another_product(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["option_set_id"] = draw(st.sampled_from(world.foreign))
    return Expect(index, ".option_set_id", "wrong_product", zone_id)


@mutation("option")
def unknown_option_set(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["option_set_id"] = draw(st.text(max_size=12).filter(lambda set_id: set_id not in world.option_sets))
    return Expect(index, ".option_set_id", "not_found", zone_id)


@mutation("option")
def required_zone_allowing_no_choice(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["multiple"] = True
    zone["required"] = True
    zone.pop("min", None)
    zone["max"] = 0
    return Expect(index, ".max", "out_of_range", zone_id)


@mutation("option")
def option_min_exceeds_max(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["multiple"] = True
    zone["min"] = low = draw(st.integers(1, set_size(world, zone)))
    zone["max"] = draw(st.integers(0, low - 1))
    return Expect(index, ".min", "min_exceeds_max", zone_id)


@mutation("option")
def bounds_without_multiple(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    for key in ("multiple", "min", "max"):
        zone.pop(key, None)
    if draw(st.booleans()):
        zone["multiple"] = False
    key = draw(st.sampled_from(["min", "max"]))
    zone[key] = draw(st.integers(0, set_size(world, zone)) | json_values)
    return Expect(index, f".{key}", "needs_multiple", zone_id)


@mutation("option")
def malformed_multiple_beside_bounds(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["min"] = low = draw(st.integers(0, set_size(world, zone)))
    zone["max"] = draw(st.integers(low, set_size(world, zone)))
    zone["multiple"] = draw(st.sampled_from(WRONG_TYPES["multiple"][0]))
    return Expect(index, ".multiple", "invalid_type", zone_id)


@mutation("image")
def image_type_not_allowed(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    types = list(zone.get("allowed_types", DEFAULT_IMAGE_TYPES))
    types.insert(draw(st.integers(0, len(types))), draw(bad_image_types))
    zone["allowed_types"] = types
    return Expect(index, ".allowed_types", "invalid_choice", zone_id)


@mutation("color")
def default_not_in_palette(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    in_palette = {colour.lower() for colour in zone["palette"]}
    zone["default"] = draw(colours.filter(lambda colour: colour.lower() not in in_palette))
    return Expect(index, ".default", "not_in_palette", zone_id)


@mutation("color")
def malformed_default(draw: st.DrawFn, raw: Raw, index: int, world: World) -> Expect:
    zone, zone_id = target(raw, index)
    zone["default"] = draw(bad_colours)
    return Expect(index, ".default", "invalid_color", zone_id)


@st.composite
def broken_cases(draw: st.DrawFn, mutations: Sequence[Mutation]) -> tuple[World, Raw, Expect]:
    """A valid definition with one zone, of a kind the mutation applies to, broken by that mutation."""
    chosen = draw(st.sampled_from(mutations))
    world = draw(worlds())
    raw = draw(definitions(world, min_zones=1 if chosen.needs_other_zone else 0, max_zones=3))
    zones = raw["zones"]
    used = {zone["id"] for zone in zones}
    zone_id = draw(zone_ids.filter(lambda candidate: candidate not in used))
    index = draw(st.integers(0, len(zones)))
    width, height = raw["canvas"]["width"], raw["canvas"]["height"]
    zones.insert(index, draw_zone(draw, draw(st.sampled_from(chosen.kinds)), zone_id, width, height, world))
    return world, raw, chosen.apply(draw, raw, index, world)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
@SHARE
@given(data=st.data())
def test_breaking_any_single_rule_is_reported_once_with_the_zone(
    mutation: Mutation, data: st.DataObject
) -> None:
    world, raw, expect = data.draw(broken_cases([mutation]))
    definition, violations = check(raw, world)
    assert definition is None
    assert len(violations) == 1, violations
    (violation,) = violations
    assert violation.field == f"definition.zones[{expect.index}]{expect.suffix}"
    assert violation.field.startswith(f"definition.zones[{expect.index}]")
    assert violation.code == expect.code
    assert violation.zone_id == expect.zone_id
    if expect.zone_id is not None:
        assert repr(expect.zone_id) in violation.message
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(raw, product_id=PRODUCT, option_sets=world.option_sets)
    assert info.value.violations == (violation,)


# --------------------------------------------------------------------------------------------------
# 3. Breaks of the canvas and of the definition itself


def too_many_zones(draw: st.DrawFn, raw: Raw) -> None:
    raw["zones"] = [{"id": f"z{n}", "type": "color", "palette": ["#000000"]} for n in range(ZONES_MAX + 1)]


CANVAS_BREAKS: dict[str, tuple[Callable[[st.DrawFn, Raw], None], str, str]] = {
    "width_out_of_range": (
        lambda draw, raw: raw["canvas"].update(width=draw(outside(1, CANVAS_MAX))),
        "definition.canvas.width",
        "out_of_range",
    ),
    "width_zero": (
        lambda draw, raw: raw["canvas"].update(width=0),
        "definition.canvas.width",
        "out_of_range",
    ),
    "height_out_of_range": (
        lambda draw, raw: raw["canvas"].update(height=draw(outside(1, CANVAS_MAX))),
        "definition.canvas.height",
        "out_of_range",
    ),
    "width_not_an_integer": (
        lambda draw, raw: raw["canvas"].update(width=draw(st.sampled_from(NOT_AN_INT))),
        "definition.canvas.width",
        "invalid_type",
    ),
    "height_missing": (lambda draw, raw: raw["canvas"].pop("height"), "definition.canvas.height", "required"),
    "bad_background": (
        lambda draw, raw: raw["canvas"].update(
            background=draw(bad_colours | st.sampled_from([None, 0xFFFFFF]))
        ),
        "definition.canvas.background",
        "invalid_color",
    ),
    "unknown_canvas_field": (
        lambda draw, raw: raw["canvas"].update(depth=draw(json_values)),
        "definition.canvas.depth",
        "unknown_field",
    ),
    "canvas_missing": (lambda draw, raw: raw.pop("canvas"), "definition.canvas", "required"),
    "canvas_not_an_object": (
        lambda draw, raw: raw.update(canvas=draw(st.sampled_from([None, 5, "100x100", [100, 100]]))),
        "definition.canvas",
        "invalid_type",
    ),
    "unknown_root_field": (
        lambda draw, raw: raw.update(version=draw(json_values)),
        "definition.version",
        "unknown_field",
    ),
    "zones_missing": (lambda draw, raw: raw.pop("zones"), "definition.zones", "required"),
    "zones_not_a_list": (
        lambda draw, raw: raw.update(zones=draw(st.sampled_from([None, 3, True, "zones", {"a": {}}]))),
        "definition.zones",
        "invalid_type",
    ),
    "too_many_zones": (too_many_zones, "definition.zones", "too_long"),
}


@pytest.mark.parametrize("name", CANVAS_BREAKS)
@SHARE
@given(data=st.data())
def test_a_broken_canvas_or_definition_is_reported_once_at_its_path(name: str, data: st.DataObject) -> None:
    world, raw = data.draw(valid_cases())
    breaker, field, code = CANVAS_BREAKS[name]
    breaker(data.draw, raw)
    definition, violations = check(raw, world)
    assert definition is None
    assert [(v.field, v.code, v.zone_id) for v in violations] == [(field, code, None)]


@pytest.mark.parametrize("raw", [None, 5, "definition", [], [{"canvas": {}}], True])
def test_a_definition_that_is_not_an_object_is_refused(raw: object) -> None:
    world = World({}, (), ())
    assert [(v.field, v.code) for v in check(raw, world)[1]] == [("definition", "invalid_type")]
    assert [(v.field, v.code) for v in check(raw, world, path="body.definition")[1]] == [
        ("body.definition", "invalid_type")
    ]


def test_the_path_prefixes_every_violation() -> None:
    raw = {"canvas": {"width": 0, "height": 10}, "zones": [{"id": "a", "type": "color", "palette": []}]}
    violations = check(raw, World({}, (), ()), path="body.template")[1]
    assert [(v.field, v.code, v.zone_id) for v in violations] == [
        ("body.template.canvas.width", "out_of_range", None),
        ("body.template.zones[0].palette", "invalid_length", "a"),
    ]


def test_up_to_the_zone_limit_is_accepted() -> None:
    zones = [{"id": f"z{n}", "type": "color", "palette": ["#000000"]} for n in range(ZONES_MAX)]
    definition, violations = check({"canvas": {"width": 1, "height": 1}, "zones": zones}, World({}, (), ()))
    assert violations == []
    assert definition is not None
    assert len(definition.zones) == ZONES_MAX


# --------------------------------------------------------------------------------------------------
# 4. Several breaks at once; the order of zones does not matter


@st.composite
def mutated_cases(
    draw: st.DrawFn, mutations: Sequence[Mutation], max_breaks: int = 3
) -> tuple[World, Raw, list[Expect]]:
    """A valid definition with up to ``max_breaks`` of its zones each broken by one mutation."""
    world = draw(worlds())
    raw = draw(definitions(world))
    zones = raw["zones"]
    targets = (
        draw(st.lists(st.integers(0, len(zones) - 1), max_size=max_breaks, unique=True)) if zones else []
    )
    expects = []
    for index in targets:
        choices = [
            m
            for m in mutations
            if zones[index]["type"] in m.kinds
            and not (m.needs_other_zone and not any(has_valid_id(z) for z in zones if z is not zones[index]))
        ]
        expects.append(draw(st.sampled_from(choices)).apply(draw, raw, index, world))
    return world, raw, expects


def without_index(violation: Violation) -> tuple[str, str, str | None]:
    return (
        re.sub(r"^definition\.zones\[\d+\]", "definition.zones[*]", violation.field),
        violation.code,
        violation.zone_id,
    )


@given(mutated_cases([m for m in MUTATIONS if not m.needs_other_zone]))
def test_every_broken_zone_is_reported_in_one_pass(case: tuple[World, Raw, list[Expect]]) -> None:
    world, raw, expects = case
    definition, violations = check(raw, world)
    assert (definition is None) == bool(expects)
    expected = Counter((f"definition.zones[{e.index}]{e.suffix}", e.code, e.zone_id) for e in expects)
    assert Counter((v.field, v.code, v.zone_id) for v in violations) == expected


@given(mutated_cases(MUTATIONS), st.data())
def test_the_order_of_zones_never_changes_the_verdict(
    case: tuple[World, Raw, list[Expect]], data: st.DataObject
) -> None:
    world, raw, _ = case
    order = data.draw(st.permutations(range(len(raw["zones"]))))
    shuffled = {**raw, "zones": [raw["zones"][k] for k in order]}
    definition, violations = check(raw, world)
    shuffled_definition, shuffled_violations = check(shuffled, world)
    assert (definition is None) == (shuffled_definition is None)
    assert Counter(map(without_index, violations)) == Counter(map(without_index, shuffled_violations))
    if definition is not None:
        assert shuffled_definition is not None
        assert shuffled_definition.zones == tuple(definition.zones[k] for k in order)
        assert shuffled_definition.canvas == definition.canvas
