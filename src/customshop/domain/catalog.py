"""The catalog: products and the option sets their templates draw on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from customshop.domain.errors import InvalidOptionSet, InvalidProduct, Violation
from customshop.domain.money import MAX_AMOUNT, Money, is_currency

NAME_MAX = 200
DESCRIPTION_MAX = 5000
SLUG_MAX = 100
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MEDIA_MAX = 20
URL_MAX = 2000
OPTION_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
OPTIONS_MAX = 200
LABEL_MAX = 200

#: The tax class of a product that names none, and the class shipping is taxed at (defined here,
#: with the products that carry it, and re-exported by ``regions``, whose rates name classes).
STANDARD_TAX_CLASS = "standard"
#: A tax class: a short lower-case identifier (``standard``, ``reduced``, ``books``) that tax rates
#: name to apply to the products of that class.
TAX_CLASS_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
#: A volume tier starts at 2 units at least (1 unit is the plain price) and at most at the largest
#: quantity one cart line may hold.
TIER_QUANTITY_MIN, TIER_QUANTITY_MAX = 2, 99
#: A tier takes 0.01 % to 100 % off the unit price.
TIER_DISCOUNT_MIN, TIER_DISCOUNT_MAX = 1, 10_000
#: As many tiers as there are quantities to start one at.
VOLUME_TIERS_MAX = TIER_QUANTITY_MAX - TIER_QUANTITY_MIN + 1

_SLUG_RE = re.compile(SLUG_PATTERN)
_TAX_CLASS_RE = re.compile(TAX_CLASS_PATTERN)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_OPTION_CODE_RE = re.compile(OPTION_CODE_PATTERN)


def text_problems(value: str, path: str, limit: int) -> list[Violation]:
    """A name or label: not blank, at most ``limit`` characters."""
    if not value.strip() or len(value) > limit:
        return [
            Violation(path, "invalid_length", f"{path.rsplit('.', 1)[-1]} must be 1 to {limit} characters")
        ]
    return []


def currency_problems(value: str, path: str = "currency") -> list[Violation]:
    """A currency must be an ISO 4217 code this shop knows."""
    if not is_currency(value):
        return [Violation(path, "invalid_choice", f"{value!r} is not an ISO 4217 code")]
    return []


def duplicate_code_problems(codes: Sequence[object], path: str = "options") -> list[Violation]:
    """Every option whose code an earlier option of the same set already uses (``path[i].code``)."""
    problems: list[Violation] = []
    seen: set[object] = set()
    for index, code in enumerate(codes):
        if isinstance(code, str) and code in seen:
            problems.append(
                Violation(f"{path}[{index}].code", "duplicate", f"code {code!r} is used twice in this set")
            )
        seen.add(code)
    return problems


def slugify(text: str) -> str:
    """A URL slug from free text: ASCII lower case words joined by hyphens (``"Tee #1"`` → ``"tee-1"``).

    Never empty: text without a single letter or digit gives ``"product"``.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:SLUG_MAX].rstrip("-")
    return slug or "product"


@dataclass(frozen=True, slots=True)
class VolumeTier:
    """A quantity price: from ``min_quantity`` units of a product in the cart (all its lines together),
    ``discount_bps`` basis points come off its unit price (the highest tier reached applies)."""

    min_quantity: int
    discount_bps: int


def tax_class_problems(value: object, path: str = "tax_class") -> list[Violation]:
    """A tax class is a short lower-case identifier (:data:`TAX_CLASS_PATTERN`)."""
    if not isinstance(value, str) or not _TAX_CLASS_RE.fullmatch(value):
        return [
            Violation(
                path,
                "invalid_format",
                "a tax class is 1-32 lower-case letters, digits and '_', starting with a letter",
            )
        ]
    return []


def _whole(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _tier_problems(tiers: Sequence[VolumeTier], path: str, *, ranges: bool) -> list[Violation]:
    """The tiers' violations in tier order: with ``ranges``, each value's own range; always, the
    order between tiers. Each value is compared with the earlier tiers' values that are in range and
    in order (one out of range is reported for its range only, and one out of order once)."""
    problems: list[Violation] = []
    quantity: int | None = None
    discount: int | None = None
    for index, tier in enumerate(tiers):
        where = f"{path}[{index}]"
        if not _whole(tier.min_quantity, TIER_QUANTITY_MIN, TIER_QUANTITY_MAX):
            if ranges:
                problems.append(
                    Violation(
                        f"{where}.min_quantity",
                        "out_of_range",
                        f"min_quantity is a whole number from {TIER_QUANTITY_MIN} to {TIER_QUANTITY_MAX}",
                    )
                )
        elif quantity is not None and tier.min_quantity <= quantity:
            code, message = (
                ("duplicate", f"an earlier tier starts at {quantity} units already")
                if tier.min_quantity == quantity
                else (
                    "not_ascending",
                    f"tiers go from the smallest quantity up; an earlier one starts at {quantity}",
                )
            )
            problems.append(Violation(f"{where}.min_quantity", code, message))
        else:
            quantity = tier.min_quantity
        if not _whole(tier.discount_bps, TIER_DISCOUNT_MIN, TIER_DISCOUNT_MAX):
            if ranges:
                problems.append(
                    Violation(
                        f"{where}.discount_bps",
                        "out_of_range",
                        f"discount_bps is a whole number of basis points from {TIER_DISCOUNT_MIN} "
                        f"to {TIER_DISCOUNT_MAX}",
                    )
                )
        elif discount is not None and tier.discount_bps < discount:
            problems.append(
                Violation(
                    f"{where}.discount_bps",
                    "decreasing",
                    f"a larger quantity takes off at least as much; an earlier tier takes off {discount} bps",
                )
            )
        else:
            discount = tier.discount_bps
    return problems


def volume_pricing_problems(tiers: Sequence[VolumeTier], path: str = "volume_pricing") -> list[Violation]:
    """Every broken rule of a product's volume tiers, so that buying more never raises the unit price.

    At most :data:`VOLUME_TIERS_MAX` tiers (``too_long`` at ``path``, and nothing else then); each
    ``min_quantity`` 2..99 and ``discount_bps`` 1..10000 (``out_of_range``); each tier starts at a
    larger quantity than the one before (``duplicate`` when equal, ``not_ascending`` when smaller)
    and takes off at least as much (``decreasing``). Paths are ``path[i].min_quantity`` and
    ``path[i].discount_bps``.
    """
    if len(tiers) > VOLUME_TIERS_MAX:
        return [Violation(path, "too_long", f"at most {VOLUME_TIERS_MAX} volume tiers")]
    return _tier_problems(tiers, path, ranges=True)


def volume_order_problems(tiers: Sequence[VolumeTier], path: str = "volume_pricing") -> list[Violation]:
    """Only the rules between tiers of :func:`volume_pricing_problems` (for an edge whose types
    check each value's range already)."""
    return _tier_problems(tiers, path, ranges=False)


@dataclass(frozen=True, slots=True)
class MediaItem:
    url: str
    alt: str = ""


#: A media URL: absolute http(s), or a path on the shop's own host.
MEDIA_URL_PATTERN = r"^(https?://|/)\S+$"
ALT_MAX = 300
_MEDIA_URL_RE = re.compile(MEDIA_URL_PATTERN)


def check_media(media: tuple[MediaItem, ...]) -> list[Violation]:
    """Every broken rule of a product's media items, each at ``media[i].url`` or ``media[i].alt``
    (how many items a product may have is the product's own rule)."""
    problems: list[Violation] = []
    for index, item in enumerate(media):
        if len(item.url) > URL_MAX or not _MEDIA_URL_RE.fullmatch(item.url):
            problems.append(
                Violation(
                    f"media[{index}].url",
                    "invalid_format",
                    f"a media url is http(s)://... or /path, without spaces, at most {URL_MAX} characters",
                )
            )
        if len(item.alt) > ALT_MAX:
            problems.append(
                Violation(f"media[{index}].alt", "too_long", f"alt is limited to {ALT_MAX} characters")
            )
    return problems


@dataclass(frozen=True, slots=True)
class Product:
    """A sellable product. ``base_price`` (minor units of ``currency``) is what it costs before any
    option or zone is priced in. ``tax_class`` names the tax rates that apply to it (see
    ``domain/regions.py``); ``volume_pricing`` lists its quantity prices, smallest quantity first,
    none by default.

    Raises:
        InvalidProduct: with every broken rule (empty or long name, malformed slug, negative price,
            malformed tax class, volume tiers out of range or out of order...).
    """

    id: str
    slug: str
    name: str
    description: str
    base_price: int
    currency: str
    media: tuple[MediaItem, ...]
    active: bool
    created_at: datetime
    updated_at: datetime
    tax_class: str = STANDARD_TAX_CLASS
    volume_pricing: tuple[VolumeTier, ...] = ()

    def __post_init__(self) -> None:
        problems = text_problems(self.name, "name", NAME_MAX)
        if len(self.slug) > SLUG_MAX or not _SLUG_RE.fullmatch(self.slug):
            problems.append(
                Violation(
                    "slug", "invalid_format", "slug must be lower-case letters and digits joined by '-'"
                )
            )
        if len(self.description) > DESCRIPTION_MAX:
            problems.append(
                Violation(
                    "description", "too_long", f"description is limited to {DESCRIPTION_MAX} characters"
                )
            )
        if type(self.base_price) is not int or not 0 <= self.base_price <= MAX_AMOUNT:
            problems.append(
                Violation("base_price", "out_of_range", f"base_price is 0 to {MAX_AMOUNT} minor units")
            )
        problems += currency_problems(self.currency)
        if len(self.media) > MEDIA_MAX:
            problems.append(Violation("media", "too_long", f"at most {MEDIA_MAX} media items"))
        problems += tax_class_problems(self.tax_class)
        problems += volume_pricing_problems(self.volume_pricing)
        if problems:
            raise InvalidProduct(problems, "The product is invalid.")

    @property
    def price(self) -> Money:
        """The base price as money."""
        return Money(self.base_price, self.currency)

    @classmethod
    def restore(
        cls,
        id: str,
        slug: str,
        name: str,
        description: str,
        base_price: int,
        currency: str,
        media: tuple[MediaItem, ...],
        active: bool,
        created_at: datetime,
        updated_at: datetime,
        tax_class: str = STANDARD_TAX_CLASS,
        volume_pricing: tuple[VolumeTier, ...] = (),
    ) -> Product:
        """Rebuild a product from stored state that passed every check when it was written, without
        checking it again (for repositories reading long lists, where the checks dominated)."""
        product = object.__new__(cls)
        for field_name, value in zip(
            _PRODUCT_FIELDS,
            (
                id,
                slug,
                name,
                description,
                base_price,
                currency,
                media,
                active,
                created_at,
                updated_at,
                tax_class,
                volume_pricing,
            ),
            strict=True,
        ):
            object.__setattr__(product, field_name, value)
        return product


_PRODUCT_FIELDS = tuple(f.name for f in fields(Product))


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of an option set: ``code`` is what a design stores, ``price_delta`` what it adds."""

    code: str
    label: str
    price_delta: int = 0


@dataclass(frozen=True, slots=True)
class OptionSet:
    """A named list of options that belongs to one product (sizes, gift-box components...).

    Raises:
        InvalidOptionSet: with every broken rule: no options, a duplicate or malformed code,
            an empty label, a price delta out of range.
    """

    id: str
    product_id: str
    name: str
    options: tuple[Option, ...]
    created_at: datetime
    updated_at: datetime
    _by_code: dict[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = text_problems(self.name, "name", NAME_MAX)
        if not self.options:
            problems.append(Violation("options", "too_short", "an option set needs at least one option"))
        if len(self.options) > OPTIONS_MAX:
            problems.append(Violation("options", "too_long", f"at most {OPTIONS_MAX} options"))
        well_formed = [o.code if _OPTION_CODE_RE.fullmatch(o.code) else None for o in self.options]
        duplicates = {v.field: v for v in duplicate_code_problems(well_formed)}
        for index, option in enumerate(self.options):
            where = f"options[{index}]"
            if f"{where}.code" in duplicates:
                problems.append(duplicates[f"{where}.code"])
            elif well_formed[index] is None:
                problems.append(
                    Violation(
                        f"{where}.code",
                        "invalid_format",
                        "a code is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
                    )
                )
            problems += text_problems(option.label, f"{where}.label", LABEL_MAX)
            if type(option.price_delta) is not int or abs(option.price_delta) > MAX_AMOUNT:
                problems.append(
                    Violation(
                        f"{where}.price_delta", "out_of_range", "price_delta is an integer of minor units"
                    )
                )
        if problems:
            raise InvalidOptionSet(problems, "The option set is invalid.")
        object.__setattr__(self, "_by_code", {option.code: option for option in self.options})

    def option(self, code: str) -> Option | None:
        """The option with this code, or ``None``."""
        return self._by_code.get(code)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)
