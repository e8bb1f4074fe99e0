"""The wire format: msgspec structs for request and response bodies, and their explicit mapping
to and from domain objects. Limits come from the domain's constants so they cannot drift."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from customshop.application.cart import CartView, DetailsInput
from customshop.application.catalog import OptionSetInput, ProductInput, TemplateInput, default_problems
from customshop.application.checkout import CheckoutRequest, PaymentView, Placed
from customshop.application.customization import SessionView
from customshop.application.pricing_rules import PromotionInput, RegionInput, ShippingMethodInput
from customshop.domain.cart import QUANTITY_MAX, QUANTITY_MIN, CartAddress, CartLine
from customshop.domain.catalog import (
    ALT_MAX,
    DESCRIPTION_MAX,
    LABEL_MAX,
    MEDIA_MAX,
    MEDIA_URL_PATTERN,
    NAME_MAX,
    OPTION_CODE_PATTERN,
    OPTIONS_MAX,
    SLUG_MAX,
    SLUG_PATTERN,
    TAX_CLASS_PATTERN,
    TIER_DISCOUNT_MAX,
    TIER_DISCOUNT_MIN,
    TIER_QUANTITY_MAX,
    TIER_QUANTITY_MIN,
    URL_MAX,
    VOLUME_TIERS_MAX,
    MediaItem,
    Option,
    OptionSet,
    Product,
    VolumeTier,
    currency_problems,
    duplicate_code_problems,
    text_problems,
    volume_order_problems,
)
from customshop.domain.customization import Asset, PreviewJob, PreviewStatus
from customshop.domain.errors import Violation
from customshop.domain.events import EVENT_NAMES
from customshop.domain.inventory import ON_HAND_MAX, StockLevel
from customshop.domain.money import MAX_AMOUNT
from customshop.domain.orders import (
    EMAIL_MAX,
    Order,
    OrderLine,
    OrderStatus,
    PrintFile,
    PrintStatus,
    ShippingAddress,
    address_field_problems,
    email_problems,
)
from customshop.domain.pricing import DesignQuote
from customshop.domain.promotions import (
    BUY_GET_MAX,
    CODE_PATTERN,
    PRODUCT_IDS_MAX,
    USES_MAX,
    Promotion,
    PromotionKind,
    code_problems,
    promotion_rule_problems,
)
from customshop.domain.promotions import DESCRIPTION_MAX as PROMOTION_DESCRIPTION_MAX
from customshop.domain.quote import AppliedDiscount, Quote, QuotedLine, ShippingOption, TaxLine
from customshop.domain.regions import (
    COUNTRIES_MAX,
    RATE_BPS_MAX,
    REGION_NAME_MAX,
    STANDARD_TAX_CLASS,
    SUBDIVISION_PATTERN,
    TAX_RATE_NAME_MAX,
    TAX_RATES_MAX,
    Region,
    TaxRate,
    countries_problems,
    repeated_tax_rate_problems,
)

# Products' tax classes (catalog) and rates' (regions) have patterns of their own, each kept as written.
from customshop.domain.regions import TAX_CLASS_PATTERN as RATE_TAX_CLASS_PATTERN
from customshop.domain.shipping import (
    DAYS_MAX,
    METHOD_NAME_MAX,
    ShippingMethod,
    days_problems,
    rate_document,
    rate_problems,
)
from customshop.domain.template_parsing import definition_problems
from customshop.domain.templates import VERSION_MAX, Template, TemplateStatus
from customshop.domain.webhooks import WebhookEndpoint, WebhookLog
from customshop.entrypoints.http.body import RequestBody, Rule

Amount = Annotated[int, Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT, description="Minor units (cents).")]
Price = Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description="Minor units (cents).", examples=[2500])]
Currency = Annotated[
    str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217 code.", examples=["USD"]), Rule(currency_problems)
]
ResourceId = Annotated[str, Meta(min_length=1, max_length=64)]
Cursor = Annotated[str | None, Meta(description="Pass as `cursor` to get the next page; null on the last.")]

EXAMPLE_DEFINITION: dict[str, Any] = {
    "canvas": {"width": 1000, "height": 1000, "background": "#ffffff"},
    "zones": [
        {
            "id": "front_text",
            "type": "text",
            "label": "Front text",
            "required": False,
            "min_length": 0,
            "max_length": 20,
            "fonts": ["Serif", "Sans"],
            "palette": ["#000000", "#ffffff"],
            "price_delta": 300,
            "price_per_character": 50,
            "free_characters": 10,
            "area": {"x": 100, "y": 120, "width": 800, "height": 120},
        },
        {
            "id": "photo",
            "type": "image",
            "allowed_types": ["image/png", "image/jpeg"],
            "max_bytes": 10485760,
            "min_width": 600,
            "min_height": 600,
            "price_delta": 500,
            "area": {"x": 250, "y": 300, "width": 500, "height": 500},
        },
        {"id": "body_color", "type": "color", "palette": ["#c0392b", "#2c3e50"], "default": "#2c3e50"},
        {"id": "size", "type": "option", "option_set_id": "<option set id>", "required": True},
    ],
}
#: A definition as it is read and shown; a written one is checked too (:data:`DefinitionIn`).
Definition = Annotated[
    dict[str, Any],
    Meta(
        description=(
            "A template definition: `canvas` {width, height, background} and `zones`, each of type "
            "`text`, `image`, `color` or `option` (see docs/api.md for every field and rule). A text "
            "zone may also price its characters: `price_per_character` (minor units, default 0) for "
            "each character that is not a space beyond the first `free_characters` (default 0)."
        ),
        examples=[EXAMPLE_DEFINITION],
    ),
]


# -- requests --------------------------------------------------------------------------------------


def _name_rule(limit: int) -> Rule:
    """Not blank (``min_length`` counts spaces), at most ``limit`` characters."""
    return Rule(lambda value, path: text_problems(value, path, limit))


#: A written definition: every rule the domain can check without the stored catalog, in the same pass.
DefinitionIn = Annotated[Definition, Rule(definition_problems)]


def _option_codes(options: list[Any], path: str) -> list[Violation]:
    """Codes unique within a set, over decoded options or, when some option is broken, raw ones."""
    if not isinstance(options, list):  # raw JSON of any shape when the list did not decode
        return []
    codes = [o.get("code") if isinstance(o, dict) else getattr(o, "code", None) for o in options]
    return duplicate_code_problems(codes, path)


class MediaIn(RequestBody):
    url: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=URL_MAX,
            pattern=MEDIA_URL_PATTERN,
            examples=["https://cdn.example.com/tee-front.jpg"],
        ),
    ]
    alt: Annotated[str, Meta(max_length=ALT_MAX)] = ""


def _tier_order(tiers: list[Any], path: str) -> list[Violation]:
    """Tiers in order of quantity, discounts never smaller, over decoded tiers or, when some tier is
    broken, raw ones (each value's range is its type's to report)."""
    if not isinstance(tiers, list):  # raw JSON of any shape when the list did not decode
        return []

    def value(tier: object, name: str) -> Any:
        return tier.get(name) if isinstance(tier, dict) else getattr(tier, name, None)

    return volume_order_problems(
        [VolumeTier(value(t, "min_quantity"), value(t, "discount_bps")) for t in tiers], path
    )


class VolumeTierIn(RequestBody):
    """From ``min_quantity`` units of the product in a cart, ``discount_bps`` off its unit price."""

    min_quantity: Annotated[int, Meta(ge=TIER_QUANTITY_MIN, le=TIER_QUANTITY_MAX, examples=[10])]
    discount_bps: Annotated[
        int,
        Meta(
            ge=TIER_DISCOUNT_MIN,
            le=TIER_DISCOUNT_MAX,
            description="Basis points off the unit price (1500 = 15 %).",
            examples=[1500],
        ),
    ]


TaxClass = Annotated[
    str,
    Meta(
        pattern=TAX_CLASS_PATTERN,
        description="The tax rates that apply: those of a region with this `tax_class`.",
        examples=["standard"],
    ),
]
VolumePricing = Annotated[
    list[VolumeTierIn],
    Meta(
        max_length=VOLUME_TIERS_MAX,
        description=(
            "Quantity prices, smallest `min_quantity` first, each taking at least as much off as the "
            "one before: the highest tier the cart's quantity of the product reaches applies."
        ),
    ),
    Rule(_tier_order, raw=True),
]


class ProductWrite(RequestBody):
    """A product as a designer writes it (create, or replace with PUT). On PUT, an omitted (or null)
    slug, currency, tax class or volume pricing keeps the current one."""

    name: Annotated[
        str, Meta(min_length=1, max_length=NAME_MAX, examples=["Classic T-shirt"]), _name_rule(NAME_MAX)
    ]
    base_price: Price
    description: Annotated[str, Meta(max_length=DESCRIPTION_MAX)] = ""
    slug: Annotated[str, Meta(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN)] | None = None
    currency: Currency | None = None
    media: Annotated[list[MediaIn], Meta(max_length=MEDIA_MAX)] = msgspec.field(default_factory=list)
    active: bool = True
    tax_class: TaxClass | None = None
    volume_pricing: VolumePricing | None = None

    def to_input(self) -> ProductInput:
        tiers = self.volume_pricing
        return ProductInput(
            name=self.name,
            description=self.description,
            base_price=self.base_price,
            media=tuple(MediaItem(m.url, m.alt) for m in self.media),
            active=self.active,
            slug=self.slug,
            currency=self.currency,
            tax_class=self.tax_class,
            volume_pricing=None
            if tiers is None
            else tuple(VolumeTier(t.min_quantity, t.discount_bps) for t in tiers),
        )


class OptionIn(RequestBody):
    code: Annotated[str, Meta(pattern=OPTION_CODE_PATTERN, examples=["L"])]
    label: Annotated[str, Meta(min_length=1, max_length=LABEL_MAX, examples=["Large"]), _name_rule(LABEL_MAX)]
    price_delta: Amount = 0


class OptionSetWrite(RequestBody):
    product_id: ResourceId
    name: Annotated[str, Meta(min_length=1, max_length=NAME_MAX, examples=["Size"]), _name_rule(NAME_MAX)]
    options: Annotated[
        list[OptionIn], Meta(min_length=1, max_length=OPTIONS_MAX), Rule(_option_codes, raw=True)
    ]

    def to_input(self) -> OptionSetInput:
        return OptionSetInput(
            product_id=self.product_id,
            name=self.name,
            options=tuple(Option(o.code, o.label, o.price_delta) for o in self.options),
        )


class TemplateCreate(RequestBody):
    product_id: ResourceId
    version: Annotated[int, Meta(ge=1, le=VERSION_MAX, examples=[1])]
    definition: DefinitionIn
    is_default: bool | None = None
    status: Annotated[
        TemplateStatus, Meta(description="`draft` (seen by designers only), `published` or `retired`.")
    ] = TemplateStatus.PUBLISHED

    @classmethod
    def object_problems(cls, given: Mapping[str, Any], path: str) -> list[Violation]:
        status = given.get("status", TemplateStatus.PUBLISHED)
        if given.get("is_default") is True and status in set(TemplateStatus):
            return default_problems(TemplateStatus(status), True, f"{path}." if path else "")
        return []

    def to_input(self) -> TemplateInput:
        return TemplateInput(self.product_id, self.version, self.definition, self.is_default, self.status)


class TemplateRevision(RequestBody):
    """A draft's new definition (``PATCH /templates/{id}``)."""

    definition: DefinitionIn


# -- responses -------------------------------------------------------------------------------------


class MediaOut(msgspec.Struct):
    url: str
    alt: str


class VolumeTierOut(msgspec.Struct):
    min_quantity: int
    discount_bps: int


class ProductRead(msgspec.Struct):
    id: str
    slug: str
    name: str
    description: str
    base_price: int
    currency: str
    tax_class: str
    volume_pricing: list[VolumeTierOut]
    media: list[MediaOut]
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Product) -> ProductRead:
        return cls(
            id=p.id,
            slug=p.slug,
            name=p.name,
            description=p.description,
            base_price=p.base_price,
            currency=p.currency,
            tax_class=p.tax_class,
            volume_pricing=[VolumeTierOut(t.min_quantity, t.discount_bps) for t in p.volume_pricing],
            media=[MediaOut(m.url, m.alt) for m in p.media],
            active=p.active,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class TemplateSummary(msgspec.Struct):
    id: str
    version: int
    definition: Definition


class ProductDetail(ProductRead):
    """A product with its default template: everything a storefront needs to start a design."""

    template: TemplateSummary

    @classmethod
    def of_template(cls, p: Product, template: Template) -> ProductDetail:
        return cls(
            **msgspec.structs.asdict(ProductRead.of(p)),
            template=TemplateSummary(template.id, template.version, template.definition.to_dict()),
        )


class ProductList(msgspec.Struct):
    items: list[ProductRead]
    next_cursor: Cursor


class TemplateRead(msgspec.Struct):
    id: str
    product_id: str
    version: int
    definition: Definition
    is_default: bool
    created_at: datetime
    status: TemplateStatus

    @classmethod
    def of(cls, t: Template) -> TemplateRead:
        return cls(
            t.id, t.product_id, t.version, t.definition.to_dict(), t.is_default, t.created_at, t.status
        )


class TemplateList(msgspec.Struct):
    items: list[TemplateRead]
    next_cursor: Cursor


class OptionOut(msgspec.Struct):
    code: str
    label: str
    price_delta: int


class OptionSetRead(msgspec.Struct):
    id: str
    product_id: str
    name: str
    options: list[OptionOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: OptionSet) -> OptionSetRead:
        return cls(
            id=s.id,
            product_id=s.product_id,
            name=s.name,
            options=[OptionOut(o.code, o.label, o.price_delta) for o in s.options],
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class OptionSetList(msgspec.Struct):
    items: list[OptionSetRead]
    next_cursor: Cursor


# -- customization ---------------------------------------------------------------------------------

DesignOptions = Annotated[
    dict[str, Any],
    Meta(
        description=(
            'Zone id → value. Text: `{text, font?, color?}`; image: `{asset_id}`; colour: `"#rrggbb"`; '
            "option: a code, or a list of codes for a multiple-choice zone. `null` clears a zone."
        ),
        examples=[
            {
                "front_text": {"text": "Happy birthday", "font": "Serif", "color": "#000000"},
                "body_color": "#c0392b",
                "size": "L",
            }
        ],
    ),
]


class SessionCreate(RequestBody):
    product_id: ResourceId
    template_version: Annotated[int, Meta(ge=1, le=VERSION_MAX)] | None = None


class SessionUpdate(RequestBody):
    options: DesignOptions


class PriceComponentOut(msgspec.Struct):
    zone_id: str
    code: str | None
    label: str
    amount: int


class PriceOut(msgspec.Struct):
    """A live quote: `unit_price = base_price + Σ components.amount`, never below zero."""

    currency: str
    base_price: int
    components: list[PriceComponentOut]
    unit_price: int

    @classmethod
    def of(cls, quote: DesignQuote) -> PriceOut:
        return cls(
            quote.currency,
            quote.base_price,
            [PriceComponentOut(c.zone_id, c.code, c.label, c.amount) for c in quote.components],
            quote.unit_price,
        )


class SessionRead(msgspec.Struct):
    session_id: str
    product_id: str
    template_id: str
    template_version: int
    options: DesignOptions
    price: PriceOut
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    #: The guest's session key; sent back only by `POST /sessions`.
    session_key: str | None = None

    @classmethod
    def of(cls, view: SessionView, session_key: str | None = None) -> SessionRead:
        s = view.session
        return cls(
            session_id=s.id,
            product_id=s.product_id,
            template_id=s.template_id,
            template_version=s.template_version,
            options=s.options,
            price=PriceOut.of(view.quote),
            created_at=s.created_at,
            updated_at=s.updated_at,
            expires_at=s.expires_at,
            session_key=session_key,
        )


class AssetRead(msgspec.Struct):
    asset_id: str
    content_type: str
    width: int
    height: int
    bytes: int

    @classmethod
    def of(cls, asset: Asset) -> AssetRead:
        return cls(asset.id, asset.content_type, asset.width, asset.height, asset.bytes)


PreviewState = Literal["queued", "running", "done", "failed"]
#: The statuses a preview job takes, as the API spells them.
_PREVIEW_STATES: dict[PreviewStatus, PreviewState] = {
    PreviewStatus.QUEUED: "queued",
    PreviewStatus.RUNNING: "running",
    PreviewStatus.DONE: "done",
    PreviewStatus.FAILED: "failed",
}


class PreviewRead(msgspec.Struct):
    job_id: str
    status: PreviewState
    #: Where the PNG is served, once `done`.
    url: str | None = None
    #: Why the last attempt failed (set while retrying, and when `failed`).
    error: str | None = None

    @classmethod
    def of(cls, job: PreviewJob) -> PreviewRead:
        done = job.status is PreviewStatus.DONE
        return cls(
            job_id=job.id,
            status=_PREVIEW_STATES[job.status],
            url=f"/previews/{job.id}/image" if done else None,
            error=None if done else job.error,
        )


# -- cart ------------------------------------------------------------------------------------------

Quantity = Annotated[int, Meta(ge=QUANTITY_MIN, le=QUANTITY_MAX, description="1 to 99.", examples=[1])]


class CartItemCreate(RequestBody):
    """Either `session_id` (cart that design session's design) or `product_id` and `options` (a design
    given directly, checked against the product's default template)."""

    quantity: Quantity = 1
    session_id: ResourceId | None = None
    product_id: ResourceId | None = None
    options: DesignOptions | None = None

    @classmethod
    def object_problems(cls, given: Mapping[str, Any], path: str) -> list[Violation]:
        if "session_id" in given and ("product_id" in given or "options" in given):
            return [
                Violation("session_id", "conflict", "give session_id, or product_id and options, not both")
            ]
        if "session_id" not in given and "product_id" not in given:
            return [Violation("session_id", "required", "give session_id, or product_id and options")]
        if "session_id" not in given and "options" not in given:
            return [Violation("options", "required", "a design given directly needs its options")]
        return []


class CartItemUpdate(RequestBody):
    quantity: Quantity


class LineRead(msgspec.Struct):
    """A configured product in a cart or an order, priced: `line_total = unit_price × quantity`, where
    `unit_price` is after the volume discount (`volume_discount` is what the product's volume tier
    took off the whole line); `discount` is the line's share of the order's discounts and `tax` its
    share of the tax (included in `line_total` where prices include tax)."""

    item_id: str
    product_id: str
    product_name: str
    template_version: int
    template_snapshot: Definition
    options: DesignOptions
    quantity: int
    unit_price: int
    line_total: int
    volume_discount: int
    discount: int
    tax: int
    price_components: list[PriceComponentOut]


def _line_fields(line: CartLine | OrderLine, priced: QuotedLine | OrderLine) -> dict[str, Any]:
    return {
        "item_id": line.id,
        "product_id": line.product_id,
        "product_name": line.product_name,
        "template_version": line.template_version,
        "template_snapshot": line.template_snapshot,
        "options": line.options,
        "quantity": line.quantity,
        "unit_price": priced.unit_price,
        "line_total": priced.line_total,
        "volume_discount": priced.volume_discount,
        "discount": priced.discount,
        "tax": priced.tax,
        "price_components": [
            PriceComponentOut(c.zone_id, c.code, c.label, c.amount) for c in line.components
        ],
    }


class CartItemRead(LineRead):
    currency: str

    @classmethod
    def of(cls, line: CartLine, priced: QuotedLine) -> CartItemRead:
        return cls(**_line_fields(line, priced), currency=line.currency)


class DiscountOut(msgspec.Struct):
    """A promotion in effect and what it takes off the lines and shipping together (`code` null for
    an automatic promotion)."""

    promotion_id: str
    code: str | None
    description: str
    amount: int

    @classmethod
    def of(cls, discount: AppliedDiscount) -> DiscountOut:
        return cls(discount.promotion_id, discount.code, discount.description, discount.amount)


class ShippingOptionOut(msgspec.Struct, omit_defaults=True):
    """A shipping method priced for this cart (its `free_over` applied, shipping promotions not)."""

    id: str
    name: str
    amount: int
    min_days: int | None = None
    max_days: int | None = None

    @classmethod
    def of(cls, option: ShippingOption) -> ShippingOptionOut:
        return cls(option.id, option.name, option.amount, option.min_days, option.max_days)


class TaxLineOut(msgspec.Struct):
    """One tax rate and what it charges (`Σ tax_lines.amount = tax`)."""

    name: str
    rate_bps: int
    amount: int

    @classmethod
    def of(cls, line: TaxLine) -> TaxLineOut:
        return cls(line.name, line.rate_bps, line.amount)


class CartPromotionOut(msgspec.Struct):
    """The promotion code applied to the cart: `applies` false, with the `reason`, when it does not
    apply to the cart as it is now (checkout then answers 409 until it is removed or applies)."""

    code: str
    applies: bool
    reason: str | None


class CartAddressOut(msgspec.Struct):
    country: str
    subdivision: str | None
    postal_code: str | None
    name: str | None
    line1: str | None
    line2: str | None
    city: str | None

    @classmethod
    def of(cls, a: CartAddress) -> CartAddressOut:
        return cls(a.country, a.subdivision, a.postal_code, a.name, a.line1, a.line2, a.city)


class CartRead(msgspec.Struct):
    """The cart and its quote. `subtotal = Σ items.line_total`; `Σ tax_lines.amount = tax`;
    `Σ items.discount + the shipping's discount = discount_total = Σ discounts.amount`;
    `total = subtotal − discount_total + shipping + tax`, or without `+ tax` when
    `prices_include_tax` (then `tax` is the part included). An empty cart costs nothing. Until the
    cart has an address in a region (`region_id` null), tax and shipping are the configured flat
    rates and `shipping_options` is empty."""

    items: list[CartItemRead]
    subtotal: int
    tax: int
    shipping: int
    total: int
    currency: str
    discounts: list[DiscountOut]
    discount_total: int
    shipping_method: ShippingOptionOut | None
    shipping_options: list[ShippingOptionOut]
    tax_lines: list[TaxLineOut]
    prices_include_tax: bool
    region_id: str | None
    promotion: CartPromotionOut | None
    shipping_address: CartAddressOut | None
    email: str | None

    @classmethod
    def of(cls, view: CartView) -> CartRead:
        q: Quote = view.quote.quote
        priced = {line.id: line for line in q.lines}
        code = view.quote.code
        details = view.details
        return cls(
            items=[CartItemRead.of(line, priced[line.id]) for line in view.lines],
            subtotal=q.subtotal,
            tax=q.tax,
            shipping=q.shipping,
            total=q.total,
            currency=q.currency,
            discounts=[DiscountOut.of(d) for d in q.discounts],
            discount_total=q.discount_total,
            shipping_method=ShippingOptionOut.of(q.shipping_method) if q.shipping_method else None,
            shipping_options=[ShippingOptionOut.of(o) for o in q.shipping_options],
            tax_lines=[TaxLineOut.of(t) for t in q.tax_lines],
            prices_include_tax=q.prices_include_tax,
            region_id=q.region_id,
            promotion=(
                CartPromotionOut(code, view.quote.code_refusal is None, view.quote.code_refusal)
                if code is not None
                else None
            ),
            shipping_address=(
                CartAddressOut.of(details.address) if details is not None and details.address else None
            ),
            email=details.email if details is not None else None,
        )


# -- checkout, orders, inventory -------------------------------------------------------------------

#: Lengths and formats of checkout details are the domain's rules (``email_problems``,
#: ``address_field_problems``), checked in the same pass as the types: every bad field at once.
Email = Annotated[
    str,
    Meta(description=f"At most {EMAIL_MAX} characters.", examples=["ada@example.com"]),
    Rule(email_problems),
]


def _address_rule(name: str) -> Rule:
    return Rule(lambda value, path: address_field_problems(name, value, path))


Subdivision = Annotated[
    str,
    Meta(
        description="The ISO 3166-2 subdivision after the dash (`CA` for US-CA), where tax rates may differ.",
        examples=["CA"],
    ),
    _address_rule("subdivision"),
]
Country = Annotated[
    str, Meta(description="ISO 3166-1 alpha-2, in capitals.", examples=["US"]), _address_rule("country")
]


class AddressIn(RequestBody):
    name: Annotated[
        str, Meta(description="At most 200 characters.", examples=["Ada Lovelace"]), _address_rule("name")
    ]
    line1: Annotated[
        str,
        Meta(description="At most 200 characters.", examples=["12 St James's Square"]),
        _address_rule("line1"),
    ]
    city: Annotated[
        str, Meta(description="At most 100 characters.", examples=["London"]), _address_rule("city")
    ]
    postal_code: Annotated[
        str, Meta(description="At most 20 characters.", examples=["SW1Y 4JH"]), _address_rule("postal_code")
    ]
    country: Annotated[
        str, Meta(description="ISO 3166-1 alpha-2, in capitals.", examples=["GB"]), _address_rule("country")
    ]
    line2: Annotated[str, Meta(description="At most 200 characters."), _address_rule("line2")] | None = None
    subdivision: Subdivision | None = None

    def to_domain(self) -> ShippingAddress:
        return ShippingAddress(
            self.name, self.line1, self.city, self.postal_code, self.country, self.line2, self.subdivision
        )


class AddressOut(msgspec.Struct):
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str
    subdivision: str | None

    @classmethod
    def of(cls, address: ShippingAddress) -> AddressOut:
        return cls(
            address.name,
            address.line1,
            address.line2,
            address.city,
            address.postal_code,
            address.country,
            address.subdivision,
        )


class CartAddressIn(RequestBody):
    """A cart's address: at least its country; the subdivision and postal code where tax may depend
    on them; the rest when known (checkout takes the full address)."""

    country: Country
    subdivision: Subdivision | None = None
    postal_code: (
        Annotated[str, Meta(description="At most 20 characters."), _address_rule("postal_code")] | None
    ) = None
    name: Annotated[str, Meta(description="At most 200 characters."), _address_rule("name")] | None = None
    line1: Annotated[str, Meta(description="At most 200 characters."), _address_rule("line1")] | None = None
    line2: Annotated[str, Meta(description="At most 200 characters."), _address_rule("line2")] | None = None
    city: Annotated[str, Meta(description="At most 100 characters."), _address_rule("city")] | None = None

    def to_domain(self) -> CartAddress:
        return CartAddress(
            self.country, self.subdivision, self.postal_code, self.name, self.line1, self.line2, self.city
        )


class CartDetailsWrite(RequestBody):
    """Where the cart goes, how and to whom: replaces all three (a field left out is cleared); the
    cart's promotion code stays."""

    shipping_address: CartAddressIn | None = None
    shipping_method_id: ResourceId | None = None
    email: Email | None = None

    def to_input(self) -> DetailsInput:
        return DetailsInput(
            self.shipping_address.to_domain() if self.shipping_address is not None else None,
            self.shipping_method_id,
            self.email,
        )


class PromotionCodeIn(RequestBody):
    code: Annotated[str, Meta(min_length=1, max_length=64, examples=["SUMMER10"])]


Provider = Literal["stripe", "paypal", "test"]


class CheckoutCreate(RequestBody):
    email: Email
    shipping_address: AddressIn
    payment_provider: Provider
    #: The shipping method; left out, the cart's choice or else the cheapest.
    shipping_method_id: ResourceId | None = None

    def to_request(self) -> CheckoutRequest:
        return CheckoutRequest(
            self.email, self.shipping_address.to_domain(), self.payment_provider, self.shipping_method_id
        )


class PaymentOut(msgspec.Struct, omit_defaults=True):
    """How to pay: confirm with `client_secret` (Stripe.js), send the buyer to `approval_url`
    (PayPal) or to `payment_url` (the test provider)."""

    provider: str
    payment_id: str
    client_secret: str | None = None
    approval_url: str | None = None
    payment_url: str | None = None

    @classmethod
    def of(cls, view: PaymentView, base_url: str) -> PaymentOut:
        url = view.payment_url
        if url is not None and url.startswith("/"):
            url = base_url.rstrip("/") + url
        return cls(view.provider, view.payment_id, view.client_secret, view.approval_url, url)


class CheckoutRead(msgspec.Struct):
    """The order just placed. `order_token` lets whoever holds it read the order
    (`GET /orders/{order_id}?token=`); it is shown only here."""

    order_id: str
    order_token: str
    status: str
    total: int
    currency: str
    payment: PaymentOut

    @classmethod
    def of(cls, placed: Placed, base_url: str) -> CheckoutRead:
        return cls(
            placed.order_id,
            placed.order_token,
            placed.status,
            placed.total,
            placed.currency,
            PaymentOut.of(placed.payment, base_url),
        )


class PaymentRetry(RequestBody):
    payment_provider: Provider | None = None


class TimelineOut(msgspec.Struct, omit_defaults=True):
    status: str
    at: datetime
    note: str | None = None


class PrintFileOut(msgspec.Struct):
    """The line's design at print resolution: `pending` until the order is paid and it is rendered,
    then `ready` (with the print file's `url` and its `preview_url`), or `failed` (with `error`)."""

    status: str
    url: str | None = None
    preview_url: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, file: PrintFile) -> PrintFileOut:
        if file.status is PrintStatus.READY and file.id:
            return cls(file.status.value, f"/print-files/{file.id}", f"/print-files/{file.id}/preview")
        return cls(file.status.value, error=file.error)


class OrderItemRead(LineRead):
    print_file: PrintFileOut

    @classmethod
    def of(cls, line: OrderLine) -> OrderItemRead:
        return cls(**_line_fields(line, line), print_file=PrintFileOut.of(line.print_file))


class OrderPaymentOut(msgspec.Struct):
    provider: str
    payment_id: str | None
    failure: str | None
    paid: int
    refunded: int


class OrderRead(msgspec.Struct):
    """The order with the whole price it was placed with: `total = subtotal − discount_total +
    shipping + tax` (without `+ tax` when `prices_include_tax`: `tax` is then the part included);
    `Σ tax_lines.amount = tax`, `Σ discounts.amount = discount_total`. `shipping_method` is null
    when the configured flat rates applied (no region). `timeline` lists every status the order
    took, oldest first."""

    order_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    email: str
    shipping_address: AddressOut
    items: list[OrderItemRead]
    subtotal: int
    tax: int
    shipping: int
    total: int
    currency: str
    tracking_url: str | None
    payment: OrderPaymentOut
    timeline: list[TimelineOut]
    discounts: list[DiscountOut]
    discount_total: int
    shipping_method: ShippingOptionOut | None
    tax_lines: list[TaxLineOut]
    prices_include_tax: bool
    region_id: str | None

    @classmethod
    def of(cls, order: Order) -> OrderRead:
        return cls(
            order_id=order.id,
            status=order.status.value,
            created_at=order.created_at,
            updated_at=order.updated_at,
            email=order.email,
            shipping_address=AddressOut.of(order.shipping_address),
            items=[OrderItemRead.of(line) for line in order.lines],
            subtotal=order.subtotal.amount,
            tax=order.tax.amount,
            shipping=order.shipping.amount,
            total=order.total.amount,
            currency=order.currency,
            tracking_url=order.tracking_url,
            payment=OrderPaymentOut(
                order.payment_provider,
                order.payment_id,
                order.payment_failure,
                order.paid_amount.amount,
                order.refunded_amount.amount,
            ),
            timeline=[TimelineOut(e.status.value, e.at, e.note) for e in order.timeline],
            discounts=[DiscountOut.of(d) for d in order.discounts],
            discount_total=order.discount_total.amount,
            shipping_method=(
                ShippingOptionOut.of(order.shipping_method) if order.shipping_method is not None else None
            ),
            tax_lines=[TaxLineOut.of(t) for t in order.tax_lines],
            prices_include_tax=order.prices_include_tax,
            region_id=order.region_id,
        )


class OrderList(msgspec.Struct):
    items: list[OrderRead]
    next_cursor: Cursor


class StatusChange(RequestBody):
    """`cancelled` and `refunded` work like `POST /orders/{order_id}/cancel`."""

    status: OrderStatus
    tracking_url: Annotated[str, Meta(max_length=URL_MAX, pattern=r"^https?://\S+$")] | None = None


class StockLevelWrite(RequestBody):
    product_id: ResourceId
    on_hand: Annotated[int, Meta(ge=0, le=ON_HAND_MAX)]
    option_code: Annotated[str, Meta(pattern=OPTION_CODE_PATTERN)] | None = None


class StockLevelRead(msgspec.Struct):
    """`available = on_hand - reserved`: what new orders may take."""

    product_id: str
    option_code: str | None
    on_hand: int
    reserved: int
    available: int
    sold: int
    updated_at: datetime

    @classmethod
    def of(cls, level: StockLevel) -> StockLevelRead:
        return cls(
            level.key.product_id,
            level.key.option_code,
            level.on_hand,
            level.reserved,
            level.available,
            level.sold,
            level.updated_at,
        )


class StockLevelList(msgspec.Struct):
    items: list[StockLevelRead]
    next_cursor: Cursor


class SandboxPaymentRead(msgspec.Struct):
    """A payment of the `test` provider, as its payment page shows it."""

    payment_id: str
    order_id: str
    status: str
    amount: int
    currency: str


class NoticeRead(msgspec.Struct):
    """What the delivery did: `applied`, `duplicate` (delivered before: nothing changed) or `ignored`."""

    received: bool
    result: str


# -- partner webhooks --------------------------------------------------------------------------------


def _event_names(events: list[str], path: str) -> list[Violation]:
    if not events:
        return [Violation(path, "required", "subscribe to at least one event")]
    return [
        Violation(f"{path}[{index}]", "unknown_event", f"events are: {', '.join(EVENT_NAMES)}")
        for index, name in enumerate(events)
        if name not in EVENT_NAMES
    ]


class WebhookEndpointCreate(RequestBody):
    url: Annotated[
        str, Meta(min_length=1, max_length=URL_MAX, examples=["https://partner.example.com/customshop"])
    ]
    events: Annotated[
        list[str], Meta(max_length=20, examples=[["order.paid", "order.shipped"]]), Rule(_event_names)
    ]


class WebhookEndpointRead(msgspec.Struct):
    """`secret` (`whsec_…`) verifies the `webhook-signature` of every delivery (Standard Webhooks)."""

    id: str
    url: str
    events: list[str]
    secret: str
    active: bool
    disabled_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookEndpointRead:
        return cls(
            endpoint.id,
            endpoint.url,
            list(endpoint.events),
            endpoint.secret,
            endpoint.active,
            endpoint.disabled_reason,
            endpoint.created_at,
        )


class WebhookEndpointList(msgspec.Struct):
    items: list[WebhookEndpointRead]
    next_cursor: Cursor = None


class WebhookLogRead(msgspec.Struct):
    """One delivery attempt: `response_status` is null when nothing was answered (`error` says why)."""

    id: str
    delivery_id: str
    endpoint_id: str
    event: str
    attempt: int
    response_status: int | None
    sent_at: datetime
    error: str | None

    @classmethod
    def of(cls, log: WebhookLog) -> WebhookLogRead:
        return cls(
            log.id,
            log.delivery_id,
            log.endpoint_id,
            log.event,
            log.attempt,
            log.response_status,
            log.sent_at,
            log.error,
        )


class WebhookLogList(msgspec.Struct):
    items: list[WebhookLogRead]
    next_cursor: Cursor


class FulfillmentReport(RequestBody):
    order_id: ResourceId
    status: OrderStatus
    tracking_url: Annotated[str, Meta(max_length=URL_MAX, pattern=r"^https?://\S+$")] | None = None


# -- commerce rules: regions, shipping methods, promotions -----------------------------------------


def _sound_fields(struct: type[msgspec.Struct], given: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``given`` that are sound on their own (of their type, within their limits),
    decoded, UNSET ones left out: what a rule across fields may judge (a field that is not sound is
    named by its own problem already)."""
    sound: dict[str, Any] = {}
    for field in msgspec.structs.fields(struct):
        value = given.get(field.encode_name)
        if value is None or value is msgspec.UNSET:
            continue
        try:
            sound[field.name] = msgspec.convert(value, type=field.type)
        except msgspec.ValidationError:
            continue
    return sound


def _unsound(struct: type[msgspec.Struct], given: Mapping[str, Any]) -> set[str]:
    """The fields ``given`` holds that are not sound on their own (see :func:`_sound_fields`)."""
    sound = _sound_fields(struct, given)
    return {name for name, value in given.items() if value is not None and value is not msgspec.UNSET} - set(
        sound
    )


class TaxRateIn(RequestBody):
    name: Annotated[
        str,
        Meta(min_length=1, max_length=TAX_RATE_NAME_MAX, examples=["CA sales tax"]),
        _name_rule(TAX_RATE_NAME_MAX),
    ]
    rate_bps: Annotated[
        int, Meta(ge=0, le=RATE_BPS_MAX, description="Basis points: 725 = 7.25 %.", examples=[725])
    ]
    subdivision: (
        Annotated[
            str,
            Meta(
                pattern=SUBDIVISION_PATTERN,
                description="The ISO 3166-2 part after the dash (`CA` for US-CA): applies only there.",
                examples=["CA"],
            ),
        ]
        | None
    ) = None
    tax_class: Annotated[
        str, Meta(pattern=RATE_TAX_CLASS_PATTERN, description="Lines of products of this tax class.")
    ] = STANDARD_TAX_CLASS

    def to_rate(self) -> TaxRate:
        return TaxRate(self.name, self.rate_bps, self.subdivision, self.tax_class)


def _repeated_rates(rates: list[TaxRateIn], path: str) -> list[Violation]:
    return repeated_tax_rate_problems([rate.to_rate() for rate in rates], path)


class RegionWrite(RequestBody):
    """A region as an admin writes it (create, or replace with PUT)."""

    name: Annotated[
        str,
        Meta(min_length=1, max_length=REGION_NAME_MAX, examples=["European Union"]),
        _name_rule(REGION_NAME_MAX),
    ]
    countries: Annotated[
        list[str],
        Meta(
            min_length=1,
            max_length=COUNTRIES_MAX,
            description="ISO 3166-1 alpha-2 codes in capitals; each in no other region.",
            examples=[["DE", "FR"]],
        ),
        Rule(countries_problems),
    ]
    prices_include_tax: bool = False
    tax_shipping: bool = False
    tax_rates: Annotated[list[TaxRateIn], Meta(max_length=TAX_RATES_MAX), Rule(_repeated_rates)] = (
        msgspec.field(default_factory=list)
    )

    def to_input(self) -> RegionInput:
        return RegionInput(
            name=self.name,
            countries=tuple(self.countries),
            prices_include_tax=self.prices_include_tax,
            tax_shipping=self.tax_shipping,
            tax_rates=tuple(rate.to_rate() for rate in self.tax_rates),
        )


class TaxRateOut(msgspec.Struct):
    name: str
    rate_bps: int
    subdivision: str | None
    tax_class: str


class RegionRead(msgspec.Struct):
    id: str
    name: str
    countries: list[str]
    prices_include_tax: bool
    tax_shipping: bool
    tax_rates: list[TaxRateOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: Region) -> RegionRead:
        return cls(
            id=r.id,
            name=r.name,
            countries=list(r.countries),
            prices_include_tax=r.prices_include_tax,
            tax_shipping=r.tax_shipping,
            tax_rates=[TaxRateOut(t.name, t.rate_bps, t.subdivision, t.tax_class) for t in r.tax_rates],
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class RegionList(msgspec.Struct):
    items: list[RegionRead]
    next_cursor: Cursor


#: A shipping rate in one of its three shapes, checked by the domain (``rate.tiers[2].min``...).
Rate = Annotated[
    dict[str, Any],
    Meta(
        description=(
            'One of `{"type": "flat", "amount"}`, `{"type": "per_item", "first", "additional"}` or '
            '`{"type": "tiers", "by": "subtotal"|"quantity", "tiers": [{"min", "amount"}]}` '
            "(amounts in minor units; tiers' `min` ascending)."
        ),
        examples=[
            {
                "type": "tiers",
                "by": "subtotal",
                "tiers": [{"min": 0, "amount": 800}, {"min": 10000, "amount": 0}],
            }
        ],
    ),
]
Days = Annotated[int, Meta(ge=0, le=DAYS_MAX)]


class ShippingMethodWrite(RequestBody):
    """A shipping method as an admin writes it (create, or replace with PUT)."""

    region_id: ResourceId
    name: Annotated[str, Meta(min_length=1, max_length=METHOD_NAME_MAX, examples=["Standard"])]
    rate: Rate
    free_over: Annotated[Price, Meta(description="Free from this subtotal (after discounts) on.")] | None = (
        None
    )
    min_days: Days | None = None
    max_days: Days | None = None
    active: bool = True

    @classmethod
    def object_problems(cls, given: Mapping[str, Any], path: str) -> list[Violation]:
        # The domain's rules of a method, all of them here (not as field rules): a rule across fields
        # that fails stops a decoded body before its use case, so this answer must name everything.
        sound = _sound_fields(cls, given)
        problems = text_problems(sound["name"], "name", METHOD_NAME_MAX) if "name" in sound else []
        if "rate" in sound:
            problems += rate_problems(sound["rate"], "rate")
        problems += days_problems(sound.get("min_days"), sound.get("max_days"))
        return problems

    def to_input(self) -> ShippingMethodInput:
        return ShippingMethodInput(
            region_id=self.region_id,
            name=self.name,
            rate=self.rate,
            active=self.active,
            free_over=self.free_over,
            min_days=self.min_days,
            max_days=self.max_days,
        )


class ShippingMethodRead(msgspec.Struct):
    id: str
    region_id: str
    name: str
    rate: Rate
    free_over: int | None
    min_days: int | None
    max_days: int | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: ShippingMethod) -> ShippingMethodRead:
        return cls(
            id=m.id,
            region_id=m.region_id,
            name=m.name,
            rate=rate_document(m.rate),
            free_over=m.free_over,
            min_days=m.min_days,
            max_days=m.max_days,
            active=m.active,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class ShippingMethodList(msgspec.Struct):
    items: list[ShippingMethodRead]
    next_cursor: Cursor


PromotionDescription = Annotated[
    str, Meta(min_length=1, max_length=PROMOTION_DESCRIPTION_MAX, examples=["10 % off your first order"])
]
PromotionCode = Annotated[
    str,
    Meta(
        pattern=CODE_PATTERN,
        description="3 to 32 letters, digits, `-` or `_`; case-insensitive (stored upper case).",
        examples=["WELCOME10"],
    ),
]
PromotionValue = Annotated[
    int,
    Meta(
        ge=1,
        le=MAX_AMOUNT,
        description="Basis points for `percentage` (1 to 10000: 1000 = 10 %), minor units for `fixed`.",
    ),
]
Instant = Annotated[datetime, Meta(tz=True, description="RFC 3339 with a time zone.")]
Uses = Annotated[int, Meta(ge=1, le=USES_MAX)]
Units = Annotated[int, Meta(ge=1, le=BUY_GET_MAX)]
ProductIds = Annotated[
    list[ResourceId],
    Meta(max_length=PRODUCT_IDS_MAX, description="The products it applies to; empty: every product."),
]


def _promotion_problems(
    struct: type[msgspec.Struct], given: Mapping[str, Any], *, whole: bool
) -> list[Violation]:
    """The domain's rules of a promotion, over the fields sound on their own (the others are named
    by their own problem), all of them here rather than as field rules: a rule across fields that
    fails stops a decoded body before its use case, so this answer must name everything.

    What the kind requires or refuses is judged only for a ``whole`` promotion whose kind is sound:
    a change (PATCH) is judged with the stored promotion by the use case.
    """
    sound = _sound_fields(struct, given)
    problems = code_problems(sound["code"]) if "code" in sound else []
    if "description" in sound:
        problems += text_problems(sound["description"], "description", PROMOTION_DESCRIPTION_MAX)
    kind: PromotionKind | None = sound.get("kind") if whole else None
    rules = promotion_rule_problems(
        kind=kind or PromotionKind.PERCENTAGE,
        value=sound.get("value"),
        product_ids=sound.get("product_ids", ()),
        starts_at=sound.get("starts_at"),
        ends_at=sound.get("ends_at"),
        buy_quantity=sound.get("buy_quantity"),
        get_quantity=sound.get("get_quantity"),
    )
    by_kind = {"value", "buy_quantity", "get_quantity"}
    problems += [p for p in rules if kind is not None or p.field not in by_kind]
    unsound = _unsound(struct, given)
    return [p for p in problems if p.field.split("[", 1)[0] not in unsound]


class PromotionWrite(RequestBody):
    """A promotion as an admin creates it. No `code`: an automatic promotion."""

    description: PromotionDescription
    kind: PromotionKind
    code: PromotionCode | None = None
    value: PromotionValue | None = None
    product_ids: ProductIds = msgspec.field(default_factory=list)
    min_subtotal: Price | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    usage_limit: Uses | None = None
    per_email_limit: Uses | None = None
    buy_quantity: Units | None = None
    get_quantity: Units | None = None
    combinable: bool = False
    active: bool = True

    @classmethod
    def object_problems(cls, given: Mapping[str, Any], path: str) -> list[Violation]:
        return _promotion_problems(cls, given, whole=True)

    def to_input(self) -> PromotionInput:
        return PromotionInput(
            description=self.description,
            kind=self.kind,
            combinable=self.combinable,
            active=self.active,
            code=self.code,
            value=self.value,
            product_ids=tuple(self.product_ids),
            min_subtotal=self.min_subtotal,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            usage_limit=self.usage_limit,
            per_email_limit=self.per_email_limit,
            buy_quantity=self.buy_quantity,
            get_quantity=self.get_quantity,
        )


class PromotionPatch(RequestBody):
    """The fields of a promotion to change; a field left out keeps its value, `null` clears an
    optional one. The promotion as changed is checked as a whole."""

    description: PromotionDescription | msgspec.UnsetType = msgspec.UNSET
    kind: PromotionKind | msgspec.UnsetType = msgspec.UNSET
    code: PromotionCode | msgspec.UnsetType | None = msgspec.UNSET
    value: PromotionValue | msgspec.UnsetType | None = msgspec.UNSET
    product_ids: ProductIds | msgspec.UnsetType = msgspec.UNSET
    min_subtotal: Price | msgspec.UnsetType | None = msgspec.UNSET
    starts_at: Instant | msgspec.UnsetType | None = msgspec.UNSET
    ends_at: Instant | msgspec.UnsetType | None = msgspec.UNSET
    usage_limit: Uses | msgspec.UnsetType | None = msgspec.UNSET
    per_email_limit: Uses | msgspec.UnsetType | None = msgspec.UNSET
    buy_quantity: Units | msgspec.UnsetType | None = msgspec.UNSET
    get_quantity: Units | msgspec.UnsetType | None = msgspec.UNSET
    combinable: bool | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET

    @classmethod
    def object_problems(cls, given: Mapping[str, Any], path: str) -> list[Violation]:
        return _promotion_problems(cls, given, whole=False)

    def changes(self) -> dict[str, Any]:
        """The fields given, by name (``product_ids`` as a tuple)."""
        given = {
            f.name: getattr(self, f.name)
            for f in msgspec.structs.fields(self)
            if getattr(self, f.name) is not msgspec.UNSET
        }
        if "product_ids" in given:
            given["product_ids"] = tuple(given["product_ids"])
        return given


class PromotionRead(msgspec.Struct):
    """A promotion; `times_used` counts the uses placed orders hold (see docs/api.md)."""

    id: str
    code: str | None
    automatic: bool
    description: str
    kind: PromotionKind
    value: int | None
    product_ids: list[str]
    min_subtotal: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_email_limit: int | None
    buy_quantity: int | None
    get_quantity: int | None
    combinable: bool
    active: bool
    times_used: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Promotion) -> PromotionRead:
        return cls(
            id=p.id,
            code=p.code,
            automatic=p.automatic,
            description=p.description,
            kind=p.kind,
            value=p.value,
            product_ids=list(p.product_ids),
            min_subtotal=p.min_subtotal,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            usage_limit=p.usage_limit,
            per_email_limit=p.per_email_limit,
            buy_quantity=p.buy_quantity,
            get_quantity=p.get_quantity,
            combinable=p.combinable,
            active=p.active,
            times_used=p.times_used,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PromotionList(msgspec.Struct):
    items: list[PromotionRead]
    next_cursor: Cursor
