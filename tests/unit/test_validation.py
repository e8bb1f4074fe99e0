"""Properties of design validation: valid designs pass, each single broken rule is reported once with
its zone, and the order of zones never matters."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from customshop.domain.catalog import Option, OptionSet, Product
from customshop.domain.pricing import quote_design
from customshop.domain.template_parsing import parse_definition
from customshop.domain.templates import (
    IMAGE_TYPES,
    KNOWN_FONTS,
    ColorZone,
    ImageZone,
    OptionZone,
    TemplateDefinition,
    TextZone,
)
from customshop.domain.validation import AssetInfo, check_design

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCT = "prod"
colors = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")
CODES = [f"c{n}" for n in range(8)]


@dataclass
class World:
    definition: TemplateDefinition
    option_sets: dict[str, OptionSet]
    assets: dict[str, AssetInfo]


@st.composite
def zone_specs(draw: st.DrawFn, index: int) -> tuple[dict[str, Any], OptionSet | None]:
    kind = draw(st.sampled_from(["text", "image", "color", "option"]))
    zone: dict[str, Any] = {"id": f"z{index}", "type": kind, "required": draw(st.booleans())}
    area = {"x": 0, "y": 0, "width": 10, "height": 10}
    option_set = None
    if kind == "text":
        low = draw(st.integers(0, 5))
        zone |= {
            "min_length": low,
            "max_length": draw(st.integers(max(low, 1), 12)),
            "fonts": draw(st.lists(st.sampled_from(KNOWN_FONTS), min_size=1, unique=True)),
            "area": area,
            "price_delta": draw(st.integers(0, 500)),
        }
        if draw(st.booleans()):
            zone["palette"] = draw(st.lists(colors, min_size=1, max_size=4, unique=True))
    elif kind == "image":
        zone |= {
            "allowed_types": draw(st.lists(st.sampled_from(IMAGE_TYPES), min_size=1, unique=True)),
            "min_width": draw(st.integers(0, 100)),
            "min_height": draw(st.integers(0, 100)),
            "max_bytes": draw(st.integers(1000, 10_000)),
            "area": area,
        }
    elif kind == "color":
        palette = draw(st.lists(colors, min_size=1, max_size=5, unique=True))
        zone |= {"palette": palette}
        if draw(st.booleans()):
            zone["default"] = draw(st.sampled_from(palette))
    else:
        codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=6, unique=True))
        option_set = OptionSet(
            f"set{index}",
            PRODUCT,
            "Set",
            tuple(Option(c, c.upper(), n * 10) for n, c in enumerate(codes)),
            NOW,
            NOW,
        )
        zone |= {"option_set_id": option_set.id}
        if draw(st.booleans()):
            low = draw(st.integers(0, len(codes)))
            zone |= {"multiple": True, "min": low, "max": draw(st.integers(max(low, 1), len(codes)))}
    return zone, option_set


@st.composite
def worlds(draw: st.DrawFn) -> World:
    count = draw(st.integers(1, 6))
    specs = [draw(zone_specs(i)) for i in range(count)]
    option_sets = {s.id: s for _, s in specs if s is not None}
    definition = parse_definition(
        {"canvas": {"width": 100, "height": 100}, "zones": [z for z, _ in specs]},
        product_id=PRODUCT,
        option_sets=option_sets,
    )
    assets = {
        f"a{n}": AssetInfo(
            f"a{n}",
            draw(st.sampled_from(IMAGE_TYPES)),
            draw(st.integers(0, 200)),
            draw(st.integers(0, 200)),
            draw(st.integers(1, 12_000)),
        )
        for n in range(4)
    }
    return World(definition, option_sets, assets)


def valid_value(draw: st.DrawFn, world: World, zone: Any) -> Any:
    if isinstance(zone, TextZone):
        text = draw(
            st.text(string.ascii_letters + " ", min_size=max(zone.min_length, 1), max_size=zone.max_length)
        )
        value: dict[str, Any] = {"text": text}
        if draw(st.booleans()):
            value["font"] = draw(st.sampled_from(zone.fonts))
        if zone.palette and draw(st.booleans()):
            value["color"] = draw(st.sampled_from(zone.palette)).upper()
        return value
    if isinstance(zone, ImageZone):
        fitting = [
            a
            for a in world.assets.values()
            if a.content_type in zone.allowed_types
            and a.width >= zone.min_width
            and a.height >= zone.min_height
            and a.bytes <= zone.max_bytes
        ]
        assume(fitting)
        return {"asset_id": draw(st.sampled_from(fitting)).id}
    if isinstance(zone, ColorZone):
        return draw(st.sampled_from(zone.palette))
    assert isinstance(zone, OptionZone)
    codes = sorted(world.option_sets[zone.option_set_id].codes)
    if not zone.multiple:
        return draw(st.sampled_from(codes))
    return draw(st.lists(st.sampled_from(codes), min_size=max(zone.min, 1), max_size=zone.max, unique=True))


@st.composite
def valid_designs(draw: st.DrawFn) -> tuple[World, dict[str, Any]]:
    world = draw(worlds())
    options = {}
    for zone in world.definition.zones:
        if zone.required or draw(st.booleans()):
            options[zone.id] = valid_value(draw, world, zone)
    return world, options


@given(valid_designs())
def test_every_design_built_from_allowed_values_is_accepted(case: tuple[World, dict[str, Any]]) -> None:
    world, options = case
    assume(
        not any(
            isinstance(z, OptionZone) and z.multiple and z.max == 0 and z.required
            for z in world.definition.zones
        )
    )
    design, problems = check_design(
        world.definition, world.option_sets, options, assets=world.assets, complete=True
    )
    assert problems == []
    assert design is not None
    # The normalized form is valid too, and stable.
    again, more = check_design(
        world.definition, world.option_sets, design.to_dict(), assets=world.assets, complete=True
    )
    assert more == [] and again == design


@given(valid_designs(), st.randoms())
def test_the_order_of_zones_never_matters(case: tuple[World, dict[str, Any]], rnd: Any) -> None:
    world, options = case
    items = list(options.items())
    rnd.shuffle(items)
    first = check_design(world.definition, world.option_sets, options, assets=world.assets)
    second = check_design(world.definition, world.option_sets, dict(items), assets=world.assets)
    assert first[0] == second[0]
    assert sorted(map(repr, first[1])) == sorted(map(repr, second[1]))


def breakages(world: World, zone: Any, value: Any) -> list[tuple[str, Any]]:
    """(expected code, broken value) pairs that each break exactly one rule of ``zone``."""
    out: list[tuple[str, Any]] = [("invalid_color" if isinstance(zone, ColorZone) else "invalid_type", 12345)]
    if isinstance(zone, TextZone):
        out.append(("too_long", {**value, "text": "x" * (zone.max_length + 1)}))
        if zone.min_length > 1:
            out.append(("too_short", {**value, "text": "x"}))
        out.append(("font_not_allowed", {**value, "font": "Comic"}))
        out.append(("invalid_characters", {**value, "text": "\x00"}))
        out.append(("invalid_color", {**value, "color": "red"}))
        if zone.palette is not None:
            outside = next(c for c in ("#010203", "#fefdfc", "#123456") if c not in zone.palette)
            out.append(("not_in_palette", {**value, "color": outside}))
        out.append(("unknown_field", {**value, "size": 3}))
    elif isinstance(zone, ImageZone):
        out.append(("unknown_asset", {"asset_id": "nope"}))
    elif isinstance(zone, ColorZone):
        out.append(("invalid_color", "blue"))
        outside = next(
            c
            for c in ("#010203", "#fefdfc", "#123456", "#abcdef", "#000001", "#000002")
            if c not in zone.palette
        )
        out.append(("not_in_palette", outside))
    elif isinstance(zone, OptionZone):
        codes = sorted(world.option_sets[zone.option_set_id].codes)
        if not zone.multiple:
            out.append(("unknown_option", "zzz"))
        else:
            if len(value) < zone.max:
                out.append(("unknown_option", [*value, "zzz"]))
            if value and len(value) < zone.max:
                out.append(("duplicate", [*value, value[0]]))
            extra = [c for c in codes if c not in value]
            if len(value) == zone.max and extra:
                out.append(("too_many", [*value, extra[0]]))
    return [(code, v) for code, v in out if v is not None]


@given(valid_designs(), st.data())
def test_each_single_broken_rule_is_reported_once_with_its_zone(
    case: tuple[World, dict[str, Any]], data: st.DataObject
) -> None:
    world, options = case
    assume(options)
    zone_id = data.draw(st.sampled_from(sorted(options)))
    zone = world.definition.zone(zone_id)
    candidates = breakages(world, zone, options[zone_id])
    code, broken = data.draw(st.sampled_from(candidates))
    _, problems = check_design(
        world.definition, world.option_sets, {**options, zone_id: broken}, assets=world.assets
    )
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.code == code
    assert problem.zone_id == zone_id
    assert problem.field.startswith(f"options.{zone_id}")


@given(valid_designs())
def test_required_zones_are_enforced_only_when_complete(case: tuple[World, dict[str, Any]]) -> None:
    world, options = case
    required = [
        z.id
        for z in world.definition.zones
        if z.required and not (isinstance(z, ColorZone) and z.default is not None) and z.id in options
    ]
    assume(required)
    missing = required[0]
    partial = {k: v for k, v in options.items() if k != missing}
    assert check_design(world.definition, world.option_sets, partial, assets=world.assets)[1] == []
    _, problems = check_design(
        world.definition, world.option_sets, partial, assets=world.assets, complete=True
    )
    assert [(p.field, p.code, p.zone_id) for p in problems] == [(f"options.{missing}", "required", missing)]


@given(valid_designs())
def test_unknown_zones_are_errors_not_ignored(case: tuple[World, dict[str, Any]]) -> None:
    world, options = case
    _, problems = check_design(
        world.definition, world.option_sets, {**options, "no_such_zone": "x"}, assets=world.assets
    )
    assert [(p.field, p.code) for p in problems] == [("options.no_such_zone", "unknown_zone")]


@given(valid_designs(), st.integers(0, 100_000))
def test_a_quote_adds_up(case: tuple[World, dict[str, Any]], base_price: int) -> None:
    world, options = case
    design, _ = check_design(world.definition, world.option_sets, options, assets=world.assets)
    assert design is not None
    product = Product("prod", "p", "P", "", base_price, "USD", (), True, NOW, NOW)
    quote = quote_design(product, world.definition, world.option_sets, design)
    assert quote.unit_price == base_price + sum(c.amount for c in quote.components)
    chosen_zones = {c.zone_id for c in quote.components}
    assert chosen_zones == {z for z, v in design.values.items()}
