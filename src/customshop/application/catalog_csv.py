"""The catalog CSV: reading its rows (each checked as a cell of its column) and writing them, and
the problems an import file can have.

**The catalog CSV** has one row per thing, its ``kind`` column saying which:

* ``product``: a product's fields (``id, slug, name, description, base_price, currency, active,
  tax_class``);
* ``media``: one media item (``url, alt``) of the nearest product row above it;
* ``volume_tier``: one volume tier (``min_quantity, discount_bps``) of the nearest product row above
  it, in the product's order (smallest quantity first);
* ``option_set``: an option set (``id, name``) of the nearest product row above it;
* ``option``: one option (``code, label, price_delta``) of the nearest option set row above it.

The header names all of :data:`COLUMNS`, in any order; a row fills only its kind's cells. Files
written before products had a tax class and volume pricing may leave out :data:`LATER_COLUMNS`:
``tax_class``, or ``min_quantity`` and ``discount_bps`` together. Their products then keep what is
stored (new ones get the defaults), as an empty ``tax_class`` or ``currency`` cell does. Product and
option-set rows are matched to the stored catalog by ``id``; a product row without one by its slug
(given, or made from the name), an option-set row without one by its name among the product's sets.
Matched rows replace what is stored (their media and, when the file has its columns, their volume
tiers included); the others are created (with the given id, which must then be a UUID, or a new
one). Nothing is ever deleted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter
from typing import IO

from customshop.domain.catalog import OptionSet, Product
from customshop.domain.errors import DomainError, InvalidInput, Violation

#: The columns of the catalog CSV, in the order an export writes them.
COLUMNS: tuple[str, ...] = (
    "kind",
    "id",
    "slug",
    "name",
    "description",
    "base_price",
    "currency",
    "active",
    "tax_class",
    "url",
    "alt",
    "code",
    "label",
    "price_delta",
    "min_quantity",
    "discount_bps",
)
#: Columns a header may leave out: files from before products had a tax class and volume tiers.
#: The two columns of a tier come together or not at all.
LATER_COLUMNS: tuple[str, ...] = ("tax_class", "min_quantity", "discount_bps")
_TIER_COLUMNS = ("min_quantity", "discount_bps")

_INTEGER_RE = re.compile(r"^[+-]?[0-9]{1,30}$")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class RowKind(StrEnum):
    PRODUCT = "product"
    MEDIA = "media"
    VOLUME_TIER = "volume_tier"
    OPTION_SET = "option_set"
    OPTION = "option"


#: The cells each kind of row fills (``kind`` aside); the others stay empty.
CELLS: dict[RowKind, tuple[str, ...]] = {
    RowKind.PRODUCT: ("id", "slug", "name", "description", "base_price", "currency", "active", "tax_class"),
    RowKind.MEDIA: ("url", "alt"),
    RowKind.VOLUME_TIER: _TIER_COLUMNS,
    RowKind.OPTION_SET: ("id", "name"),
    RowKind.OPTION: ("code", "label", "price_delta"),
}

# -- problems --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule in an import file.

    Attributes:
        where: ``line 7`` (CSV, the line the row starts on; the header is line 1) or ``templates[2]``
            (JSON, the template's index from 0).
        field: the column, or the path inside the template (``definition.zones[0].fonts``); empty
            when the problem is the whole row or template.
        code: a stable machine-readable reason, as in ``Violation``.
        message: a sentence for people.
        position: the line or index, to list problems in file order.
    """

    where: str
    field: str
    code: str
    message: str
    position: int

    def __str__(self) -> str:
        """``line 7: base_price: must be ...``: the message without the field name it may start with."""
        if not self.field:
            return f"{self.where}: {self.message}"
        return f"{self.where}: {self.field}: {self.message.removeprefix(self.field + ' ')}"


def at_line(line: int, field_name: str, code: str, message: str) -> Problem:
    return Problem(f"line {line}", field_name, code, message, line)


class MalformedFile(DomainError):
    """The file cannot be read in its format at all: not CSV or JSON, or a CSV header that lacks
    columns or names unknown ones. Nothing was stored."""


class ImportRejected(InvalidInput):
    """Rows or templates of the file break rules; ``problems`` lists every one in file order.
    Nothing was stored."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.position))
        count = len(self.problems)
        super().__init__(
            [
                Violation(f"{p.where}: {p.field}" if p.field else p.where, p.code, p.message)
                for p in self.problems
            ],
            f"{count} problem{'' if count == 1 else 's'} found; nothing was imported",
        )


# -- reading and writing the CSV -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaRow:
    line: int
    url: str
    alt: str


@dataclass(frozen=True, slots=True)
class TierRow:
    line: int
    min_quantity: int
    discount_bps: int


@dataclass(frozen=True, slots=True)
class OptionRow:
    line: int
    code: str
    label: str
    price_delta: int


@dataclass(slots=True)
class OptionSetRows:
    """An ``option_set`` row and the ``option`` rows under it."""

    line: int
    id: str | None
    name: str
    options: list[OptionRow] = field(default_factory=list)


@dataclass(slots=True)
class ProductRows:
    """A ``product`` row and the ``media``, ``volume_tier`` and ``option_set`` rows under it.
    ``None`` stands for an empty optional cell, or a column the file does not have (``tax_class``;
    ``volume_pricing`` is None only then); a cell that could not be read holds a harmless stand-in
    (its problem is recorded in :class:`CatalogFile`)."""

    line: int
    id: str | None
    slug: str | None
    name: str
    description: str
    base_price: int
    currency: str | None
    active: bool
    tax_class: str | None = None
    media: list[MediaRow] = field(default_factory=list)
    volume_pricing: list[TierRow] | None = None
    option_sets: list[OptionSetRows] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CatalogFile:
    """A catalog CSV read row by row: the products it describes, and the problems found in its cells.
    The checks that need the stored catalog come at import."""

    products: tuple[ProductRows, ...]
    problems: tuple[Problem, ...]


class _Layout:
    """Where each column sits in this file's rows, worked out once from the header."""

    def __init__(self, header: list[str]) -> None:
        names = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header]
        faults: list[str] = []
        missing = [c for c in COLUMNS if c not in names and c not in LATER_COLUMNS]
        if missing:
            faults.append(f"lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        tier_columns = [c for c in _TIER_COLUMNS if c in names]
        if len(tier_columns) == 1:
            other = next(c for c in _TIER_COLUMNS if c not in names)
            faults.append(f"names {tier_columns[0]} without {other} (a volume tier needs both)")
        unknown = sorted({n for n in names if n not in COLUMNS})
        if unknown:
            faults.append(f"names unknown columns {', '.join(repr(n) for n in unknown)}")
        repeated = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
        if repeated:
            faults.append(f"names {', '.join(repeated)} more than once")
        if faults:
            raise MalformedFile(
                f"the header row {'; '.join(faults)} (the columns are {', '.join(COLUMNS)}, in any order)"
            )
        self.width = len(names)
        #: Where each column of the file sits (those of :data:`LATER_COLUMNS` it has not are absent).
        self.at = {name: names.index(name) for name in COLUMNS if name in names}
        self.tax_class = "tax_class" in self.at
        self.tiers = len(tier_columns) == len(_TIER_COLUMNS)
        #: Per kind, the columns its rows leave empty, and a getter of those cells all at once.
        self.unused = {
            kind: [(c, i) for c, i in self.at.items() if c != "kind" and c not in CELLS[kind]]
            for kind in RowKind
        }
        self.unused_cells = {kind: itemgetter(*(i for _, i in self.unused[kind])) for kind in RowKind}


class _Row:
    """Reads the cells of one row, recording a problem for each it cannot read."""

    __slots__ = ("at", "cells", "line", "problems")

    def __init__(self, line: int, cells: list[str], at: dict[str, int], problems: list[Problem]) -> None:
        self.line = line
        self.cells = cells
        self.at = at
        self.problems = problems

    def text(self, column: str) -> str:
        """Free text, kept exactly as written (spaces included)."""
        return self.cells[self.at[column]]

    def key(self, column: str) -> str | None:
        """An identifier or code: surrounding spaces dropped; ``None`` when empty."""
        return self.cells[self.at[column]].strip() or None

    def integer(
        self, column: str, required: bool, what: str = "a whole number of minor units (2500 for 25.00)"
    ) -> int | None:
        """The cell's whole number; ``None`` when it is empty or unreadable (the latter, and an empty
        required cell, recorded as problems)."""
        value = self.cells[self.at[column]].strip()
        if not value:
            if required:
                self.problems.append(at_line(self.line, column, "required", f"{column} is required"))
            return None
        if not _INTEGER_RE.fullmatch(value):
            self.problems.append(
                at_line(self.line, column, "invalid_type", f"{column} must be {what}, not {value!r}")
            )
            return None
        return int(value)

    def boolean(self, column: str, default: bool) -> bool:
        value = self.cells[self.at[column]].strip().lower()
        if not value:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.problems.append(
            at_line(self.line, column, "invalid_type", f"{column} must be true or false, not {value!r}")
        )
        return default


_KINDS = {kind.value: kind for kind in RowKind}


def read_catalog_csv(lines: Iterable[str]) -> CatalogFile:
    """Read a catalog CSV from its text lines (a file opened with ``newline=""``).

    Problems of single rows (a bad number, a cell its kind leaves empty, an option without an option
    set above it) are collected, not raised. Decoding errors of ``lines`` propagate.

    Raises:
        MalformedFile: an empty file, a header without every column of :data:`COLUMNS` or with
            others, or text the CSV reader cannot split (stray quotes, a NUL character, a field over
            128 KiB).
    """
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise MalformedFile(f"the file is empty: the first row names the columns {', '.join(COLUMNS)}")
        layout = _Layout(header)
        products: list[ProductRows] = []
        problems: list[Problem] = []
        option_set: OptionSetRows | None = None
        end = reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not "".join(cells).strip():
                continue  # blank lines and rows of empty cells, as spreadsheets leave them
            if len(cells) != layout.width:
                problems.append(
                    at_line(
                        line,
                        "",
                        "wrong_cells",
                        f"the row has {len(cells)} cells; the header has {layout.width}",
                    )
                )
                continue
            option_set = _read_row(_Row(line, cells, layout.at, problems), layout, products, option_set)
    except csv.Error as exc:
        raise MalformedFile(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    return CatalogFile(tuple(products), tuple(problems))


def _read_row(
    row: _Row, layout: _Layout, products: list[ProductRows], option_set: OptionSetRows | None
) -> OptionSetRows | None:
    """Add one row to ``products``; returns the option set that ``option`` rows now belong to."""
    line, problems = row.line, row.problems
    kind = _KINDS.get(row.cells[layout.at["kind"]].strip().lower())
    if kind is None:
        kinds = ", ".join(k.value for k in RowKind)
        problems.append(at_line(line, "kind", "invalid_choice", f"kind must be one of {kinds}"))
        return option_set
    if "".join(layout.unused_cells[kind](row.cells)).strip():
        for column, index in layout.unused[kind]:
            if row.cells[index].strip():
                problems.append(
                    at_line(line, column, "not_allowed", f"a {kind.value} row leaves {column} empty")
                )
    if kind is RowKind.PRODUCT:
        products.append(
            ProductRows(
                line=line,
                id=row.key("id"),
                slug=row.key("slug"),
                name=row.text("name"),
                description=row.text("description"),
                base_price=row.integer("base_price", required=True) or 0,
                currency=row.key("currency"),
                active=row.boolean("active", default=True),
                tax_class=row.key("tax_class") if layout.tax_class else None,
                volume_pricing=[] if layout.tiers else None,
            )
        )
        return None
    if not products:
        problems.append(
            at_line(line, "kind", "no_parent", f"a {kind.value} row belongs to a product row above it")
        )
        return option_set
    product = products[-1]
    if kind is RowKind.MEDIA:
        product.media.append(MediaRow(line, row.key("url") or "", row.text("alt")))
        return option_set
    if kind is RowKind.VOLUME_TIER:
        if product.volume_pricing is None:
            problems.append(
                at_line(
                    line,
                    "kind",
                    "no_columns",
                    "a volume_tier row needs the min_quantity and discount_bps columns",
                )
            )
            return option_set
        quantity = row.integer("min_quantity", True, "a whole number of units")
        discount = row.integer("discount_bps", True, "a whole number of basis points (1500 for 15 %)")
        if quantity is not None and discount is not None:  # an unreadable tier is left out of the checks
            product.volume_pricing.append(TierRow(line, quantity, discount))
        return option_set
    if kind is RowKind.OPTION_SET:
        option_set = OptionSetRows(line, row.key("id"), row.text("name"))
        product.option_sets.append(option_set)
        return option_set
    if option_set is None:
        problems.append(
            at_line(line, "kind", "no_parent", "an option row belongs to an option_set row above it")
        )
        return None
    option_set.options.append(
        OptionRow(line, row.key("code") or "", row.text("label"), row.integer("price_delta", False) or 0)
    )
    return option_set


class CatalogCsvWriter:
    """Writes the catalog CSV: the header row at once, then each product with its media and option
    sets (RFC 4180: ``\\r\\n`` line ends, cells quoted only when they must be)."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")
        self._writer.writerow(COLUMNS)

    def write(self, product: Product, option_sets: Iterable[OptionSet]) -> None:
        """Write the product's rows; ``option_sets`` in the order they are to appear."""
        self._writer.writerows(catalog_rows(product, option_sets))


def _row(kind: RowKind, **cells: str) -> list[str]:
    return [kind.value if column == "kind" else cells.get(column, "") for column in COLUMNS]


def catalog_rows(product: Product, option_sets: Iterable[OptionSet]) -> Iterator[list[str]]:
    """The CSV rows of a product: its own, one per media item, one per volume tier, then each option
    set followed by its options. Cells in :data:`COLUMNS` order."""
    yield _row(
        RowKind.PRODUCT,
        id=product.id,
        slug=product.slug,
        name=product.name,
        description=product.description,
        base_price=str(product.base_price),
        currency=product.currency,
        active="true" if product.active else "false",
        tax_class=product.tax_class,
    )
    for item in product.media:
        yield _row(RowKind.MEDIA, url=item.url, alt=item.alt)
    for tier in product.volume_pricing:
        yield _row(
            RowKind.VOLUME_TIER, min_quantity=str(tier.min_quantity), discount_bps=str(tier.discount_bps)
        )
    for option_set in option_sets:
        yield _row(RowKind.OPTION_SET, id=option_set.id, name=option_set.name)
        for option in option_set.options:
            yield _row(
                RowKind.OPTION, code=option.code, label=option.label, price_delta=str(option.price_delta)
            )
