"""Bulk catalog import and export on the in-memory adapters: the CSV rows, their line numbers, the
rules, all-or-nothing, the round trip; and template files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.application.catalog_csv import (
    COLUMNS,
    LATER_COLUMNS,
    CatalogCsvWriter,
    CatalogFile,
    ImportRejected,
    MalformedFile,
    ProductRows,
    read_catalog_csv,
)
from customshop.application.catalog_io import CatalogTransfer, read_templates_json
from customshop.domain.catalog import (
    DESCRIPTION_MAX,
    LABEL_MAX,
    NAME_MAX,
    TAX_CLASS_PATTERN,
    MediaItem,
    Option,
    OptionSet,
    Product,
    VolumeTier,
)
from customshop.domain.money import CURRENCIES, MAX_AMOUNT
from tests.builders import IDS

HEADER = ",".join(COLUMNS)


class Changes:
    """Counts ``on_change`` calls (what drops a process's cached catalog)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def changes() -> Changes:
    return Changes()


@pytest.fixture
def transfer(store: MemoryStore, clock: ManualClock, changes: Changes) -> CatalogTransfer:
    return CatalogTransfer(
        partial(MemoryUnitOfWork, store), clock, IDS, "USD", on_change=changes, batch_size=2
    )


def row(kind: str, **cells: str) -> str:
    """One CSV line: ``kind`` and the given cells, the others empty."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [kind if c == "kind" else cells.get(c, "") for c in COLUMNS]
    )
    return out.getvalue()


def csv_file(*rows: str, header: str = HEADER) -> CatalogFile:
    return read_catalog_csv(io.StringIO(header + "\n" + "".join(rows), newline=""))


def lines_of(error: ImportRejected) -> list[str]:
    return [str(problem) for problem in error.problems]


TEE = row("product", name="Classic Tee", description="Cotton", base_price="1900")
TEE_MEDIA = row("media", url="https://cdn.example.com/tee.png", alt="Front")
SIZES = row("option_set", name="Size")
SMALL = row("option", code="S", label="Small", price_delta="0")
XL = row("option", code="XL", label="Extra large", price_delta="200")
MUG = row("product", slug="mug", name="Mug", base_price="1200", currency="EUR", active="false")


# -- reading the CSV -------------------------------------------------------------------------------


def test_rows_group_under_the_product_and_option_set_above_them() -> None:
    file = csv_file(TEE, TEE_MEDIA, SIZES, SMALL, XL, MUG)
    assert file.problems == ()
    tee, mug = file.products
    assert (tee.line, tee.name, tee.base_price, tee.slug, tee.currency, tee.active) == (
        2,
        "Classic Tee",
        1900,
        None,
        None,
        True,
    )
    assert [(m.line, m.url, m.alt) for m in tee.media] == [(3, "https://cdn.example.com/tee.png", "Front")]
    (sizes,) = tee.option_sets
    assert (sizes.line, sizes.name) == (4, "Size")
    assert [(o.line, o.code, o.label, o.price_delta) for o in sizes.options] == [
        (5, "S", "Small", 0),
        (6, "XL", "Extra large", 200),
    ]
    assert (mug.line, mug.slug, mug.currency, mug.active, mug.media, mug.option_sets) == (
        7,
        "mug",
        "EUR",
        False,
        [],
        [],
    )


def test_line_numbers_count_physical_lines_and_skip_blank_rows() -> None:
    multi_line = row("product", name="Tee", description="line one\nline two\nline three", base_price="1")
    file = csv_file(multi_line, "\n", ",,,,,,,,,,,,\n", row("product", name="Mug", base_price="x"))
    assert [p.line for p in file.products] == [2, 7]
    assert [str(p) for p in file.problems] == [
        "line 7: base_price: must be a whole number of minor units (2500 for 25.00), not 'x'"
    ]


def test_the_header_may_list_the_columns_in_any_order_with_a_byte_order_mark() -> None:
    header = "\ufeff" + ",".join(reversed(COLUMNS)).upper()
    cells = {"kind": "product", "name": "Mug", "base_price": "100"}
    line = ",".join(reversed([cells.get(column, "") for column in COLUMNS])) + "\n"
    (mug,) = csv_file(line, header=header).products
    assert (mug.name, mug.base_price) == ("Mug", 100)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("kind,name,base_price\nproduct,Mug,1\n", "lacks the columns id, slug, description"),
        (HEADER + ",price\n", "unknown columns 'price'"),
        (HEADER + ",name\n", "names name more than once"),
        (HEADER + '\nproduct,,,"Mug"x,,1,,,,,,,\n', "line 2: not readable as CSV"),
    ],
)
def test_a_file_that_is_not_a_catalog_csv_is_malformed(text: str, fragment: str) -> None:
    with pytest.raises(MalformedFile) as caught:
        read_catalog_csv(io.StringIO(text, newline=""))
    assert fragment in caught.value.message


def test_cell_problems_name_line_and_column() -> None:
    file = csv_file(
        row("media", url="https://x.example/a.png"),
        row("product", name="Tee", base_price="12.50", active="maybe", code="S"),
        row("option", code="S", label="Small"),
        row("option_set", name="Size"),
        row("option", code="M", label="Medium", price_delta="1,5"),
        row("widget"),
        "product,Mug\n",
        row("product", name="Mug"),
    )
    assert [str(p) for p in file.problems] == [
        "line 2: kind: a media row belongs to a product row above it",
        "line 3: code: a product row leaves code empty",
        "line 3: base_price: must be a whole number of minor units (2500 for 25.00), not '12.50'",
        "line 3: active: must be true or false, not 'maybe'",
        "line 4: kind: an option row belongs to an option_set row above it",
        "line 6: price_delta: must be a whole number of minor units (2500 for 25.00), not '1,5'",
        "line 7: kind: must be one of product, media, volume_tier, option_set, option",
        f"line 8: the row has 2 cells; the header has {len(COLUMNS)}",
        "line 9: base_price: is required",
    ]


# -- importing -------------------------------------------------------------------------------------


async def test_import_creates_products_and_option_sets(
    transfer: CatalogTransfer, store: MemoryStore, clock: ManualClock, changes: Changes
) -> None:
    done = await transfer.import_products(csv_file(TEE, TEE_MEDIA, SIZES, SMALL, XL, MUG))
    assert (done.created, done.updated, done.unchanged, done.option_sets_created) == (2, 0, 0, 1)
    products = {p.slug: p for p in store.products.values()}
    tee, mug = products["classic-tee"], products["mug"]
    assert (tee.name, tee.description, tee.base_price, tee.currency, tee.active) == (
        "Classic Tee",
        "Cotton",
        1900,
        "USD",
        True,
    )
    assert tee.media == (MediaItem("https://cdn.example.com/tee.png", "Front"),)
    assert tee.created_at == tee.updated_at == clock.now()
    assert (mug.currency, mug.active) == ("EUR", False)
    (sizes,) = store.option_sets.values()
    assert (sizes.product_id, sizes.name) == (tee.id, "Size")
    assert sizes.options == (Option("S", "Small", 0), Option("XL", "Extra large", 200))
    assert store.catalog_state["version"] == 2
    assert changes.count == 1


async def test_import_again_changes_nothing_and_commits_nothing(
    transfer: CatalogTransfer, store: MemoryStore, changes: Changes
) -> None:
    file = csv_file(TEE, TEE_MEDIA, SIZES, SMALL, MUG)
    await transfer.import_products(file)
    before = dict(store.products), dict(store.option_sets)
    done = await transfer.import_products(file)  # matched by slug, option sets by name
    assert (
        done.created,
        done.updated,
        done.unchanged,
        done.option_sets_created,
        done.option_sets_updated,
    ) == (
        0,
        0,
        2,
        0,
        0,
    )
    assert (store.products, store.option_sets) == before
    assert (store.catalog_state["version"], changes.count) == (2, 1)


async def test_rows_with_an_id_replace_that_product_and_option_set(
    transfer: CatalogTransfer, store: MemoryStore, clock: ManualClock
) -> None:
    await transfer.import_products(csv_file(TEE, SIZES, SMALL))
    (tee,) = store.products.values()
    (sizes,) = store.option_sets.values()
    clock.advance(minutes=5)
    done = await transfer.import_products(
        csv_file(
            row("product", id=tee.id, slug="tee", name="Renamed", base_price="2100"),
            row("option_set", id=sizes.id, name="Sizes"),
            row("option", code="M", label="Medium"),
        )
    )
    assert (done.updated, done.option_sets_updated) == (1, 1)
    renamed = store.products[tee.id]
    assert (renamed.slug, renamed.name, renamed.base_price, renamed.media) == ("tee", "Renamed", 2100, ())
    assert (renamed.created_at, renamed.updated_at) == (tee.created_at, clock.now())
    assert store.option_sets[sizes.id].options == (Option("M", "Medium"),)
    assert store.option_sets[sizes.id].created_at == sizes.created_at


async def test_a_new_product_keeps_the_id_the_file_gives_it(
    transfer: CatalogTransfer, store: MemoryStore
) -> None:
    product_id, set_id = IDS.new_id(), IDS.new_id()
    await transfer.import_products(
        csv_file(
            row("product", id=product_id, name="Mug", base_price="1"),
            row("option_set", id=set_id, name="Colour"),
            row("option", code="red", label="Red"),
        )
    )
    assert list(store.products) == [product_id]
    assert store.option_sets[set_id].product_id == product_id


async def test_slugs_may_change_hands_within_one_file(transfer: CatalogTransfer, store: MemoryStore) -> None:
    await transfer.import_products(csv_file(row("product", slug="a", name="A", base_price="1"), MUG))
    a = next(p for p in store.products.values() if p.slug == "a")
    mug = next(p for p in store.products.values() if p.slug == "mug")
    done = await transfer.import_products(
        csv_file(
            row("product", id=a.id, slug="mug", name="A", base_price="1"),
            row(
                "product", id=mug.id, slug="a", name="Mug", base_price="1200", currency="EUR", active="false"
            ),
            row("product", slug="b", name="B", base_price="1"),
        )
    )
    assert (done.created, done.updated) == (1, 2)
    assert {p.slug for p in store.products.values()} == {"a", "b", "mug"}
    assert store.products[a.id].slug == "mug"
    assert store.products[mug.id].slug == "a"


async def test_every_bad_row_is_reported_and_nothing_is_imported(
    transfer: CatalogTransfer, store: MemoryStore, changes: Changes
) -> None:
    await transfer.import_products(csv_file(MUG))
    (mug,) = store.products.values()
    before = dict(store.products), dict(store.option_sets), store.catalog_state["version"]
    file = csv_file(
        TEE,  # fine on its own: all or nothing
        row("product", name=" ", base_price="-5", currency="usd"),
        row("media", url="javascript:alert(1)", alt="x" * 301),
        row("product", slug="mug", name="Another mug", base_price="1"),
        row("product", id="not-a-uuid", name="Cup", base_price="1"),
        row("product", id=mug.id, name="Mug", slug="classic-tee", base_price="1"),
        row("option_set", name="Size"),
        row("option", code="S", label="Small"),
        row("option", code="S", label=""),
        row("option", code="bad code!", label="Bad", price_delta=str(MAX_AMOUNT + 1)),
        row("option_set", name="Size"),
        row("option_set", id=IDS.new_id(), name="Empty"),
    )
    with pytest.raises(ImportRejected) as caught:
        await transfer.import_products(file)
    assert lines_of(caught.value) == [
        "line 3: name: must be 1 to 200 characters",
        "line 3: base_price: is 0 to 1000000000000 minor units",
        "line 3: currency: 'usd' is not an ISO 4217 code",
        "line 4: url: a media url is http(s)://... or /path, without spaces, at most 2000 characters",
        "line 4: alt: is limited to 300 characters",
        "line 6: id: there is no product 'not-a-uuid'; a new product's id is a lower-case UUID "
        "(or leave id empty to have one made)",
        "line 7: id: this product is on line 5 already",
        "line 7: slug: line 2 has the slug 'classic-tee' too",
        "line 10: code: 'S' is used twice in this set",
        "line 10: label: must be 1 to 200 characters",
        "line 11: code: a code is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        "line 11: price_delta: is an integer of minor units",
        "line 12: name: line 8 names an option set 'Size' of this product too: give each its id",
        "line 12: options: an option set needs at least one option",
        "line 13: options: an option set needs at least one option",
    ]
    assert caught.value.message == "15 problems found; nothing was imported"
    assert (dict(store.products), dict(store.option_sets), store.catalog_state["version"]) == before
    assert changes.count == 1  # the first import's


def tier(min_quantity: str, discount_bps: str) -> str:
    return row("volume_tier", min_quantity=min_quantity, discount_bps=discount_bps)


async def test_volume_tiers_and_tax_classes_import_and_replace(
    transfer: CatalogTransfer, store: MemoryStore
) -> None:
    tiered = row("product", slug="tee", name="Tee", base_price="1900", tax_class="clothing")
    await transfer.import_products(csv_file(tiered, TEE_MEDIA, tier("10", "1500"), tier("50", "2500"), MUG))
    products = {p.slug: p for p in store.products.values()}
    assert (products["tee"].tax_class, products["tee"].volume_pricing) == (
        "clothing",
        (VolumeTier(10, 1500), VolumeTier(50, 2500)),
    )
    assert (products["mug"].tax_class, products["mug"].volume_pricing) == ("standard", ())
    # Matched rows replace the tiers as they do the media; an empty tax_class cell keeps the class.
    plain = row("product", slug="tee", name="Tee", base_price="1900")
    done = await transfer.import_products(csv_file(plain, tier("5", "500")))
    assert done.updated == 1
    tee = store.products[products["tee"].id]
    assert (tee.tax_class, tee.volume_pricing, tee.media) == ("clothing", (VolumeTier(5, 500),), ())
    await transfer.import_products(csv_file(plain))
    assert store.products[tee.id].volume_pricing == ()


async def test_a_file_from_before_tax_classes_and_tiers_keeps_them(
    transfer: CatalogTransfer, store: MemoryStore
) -> None:
    await transfer.import_products(
        csv_file(
            row("product", slug="tee", name="Tee", base_price="1900", tax_class="clothing"),
            tier("10", "1500"),
        )
    )
    (tee,) = store.products.values()
    older = [c for c in COLUMNS if c not in LATER_COLUMNS]
    header = ",".join(older)
    done = await transfer.import_products(
        csv_file("product,,tee,Tee shirt,,2000,,true,,,,,\n", "product,,cap,Cap,,900,,,,,,,\n", header=header)
    )
    assert (done.created, done.updated) == (1, 1)
    kept = store.products[tee.id]
    assert (kept.name, kept.base_price, kept.tax_class, kept.volume_pricing) == (
        "Tee shirt",
        2000,
        "clothing",
        (VolumeTier(10, 1500),),
    )
    cap = next(p for p in store.products.values() if p.slug == "cap")
    assert (cap.tax_class, cap.volume_pricing) == ("standard", ())
    # A tier without the columns for it, and half of a tier's columns, are refused.
    no_columns = csv_file("product,,mug,Mug,,900,,,,,,,\n", "volume_tier,,,,,,,,,,,,\n", header=header)
    assert [str(p) for p in no_columns.problems] == [
        "line 3: kind: a volume_tier row needs the min_quantity and discount_bps columns"
    ]
    with pytest.raises(MalformedFile) as caught:
        csv_file(header=header + ",min_quantity")
    assert "names min_quantity without discount_bps" in caught.value.message


async def test_bad_tiers_and_tax_classes_are_reported_on_their_lines(
    transfer: CatalogTransfer, store: MemoryStore
) -> None:
    file = csv_file(
        row("product", slug="tee", name="Tee", base_price="1900", tax_class="Clothing"),
        tier("10", "1500"),
        tier("ten", "1,5"),  # unreadable: reported as such, left out of the checks between tiers
        tier("5", "2000"),
        tier("20", "1000"),
        tier("100", "0"),
        tier("", ""),
        row("product", slug="mug", name="Mug", base_price="900"),
        row("volume_tier", min_quantity="30", discount_bps="500", code="S"),
    )
    with pytest.raises(ImportRejected) as caught:
        await transfer.import_products(file)
    assert lines_of(caught.value) == [
        "line 2: tax_class: a tax class is 1-32 lower-case letters, digits and '_', starting with a letter",
        "line 4: min_quantity: must be a whole number of units, not 'ten'",
        "line 4: discount_bps: must be a whole number of basis points (1500 for 15 %), not '1,5'",
        "line 5: min_quantity: tiers go from the smallest quantity up; an earlier one starts at 10",
        "line 6: discount_bps: a larger quantity takes off at least as much; "
        "an earlier tier takes off 2000 bps",
        "line 7: min_quantity: is a whole number from 2 to 99",
        "line 7: discount_bps: is a whole number of basis points from 1 to 10000",
        "line 8: min_quantity: is required",
        "line 8: discount_bps: is required",
        "line 10: code: a volume_tier row leaves code empty",
    ]
    assert store.products == {}


async def test_a_slug_held_by_a_product_outside_the_file_is_refused(
    transfer: CatalogTransfer, store: MemoryStore
) -> None:
    await transfer.import_products(csv_file(MUG))
    (mug,) = store.products.values()
    with pytest.raises(ImportRejected) as caught:
        await transfer.import_products(
            csv_file(row("product", id=IDS.new_id(), slug="mug", name="Cup", base_price="1"))
        )
    assert lines_of(caught.value) == [f"line 2: slug: product {mug.id} already uses the slug 'mug'"]


async def test_option_sets_are_never_moved_and_names_must_be_unambiguous(
    catalog: Catalog, transfer: CatalogTransfer, store: MemoryStore
) -> None:
    tee = await catalog.create_product(ProductInput("Tee", "", 100, slug="tee"))
    mug = await catalog.create_product(ProductInput("Mug", "", 100, slug="mug"))
    size = (Option("S", "Small"),)
    first = await catalog.create_option_set(OptionSetInput(tee.id, "Size", size))
    await catalog.create_option_set(OptionSetInput(tee.id, "Size", size))
    with pytest.raises(ImportRejected) as caught:
        await transfer.import_products(
            csv_file(
                row("product", slug="tee", name="Tee", base_price="100"),
                row("option_set", name="Size"),
                row("option", code="S", label="Small"),
                row("product", slug="mug", name="Mug", base_price="100"),
                row("option_set", id=first.id, name="Size"),
                row("option", code="S", label="Small"),
            )
        )
    assert lines_of(caught.value) == [
        "line 3: name: the product has 2 option sets named 'Size': give the id of the one this row replaces",
        f"line 6: id: option set {first.id} belongs to product {tee.id}; an import does not move option sets",
    ]
    assert mug.id not in {s.product_id for s in store.option_sets.values()}


async def test_export_then_import_into_an_empty_catalog_gives_the_same_file(
    catalog: Catalog, transfer: CatalogTransfer, clock: ManualClock
) -> None:
    tee = await catalog.create_product(
        ProductInput(
            'Classic Tee, "heavy"',
            'Two lines,\r\nquoted "words"; and a trailing space ',
            1900,
            media=(MediaItem("https://cdn.example.com/a.png", "Front, left"), MediaItem("/media/b.png")),
            tax_class="clothing",
            volume_pricing=(VolumeTier(10, 1500), VolumeTier(50, 2500)),
        )
    )
    await catalog.create_product(ProductInput("Mug", "", 0, active=False, currency="JPY"))
    await catalog.create_option_set(
        OptionSetInput(tee.id, "Size", (Option("S", "Small"), Option("XL", "XL", 200)))
    )
    await catalog.create_option_set(OptionSetInput(tee.id, "Extras", (Option("gift.box", "Gift box", -50),)))
    first = io.StringIO(newline="")
    exported = await transfer.export_products(first)
    assert (exported.products, exported.option_sets) == (2, 2)

    empty = MemoryStore()
    elsewhere = CatalogTransfer(partial(MemoryUnitOfWork, empty), ManualClock(), IDS, "EUR")
    done = await elsewhere.import_products(read_catalog_csv(io.StringIO(first.getvalue(), newline="")))
    assert (done.created, done.option_sets_created) == (2, 2)
    second = io.StringIO(newline="")
    await elsewhere.export_products(second)
    assert second.getvalue() == first.getvalue()
    assert first.getvalue().startswith(HEADER + "\r\n")
    assert ",clothing," in first.getvalue()
    assert "\r\nvolume_tier,,,,,,,,,,,,,,10,1500\r\nvolume_tier,,,,,,,,,,,,,,50,2500\r\n" in first.getvalue()
    (copied,) = [p for p in empty.products.values() if p.slug == tee.slug]
    assert (copied.tax_class, copied.volume_pricing) == (tee.tax_class, tee.volume_pricing)


# -- the CSV encoding, as a property ---------------------------------------------------------------

AT = datetime(2026, 1, 1, tzinfo=UTC)
# Text a database stores: any character but NUL and lone surrogates.
TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
NAMES = st.text(TEXT, min_size=1, max_size=NAME_MAX).filter(str.strip)
SLUGS = st.from_regex(r"\A[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,3}\Z")
CODES = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")
URLS = st.from_regex(r"\A(https?://|/)[!-~]{1,40}\Z")


#: Volume tiers as a product holds them: quantities ascending, discounts never smaller.
TIERS = st.lists(st.integers(2, 99), unique=True, max_size=4).flatmap(
    lambda quantities: st.lists(
        st.integers(1, 10_000), min_size=len(quantities), max_size=len(quantities)
    ).map(
        lambda discounts: tuple(
            VolumeTier(q, d) for q, d in zip(sorted(quantities), sorted(discounts), strict=True)
        )
    )
)


@st.composite
def option_sets(draw: st.DrawFn, product_id: str) -> OptionSet:
    codes = draw(st.lists(CODES, min_size=1, max_size=4, unique=True))
    options = tuple(
        Option(
            code,
            draw(st.text(TEXT, min_size=1, max_size=LABEL_MAX).filter(str.strip)),
            draw(st.integers(-MAX_AMOUNT, MAX_AMOUNT)),
        )
        for code in codes
    )
    return OptionSet(IDS.new_id(), product_id, draw(NAMES), options, AT, AT)


@st.composite
def products(draw: st.DrawFn) -> tuple[Product, list[OptionSet]]:
    product = Product(
        id=IDS.new_id(),
        slug=draw(SLUGS),
        name=draw(NAMES),
        description=draw(st.text(TEXT, max_size=DESCRIPTION_MAX // 20)),
        base_price=draw(st.integers(0, MAX_AMOUNT)),
        currency=draw(st.sampled_from(sorted(CURRENCIES))),
        media=tuple(
            MediaItem(url, draw(st.text(TEXT, max_size=30))) for url in draw(st.lists(URLS, max_size=3))
        ),
        active=draw(st.booleans()),
        created_at=AT,
        updated_at=AT,
        tax_class=draw(st.from_regex(TAX_CLASS_PATTERN, fullmatch=True)),
        volume_pricing=draw(TIERS),
    )
    return product, draw(st.lists(option_sets(product.id), max_size=3))


def as_read(product: Product, sets: list[OptionSet]) -> dict[str, Any]:
    return {
        "id": product.id,
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "base_price": product.base_price,
        "currency": product.currency,
        "active": product.active,
        "tax_class": product.tax_class,
        "media": [(m.url, m.alt) for m in product.media],
        "volume_pricing": [(t.min_quantity, t.discount_bps) for t in product.volume_pricing],
        "option_sets": [(s.id, s.name, [(o.code, o.label, o.price_delta) for o in s.options]) for s in sets],
    }


def read_back(rows: ProductRows) -> dict[str, Any]:
    return {
        "id": rows.id,
        "slug": rows.slug,
        "name": rows.name,
        "description": rows.description,
        "base_price": rows.base_price,
        "currency": rows.currency,
        "active": rows.active,
        "tax_class": rows.tax_class,
        "media": [(m.url, m.alt) for m in rows.media],
        "volume_pricing": [(t.min_quantity, t.discount_bps) for t in rows.volume_pricing or ()],
        "option_sets": [
            (s.id, s.name, [(o.code, o.label, o.price_delta) for o in s.options]) for s in rows.option_sets
        ],
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(products(), max_size=4))
def test_every_product_reads_back_as_written(catalog: list[tuple[Product, list[OptionSet]]]) -> None:
    out = io.StringIO(newline="")
    writer = CatalogCsvWriter(out)
    for product, sets in catalog:
        writer.write(product, sets)
    file = read_catalog_csv(io.StringIO(out.getvalue(), newline=""))
    assert file.problems == ()
    assert [read_back(rows) for rows in file.products] == [as_read(p, sets) for p, sets in catalog]


# -- templates -------------------------------------------------------------------------------------


def definition(option_set_id: str | None = None) -> dict[str, Any]:
    zones: list[dict[str, Any]] = [
        {"id": "line", "type": "text", "area": {"x": 0, "y": 0, "width": 50, "height": 10}}
    ]
    if option_set_id:
        zones.append({"id": "size", "type": "option", "option_set_id": option_set_id})
    return {"canvas": {"width": 100, "height": 100}, "zones": zones}


def test_a_templates_file_holds_an_object_or_a_list() -> None:
    assert read_templates_json('{"version": 1}') == [{"version": 1}]
    assert read_templates_json("[1, 2]") == [1, 2]
    for text, fragment in (
        ("{", "not JSON"),
        ('"x"', "a JSON string"),
        ("3", "a JSON number"),
        ("null", "null"),
    ):
        with pytest.raises(MalformedFile) as caught:
            read_templates_json(text)
        assert fragment in caught.value.message


async def test_templates_import_one_and_many(
    catalog: Catalog, transfer: CatalogTransfer, store: MemoryStore, changes: Changes
) -> None:
    tee = await catalog.create_product(ProductInput("Tee", "", 100, slug="tee"))
    mug = await catalog.create_product(ProductInput("Mug", "", 100, slug="mug"))
    sizes = await catalog.create_option_set(OptionSetInput(tee.id, "Size", (Option("S", "Small"),)))

    (first,) = await transfer.import_templates(
        [{"product_id": tee.id, "version": 1, "definition": definition()}]
    )
    assert first.is_default and first.version == 1
    created = await transfer.import_templates(
        [
            {"product_slug": "tee", "version": 2, "definition": definition(sizes.id), "is_default": None},
            {"product_slug": "mug", "version": 1, "definition": definition()},
            {"product_slug": "mug", "version": 2, "definition": definition(), "is_default": False},
            {"product_id": tee.id, "version": 3, "definition": definition(), "is_default": True},
        ]
    )
    assert [(t.product_id, t.version, t.is_default) for t in created] == [
        (tee.id, 2, False),
        (mug.id, 1, True),
        (mug.id, 2, False),
        (tee.id, 3, True),
    ]
    defaults = {(t.product_id, t.version) for t in store.templates.values() if t.is_default}
    assert defaults == {(tee.id, 3), (mug.id, 1)}
    assert changes.count == 2


async def test_templates_import_takes_per_character_prices(
    catalog: Catalog, transfer: CatalogTransfer, store: MemoryStore
) -> None:
    await catalog.create_product(ProductInput("Tee", "", 100, slug="tee"))
    priced = definition()
    priced["zones"][0] |= {"price_per_character": 40, "free_characters": 3}
    (template,) = await transfer.import_templates(
        [{"product_slug": "tee", "version": 1, "definition": priced}]
    )
    (zone,) = template.definition.to_dict()["zones"]
    assert (zone["price_per_character"], zone["free_characters"]) == (40, 3)
    broken = definition()
    broken["zones"][0] |= {"price_per_character": -40, "free_characters": 1001}
    with pytest.raises(ImportRejected) as caught:
        await transfer.import_templates([{"product_slug": "tee", "version": 2, "definition": broken}])
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("definition.zones[0].price_per_character", "out_of_range"),
        ("definition.zones[0].free_characters", "out_of_range"),
    ]


async def test_a_bad_templates_file_imports_nothing(
    catalog: Catalog, transfer: CatalogTransfer, store: MemoryStore, changes: Changes
) -> None:
    tee = await catalog.create_product(ProductInput("Tee", "", 100, slug="tee"))
    mug = await catalog.create_product(ProductInput("Mug", "", 100, slug="mug"))
    mug_sizes = await catalog.create_option_set(OptionSetInput(mug.id, "Size", (Option("S", "Small"),)))
    await catalog.create_template(TemplateInput(tee.id, 1, definition()))
    before = dict(store.templates), store.catalog_state["version"]
    bad_zone = definition()
    bad_zone["zones"][0]["fonts"] = ["Comic"]
    with pytest.raises(ImportRejected) as caught:
        await transfer.import_templates(
            [
                {"product_slug": "mug", "version": 1, "definition": definition()},  # fine on its own
                {"product_slug": "tee", "version": 1, "definition": definition()},
                {"product_id": tee.id, "version": 2, "definition": definition(mug_sizes.id)},
                "a template",
                {"product_id": "nope", "version": 0, "definition": definition(mug_sizes.id), "extra": 1},
                {"product_slug": "mug", "product_id": mug.id, "version": True, "is_default": "yes"},
                {"product_slug": "mug", "version": 1, "definition": bad_zone},
            ]
        )
    assert lines_of(caught.value) == [
        f"templates[1]: version: product {tee.id} has a version 1 already",
        f"templates[2]: definition.zones[1].option_set_id: zone 'size': option set '{mug_sizes.id}' "
        "belongs to another product",
        "templates[3]: a template is an object: {product_id or product_slug, version, definition}",
        "templates[4]: extra: 'extra' is not a field of a template",
        "templates[4]: product_id: there is no product 'nope'",
        "templates[4]: version: must be between 1 and 1000000",
        "templates[5]: product_id: a template names its product by product_id or by product_slug",
        "templates[5]: version: must be a whole number",
        "templates[5]: is_default: must be true, false or null",
        "templates[5]: definition: is required",
        "templates[6]: version: templates[0] is this version too",
        "templates[6]: definition.zones[0].fonts: zone 'line': font 'Comic' is not one of Serif, Sans, Mono",
    ]
    assert (dict(store.templates), store.catalog_state["version"]) == before
    assert changes.count == 0


async def test_templates_import_takes_each_versions_status(
    catalog: Catalog, transfer: CatalogTransfer, store: MemoryStore
) -> None:
    tee = await catalog.create_product(ProductInput("Tee", "", 100, slug="tee"))
    created = await transfer.import_templates(
        [
            {"product_slug": "tee", "version": 1, "definition": definition(), "status": "draft"},
            {"product_slug": "tee", "version": 2, "definition": definition(), "status": "retired"},
            {"product_slug": "tee", "version": 3, "definition": definition()},
            {"product_slug": "tee", "version": 4, "definition": definition(), "status": "published"},
        ]
    )
    # The first published version, not the first version, becomes the default.
    assert [(t.version, t.status, t.is_default) for t in created] == [
        (1, "draft", False),
        (2, "retired", False),
        (3, "published", True),
        (4, "published", False),
    ]
    assert {t.version: t.status for t in store.templates.values()} == {
        1: "draft",
        2: "retired",
        3: "published",
        4: "published",
    }
    with pytest.raises(ImportRejected) as caught:
        await transfer.import_templates(
            [
                {"product_id": tee.id, "version": 5, "definition": definition(), "status": "archived"},
                {"product_id": tee.id, "version": 6, "definition": definition(), "status": 1},
                {
                    "product_id": tee.id,
                    "version": 7,
                    "definition": definition(),
                    "status": "draft",
                    "is_default": True,
                },
            ]
        )
    assert lines_of(caught.value) == [
        "templates[0]: status: must be one of draft, published, retired",
        "templates[1]: status: must be one of draft, published, retired",
        "templates[2]: is_default: a draft version cannot be the default; only a published one can",
    ]
