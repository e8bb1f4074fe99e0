"""Properties of design pricing: non-negative deltas never lower a price, quantities scale exactly.
(A cart's totals are the quote's: tests/unit/test_quote.py.)"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from customshop.domain.catalog import Option, OptionSet, Product
from customshop.domain.pricing import line_total, quote_design
from customshop.domain.template_parsing import parse_definition
from customshop.domain.validation import parse_design

NOW = datetime(2026, 1, 1, tzinfo=UTC)
prices = st.integers(0, 10**7)
quantities = st.integers(1, 99)
rates = st.integers(0, 10_000)
lines = st.lists(st.tuples(prices, quantities), max_size=20)


@given(prices, quantities, st.integers(1, 99))
def test_quantities_scale_line_totals_exactly(price: int, quantity: int, factor: int) -> None:
    assert line_total(price, quantity * factor) == line_total(price, quantity) * factor
    assert line_total(price, quantity) == sum(price for _ in range(quantity))


SIZES = OptionSet(
    "sizes", "p", "Size", (Option("S", "S", 0), Option("L", "L", 150), Option("XL", "XL", 300)), NOW, NOW
)
EXTRAS = OptionSet(
    "extras",
    "p",
    "Extras",
    tuple(Option(f"e{n}", f"Extra {n}", delta) for n, delta in enumerate([0, 75, 120, -50, 990, 10])),
    NOW,
    NOW,
)
DEFINITION = parse_definition(
    {
        "canvas": {"width": 100, "height": 100},
        "zones": [
            {
                "id": "line",
                "type": "text",
                "price_delta": 300,
                "area": {"x": 0, "y": 0, "width": 10, "height": 10},
            },
            {"id": "colour", "type": "color", "palette": ["#000000", "#ffffff"], "price_delta": 40},
            {"id": "size", "type": "option", "option_set_id": "sizes"},
            {"id": "extras", "type": "option", "option_set_id": "extras", "multiple": True},
        ],
    },
    product_id="p",
    option_sets={"sizes": SIZES, "extras": EXTRAS},
)
OPTION_SETS = {"sizes": SIZES, "extras": EXTRAS}
designs = st.fixed_dictionaries(
    {},
    optional={
        "line": st.just({"text": "hi"}),
        "colour": st.sampled_from(["#000000", "#ffffff"]),
        "size": st.sampled_from(["S", "L", "XL"]),
        "extras": st.lists(st.sampled_from([f"e{n}" for n in range(6)]), unique=True),
    },
)


def unit_price(base: int, options: dict[str, object]) -> int:
    product = Product("p", "p", "P", "", base, "USD", (), True, NOW, NOW)
    design = parse_design(DEFINITION, OPTION_SETS, options)
    return quote_design(product, DEFINITION, OPTION_SETS, design).unit_price


@given(prices, designs, st.randoms())
def test_the_order_of_options_never_matters(base: int, options: dict[str, object], rnd: object) -> None:
    extras = list(options.get("extras", []))  # type: ignore[call-overload]
    rnd.shuffle(extras)  # type: ignore[attr-defined]
    items = list(({**options, "extras": extras} if "extras" in options else options).items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    assert unit_price(base, options) == unit_price(base, dict(items))


@given(st.integers(100, 10**7), designs)
def test_unit_price_is_base_plus_every_delta(base: int, options: dict[str, object]) -> None:
    expected = base
    expected += 300 if "line" in options else 0
    expected += 40 if "colour" in options else 0
    expected += {"S": 0, "L": 150, "XL": 300}.get(str(options.get("size")), 0)
    expected += sum(EXTRAS.option(code).price_delta for code in options.get("extras", []))  # type: ignore[union-attr, attr-defined]
    assert unit_price(base, options) == max(expected, 0)


@given(prices, designs, st.sampled_from(["e0", "e1", "e2", "e4", "e5"]))
def test_adding_an_option_with_a_non_negative_delta_never_lowers_the_price(
    base: int, options: dict[str, object], extra: str
) -> None:
    chosen = list(options.get("extras", []))  # type: ignore[call-overload]
    if extra in chosen:
        chosen.remove(extra)
    without = unit_price(base, {**options, "extras": chosen})
    with_extra = unit_price(base, {**options, "extras": [*chosen, extra]})
    delta = EXTRAS.option(extra).price_delta  # type: ignore[union-attr]
    assert with_extra >= without
    assert with_extra - without <= delta
    if without > 0:  # above the floor of zero, the option adds exactly its delta
        assert with_extra - without == delta


# --------------------------------------------------------------------------------------------------
# Per-character prices of text zones

#: Letters, digits, marks (combining accents compose under NFC), symbols, and every kind of space
#: a text value may hold (control characters are refused before pricing).
SPACES = " \u00a0\u1680\u2002\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
texts = st.text(
    st.sampled_from(SPACES) | st.characters(categories=("L", "M", "N", "P", "S", "Zs")),
    min_size=1,
    max_size=60,
)


def lettering(price_per_character: int, free_characters: int, price_delta: int = 300) -> Any:
    return parse_definition(
        {
            "canvas": {"width": 100, "height": 100},
            "zones": [
                {
                    "id": "lettering",
                    "type": "text",
                    "label": "Lettering",
                    "max_length": 1000,
                    "price_delta": price_delta,
                    "price_per_character": price_per_character,
                    "free_characters": free_characters,
                    "area": {"x": 0, "y": 0, "width": 10, "height": 10},
                }
            ],
        },
        product_id="p",
        option_sets={},
    )


@given(texts, st.integers(0, 10**6), st.integers(0, 80), st.integers(0, 10**7))
def test_per_character_charge_is_the_price_times_the_characters_beyond_the_free_ones(
    text: str, price_per_character: int, free_characters: int, base: int
) -> None:
    definition = lettering(price_per_character, free_characters)
    design = parse_design(definition, {}, {"lettering": {"text": text}})
    product = Product("p", "p", "P", "", base, "USD", (), True, NOW, NOW)
    quote = quote_design(product, definition, {}, design)

    # Characters as a design stores them (NFC), every Unicode space left out. Any text but "" fills
    # the zone, spaces alone too.
    printed = len("".join(unicodedata.normalize("NFC", text).split()))
    charge = price_per_character * max(0, printed - free_characters)
    per_character = [c for c in quote.components if c.label.startswith("Lettering: ")]
    assert [c.amount for c in per_character] == ([charge] if price_per_character else [])
    assert all(c.zone_id == "lettering" and c.code is None for c in per_character)
    assert quote.unit_price == base + 300 + charge


def test_per_character_pricing_by_example() -> None:
    definition = lettering(25, 5)
    product = Product("p", "p", "P", "", 1900, "USD", (), True, NOW, NOW)

    def quote(text: str) -> tuple[list[tuple[str, int]], int]:
        design = parse_design(definition, {}, {"lettering": {"text": text}})
        q = quote_design(product, definition, {}, design)
        return [(c.label, c.amount) for c in q.components], q.unit_price

    # 13 characters that are not spaces, 5 of them free: 8 × 25.
    assert quote("Happy birthday") == ([("Lettering", 300), ("Lettering: 8 characters", 200)], 2400)
    # Within the free characters the charge is listed at 0; no-break and ideographic spaces are free.
    assert quote("Hi\u00a0yo\u3000!") == ([("Lettering", 300), ("Lettering: 0 characters", 0)], 2200)
    # "e" and a combining acute accent are one character once normalized.
    assert quote("cafe\u0301 au lait")[0][1] == ("Lettering: 5 characters", 125)
    # Without a per-character price, only the zone's delta, as before.
    plain = lettering(0, 5)
    design = parse_design(plain, {}, {"lettering": {"text": "Happy birthday"}})
    assert [(c.label, c.amount) for c in quote_design(product, plain, {}, design).components] == [
        ("Lettering", 300)
    ]
