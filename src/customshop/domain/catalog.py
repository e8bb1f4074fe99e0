"""The catalog: products and the option sets their templates draw on."""

from __future__ import annotations

import re
import unicodedata
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

_SLUG_RE = re.compile(SLUG_PATTERN)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_OPTION_CODE_RE = re.compile(OPTION_CODE_PATTERN)


def slugify(text: str) -> str:
    """A URL slug from free text: ASCII lower case words joined by hyphens (``"Tee #1"`` → ``"tee-1"``).

    Never empty: text without a single letter or digit gives ``"product"``.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:SLUG_MAX].rstrip("-")
    return slug or "product"


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
    option or zone is priced in.

    Raises:
        InvalidProduct: with every broken rule (empty or long name, malformed slug, negative price...).
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

    def __post_init__(self) -> None:
        problems: list[Violation] = []
        if not self.name.strip() or len(self.name) > NAME_MAX:
            problems.append(Violation("name", "invalid_length", f"name must be 1 to {NAME_MAX} characters"))
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
        if not is_currency(self.currency):
            problems.append(
                Violation("currency", "invalid_choice", f"{self.currency!r} is not an ISO 4217 code")
            )
        if len(self.media) > MEDIA_MAX:
            problems.append(Violation("media", "too_long", f"at most {MEDIA_MAX} media items"))
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
    ) -> Product:
        """Rebuild a product from stored state that passed every check when it was written, without
        checking it again (for repositories reading long lists, where the checks dominated)."""
        product = object.__new__(cls)
        for field_name, value in zip(
            _PRODUCT_FIELDS,
            (id, slug, name, description, base_price, currency, media, active, created_at, updated_at),
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
        problems: list[Violation] = []
        if not self.name.strip() or len(self.name) > NAME_MAX:
            problems.append(Violation("name", "invalid_length", f"name must be 1 to {NAME_MAX} characters"))
        if not self.options:
            problems.append(Violation("options", "too_short", "an option set needs at least one option"))
        if len(self.options) > OPTIONS_MAX:
            problems.append(Violation("options", "too_long", f"at most {OPTIONS_MAX} options"))
        seen: set[str] = set()
        for index, option in enumerate(self.options):
            where = f"options[{index}]"
            if not _OPTION_CODE_RE.fullmatch(option.code):
                problems.append(
                    Violation(
                        f"{where}.code",
                        "invalid_format",
                        "a code is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
                    )
                )
            elif option.code in seen:
                problems.append(
                    Violation(f"{where}.code", "duplicate", f"code {option.code!r} is used twice in this set")
                )
            seen.add(option.code)
            if not option.label.strip() or len(option.label) > LABEL_MAX:
                problems.append(
                    Violation(
                        f"{where}.label", "invalid_length", f"label must be 1 to {LABEL_MAX} characters"
                    )
                )
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
