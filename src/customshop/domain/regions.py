"""Regions: where the shop ships, the tax rates that apply there and how prices carry tax.

A region groups countries (ISO 3166-1 alpha-2; a country belongs to at most one region). Its tax
rates apply to the lines whose product has the rate's ``tax_class``; a rate with a ``subdivision``
(the ISO 3166-2 part after the dash: ``"CA"`` for US-CA) applies only to addresses there, in
addition to the region-wide rates of the same class. ``prices_include_tax`` regions show prices
with tax included, and the quote extracts the tax; ``tax_shipping`` taxes shipping at the region's
standard rates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# STANDARD_TAX_CLASS (the class a rate applies to when it names none) is re-exported from here.
from customshop.domain.catalog import STANDARD_TAX_CLASS as STANDARD_TAX_CLASS
from customshop.domain.catalog import text_problems
from customshop.domain.errors import Conflict, Violation

REGION_NAME_MAX = 100
TAX_RATE_NAME_MAX = 100
COUNTRIES_MAX = 250
TAX_RATES_MAX = 100
#: 100 %: a rate is 0 to 10 000 basis points.
RATE_BPS_MAX = 10_000
COUNTRY_PATTERN = r"^[A-Z]{2}$"
#: The ISO 3166-2 part after the dash: 1 to 3 capital letters or digits (``CA`` of US-CA, ``75`` of FR-75).
SUBDIVISION_PATTERN = r"^[A-Z0-9]{1,3}$"
TAX_CLASS_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"

_COUNTRY_RE = re.compile(COUNTRY_PATTERN)
_SUBDIVISION_RE = re.compile(SUBDIVISION_PATTERN)
_TAX_CLASS_RE = re.compile(TAX_CLASS_PATTERN)

_ASSIGNED = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
    "BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS "
    "BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
    "CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE "
    "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF "
    "GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM "
    "JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC "
    "LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
    "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG "
    "PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS "
    "ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO "
    "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW"
)
#: The officially assigned ISO 3166-1 alpha-2 codes: a region's countries are among them (``UK`` or
#: ``EL`` are not: the codes are ``GB`` and ``GR``).
COUNTRY_CODES = frozenset(_ASSIGNED.split())


@dataclass(frozen=True, slots=True)
class TaxRate:
    """``rate_bps`` basis points (825 = 8.25 %) of the taxable amount of lines of ``tax_class``,
    in the whole region or, with ``subdivision``, only there."""

    name: str
    rate_bps: int
    subdivision: str | None = None
    tax_class: str = STANDARD_TAX_CLASS


@dataclass(frozen=True, slots=True)
class Region:
    id: str
    name: str
    countries: tuple[str, ...]
    prices_include_tax: bool
    tax_shipping: bool
    tax_rates: tuple[TaxRate, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a cart is shipped, as far as pricing needs to know."""

    country: str
    subdivision: str | None = None
    postal_code: str | None = None


class CountryTaken(Conflict):
    """A country of a region already belongs to another region (a country belongs to at most one);
    ``country`` names it and ``violations`` its place in the region's ``countries``."""

    def __init__(self, country: str, index: int | None = None) -> None:
        field = "countries" if index is None else f"countries[{index}]"
        super().__init__(
            f"the country {country} already belongs to another region",
            [Violation(field, "taken", f"{country} already belongs to another region")],
        )
        self.country = country


class RegionInUse(Conflict):
    """A region that still has shipping methods cannot be deleted (delete or move them first)."""


# -- checks ----------------------------------------------------------------------------------------


def country_problems(country: object, path: str) -> list[Violation]:
    """One country: an assigned ISO 3166-1 alpha-2 code, in capitals."""
    if not isinstance(country, str) or not _COUNTRY_RE.fullmatch(country):
        return [
            Violation(path, "invalid_format", "a country is an ISO 3166-1 alpha-2 code in capitals, like DE")
        ]
    if country not in COUNTRY_CODES:
        return [Violation(path, "unknown_country", f"{country} is not an assigned ISO 3166-1 alpha-2 code")]
    return []


def countries_problems(countries: Sequence[object], path: str = "countries") -> list[Violation]:
    """A region's countries: 1 to :data:`COUNTRIES_MAX`, each valid (``countries[i]``), none twice."""
    if not countries:
        return [Violation(path, "too_short", "a region needs at least one country")]
    problems: list[Violation] = []
    if len(countries) > COUNTRIES_MAX:
        problems.append(Violation(path, "too_long", f"a region has at most {COUNTRIES_MAX} countries"))
    seen: set[object] = set()
    for index, country in enumerate(countries):
        own = country_problems(country, f"{path}[{index}]")
        if not own and country in seen:
            own = [Violation(f"{path}[{index}]", "duplicate", f"{country} is listed twice")]
        problems += own
        seen.add(country)
    return problems


def rate_bps_problems(rate_bps: object, path: str) -> list[Violation]:
    """A tax rate: whole basis points, 0 to :data:`RATE_BPS_MAX` (100 %)."""
    if type(rate_bps) is not int or not 0 <= rate_bps <= RATE_BPS_MAX:
        return [
            Violation(path, "out_of_range", f"rate_bps is 0 to {RATE_BPS_MAX} basis points (825 = 8.25 %)")
        ]
    return []


def subdivision_problems(subdivision: object, path: str) -> list[Violation]:
    """The ISO 3166-2 part after the dash: 1 to 3 capital letters or digits."""
    if not isinstance(subdivision, str) or not _SUBDIVISION_RE.fullmatch(subdivision):
        return [
            Violation(
                path, "invalid_format", "subdivision is the part after the dash of ISO 3166-2 (CA for US-CA)"
            )
        ]
    return []


def tax_class_problems(tax_class: object, path: str) -> list[Violation]:
    """A tax class: lower-case letters, digits, ``-`` and ``_``, 1 to 32 characters."""
    if not isinstance(tax_class, str) or not _TAX_CLASS_RE.fullmatch(tax_class):
        return [
            Violation(path, "invalid_format", "tax_class is 1 to 32 lower-case letters, digits, '-' or '_'")
        ]
    return []


def tax_rate_problems(rate: TaxRate, path: str) -> list[Violation]:
    """Every broken rule of one tax rate, each at ``path.<field>``."""
    problems = text_problems(rate.name, f"{path}.name", TAX_RATE_NAME_MAX)
    problems += rate_bps_problems(rate.rate_bps, f"{path}.rate_bps")
    if rate.subdivision is not None:
        problems += subdivision_problems(rate.subdivision, f"{path}.subdivision")
    problems += tax_class_problems(rate.tax_class, f"{path}.tax_class")
    return problems


def tax_rates_problems(rates: Sequence[TaxRate], path: str = "tax_rates") -> list[Violation]:
    """A region's rates: at most :data:`TAX_RATES_MAX`, each valid, none repeated
    (:func:`repeated_tax_rate_problems`)."""
    problems: list[Violation] = []
    if len(rates) > TAX_RATES_MAX:
        problems.append(Violation(path, "too_long", f"a region has at most {TAX_RATES_MAX} tax rates"))
    for index, rate in enumerate(rates):
        problems += tax_rate_problems(rate, f"{path}[{index}]")
    return problems + repeated_tax_rate_problems(rates, path)


def repeated_tax_rate_problems(rates: Sequence[TaxRate], path: str = "tax_rates") -> list[Violation]:
    """Every rate with the name, subdivision and tax class of an earlier one (``tax_rates[i].name``)."""
    problems: list[Violation] = []
    seen: set[tuple[str, str | None, str]] = set()
    for index, rate in enumerate(rates):
        key = (rate.name, rate.subdivision, rate.tax_class)
        if key in seen:
            problems.append(
                Violation(
                    f"{path}[{index}].name",
                    "duplicate",
                    "another rate of the same subdivision and tax class has this name",
                )
            )
        seen.add(key)
    return problems


def region_problems(region: Region) -> list[Violation]:
    """Every broken rule of a region as an admin wrote it, each naming its field (``name``,
    ``countries[1]``, ``tax_rates[0].rate_bps``...). Whether a country belongs to another region
    is the repository's to say (:class:`CountryTaken`)."""
    return [
        *text_problems(region.name, "name", REGION_NAME_MAX),
        *countries_problems(region.countries),
        *tax_rates_problems(region.tax_rates),
    ]
