"""The wire format: msgspec structs for request and response bodies, and their explicit mapping
to and from domain objects. Limits come from the domain's constants so they cannot drift."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from customshop.application.cart import CartView
from customshop.application.catalog import OptionSetInput, ProductInput, TemplateInput, default_problems
from customshop.application.checkout import CheckoutRequest, PaymentView, Placed
from customshop.application.customization import SessionView
from customshop.domain.cart import QUANTITY_MAX, QUANTITY_MIN, CartLine
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
    URL_MAX,
    MediaItem,
    Option,
    OptionSet,
    Product,
    currency_problems,
    duplicate_code_problems,
    text_problems,
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
            "`text`, `image`, `color` or `option` (see docs/api.md for every field and rule)."
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


class ProductWrite(RequestBody):
    """A product as a designer writes it (create, or replace with PUT)."""

    name: Annotated[
        str, Meta(min_length=1, max_length=NAME_MAX, examples=["Classic T-shirt"]), _name_rule(NAME_MAX)
    ]
    base_price: Price
    description: Annotated[str, Meta(max_length=DESCRIPTION_MAX)] = ""
    slug: Annotated[str, Meta(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN)] | None = None
    currency: Currency | None = None
    media: Annotated[list[MediaIn], Meta(max_length=MEDIA_MAX)] = msgspec.field(default_factory=list)
    active: bool = True

    def to_input(self) -> ProductInput:
        return ProductInput(
            name=self.name,
            description=self.description,
            base_price=self.base_price,
            media=tuple(MediaItem(m.url, m.alt) for m in self.media),
            active=self.active,
            slug=self.slug,
            currency=self.currency,
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


class ProductRead(msgspec.Struct):
    id: str
    slug: str
    name: str
    description: str
    base_price: int
    currency: str
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
    """A configured product in a cart or an order, priced: `line_total = unit_price × quantity`."""

    item_id: str
    product_id: str
    product_name: str
    template_version: int
    template_snapshot: Definition
    options: DesignOptions
    quantity: int
    unit_price: int
    line_total: int
    price_components: list[PriceComponentOut]


def _line_fields(line: CartLine | OrderLine) -> dict[str, Any]:
    return {
        "item_id": line.id,
        "product_id": line.product_id,
        "product_name": line.product_name,
        "template_version": line.template_version,
        "template_snapshot": line.template_snapshot,
        "options": line.options,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "line_total": line.line_total,
        "price_components": [
            PriceComponentOut(c.zone_id, c.code, c.label, c.amount) for c in line.components
        ],
    }


class CartItemRead(LineRead):
    currency: str

    @classmethod
    def of(cls, line: CartLine) -> CartItemRead:
        return cls(**_line_fields(line), currency=line.currency)


class CartRead(msgspec.Struct):
    """`total = subtotal + tax + shipping`; an empty cart costs nothing."""

    items: list[CartItemRead]
    subtotal: int
    tax: int
    shipping: int
    total: int
    currency: str

    @classmethod
    def of(cls, view: CartView) -> CartRead:
        t = view.totals
        return cls(
            [CartItemRead.of(line) for line in view.lines], t.subtotal, t.tax, t.shipping, t.total, t.currency
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

    def to_domain(self) -> ShippingAddress:
        return ShippingAddress(self.name, self.line1, self.city, self.postal_code, self.country, self.line2)


class AddressOut(msgspec.Struct):
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str

    @classmethod
    def of(cls, address: ShippingAddress) -> AddressOut:
        return cls(
            address.name, address.line1, address.line2, address.city, address.postal_code, address.country
        )


Provider = Literal["stripe", "paypal", "test"]


class CheckoutCreate(RequestBody):
    email: Email
    shipping_address: AddressIn
    payment_provider: Provider

    def to_request(self) -> CheckoutRequest:
        return CheckoutRequest(self.email, self.shipping_address.to_domain(), self.payment_provider)


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
        return cls(**_line_fields(line), print_file=PrintFileOut.of(line.print_file))


class OrderPaymentOut(msgspec.Struct):
    provider: str
    payment_id: str | None
    failure: str | None
    paid: int
    refunded: int


class OrderRead(msgspec.Struct):
    """`total = subtotal + tax + shipping`; `timeline` lists every status the order took, oldest first."""

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
            subtotal=order.subtotal,
            tax=order.tax,
            shipping=order.shipping,
            total=order.total,
            currency=order.currency,
            tracking_url=order.tracking_url,
            payment=OrderPaymentOut(
                order.payment_provider,
                order.payment_id,
                order.payment_failure,
                order.paid_amount,
                order.refunded_amount,
            ),
            timeline=[TimelineOut(e.status.value, e.at, e.note) for e in order.timeline],
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
