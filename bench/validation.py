"""Time the check of a design against its template, in process (not a test).

What every ``PATCH /sessions/{id}``, cart add and checkout line runs: ``check_design`` (with
``complete=True``, as a cart add) and ``quote_design``, on three templates:

* **tee**: the demo T-shirt's shape (text, photo, body colour, size): no conditions;
* **gift**: the tee with a gift option that shows a wrap choice, which shows a ribbon colour and a
  gift message (a chain of two conditions), everything shown;
* **largest**: the most zones a template may have (50), every zone after the first five depending on
  an option zone before it, in chains, with a value in each shown zone.

Each series times ``calls`` checks in a row; the figure is the median over the series of the CPU
time per call (``time.process_time``: what a shared machine does not distort).

Run: ``.venv/bin/python bench/validation.py [series] [calls]``
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from customshop.domain.catalog import Option, OptionSet, Product
from customshop.domain.pricing import quote_design
from customshop.domain.template_parsing import parse_definition
from customshop.domain.templates import ZONES_MAX, TemplateDefinition
from customshop.domain.validation import AssetInfo, check_design

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCT = Product.restore("p", "tee", "Tee", "", 1900, "USD", (), True, NOW, NOW)


def option_set(set_id: str, *codes: str) -> OptionSet:
    return OptionSet(set_id, "p", set_id, tuple(Option(c, c.title(), 100) for c in codes), NOW, NOW)


SETS = {
    "sizes": option_set("sizes", "S", "M", "L", "XL"),
    "gift": option_set("gift", "no", "yes"),
    "wrap": option_set("wrap", "paper", "ribbon", "box"),
}
ASSETS = {"a1": AssetInfo("a1", "image/jpeg", 1200, 1200, 400_000)}

TEE_ZONES: list[dict[str, Any]] = [
    {
        "id": "front_text",
        "type": "text",
        "max_length": 20,
        "fonts": ["Serif", "Sans"],
        "palette": ["#000000", "#ffffff"],
        "price_delta": 300,
        "area": {"x": 100, "y": 120, "width": 800, "height": 120},
    },
    {
        "id": "photo",
        "type": "image",
        "min_width": 600,
        "min_height": 600,
        "price_delta": 500,
        "area": {"x": 250, "y": 300, "width": 500, "height": 500},
    },
    {"id": "body_color", "type": "color", "palette": ["#c0392b", "#2c3e50"], "default": "#2c3e50"},
    {"id": "size", "type": "option", "option_set_id": "sizes", "required": True},
]
TEE_DESIGN: dict[str, Any] = {
    "front_text": {"text": "Best Dad Since 1986", "font": "Serif", "color": "#ffffff"},
    "photo": {"asset_id": "a1"},
    "body_color": "#c0392b",
    "size": "L",
}

GIFT_ZONES = [
    *TEE_ZONES,
    {"id": "gift", "type": "option", "option_set_id": "gift"},
    {
        "id": "wrap",
        "type": "option",
        "option_set_id": "wrap",
        "required": True,
        "visible_when": {"zone": "gift", "in": ["yes"]},
    },
    {
        "id": "ribbon",
        "type": "color",
        "palette": ["#c0392b", "#f1c40f"],
        "area": {"x": 0, "y": 900, "width": 1000, "height": 100},
        "visible_when": {"zone": "wrap", "in": ["ribbon", "box"]},
    },
    {
        "id": "message",
        "type": "text",
        "max_length": 200,
        "price_delta": 300,
        "area": {"x": 100, "y": 820, "width": 800, "height": 60},
        "visible_when": {"zone": "gift", "in": ["yes"]},
    },
]
GIFT_DESIGN = TEE_DESIGN | {
    "gift": "yes",
    "wrap": "ribbon",
    "ribbon": "#f1c40f",
    "message": {"text": "Happy birthday, Dad!"},
}


def largest() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """50 zones: five option zones, then zones each depending on an option zone before it (every
    third one an option zone itself, so chains form), with a value for each."""
    zones: list[dict[str, Any]] = []
    design: dict[str, Any] = {}
    options: list[str] = []
    for index in range(ZONES_MAX):
        zone_id = f"z{index}"
        if index < 5 or index % 3 == 0:
            zone: dict[str, Any] = {"id": zone_id, "type": "option", "option_set_id": "sizes"}
            design[zone_id] = "L"
        else:
            area = {"x": (index % 10) * 100, "y": (index // 10) * 100, "width": 100, "height": 100}
            zone = {"id": zone_id, "type": "text", "max_length": 30, "price_delta": 100, "area": area}
            design[zone_id] = {"text": f"Line {index}"}
        if index >= 5:
            zone["visible_when"] = {"zone": options[(index * 7) % len(options)], "in": ["M", "L"]}
        if zone["type"] == "option":
            options.append(zone_id)
        zones.append(zone)
    return zones, design


def definition_of(zones: list[dict[str, Any]]) -> TemplateDefinition:
    return parse_definition(
        {"canvas": {"width": 1000, "height": 1000}, "zones": zones}, product_id="p", option_sets=SETS
    )


def per_call(series: int, calls: int, work: Callable[[], object]) -> float:
    """The median over ``series`` of the CPU microseconds per call of ``work``."""
    samples: list[float] = []
    for _ in range(series):
        start = time.process_time()
        for _ in range(calls):
            work()
        samples.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(samples)


def measure(
    name: str, definition: TemplateDefinition, design: Mapping[str, Any], series: int, calls: int
) -> None:
    checked, problems = check_design(definition, SETS, design, assets=ASSETS, complete=True)
    assert checked is not None, problems
    shown = len(checked.values)

    def check() -> object:
        return check_design(definition, SETS, design, assets=ASSETS, complete=True)

    def check_and_quote() -> object:
        done, _ = check_design(definition, SETS, design, assets=ASSETS, complete=True)
        assert done is not None
        return quote_design(PRODUCT, definition, SETS, done)

    print(
        f"{name:8} {len(definition.zones):2} zones, {shown:2} filled and shown: "
        f"check {per_call(series, calls, check):6.1f} µs, "
        f"check + quote {per_call(series, calls, check_and_quote):6.1f} µs"
    )


def main(series: int, calls: int) -> None:
    measure("tee", definition_of(TEE_ZONES), TEE_DESIGN, series, calls)
    measure("gift", definition_of(GIFT_ZONES), GIFT_DESIGN, series, calls)
    zones, design = largest()
    measure("largest", definition_of(zones), design, series, calls)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 15,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2000,
    )
