"""Conditional zones (``visible_when``): definitions with random condition graphs are accepted
exactly when every condition names an option zone of the template and codes of its set, and no
zone's visibility leads back to itself; and a zone a design hides never changes its validity, its
price or its pixels. Oracles are written here, apart from the implementation."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from customshop.adapters.imaging import PillowRenderer
from customshop.application.ports import RenderRequest
from customshop.domain.catalog import Option, OptionSet, Product
from customshop.domain.pricing import quote_design
from customshop.domain.template_parsing import check_definition, definition_problems, load_definition
from customshop.domain.templates import TemplateDefinition, VisibleWhen
from customshop.domain.validation import Design, check_design
from customshop.domain.visibility import condition_cycles, resolve, shown_zones

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCT = "prod"
#: Three option sets of the product, of 2, 3 and 4 options (codes C0, C1...), and one of another.
SETS = {
    f"set{n}": OptionSet(
        f"set{n}",
        PRODUCT,
        f"Set {n}",
        tuple(Option(f"C{k}", f"Choice {k}", 100 * (n + 1) + k) for k in range(size)),
        NOW,
        NOW,
    )
    for n, size in enumerate((2, 3, 4))
}
OWN_SETS = tuple(SETS)
CANVAS = {"width": 100, "height": 100, "background": "#ffffff"}
BASE = Product.restore("prod", "tee", "Tee", "", 1000, "USD", (), True, NOW, NOW)

Raw = dict[str, Any]


def codes_of(zone: Raw) -> list[str]:
    return [option.code for option in SETS[zone["option_set_id"]].options]


def area(index: int) -> Raw:
    """A distinct 10 × 10 area per zone index (in a 100 × 100 canvas)."""
    return {"x": (index % 10) * 10, "y": (index // 10) * 10, "width": 10, "height": 10}


@st.composite
def plain_zone(draw: st.DrawFn, index: int, kinds: tuple[str, ...]) -> Raw:
    """A valid zone without a condition."""
    kind = draw(st.sampled_from(kinds))
    zone: Raw = {"id": f"z{index}", "type": kind, "required": draw(st.booleans())}
    if kind in ("text", "image", "color"):
        zone["price_delta"] = draw(st.integers(-500, 5000))
    if kind in ("text", "image"):
        zone["area"] = area(index)
    if kind == "text":
        zone["palette"] = ["#ff0000"]
    elif kind == "color":
        zone["palette"] = ["#00ff00", "#0000ff"]
        if draw(st.booleans()):
            zone["default"] = "#0000ff"
        if draw(st.booleans()):
            zone["area"] = area(index)
    elif kind == "option":
        zone["option_set_id"] = draw(st.sampled_from(OWN_SETS))
        if draw(st.booleans()):
            zone |= {"multiple": True, "min": 0}
    return zone


# --------------------------------------------------------------------------------------------------
# 1. Random condition graphs: accepted exactly when well-referenced and acyclic


@st.composite
def condition_graphs(draw: st.DrawFn) -> list[Raw]:
    """Zones with random conditions: each may name any zone (itself too) or none that exists, with
    codes of that zone's set, or codes of no set."""
    count = draw(st.integers(1, 7))
    zones = [
        draw(plain_zone(index, ("text", "image", "color", "option", "option"))) for index in range(count)
    ]
    ids = [zone["id"] for zone in zones]
    for zone in zones:
        if not draw(st.booleans()):
            continue
        target_id = draw(st.sampled_from([*ids, "nowhere"]))
        target = next((z for z in zones if z["id"] == target_id), None)
        pool = codes_of(target) if target is not None and target["type"] == "option" else ["C0"]
        codes = draw(st.lists(st.sampled_from(pool) | st.just("BOGUS"), min_size=1, max_size=3, unique=True))
        zone["visible_when"] = {"zone": target_id, "in": codes}
    return zones


def expected_problems(zones: list[Raw]) -> set[tuple[str, str]]:
    """The (field, code) of every problem the conditions of ``zones`` have, by the rules."""
    by_id = {zone["id"]: zone for zone in zones}
    problems: set[tuple[str, str]] = set()
    edges: dict[str, str] = {}
    for index, zone in enumerate(zones):
        condition = zone.get("visible_when")
        if condition is None:
            continue
        where = f"definition.zones[{index}].visible_when"
        target = by_id.get(condition["zone"])
        if target is None:
            problems.add((f"{where}.zone", "unknown_zone"))
            continue
        if target["type"] != "option":
            problems.add((f"{where}.zone", "not_an_option_zone"))
            continue
        codes = codes_of(target)
        problems |= {
            (f"{where}.in[{i}]", "unknown_option") for i, c in enumerate(condition["in"]) if c not in codes
        }
        if zone["type"] == "option":
            edges[zone["id"]] = target["id"]
    for index, zone in enumerate(zones):  # on a cycle: following the edges from it comes back to it
        node, steps = edges.get(zone["id"]), 0
        while node is not None and node != zone["id"] and steps < len(zones):
            node, steps = edges.get(node), steps + 1
        if node == zone["id"]:
            problems.add((f"definition.zones[{index}].visible_when", "cycle"))
    return problems


@given(condition_graphs())
def test_a_condition_graph_is_accepted_exactly_when_well_referenced_and_acyclic(zones: list[Raw]) -> None:
    raw = {"canvas": CANVAS, "zones": zones}
    definition, problems = check_definition(raw, product_id=PRODUCT, option_sets=SETS)
    expected = expected_problems(zones)
    assert {(v.field, v.code) for v in problems} == expected
    assert (definition is not None) == (not expected)
    for violation in problems:
        index = int(violation.field.removeprefix("definition.zones[").split("]")[0])
        assert violation.zone_id == zones[index]["id"]  # each names the zone whose condition is bad
    if definition is not None:
        for zone in zones:
            found = definition.zone(zone["id"])
            assert found is not None
            condition = zone.get("visible_when")
            assert found.visible_when == (
                None if condition is None else VisibleWhen(condition["zone"], tuple(condition["in"]))
            )
        assert load_definition(definition.to_dict()) == definition  # the canonical form keeps them
    # Without the catalog, everything but the codes is judged the same.
    assert {(v.field, v.code) for v in definition_problems(raw)} == {
        problem for problem in expected if problem[1] != "unknown_option"
    }


def test_a_condition_is_checked_for_its_shape_and_names_every_problem() -> None:
    zones: list[Raw] = [
        {"id": "wrap", "type": "option", "option_set_id": "set0"},
        {"id": "a", "type": "color", "palette": ["#000000"], "visible_when": "wrap"},
        {"id": "b", "type": "color", "palette": ["#000000"], "visible_when": {"in": []}},
        {"id": "c", "type": "color", "palette": ["#000000"], "visible_when": {"zone": 7, "in": ["C0", "C0"]}},
        {
            "id": "d",
            "type": "color",
            "palette": ["#000000"],
            "visible_when": {"zone": "wrap", "when": ["C0"]},
        },
        {"id": "e", "type": "color", "palette": ["#000000"], "visible_when": {"zone": "wrap", "in": "C0"}},
    ]
    _, problems = check_definition({"canvas": CANVAS, "zones": zones}, product_id=PRODUCT, option_sets=SETS)
    assert {(v.field, v.code, v.zone_id) for v in problems} == {
        ("definition.zones[1].visible_when", "invalid_type", "a"),
        ("definition.zones[2].visible_when.zone", "required", "b"),
        ("definition.zones[2].visible_when.in", "invalid_length", "b"),
        ("definition.zones[3].visible_when.zone", "invalid_type", "c"),
        ("definition.zones[3].visible_when.in[1]", "duplicate", "c"),
        ("definition.zones[4].visible_when.when", "unknown_field", "d"),
        ("definition.zones[4].visible_when.in", "required", "d"),
        ("definition.zones[5].visible_when.in", "invalid_type", "e"),
    }


def test_a_cycle_is_named_along_its_chain() -> None:
    zones: list[Raw] = [
        {"id": "a", "type": "option", "option_set_id": "set0", "visible_when": {"zone": "b", "in": ["C0"]}},
        {"id": "b", "type": "option", "option_set_id": "set1", "visible_when": {"zone": "a", "in": ["C1"]}},
        {"id": "c", "type": "option", "option_set_id": "set1", "visible_when": {"zone": "a", "in": ["C1"]}},
        {"id": "d", "type": "option", "option_set_id": "set2", "visible_when": {"zone": "d", "in": ["C3"]}},
    ]
    _, problems = check_definition({"canvas": CANVAS, "zones": zones}, product_id=PRODUCT, option_sets=SETS)
    assert [(v.field, v.code, v.message) for v in problems] == [
        (
            "definition.zones[0].visible_when",
            "cycle",
            "zone 'a': its visibility depends on itself (a → b → a)",
        ),
        (
            "definition.zones[1].visible_when",
            "cycle",
            "zone 'b': its visibility depends on itself (a → b → a)",
        ),
        ("definition.zones[3].visible_when", "cycle", "zone 'd': its visibility depends on itself (d → d)"),
    ]
    assert condition_cycles({"c": "a", "a": "b", "b": "a", "x": "y"}) == [("a", "b")]


def test_definitions_without_conditions_keep_their_canonical_form() -> None:
    """Templates stored before conditions existed (and cart and order snapshots) read and write the
    same: ``visible_when`` is written only for conditional zones."""
    raw = {"canvas": CANVAS, "zones": [{"id": "size", "type": "option", "option_set_id": "set0"}]}
    definition, _ = check_definition(raw, product_id=PRODUCT, option_sets=SETS)
    assert definition is not None
    assert "visible_when" not in definition.to_dict()["zones"][0]


# --------------------------------------------------------------------------------------------------
# 2. A hidden zone never changes validity, price or pixels


@st.composite
def conditional_templates(draw: st.DrawFn) -> tuple[TemplateDefinition, list[Raw]]:
    """A valid definition whose zones depend on option zones that come before them in a random
    order (not template order), so that chains of conditions arise."""
    count = draw(st.integers(2, 7))
    zones = [draw(plain_zone(index, ("text", "color", "option"))) for index in range(count)]
    rank = draw(st.permutations(range(count)))
    for index, zone in enumerate(zones):
        controllers = [z for i, z in enumerate(zones) if rank[i] < rank[index] and z["type"] == "option"]
        if controllers and draw(st.integers(0, 3)) > 0:
            controller = draw(st.sampled_from(controllers))
            codes = draw(st.lists(st.sampled_from(codes_of(controller)), min_size=1, unique=True))
            zone["visible_when"] = {"zone": controller["id"], "in": codes}
    definition, problems = check_definition(
        {"canvas": CANVAS, "zones": zones}, product_id=PRODUCT, option_sets=SETS
    )
    assert problems == []
    assert definition is not None
    return definition, zones


@st.composite
def values_for(draw: st.DrawFn, zones: list[Raw]) -> dict[str, Any]:
    """A valid value for some of the zones (any of them may be left empty)."""
    values: dict[str, Any] = {}
    for zone in zones:
        if not draw(st.booleans()):
            continue
        match zone["type"]:
            case "text":
                values[zone["id"]] = {"text": draw(st.sampled_from(["Hi", "WW", "Ada 1815"]))}
            case "color":
                values[zone["id"]] = draw(st.sampled_from(zone["palette"]))
            case _:
                codes = codes_of(zone)
                if zone.get("multiple"):
                    values[zone["id"]] = draw(st.lists(st.sampled_from(codes), unique=True))
                else:
                    values[zone["id"]] = draw(st.sampled_from(codes))
    return values


def hidden_by_the_rules(zones: list[Raw], values: Mapping[str, Any]) -> set[str]:
    """The zones the rules hide: a zone shows when it has no condition, or when the option zone it
    names shows and has one of its codes chosen."""
    by_id = {zone["id"]: zone for zone in zones}

    def shows(zone_id: str) -> bool:
        condition = by_id[zone_id].get("visible_when")
        if condition is None:
            return True
        chosen = values.get(condition["zone"])
        chosen = [chosen] if isinstance(chosen, str) else chosen or []
        return shows(condition["zone"]) and any(code in condition["in"] for code in chosen)

    return {zone["id"] for zone in zones if not shows(zone["id"])}


#: What a guest might have left in a zone: valid values of any kind, or anything at all.
any_value = st.one_of(
    st.none(),
    st.just({"text": "a long text " * 20}),
    st.just({"asset_id": "missing"}),
    st.sampled_from(["#00ff00", "#123456", "C0", "C9"]),
    st.lists(st.sampled_from(["C0", "C1", "C1"])),
    st.integers(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@dataclass(frozen=True)
class Outcome:
    design: Design | None
    problems: list[tuple[str, str]]
    price: int | None


def outcome(definition: TemplateDefinition, options: Mapping[str, Any], complete: bool) -> Outcome:
    design, problems = check_design(definition, SETS, options, complete=complete)
    price = quote_design(BASE, definition, SETS, design).unit_price if design is not None else None
    return Outcome(design, [(v.field, v.code) for v in problems], price)


@st.composite
def hidden_cases(draw: st.DrawFn) -> tuple[TemplateDefinition, list[Raw], dict[str, Any], dict[str, Any]]:
    """A design with some zone hidden, and the same design with other values in its hidden zones."""
    definition, zones = draw(conditional_templates())
    values = draw(values_for(zones))
    hidden = hidden_by_the_rules(zones, values)
    assume(hidden)
    other = {k: v for k, v in values.items() if k not in hidden}
    for zone_id in sorted(hidden):
        value = draw(any_value)
        if value is not None:
            other[zone_id] = value
    return definition, zones, values, other


@given(hidden_cases(), st.booleans())
def test_a_hidden_zone_never_changes_validity_or_price(
    case: tuple[TemplateDefinition, list[Raw], dict[str, Any], dict[str, Any]], complete: bool
) -> None:
    definition, zones, values, other = case
    hidden = hidden_by_the_rules(zones, values)
    assert shown_zones(definition, values) == {zone["id"] for zone in zones} - hidden
    first, second = outcome(definition, values, complete), outcome(definition, other, complete)
    assert first.problems == second.problems
    assert first.price == second.price
    if first.design is not None and second.design is not None:
        assert first.design.values == second.design.values  # what is carted and drawn
        assert set(first.design.values).isdisjoint(hidden)
        assert second.design.hidden == {k: v for k, v in other.items() if k in hidden}  # kept as given
        assert second.design.to_dict(keep_hidden=True) == {**second.design.to_dict(), **second.design.hidden}
        # Pricing decides for itself: a design that carries a hidden zone's value costs the same.
        every_zone, _ = check_design(without_conditions(definition), SETS, values)
        assert every_zone is not None
        smuggled = Design(
            {**first.design.values, **{k: v for k, v in every_zone.values.items() if k in hidden}}
        )
        assert quote_design(BASE, definition, SETS, smuggled) == quote_design(
            BASE, definition, SETS, first.design
        )


def render(definition: TemplateDefinition, design: Design) -> tuple[tuple[int, int], list[Any]]:
    """The design drawn 50 pixels wide, decoded: its size and its pixels."""
    png = PillowRenderer().render(RenderRequest(definition, design, {}, {}, 50))
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return image.size, list(image.convert("RGB").get_flattened_data())  # type: ignore[arg-type]


@given(hidden_cases())
@settings(max_examples=max(20, settings().max_examples // 4))  # each example renders three PNGs
def test_a_hidden_zone_never_changes_the_pixels(
    case: tuple[TemplateDefinition, list[Raw], dict[str, Any], dict[str, Any]],
) -> None:
    definition, zones, values, other = case
    first, _ = check_design(definition, SETS, values)
    second, _ = check_design(definition, SETS, other)
    assume(first is not None and second is not None)
    assert first is not None and second is not None
    drawn = render(definition, first)
    assert render(definition, second) == drawn
    # The renderer decides for itself: a design that carries a hidden zone's value draws the same.
    hidden = hidden_by_the_rules(zones, values)
    every_zone, _ = check_design(without_conditions(definition), SETS, values)
    assert every_zone is not None
    smuggled = {**first.values, **{k: v for k, v in every_zone.values.items() if k in hidden}}
    assert render(definition, Design(smuggled)) == drawn


def without_conditions(definition: TemplateDefinition) -> TemplateDefinition:
    return replace(definition, zones=tuple(replace(zone, visible_when=None) for zone in definition.zones))


# --------------------------------------------------------------------------------------------------
# 3. Conditional zones appear and vanish in the pixels

WHITE, RED, BLUE, GREEN = (255, 255, 255), (255, 0, 0), (0, 0, 255), (0, 255, 0)
#: A gift option; with gift wrap, a choice of wrap and a red message; with a ribbon wrap, a blue
#: ribbon band; with a paper wrap, a green body colour. Rendered at 100 × 100 (canvas pixels).
GIFT: Raw = {
    "canvas": CANVAS,
    "zones": [
        {"id": "gift", "type": "option", "option_set_id": "set0"},
        {
            "id": "message",
            "type": "text",
            "required": True,
            "price_delta": 300,
            "palette": ["#ff0000"],
            "area": {"x": 0, "y": 0, "width": 100, "height": 40},
            "visible_when": {"zone": "gift", "in": ["C1"]},
        },
        {
            "id": "wrap",
            "type": "option",
            "option_set_id": "set1",
            "visible_when": {"zone": "gift", "in": ["C1"]},
        },
        {
            "id": "ribbon",
            "type": "color",
            "palette": ["#0000ff"],
            "default": "#0000ff",
            "area": {"x": 0, "y": 80, "width": 100, "height": 20},
            "visible_when": {"zone": "wrap", "in": ["C1", "C2"]},
        },
        {
            "id": "paper",
            "type": "color",
            "palette": ["#00ff00"],
            "default": "#00ff00",
            "visible_when": {"zone": "wrap", "in": ["C0"]},
        },
    ],
}
MESSAGE_BOX = (0, 0, 100, 40)
RIBBON_BOX = (0, 80, 100, 100)
MIDDLE_BOX = (0, 45, 100, 75)


@pytest.fixture(scope="module")
def gift() -> TemplateDefinition:
    definition, problems = check_definition(GIFT, product_id=PRODUCT, option_sets=SETS)
    assert problems == [], problems
    assert definition is not None
    return definition


def drawn(definition: TemplateDefinition, options: Mapping[str, Any]) -> Image.Image:
    design, problems = check_design(definition, SETS, options)
    assert design is not None, problems
    png = PillowRenderer().render(RenderRequest(definition, design, {}, {}, 100))
    return Image.open(io.BytesIO(png)).convert("RGB")


def colours(image: Image.Image, box: tuple[int, int, int, int]) -> set[tuple[int, int, int]]:
    return set(image.crop(box).get_flattened_data())  # type: ignore[arg-type]


def test_conditional_zones_appear_with_their_option_and_vanish_without_it(gift: TemplateDefinition) -> None:
    message = {"text": "HAPPY"}
    plain = drawn(gift, {"gift": "C0", "message": message, "wrap": "C1"})
    assert colours(plain, (0, 0, 100, 100)) == {WHITE}  # no gift: no message, no wrap, no ribbon

    wrapped = drawn(gift, {"gift": "C1", "message": message, "wrap": "C1"})
    assert RED in colours(wrapped, MESSAGE_BOX)  # the message is drawn
    assert colours(wrapped, RIBBON_BOX) == {BLUE}  # the ribbon shows, in its default colour
    assert colours(wrapped, MIDDLE_BOX) == {WHITE}

    papered = drawn(gift, {"gift": "C1", "message": message, "wrap": "C0"})
    assert RED in colours(papered, MESSAGE_BOX)
    assert colours(papered, MIDDLE_BOX) == {GREEN}  # the paper colours the body; no ribbon
    assert colours(papered, RIBBON_BOX) == {GREEN}

    # Without a gift the wrap is hidden, and so is everything the wrap controls, whatever it says.
    assert colours(drawn(gift, {"wrap": "C0"}), (0, 0, 100, 100)) == {WHITE}


def test_a_hidden_zone_is_not_required_priced_or_carted_but_stays_in_the_session(
    gift: TemplateDefinition,
) -> None:
    options = {"gift": "C0", "message": {"text": "x" * 500}, "wrap": "nonsense"}
    design, problems = check_design(gift, SETS, options, complete=True)
    assert problems == []  # the required message is hidden, and its over-long text is not judged
    assert design is not None
    assert design.to_dict() == {"gift": "C0"}  # what a cart line holds
    assert design.to_dict(keep_hidden=True) == options  # what the session keeps
    assert quote_design(BASE, gift, SETS, design).unit_price == 1000 + 100

    shown, problems = check_design(gift, SETS, {"gift": "C1"}, complete=True)
    assert shown is None
    assert [(v.field, v.code) for v in problems] == [("options.message", "required")]  # it shows now
    gifted, _ = check_design(
        gift, SETS, {"gift": "C1", "message": {"text": "Hi"}, "wrap": "C2"}, complete=True
    )
    assert gifted is not None
    assert quote_design(BASE, gift, SETS, gifted).unit_price == 1000 + 101 + 300 + 202


def test_a_print_file_draws_a_line_recorded_without_its_option_codes(gift: TemplateDefinition) -> None:
    """Print files draw an order line's artwork from its snapshot, its option codes deciding only
    which conditional zones show (``resolve``)."""
    line = {"gift": "C1", "message": {"text": "HAPPY"}, "wrap": "C1"}
    resolved = resolve(gift, line)
    assert [zone.id for zone in resolved.zones] == ["gift", "message", "wrap", "ribbon"]
    assert all(zone.visible_when is None for zone in resolved.zones)
    artwork, _ = check_design(resolved, {}, {"message": line["message"]})
    assert artwork is not None
    printed = Image.open(io.BytesIO(PillowRenderer().render(RenderRequest(resolved, artwork, {}, {}, 100))))
    assert list(printed.convert("RGB").get_flattened_data()) == list(  # type: ignore[arg-type]
        drawn(gift, line).get_flattened_data()  # type: ignore[arg-type]
    )
    assert resolve(gift, {}).zones == (gift.zones[0],)
