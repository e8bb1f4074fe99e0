"""The pure domain of customshop, importable with no database, web framework or network.

>>> from customshop.domain import check_definition
>>> definition, problems = check_definition(
...     {"canvas": {"width": 100, "height": 100}, "zones": []}, product_id="p1", option_sets={}
... )
>>> problems
[]
>>> from customshop.domain import OrderStatus, can_move
>>> can_move(OrderStatus.CREATED, OrderStatus.PAID), can_move(OrderStatus.SHIPPED, OrderStatus.CREATED)
(True, False)
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
from customshop.domain.inventory import OutOfStock, StockKey, StockLevel, demand
from customshop.domain.money import Money, round_minor
from customshop.domain.orders import (
    TRANSITIONS,
    IllegalTransition,
    Order,
    OrderLine,
    OrderStatus,
    PrintFile,
    PrintFilesNotReady,
    PrintStatus,
    ShippingAddress,
    can_move,
    check_contact,
    check_transition,
)
from customshop.domain.pricing import DesignQuote, PriceComponent, quote_design
from customshop.domain.quote import (
    AppliedDiscount,
    FlatRates,
    Quote,
    QuotedLine,
    QuoteLine,
    Refusal,
    RefusedPromotion,
    ShippingOption,
    TaxLine,
    allocate,
    promotion_refusal,
    quote,
)
from customshop.domain.template_parsing import check_definition, load_definition, parse_definition
from customshop.domain.templates import (
    TEMPLATE_MOVES,
    Area,
    Canvas,
    ColorZone,
    ImageZone,
    OptionZone,
    Template,
    TemplateDefinition,
    TemplateStatus,
    TextZone,
    VisibleWhen,
    Zone,
)
from customshop.domain.validation import Design, check_design, validate
from customshop.domain.visibility import shown_zones

__all__ = [
    "TEMPLATE_MOVES",
    "TRANSITIONS",
    "AppliedDiscount",
    "Area",
    "Canvas",
    "ColorZone",
    "Conflict",
    "Design",
    "DesignQuote",
    "DomainError",
    "FlatRates",
    "IllegalTransition",
    "ImageZone",
    "InvalidDefinition",
    "InvalidInput",
    "MediaItem",
    "Money",
    "NotFound",
    "Option",
    "OptionSet",
    "OptionZone",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OutOfStock",
    "PriceComponent",
    "PrintFile",
    "PrintFilesNotReady",
    "PrintStatus",
    "Product",
    "Quote",
    "QuoteLine",
    "QuotedLine",
    "Refusal",
    "RefusedPromotion",
    "ShippingAddress",
    "ShippingOption",
    "StockKey",
    "StockLevel",
    "TaxLine",
    "Template",
    "TemplateDefinition",
    "TemplateStatus",
    "TextZone",
    "Violation",
    "VisibleWhen",
    "Zone",
    "allocate",
    "can_move",
    "check_contact",
    "check_definition",
    "check_design",
    "check_transition",
    "demand",
    "load_definition",
    "parse_definition",
    "promotion_refusal",
    "quote",
    "quote_design",
    "round_minor",
    "shown_zones",
    "slugify",
    "validate",
]
