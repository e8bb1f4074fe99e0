"""Bulk import and export of the catalog: products with their media and option sets as CSV, template
versions as JSON (``customshop products import|export``, ``customshop templates import``). The CSV
format itself, its rows and their problems are ``catalog_csv.py``'s.

**A templates file** holds one template object ``{product_id | product_slug, version, definition,
is_default?, status?}`` (``status``: ``draft``, ``published``, the default, or ``retired``) or a list
of them.

An import is all or nothing. Every row (template) is checked against the domain's rules and the
stored catalog before anything is written, every problem is reported with its line (template index)
and field, and only a file without any is written: in one transaction, which also bumps the
catalog's version stamp so that every serving process drops its cached catalog, as for any catalog
write (see ``Catalog``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, TypeVar

from customshop.application.catalog import default_problems, referenced_option_sets
from customshop.application.catalog_csv import (
    CatalogCsvWriter,
    CatalogFile,
    ImportRejected,
    MalformedFile,
    MediaRow,
    OptionRow,
    Problem,
    ProductRows,
    TierRow,
    at_line,
)
from customshop.application.ports import (
    BulkCatalogRepository,
    BulkCatalogUnitOfWork,
    BulkCatalogUnitOfWorkFactory,
    Clock,
    IdGenerator,
    Progress,
)
from customshop.domain.catalog import (
    MediaItem,
    Option,
    OptionSet,
    Product,
    VolumeTier,
    check_media,
    slugify,
)
from customshop.domain.errors import (
    InvalidOptionSet,
    InvalidProduct,
    Violation,
)
from customshop.domain.regions import STANDARD_TAX_CLASS
from customshop.domain.template_parsing import check_definition
from customshop.domain.templates import (
    VERSION_MAX,
    Template,
    TemplateDefinition,
    TemplateStatus,
    can_be_default,
)

T = TypeVar("T")

#: Template versions are numbered 1 to this, as through the HTTP API.
TEMPLATE_VERSION_MAX = VERSION_MAX
#: Objects per write statement (and per step of the progress shown while writing).
WRITE_BATCH = 5_000

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ITEM_FIELD = re.compile(r"^(media|volume_pricing|options)\[(\d+)\]\.(\w+)$")
_STATUSES = tuple(status.value for status in TemplateStatus)
_TEMPLATE_KEYS = frozenset({"product_id", "product_slug", "version", "definition", "is_default", "status"})


class _Silent:
    def start(self, stage: str, total: int | None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass


#: Progress that nobody watches.
SILENT: Progress = _Silent()


# -- reading the templates file --------------------------------------------------------------------


def read_templates_json(text: str) -> list[Any]:
    """The template objects of a templates file: one object, or a list of them (checked at import).

    Raises:
        MalformedFile: not JSON, or JSON that is neither an object nor a list.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedFile(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise MalformedFile("not JSON that can be read: nested too deeply") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    kind = {str: "string", bool: "boolean", int: "number", float: "number"}.get(type(data), "null")
    raise MalformedFile(f"the file holds a JSON {kind}: expected one template object or a list of them")


# -- the use cases ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductImport:
    """What an import of products did."""

    created: int
    updated: int
    unchanged: int
    option_sets_created: int
    option_sets_updated: int


@dataclass(frozen=True, slots=True)
class ProductExport:
    products: int
    option_sets: int


@dataclass(slots=True)
class _Plan:
    """What an import will write. ``stored`` holds the ids of the file's products that exist
    already, ``moved`` those of updated products whose slug changes."""

    stored: set[str] = field(default_factory=set)

    new_products: list[Product] = field(default_factory=list)
    changed_products: list[Product] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    unchanged: int = 0
    new_sets: list[OptionSet] = field(default_factory=list)
    changed_sets: list[OptionSet] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return (
            len(self.new_products) + len(self.changed_products) + len(self.new_sets) + len(self.changed_sets)
        )


@dataclass(frozen=True, slots=True)
class _TemplateEntry:
    product_id: str
    version: int
    definition: TemplateDefinition
    is_default: bool | None
    status: TemplateStatus


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _same_product(a: Product, b: Product) -> bool:
    return (
        a.slug,
        a.name,
        a.description,
        a.base_price,
        a.currency,
        a.media,
        a.active,
        a.tax_class,
        a.volume_pricing,
    ) == (
        b.slug,
        b.name,
        b.description,
        b.base_price,
        b.currency,
        b.media,
        b.active,
        b.tax_class,
        b.volume_pricing,
    )


ItemRows = Sequence[MediaRow] | Sequence[TierRow] | Sequence[OptionRow]


def _item_problem(owner_line: int, items: Mapping[str, ItemRows], v: Violation) -> Problem:
    """A violation of ``media[i].url``, ``volume_pricing[i].min_quantity`` or ``options[i].code``
    placed on the line of item ``i`` of ``items[name]``; any other on the owner's line."""
    match = _ITEM_FIELD.fullmatch(v.field)
    rows = items.get(match[1], ()) if match is not None else ()
    if match is not None and int(match[2]) < len(rows):
        return at_line(rows[int(match[2])].line, match[3], v.code, v.message)
    return at_line(owner_line, v.field, v.code, v.message)


class CatalogTransfer:
    """Imports and exports of the catalog in bulk.

    An import checks everything before it writes anything, then writes in batches in one unit of
    work, bumping the catalog's version stamp in the same transaction and calling ``on_change`` after
    the commit, as every catalog write does (see ``Catalog``). An import that changes nothing
    commits nothing.
    """

    def __init__(
        self,
        uow: BulkCatalogUnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        default_currency: str,
        on_change: Callable[[], None] | None = None,
        batch_size: int = WRITE_BATCH,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._currency = default_currency
        self._on_change = on_change
        self._batch = batch_size

    async def _commit(self, uow: BulkCatalogUnitOfWork) -> None:
        await uow.catalog_version.bump()
        await uow.commit()
        if self._on_change is not None:
            self._on_change()

    # -- products ----------------------------------------------------------------------------------

    async def import_products(self, file: CatalogFile, progress: Progress = SILENT) -> ProductImport:
        """Create or replace the products and option sets of ``file``, all or nothing.

        Raises:
            ImportRejected: every problem of the file, those of its cells included (nothing stored).
            DuplicateSlug, Conflict: a concurrent writer changed the catalog meanwhile (nothing stored).
        """
        problems = list(file.problems)
        async with self._uow() as uow:
            plan = _Plan()
            product_ids = await self._plan_products(uow.bulk_catalog, file.products, plan, problems, progress)
            await self._plan_option_sets(
                uow.bulk_catalog, file.products, product_ids, plan, problems, progress
            )
            if problems:
                raise ImportRejected(problems)
            if plan.writes:
                await self._write(uow.bulk_catalog, plan, progress)
                await self._commit(uow)
        return ProductImport(
            created=len(plan.new_products),
            updated=len(plan.changed_products),
            unchanged=plan.unchanged,
            option_sets_created=len(plan.new_sets),
            option_sets_updated=len(plan.changed_sets),
        )

    async def _plan_products(
        self,
        bulk: BulkCatalogRepository,
        rows: Sequence[ProductRows],
        plan: _Plan,
        problems: list[Problem],
        progress: Progress,
    ) -> list[str]:
        """Check the product rows against the rules and the stored catalog; returns each row's
        product id (stored or new)."""
        progress.start("Checking products", len(rows))
        now = self._clock.now()
        by_id = {p.id: p for p in await bulk.products_with_ids(r.id for r in rows if r.id)}
        # A row's slug: given, or made from its name (kept for a stored product found by id).
        slugs = [r.slug or slugify(r.name) for r in rows]
        by_slug = {p.slug: p for p in await bulk.products_with_slugs(slugs)}
        first_line: dict[str, int] = {}
        product_ids: list[str] = []
        built: list[tuple[ProductRows, Product]] = []
        for row, slug in zip(rows, slugs, strict=True):
            current = by_id.get(row.id) if row.id else by_slug.get(slug)
            product_id = row.id or (current.id if current else self._ids.new_id())
            product_ids.append(product_id)
            if current is not None:
                plan.stored.add(current.id)
            if current is None and row.id and not _UUID_RE.fullmatch(row.id):
                problems.append(
                    at_line(
                        row.line,
                        "id",
                        "not_found",
                        f"there is no product {row.id!r}; a new product's id is a lower-case UUID "
                        "(or leave id empty to have one made)",
                    )
                )
            if product_id in first_line:
                problems.append(
                    at_line(
                        row.line,
                        "id",
                        "duplicate",
                        f"this product is on line {first_line[product_id]} already",
                    )
                )
            first_line.setdefault(product_id, row.line)
            product = self._product(
                row, product_id, row.slug or (current.slug if current else slug), current, now, problems
            )
            if product is not None:
                built.append((row, product))
                if current is None:
                    plan.new_products.append(product)
                elif _same_product(current, product):
                    plan.unchanged += 1
                else:
                    plan.changed_products.append(product)
                    if current.slug != product.slug:
                        plan.moved.append(product.id)
            progress.advance()
        self._check_slugs(built, by_slug, set(first_line), problems)
        return product_ids

    def _product(
        self,
        row: ProductRows,
        product_id: str,
        slug: str,
        current: Product | None,
        now: datetime,
        problems: list[Problem],
    ) -> Product | None:
        media = tuple(MediaItem(m.url, m.alt) for m in row.media)
        items: dict[str, ItemRows] = {"media": row.media, "volume_pricing": row.volume_pricing or []}
        found = [_item_problem(row.line, items, v) for v in check_media(media)]
        # A column the file lacks, or an empty tax_class cell, keeps what is stored.
        if row.volume_pricing is not None:
            tiers = tuple(VolumeTier(t.min_quantity, t.discount_bps) for t in row.volume_pricing)
        else:
            tiers = current.volume_pricing if current else ()
        try:
            product = Product(
                id=product_id,
                slug=slug,
                name=row.name,
                description=row.description,
                base_price=row.base_price,
                currency=row.currency or (current.currency if current else self._currency),
                media=media,
                active=row.active,
                created_at=current.created_at if current else now,
                updated_at=now,
                tax_class=row.tax_class or (current.tax_class if current else STANDARD_TAX_CLASS),
                volume_pricing=tiers,
            )
        except InvalidProduct as exc:
            found += [_item_problem(row.line, items, v) for v in exc.violations]
            product = None
        problems.extend(found)
        return None if found else product

    @staticmethod
    def _check_slugs(
        built: list[tuple[ProductRows, Product]],
        by_slug: Mapping[str, Product],
        in_file: set[str],
        problems: list[Problem],
    ) -> None:
        """Each slug on one product once the file is written: neither two rows nor a row and a stored
        product the file leaves alone may share one."""
        first_line: dict[str, int] = {}
        for row, product in built:
            slug = product.slug
            holder = by_slug.get(slug)
            if slug in first_line:
                problems.append(
                    at_line(
                        row.line, "slug", "duplicate", f"line {first_line[slug]} has the slug {slug!r} too"
                    )
                )
            elif holder is not None and holder.id != product.id and holder.id not in in_file:
                problems.append(
                    at_line(
                        row.line, "slug", "duplicate", f"product {holder.id} already uses the slug {slug!r}"
                    )
                )
            first_line.setdefault(slug, row.line)

    async def _plan_option_sets(
        self,
        bulk: BulkCatalogRepository,
        rows: Sequence[ProductRows],
        product_ids: Sequence[str],
        plan: _Plan,
        problems: list[Problem],
        progress: Progress,
    ) -> None:
        pairs = [(pid, s) for pid, row in zip(product_ids, rows, strict=True) for s in row.option_sets]
        progress.start("Checking option sets", len(pairs))
        if not pairs:
            return
        now = self._clock.now()
        by_id = {s.id: s for s in await bulk.option_sets_with_ids(s.id for _, s in pairs if s.id)}
        named: dict[str, list[OptionSet]] = {}
        # Rows without an id are found by name among the sets of stored products only.
        unnamed = {pid for pid, s in pairs if s.id is None and pid in plan.stored}
        for stored in await bulk.option_sets_of_products(unnamed):
            named.setdefault(stored.product_id, []).append(stored)
        first_line: dict[str, int] = {}
        name_line: dict[tuple[str, str], int] = {}
        for product_id, rows_of_set in pairs:
            line = rows_of_set.line
            current: OptionSet | None
            if rows_of_set.id:
                set_id = rows_of_set.id
                current = by_id.get(set_id)
                if current is not None and current.product_id != product_id:
                    problems.append(
                        at_line(
                            line,
                            "id",
                            "wrong_product",
                            f"option set {set_id} belongs to product {current.product_id}; an import "
                            "does not move option sets",
                        )
                    )
                elif current is None and not _UUID_RE.fullmatch(set_id):
                    problems.append(
                        at_line(
                            line,
                            "id",
                            "not_found",
                            f"there is no option set {set_id!r}; a new option set's id is a lower-case "
                            "UUID (or leave id empty to have one made)",
                        )
                    )
            else:
                key = (product_id, rows_of_set.name)
                if key in name_line:
                    problems.append(
                        at_line(
                            line,
                            "name",
                            "duplicate",
                            f"line {name_line[key]} names an option set {rows_of_set.name!r} of this "
                            "product too: give each its id",
                        )
                    )
                name_line.setdefault(key, line)
                same = [s for s in named.get(product_id, []) if s.name == rows_of_set.name]
                if len(same) > 1:
                    problems.append(
                        at_line(
                            line,
                            "name",
                            "ambiguous",
                            f"the product has {len(same)} option sets named {rows_of_set.name!r}: give "
                            "the id of the one this row replaces",
                        )
                    )
                current = same[0] if len(same) == 1 else None
                set_id = current.id if current is not None else self._ids.new_id()
            if set_id in first_line:
                problems.append(
                    at_line(
                        line, "id", "duplicate", f"this option set is on line {first_line[set_id]} already"
                    )
                )
            first_line.setdefault(set_id, line)
            try:
                option_set = OptionSet(
                    id=set_id,
                    product_id=product_id,
                    name=rows_of_set.name,
                    options=tuple(Option(o.code, o.label, o.price_delta) for o in rows_of_set.options),
                    created_at=current.created_at if current is not None else now,
                    updated_at=now,
                )
            except InvalidOptionSet as exc:
                problems.extend(
                    _item_problem(line, {"options": rows_of_set.options}, v) for v in exc.violations
                )
            else:
                if current is None:
                    plan.new_sets.append(option_set)
                elif (current.name, current.options) != (option_set.name, option_set.options):
                    plan.changed_sets.append(option_set)
            progress.advance()

    async def _write(self, bulk: BulkCatalogRepository, plan: _Plan, progress: Progress) -> None:
        """Updated products first, their changed slugs set aside beforehand so that slugs may pass
        from one product to another; then new products, whose slugs may be ones just given up; then
        option sets, after the products they belong to."""
        progress.start("Writing", plan.writes)
        for ids in _batches(plan.moved, self._batch):
            await bulk.vacate_slugs(ids)
        await self._in_batches(plan.changed_products, bulk.update_products, progress)
        await self._in_batches(plan.new_products, bulk.add_products, progress)
        await self._in_batches(plan.changed_sets, bulk.update_option_sets, progress)
        await self._in_batches(plan.new_sets, bulk.add_option_sets, progress)

    async def _in_batches(
        self, items: Sequence[T], write: Callable[[Sequence[T]], Awaitable[None]], progress: Progress
    ) -> None:
        for batch in _batches(items, self._batch):
            await write(batch)
            progress.advance(len(batch))

    async def export_products(self, out: IO[str], progress: Progress = SILENT) -> ProductExport:
        """Write every product (active or not) with its media and option sets to ``out`` as the
        catalog CSV: products by id, each one's option sets by id. Importing the file into an empty
        catalog and exporting again gives the same file."""
        writer = CatalogCsvWriter(out)
        products = sets = 0
        async with self._uow(read_only=True) as uow:
            progress.start("Exporting products", await uow.bulk_catalog.count_products())
            after: str | None = None
            while True:
                page = await uow.products.list(active_only=False, after=after, limit=self._batch)
                of_product: dict[str, list[OptionSet]] = {}
                for option_set in await uow.bulk_catalog.option_sets_of_products(p.id for p in page.items):
                    of_product.setdefault(option_set.product_id, []).append(option_set)
                for product in page.items:
                    writer.write(product, of_product.get(product.id, ()))
                products += len(page.items)
                sets += sum(len(found) for found in of_product.values())
                progress.advance(len(page.items))
                if page.next_after is None:
                    return ProductExport(products, sets)
                after = page.next_after

    # -- templates ---------------------------------------------------------------------------------

    async def import_templates(self, items: Sequence[object], progress: Progress = SILENT) -> list[Template]:
        """Add the template versions ``items`` describes (see :func:`read_templates_json`), in order,
        all or nothing. As through the API, a version is ``published`` unless ``status`` says
        otherwise, a published version becomes its product's default when the product has none
        unless ``is_default`` is false, and a new default replaces the previous one.

        Raises:
            ImportRejected: every problem of every template (nothing stored).
            DuplicateTemplateVersion, Conflict: a concurrent writer got there first (nothing stored).
        """
        problems: list[Problem] = []
        entries: list[_TemplateEntry] = []
        progress.start("Checking templates", len(items))
        async with self._uow() as uow:
            bulk = uow.bulk_catalog
            objects = [item for item in items if isinstance(item, Mapping)]
            wanted_ids = [o["product_id"] for o in objects if isinstance(o.get("product_id"), str)]
            wanted_slugs = [o["product_slug"] for o in objects if isinstance(o.get("product_slug"), str)]
            by_id = {p.id: p for p in await bulk.products_with_ids(wanted_ids)}
            by_slug = {p.slug: p for p in await bulk.products_with_slugs(wanted_slugs)}
            seen: dict[tuple[str, int], int] = {}
            for index, raw in enumerate(items):
                entry = await self._check_template(uow, index, raw, by_id, by_slug, seen, problems)
                if entry is not None:
                    entries.append(entry)
                progress.advance()
            if problems:
                raise ImportRejected(problems)
            progress.start("Writing templates", len(entries))
            created: list[Template] = []
            has_default: dict[str, bool] = {}
            now = self._clock.now()
            for entry in entries:
                is_default = entry.is_default
                if is_default is None and can_be_default(entry.status):
                    if entry.product_id not in has_default:
                        has_default[entry.product_id] = (
                            await uow.templates.get_default(entry.product_id) is not None
                        )
                    is_default = not has_default[entry.product_id]
                template = Template(
                    id=self._ids.new_id(),
                    product_id=entry.product_id,
                    version=entry.version,
                    definition=entry.definition,
                    is_default=bool(is_default),
                    created_at=now,
                    status=entry.status,
                )
                if template.is_default:
                    await uow.templates.clear_default(entry.product_id)
                    has_default[entry.product_id] = True
                await uow.templates.add(template)
                created.append(template)
                progress.advance()
            if created:
                await self._commit(uow)
        return created

    async def _check_template(
        self,
        uow: BulkCatalogUnitOfWork,
        index: int,
        raw: object,
        by_id: Mapping[str, Product],
        by_slug: Mapping[str, Product],
        seen: dict[tuple[str, int], int],
        problems: list[Problem],
    ) -> _TemplateEntry | None:
        where = f"templates[{index}]"
        before = len(problems)

        def fail(field_name: str, code: str, message: str) -> None:
            problems.append(Problem(where, field_name, code, message, index))

        if not isinstance(raw, Mapping):
            fail(
                "",
                "invalid_type",
                "a template is an object: {product_id or product_slug, version, definition}",
            )
            return None
        for key in raw:
            if key not in _TEMPLATE_KEYS:
                fail(str(key), "unknown_field", f"{key!r} is not a field of a template")
        product = self._template_product(raw, by_id, by_slug, fail)
        version = raw.get("version")
        if "version" not in raw:
            fail("version", "required", "version is required")
        elif type(version) is not int:
            fail("version", "invalid_type", "version must be a whole number")
        elif not 1 <= version <= TEMPLATE_VERSION_MAX:
            fail("version", "out_of_range", f"version must be between 1 and {TEMPLATE_VERSION_MAX}")
        elif product is not None:
            if (product.id, version) in seen:
                fail("version", "duplicate", f"templates[{seen[product.id, version]}] is this version too")
            elif await uow.templates.get_version(product.id, version) is not None:
                fail("version", "duplicate", f"product {product.id} has a version {version} already")
            seen.setdefault((product.id, version), index)
        is_default = raw.get("is_default")
        if is_default is not None and type(is_default) is not bool:
            fail("is_default", "invalid_type", "is_default must be true, false or null")
            is_default = None
        status = raw.get("status", TemplateStatus.PUBLISHED.value)
        if status not in _STATUSES:
            fail("status", "invalid_choice", f"status must be one of {', '.join(_STATUSES)}")
            status = TemplateStatus.PUBLISHED.value
        for v in default_problems(TemplateStatus(status), is_default):
            fail(v.field, v.code, v.message)
        definition: TemplateDefinition | None = None
        if "definition" not in raw:
            fail("definition", "required", "definition is required")
        else:
            option_sets = await uow.option_sets.get_many(referenced_option_sets(raw["definition"]))
            definition, violations = check_definition(
                raw["definition"], product_id=product.id if product else "", option_sets=option_sets
            )
            for v in violations:
                # Of a product not found (reported already), every option set is "another product's".
                if product is not None or v.code != "wrong_product":
                    fail(v.field, v.code, v.message)
        if len(problems) > before or product is None or definition is None or type(version) is not int:
            return None
        return _TemplateEntry(product.id, version, definition, is_default, TemplateStatus(status))

    @staticmethod
    def _template_product(
        raw: Mapping[str, Any],
        by_id: Mapping[str, Product],
        by_slug: Mapping[str, Product],
        fail: Callable[[str, str, str], None],
    ) -> Product | None:
        if ("product_id" in raw) == ("product_slug" in raw):
            fail("product_id", "required", "a template names its product by product_id or by product_slug")
            return None
        key = "product_id" if "product_id" in raw else "product_slug"
        value = raw[key]
        if not isinstance(value, str):
            fail(key, "invalid_type", f"{key} must be a string")
            return None
        product = (by_id if key == "product_id" else by_slug).get(value)
        if product is None:
            fail(key, "not_found", f"there is no product {value!r}")
        return product
