"""Regions: where the shop ships, the tax rates that apply there and how prices carry tax.

A region groups countries (ISO 3166-1 alpha-2; a country belongs to at most one region). Its tax
rates apply to the lines whose product has the rate's ``tax_class``; a rate with a ``subdivision``
(the ISO 3166-2 part after the dash: ``"CA"`` for US-CA) applies only to addresses there, in
addition to the region-wide rates of the same class. ``prices_include_tax`` regions show prices
with tax included, and the quote extracts the tax; ``tax_shipping`` taxes shipping at the region's
standard rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customshop.domain.errors import Conflict, Violation

#: The tax class of a product that names none, and the class shipping is taxed at.
STANDARD_TAX_CLASS = "standard"


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
