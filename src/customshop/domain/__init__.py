"""The pure domain of customshop, importable with no database, web framework or network.

>>> from customshop.domain import check_definition
>>> definition, problems = check_definition(
...     {"canvas": {"width": 100, "height": 100}, "zones": []}, product_id="p1", option_sets={}
... )
>>> problems
[]
"""

from customshop.domain.catalog import MediaItem, Option, OptionSet, Product, slugify
from customshop.domain.errors import (
    Conflict,
    DomainError,
    InvalidDefinition,
    InvalidInput,
    NotFound,
    Violation,
)
from customshop.domain.money import Money, round_minor
from customshop.domain.templates import (
    Area,
    Canvas,
    ColorZone,
    ImageZone,
    OptionZone,
    Template,
    TemplateDefinition,
    TextZone,
    Zone,
    check_definition,
    load_definition,
    parse_definition,
)

__all__ = [
    "Area",
    "Canvas",
    "ColorZone",
    "Conflict",
    "DomainError",
    "ImageZone",
    "InvalidDefinition",
    "InvalidInput",
    "MediaItem",
    "Money",
    "NotFound",
    "Option",
    "OptionSet",
    "OptionZone",
    "Product",
    "Template",
    "TemplateDefinition",
    "TextZone",
    "Violation",
    "Zone",
    "check_definition",
    "load_definition",
    "parse_definition",
    "round_minor",
    "slugify",
]
