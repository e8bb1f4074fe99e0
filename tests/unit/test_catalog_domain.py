"""Catalog and access domain objects: Product, OptionSet, slugify and ApiKey scopes."""

from __future__ import annotations

import hashlib
import re
import string
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.domain.access import ApiKey, Scope
from customshop.domain.catalog import (
    DESCRIPTION_MAX,
    LABEL_MAX,
    MEDIA_MAX,
    NAME_MAX,
    OPTIONS_MAX,
    SLUG_MAX,
    SLUG_PATTERN,
    TAX_CLASS_PATTERN,
    TIER_DISCOUNT_MAX,
    TIER_QUANTITY_MAX,
    VOLUME_TIERS_MAX,
    MediaItem,
    Option,
    OptionSet,
    Product,
    VolumeTier,
    slugify,
    volume_order_problems,
)
from customshop.domain.errors import InvalidInput, InvalidOptionSet, InvalidProduct
from customshop.domain.hashing import hash_secret
from customshop.domain.money import MAX_AMOUNT, Money

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def product(**changes: Any) -> Product:
    fields: dict[str, Any] = {
        "id": "p1",
        "slug": "tee",
        "name": "Tee",
        "description": "",
        "base_price": 1500,
        "currency": "USD",
        "media": (),
        "active": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Product(**(fields | changes))


def option_set(options: tuple[Option, ...], name: str = "Sizes") -> OptionSet:
    return OptionSet("s1", "p1", name, options, NOW, NOW)


def problems(error: InvalidInput) -> list[tuple[str, str]]:
    return [(v.field, v.code) for v in error.violations]


# --------------------------------------------------------------------------------------------------
# OptionSet

#: A small alphabet, so that generated codes often collide.
colliding_codes = st.sampled_from(["S", "M", "L", "XL", "s", "gift.box", "a-1", "b_2"])
valid_codes = colliding_codes | st.builds(
    str.__add__,
    st.sampled_from(string.ascii_letters + string.digits),
    st.text(alphabet=string.ascii_letters + string.digits + "_.-", max_size=63),
)


@given(st.lists(valid_codes, min_size=1, max_size=12))
def test_each_repeated_code_is_reported_at_its_own_index(codes: list[str]) -> None:
    options = tuple(Option(code, f"Label {n}") for n, code in enumerate(codes))
    repeats = [n for n, code in enumerate(codes) if code in codes[:n]]
    if not repeats:
        made = option_set(options)
        assert made.codes == frozenset(codes)
        assert all(made.option(code) == Option(code, f"Label {n}") for n, code in enumerate(codes))
        return
    with pytest.raises(InvalidOptionSet) as info:
        option_set(options)
    assert problems(info.value) == [(f"options[{n}].code", "duplicate") for n in repeats]
    assert all(repr(codes[n]) in v.message for n, v in zip(repeats, info.value.violations, strict=True))


def test_codes_are_case_sensitive() -> None:
    made = option_set((Option("s", "small"), Option("S", "Small")))
    assert made.codes == {"s", "S"}
    assert made.option("s") == Option("s", "small")
    assert made.option("m") is None


def test_an_option_set_needs_at_least_one_option() -> None:
    with pytest.raises(InvalidOptionSet) as info:
        option_set(())
    assert problems(info.value) == [("options", "too_short")]


def test_an_option_set_holds_at_most_the_limit() -> None:
    assert len(option_set(tuple(Option(f"o{n}", "x") for n in range(OPTIONS_MAX))).codes) == OPTIONS_MAX
    with pytest.raises(InvalidOptionSet) as info:
        option_set(tuple(Option(f"o{n}", "x") for n in range(OPTIONS_MAX + 1)))
    assert problems(info.value) == [("options", "too_long")]


@pytest.mark.parametrize("code", ["", "_s", "-s", ".s", "s m", "s/m", "é", "s\n", "\ns", "x" * 65, "size:xl"])
def test_malformed_codes_are_reported(code: str) -> None:
    with pytest.raises(InvalidOptionSet) as info:
        option_set((Option("ok", "fine"), Option(code, "bad")))
    assert problems(info.value) == [("options[1].code", "invalid_format")]


@given(
    st.text(max_size=70).filter(lambda code: re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", code) is None)
)
def test_any_code_outside_the_pattern_is_refused(code: str) -> None:
    with pytest.raises(InvalidOptionSet) as info:
        option_set((Option(code, "bad"),))
    assert problems(info.value) == [("options[0].code", "invalid_format")]


def test_the_longest_code_is_accepted() -> None:
    assert option_set((Option("x" * 64, "long"),)).codes == {"x" * 64}


def test_a_malformed_code_repeated_is_reported_as_malformed_not_duplicate() -> None:
    with pytest.raises(InvalidOptionSet) as info:
        option_set((Option("a b", "one"), Option("a b", "two")))
    assert problems(info.value) == [
        ("options[0].code", "invalid_format"),
        ("options[1].code", "invalid_format"),
    ]


def test_every_broken_option_rule_is_reported_at_once() -> None:
    options = (
        Option("S", "Small"),
        Option("S", " "),
        Option("M", "x" * (LABEL_MAX + 1)),
        Option("L", "Large", MAX_AMOUNT + 1),
        Option("XL", "Extra", 1.5),  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidOptionSet) as info:
        option_set(options, name="  ")
    assert problems(info.value) == [
        ("name", "invalid_length"),
        ("options[1].code", "duplicate"),
        ("options[1].label", "invalid_length"),
        ("options[2].label", "invalid_length"),
        ("options[3].price_delta", "out_of_range"),
        ("options[4].price_delta", "out_of_range"),
    ]


def test_price_deltas_may_be_negative_within_range() -> None:
    made = option_set((Option("a", "A", -MAX_AMOUNT), Option("b", "B", MAX_AMOUNT)))
    assert made.option("a") == Option("a", "A", -MAX_AMOUNT)


# --------------------------------------------------------------------------------------------------
# Product

#: For each field, values that break it, and the code each is reported with.
BROKEN_PRODUCT_FIELDS: dict[str, tuple[list[Any], str]] = {
    "name": (["", "   ", "\n", "n" * (NAME_MAX + 1)], "invalid_length"),
    "slug": (
        [
            "",
            "Tee",
            "tee shirt",
            "-tee",
            "tee-",
            "tee--shirt",
            "tee_shirt",
            "tée",
            "tee\n",
            "a" * (SLUG_MAX + 1),
        ],
        "invalid_format",
    ),
    "description": (["d" * (DESCRIPTION_MAX + 1)], "too_long"),
    "base_price": ([-1, MAX_AMOUNT + 1, 15.0, True, "1500", None], "out_of_range"),
    "currency": (["usd", "US", "XXX", "", "EURO", None], "invalid_choice"),
    "media": ([tuple(MediaItem(f"https://img.example/{n}.png") for n in range(MEDIA_MAX + 1))], "too_long"),
    "tax_class": (
        ["", "Standard", "1st", "_std", "re-duced", "tax class", "t" * 33, None, 7],
        "invalid_format",
    ),
    "volume_pricing": (
        [tuple(VolumeTier(2 + n % 98, 100) for n in range(VOLUME_TIERS_MAX + 1))],
        "too_long",
    ),
}


@st.composite
def broken_products(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    broken = draw(st.sets(st.sampled_from(sorted(BROKEN_PRODUCT_FIELDS)), min_size=1))
    return {field: draw(st.sampled_from(BROKEN_PRODUCT_FIELDS[field][0])) for field in broken}, broken


@given(broken_products())
def test_a_product_reports_every_broken_field_at_once(case: tuple[dict[str, Any], set[str]]) -> None:
    changes, broken = case
    with pytest.raises(InvalidProduct) as info:
        product(**changes)
    reported = problems(info.value)
    assert Counter(field for field, _ in reported) == Counter(broken)
    assert set(reported) == {(field, BROKEN_PRODUCT_FIELDS[field][1]) for field in broken}


def test_all_five_fields_broken_together() -> None:
    with pytest.raises(InvalidProduct) as info:
        product(
            name="", slug="Not A Slug", base_price=-5, currency="eur", description="x" * (DESCRIPTION_MAX + 1)
        )
    assert sorted(problems(info.value)) == [
        ("base_price", "out_of_range"),
        ("currency", "invalid_choice"),
        ("description", "too_long"),
        ("name", "invalid_length"),
        ("slug", "invalid_format"),
    ]


def test_the_limits_themselves_are_accepted() -> None:
    made = product(
        name="n" * NAME_MAX,
        slug="s" * SLUG_MAX,
        description="d" * DESCRIPTION_MAX,
        base_price=MAX_AMOUNT,
        media=tuple(MediaItem(f"https://img.example/{n}.png") for n in range(MEDIA_MAX)),
    )
    assert made.price == Money(MAX_AMOUNT, "USD")
    assert product(base_price=0, slug="a-1-b").price == Money(0, "USD")


# --------------------------------------------------------------------------------------------------
# Tax class and volume pricing


def test_a_product_is_of_the_standard_tax_class_without_volume_pricing_by_default() -> None:
    made = product()
    assert (made.tax_class, made.volume_pricing) == ("standard", ())


@given(st.from_regex(TAX_CLASS_PATTERN, fullmatch=True))
def test_any_short_lower_case_identifier_is_a_tax_class(tax_class: str) -> None:
    assert product(tax_class=tax_class).tax_class == tax_class


def test_the_limits_of_volume_tiers_are_accepted() -> None:
    tiers = (VolumeTier(2, 1), VolumeTier(3, 1), VolumeTier(TIER_QUANTITY_MAX, TIER_DISCOUNT_MAX))
    assert product(volume_pricing=tiers).volume_pricing == tiers
    every = tuple(VolumeTier(q, 100) for q in range(2, TIER_QUANTITY_MAX + 1))
    assert len(product(volume_pricing=every).volume_pricing) == VOLUME_TIERS_MAX


def test_every_broken_tier_rule_is_named_at_once() -> None:
    tiers = (
        VolumeTier(10, 1500),
        VolumeTier(1, 0),  # both out of range: reported for their range only
        VolumeTier(10, 1600),  # the same quantity again
        VolumeTier(5, 2000),  # below an earlier quantity
        VolumeTier(25, 1000),  # takes off less than a smaller quantity
        VolumeTier(100, 10_001),
        VolumeTier(True, 2500),  # type: ignore[arg-type]  # a boolean is not a quantity
    )
    with pytest.raises(InvalidProduct) as info:
        product(volume_pricing=tiers, tax_class="VAT", base_price=-1)
    assert problems(info.value) == [
        ("base_price", "out_of_range"),
        ("tax_class", "invalid_format"),
        ("volume_pricing[1].min_quantity", "out_of_range"),
        ("volume_pricing[1].discount_bps", "out_of_range"),
        ("volume_pricing[2].min_quantity", "duplicate"),
        ("volume_pricing[3].min_quantity", "not_ascending"),
        ("volume_pricing[4].discount_bps", "decreasing"),
        ("volume_pricing[5].min_quantity", "out_of_range"),
        ("volume_pricing[5].discount_bps", "out_of_range"),
        ("volume_pricing[6].min_quantity", "out_of_range"),
    ]
    # What the edge checks when the types have checked the ranges: the order alone.
    assert [(v.field, v.code) for v in volume_order_problems(tiers)] == [
        ("volume_pricing[2].min_quantity", "duplicate"),
        ("volume_pricing[3].min_quantity", "not_ascending"),
        ("volume_pricing[4].discount_bps", "decreasing"),
    ]


def tier_discount(tiers: tuple[VolumeTier, ...], quantity: int) -> int:
    """The basis points off at ``quantity``: the highest tier reached (the contract's rule)."""
    return max((t.discount_bps for t in tiers if t.min_quantity <= quantity), default=0)


@given(
    st.lists(
        st.builds(VolumeTier, st.integers(0, TIER_QUANTITY_MAX + 2), st.integers(-1, TIER_DISCOUNT_MAX + 1)),
        max_size=6,
    )
)
def test_accepted_tiers_never_raise_the_unit_price_and_refused_ones_are_each_named(
    tiers: list[VolumeTier],
) -> None:
    in_range = all(2 <= t.min_quantity <= 99 and 1 <= t.discount_bps <= 10_000 for t in tiers)
    in_order = all(
        a.min_quantity < b.min_quantity and a.discount_bps <= b.discount_bps for a, b in pairwise(tiers)
    )
    try:
        made = product(volume_pricing=tuple(tiers))
    except InvalidProduct as error:
        assert not (in_range and in_order)
        fields = [v.field for v in error.violations]
        assert fields, "a refusal names what is wrong"
        assert all(f.startswith("volume_pricing[") for f in fields)
        assert len(fields) == len(set(fields))  # each value reported once
        return
    assert in_range and in_order
    discounts = [tier_discount(made.volume_pricing, q) for q in range(1, TIER_QUANTITY_MAX + 1)]
    assert discounts == sorted(discounts)  # a larger quantity never costs more per unit


# --------------------------------------------------------------------------------------------------
# slugify


@given(st.text())
def test_slugify_always_gives_a_valid_slug(text: str) -> None:
    slug = slugify(text)
    assert re.fullmatch(SLUG_PATTERN, slug)
    assert 1 <= len(slug) <= SLUG_MAX
    assert slugify(slug) == slug
    assert product(slug=slug).slug == slug


@given(
    st.text(alphabet=string.ascii_letters + string.digits + " -_#!/.", min_size=SLUG_MAX - 10, max_size=300)
)
def test_long_texts_are_cut_to_a_valid_slug(text: str) -> None:
    slug = slugify(text)
    assert re.fullmatch(SLUG_PATTERN, slug)
    assert len(slug) <= SLUG_MAX


@given(
    st.lists(
        st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8), min_size=1, max_size=8
    ),
    st.sampled_from([" ", "-", " - ", "_", "#", "!!", "/", ". "]),
)
def test_words_are_kept_lower_case_and_joined_by_hyphens(words: list[str], separator: str) -> None:
    assert slugify(separator + separator.join(words) + separator) == "-".join(words).lower()


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Tee #1", "tee-1"),
        ("Café Crème", "cafe-creme"),
        ("  Hello,   World!  ", "hello-world"),
        ("ﬁsh & chips", "fish-chips"),
        ("!!!", "product"),
        ("日本", "product"),
        ("", "product"),
        ("a" * 99 + " bc", "a" * 99),
    ],
)
def test_slugify_examples(text: str, slug: str) -> None:
    assert slugify(text) == slug


# --------------------------------------------------------------------------------------------------
# ApiKey


def api_key(scopes: frozenset[Scope], revoked_at: datetime | None = None) -> ApiKey:
    return ApiKey("k1", "ops", "csk_abcd", hash_secret("csk_secret"), scopes, NOW, revoked_at)


scope_sets = st.frozensets(st.sampled_from(list(Scope)))


@given(scope_sets, st.sampled_from(list(Scope)))
def test_an_active_key_allows_its_own_scopes(scopes: frozenset[Scope], wanted: Scope) -> None:
    key = api_key(scopes)
    assert key.active
    assert key.allows(wanted) == (wanted in scopes or Scope.ADMIN in scopes)


@pytest.mark.parametrize("wanted", list(Scope))
def test_the_admin_scope_allows_everything(wanted: Scope) -> None:
    assert api_key(frozenset({Scope.ADMIN})).allows(wanted)


@given(scope_sets, st.sampled_from(list(Scope)))
def test_a_revoked_key_allows_nothing(scopes: frozenset[Scope], wanted: Scope) -> None:
    key = api_key(scopes | {Scope.ADMIN}, revoked_at=NOW)
    assert not key.active
    assert not key.allows(wanted)
    assert not api_key(scopes, revoked_at=NOW).allows(wanted)


def test_a_key_without_scopes_allows_nothing() -> None:
    assert not any(api_key(frozenset()).allows(scope) for scope in Scope)


@given(st.text())
def test_hash_key_is_the_hex_sha256_of_the_utf8_secret(secret: str) -> None:
    digest = hash_secret(secret)
    assert digest == hashlib.sha256(secret.encode("utf-8")).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
