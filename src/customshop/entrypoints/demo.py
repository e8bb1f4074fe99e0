"""The demo catalog: a T-shirt (10 or more 15 % off, 25 or more 20 %), an engraved gift (its second
line priced per character) and a build-your-own gift box; and the demo's commerce rules: regions
with their tax, shipping methods and a welcome code."""

from __future__ import annotations

from typing import Any

from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.application.inventory import Inventory
from customshop.application.pricing_rules import (
    PricingRules,
    PromotionInput,
    RegionInput,
    ShippingMethodInput,
)
from customshop.domain.catalog import Option, Product, VolumeTier
from customshop.domain.promotions import PromotionKind
from customshop.domain.regions import COUNTRY_CODES, Region, TaxRate

SLUGS = ("classic-tee", "engraved-keepsake-box", "build-your-own-gift-box")

#: Units on the shelf per option code of the demo products; the keepsake box is made to order.
DEMO_STOCK: dict[str, dict[str, int]] = {
    "classic-tee": {"S": 25, "M": 40, "L": 40, "XL": 3},
    "build-your-own-gift-box": {"chocolate": 50, "candle": 20, "mug": 12, "socks": 30, "tea": 50},
}


async def _existing(catalog: Catalog) -> dict[str, Product]:
    found: dict[str, Product] = {}
    after: str | None = None
    while True:
        page = await catalog.list_products(include_inactive=True, after=after, limit=200)
        found.update({p.slug: p for p in page.items if p.slug in SLUGS})
        if page.next_after is None:
            return found
        after = page.next_after


async def seed_demo_catalog(catalog: Catalog) -> list[Product]:
    """Create the demo products, their option sets and templates. Idempotent: products that already
    exist (by slug) are left alone."""
    existing = await _existing(catalog)
    created: list[Product] = []
    for slug, build in ((SLUGS[0], _tee), (SLUGS[1], _keepsake_box), (SLUGS[2], _gift_box)):
        if slug not in existing:
            created.append(await build(catalog))
    return created


async def seed_demo_stock(inventory: Inventory, products: list[Product]) -> None:
    """Stock levels for the demo products just created (``DEMO_STOCK``)."""
    for product in products:
        for code, on_hand in DEMO_STOCK.get(product.slug, {}).items():
            await inventory.set_level(product.id, code, on_hand)


#: The demo's welcome code: 10 % off, once per customer.
DEMO_CODE = "WELCOME10"


async def seed_demo_pricing(rules: PricingRules) -> list[Region]:
    """The demo's commerce rules, unless some region or the demo code exists already (idempotent):

    - **United States** (prices before tax): California 7.25 % and New York 4 % (state rates,
      applied only there; other states pay none); standard shipping tiered by subtotal, express flat.
    - **European Union**: a region has one set of rates for all its countries, so each VAT rate is a
      region of its own: **EU: Germany** (VAT 19 %) and **EU: France** (VAT 20 %), prices including
      VAT, shipping taxed; standard shipping free from 150.00, express per item in Germany.
    - **Rest of world**: every other assigned country, no tax collected; one international method.
    - The code ``WELCOME10``: 10 % off, once per email.

    Returns:
        The regions created (none when they existed already).
    """
    created: list[Region] = []
    if not await rules.all_regions():
        created = await _demo_regions(rules)
    if not any(p.code == DEMO_CODE for p in await rules.all_promotions()):
        await rules.create_promotion(
            PromotionInput(
                description="10 % off your first order",
                kind=PromotionKind.PERCENTAGE,
                code=DEMO_CODE,
                value=1000,
                per_email_limit=1,
            )
        )
    return created


async def _demo_regions(rules: PricingRules) -> list[Region]:
    us = await rules.create_region(
        RegionInput(
            name="United States",
            countries=("US",),
            prices_include_tax=False,
            tax_shipping=False,
            tax_rates=(
                TaxRate("California sales tax", 725, subdivision="CA"),
                TaxRate("New York sales tax", 400, subdivision="NY"),
            ),
        )
    )
    germany = await rules.create_region(
        RegionInput("EU: Germany", ("DE",), True, True, (TaxRate("VAT", 1900),))
    )
    france = await rules.create_region(
        RegionInput("EU: France", ("FR",), True, True, (TaxRate("VAT", 2000),))
    )
    taken = {"US", "DE", "FR"}
    world = await rules.create_region(
        RegionInput("Rest of world", tuple(sorted(COUNTRY_CODES - taken)), False, False)
    )
    tiers = [{"min": 0, "amount": 799}, {"min": 5000, "amount": 499}, {"min": 10000, "amount": 0}]
    methods = [
        ShippingMethodInput(us.id, "Standard", {"type": "tiers", "by": "subtotal", "tiers": tiers}, True,
                            None, 3, 7),
        ShippingMethodInput(us.id, "Express", {"type": "flat", "amount": 1999}, True, None, 1, 2),
        ShippingMethodInput(germany.id, "Standard", {"type": "flat", "amount": 1200}, True, 15000, 4, 8),
        ShippingMethodInput(germany.id, "Express", {"type": "per_item", "first": 2500, "additional": 500},
                            True, None, 2, 3),
        ShippingMethodInput(france.id, "Standard", {"type": "flat", "amount": 1200}, True, 15000, 4, 8),
        ShippingMethodInput(world.id, "International", {"type": "per_item", "first": 2500, "additional": 800},
                            True, None, 7, 21),
    ]  # fmt: skip
    for method in methods:
        await rules.create_shipping_method(method)
    return [us, germany, france, world]


#: The T-shirt's quantity prices: 10 or more, 15 % off each; 25 or more, 20 %.
TEE_VOLUME_PRICING = (VolumeTier(10, 1500), VolumeTier(25, 2000))


async def _product(
    catalog: Catalog,
    slug: str,
    name: str,
    description: str,
    price: int,
    volume_pricing: tuple[VolumeTier, ...] = (),
) -> Product:
    return await catalog.create_product(
        ProductInput(
            name=name, slug=slug, description=description, base_price=price, volume_pricing=volume_pricing
        )
    )


async def _options(catalog: Catalog, product: Product, name: str, options: list[tuple[str, str, int]]) -> str:
    option_set = await catalog.create_option_set(
        OptionSetInput(product.id, name, tuple(Option(code, label, delta) for code, label, delta in options))
    )
    return option_set.id


async def _template(catalog: Catalog, product: Product, definition: dict[str, Any]) -> None:
    await catalog.create_template(TemplateInput(product.id, 1, definition, is_default=True))


async def _tee(catalog: Catalog) -> Product:
    tee = await _product(
        catalog,
        SLUGS[0],
        "Classic T-shirt",
        "Heavyweight cotton tee: your words on the chest, your photo below, in the colour you like.",
        1900,
        TEE_VOLUME_PRICING,
    )
    sizes = await _options(
        catalog,
        tee,
        "Size",
        [("S", "Small", 0), ("M", "Medium", 0), ("L", "Large", 0), ("XL", "Extra large", 200)],
    )
    await _template(
        catalog,
        tee,
        {
            # A 28 cm square print area, printed at 300 DPI.
            "canvas": {
                "width": 1000,
                "height": 1000,
                "background": "#ffffff",
                "width_mm": 280,
                "height_mm": 280,
            },
            "zones": [
                {
                    "id": "front_text",
                    "type": "text",
                    "label": "Front text",
                    "max_length": 20,
                    "fonts": ["Serif", "Sans"],
                    "palette": ["#000000", "#ffffff", "#f1c40f"],
                    "price_delta": 300,
                    "area": {"x": 100, "y": 120, "width": 800, "height": 120},
                },
                {
                    "id": "photo",
                    "type": "image",
                    "label": "Photo",
                    "allowed_types": ["image/png", "image/jpeg"],
                    "max_bytes": 10 * 1024 * 1024,
                    "min_width": 600,
                    "min_height": 600,
                    "price_delta": 500,
                    "area": {"x": 250, "y": 300, "width": 500, "height": 500},
                },
                {
                    "id": "body_color",
                    "type": "color",
                    "label": "Shirt colour",
                    "palette": ["#c0392b", "#2c3e50", "#ffffff"],
                    "default": "#2c3e50",
                },
                {"id": "size", "type": "option", "label": "Size", "option_set_id": sizes, "required": True},
            ],
        },
    )
    return tee


async def _keepsake_box(catalog: Catalog) -> Product:
    box = await _product(
        catalog,
        SLUGS[1],
        "Engraved keepsake box",
        "A solid wood box with two lines engraved on the lid in the typeface of your choice.",
        3500,
    )
    woods = await _options(catalog, box, "Wood", [("oak", "Oak", 0), ("walnut", "Walnut", 500)])
    engraving = {"fonts": ["Serif", "Sans", "Mono"], "palette": ["#3b2a1a"]}
    await _template(
        catalog,
        box,
        {
            "canvas": {
                "width": 800,
                "height": 600,
                "background": "#d9b38c",
                "width_mm": 200,
                "height_mm": 150,
            },
            "zones": [
                {
                    "id": "engraving",
                    "type": "text",
                    "label": "Engraving",
                    "required": True,
                    "min_length": 1,
                    "max_length": 30,
                    "area": {"x": 80, "y": 200, "width": 640, "height": 90},
                    **engraving,
                },
                {
                    "id": "second_line",
                    "type": "text",
                    "label": "Second line",
                    "max_length": 40,
                    "price_delta": 400,
                    # Ten letters come with the line; each further one (spaces are free) is 0.50.
                    "price_per_character": 50,
                    "free_characters": 10,
                    "area": {"x": 80, "y": 320, "width": 640, "height": 70},
                    **engraving,
                },
                {"id": "wood", "type": "option", "label": "Wood", "option_set_id": woods, "required": True},
            ],
        },
    )
    return box


async def _gift_box(catalog: Catalog) -> Product:
    box = await _product(
        catalog,
        SLUGS[2],
        "Build-your-own gift box",
        "Choose one to four treats, a wrapping colour and a card message.",
        1500,
    )
    components = await _options(
        catalog,
        box,
        "Components",
        [
            ("chocolate", "Dark chocolate bar", 800),
            ("candle", "Soy candle", 1200),
            ("mug", "Ceramic mug", 1000),
            ("socks", "Wool socks", 900),
            ("tea", "Loose-leaf tea", 700),
        ],
    )
    await _template(
        catalog,
        box,
        {
            "canvas": {
                "width": 1000,
                "height": 1000,
                "background": "#fdf6e3",
                "width_mm": 150,
                "height_mm": 150,
            },
            "zones": [
                {
                    "id": "components",
                    "type": "option",
                    "label": "What goes in",
                    "option_set_id": components,
                    "multiple": True,
                    "min": 1,
                    "max": 4,
                    "required": True,
                },
                {
                    "id": "wrap_color",
                    "type": "color",
                    "label": "Wrapping",
                    "palette": ["#b03a2e", "#1e8449", "#f5f5f5"],
                    "default": "#b03a2e",
                    "area": {"x": 0, "y": 0, "width": 1000, "height": 1000},
                },
                {
                    "id": "card_message",
                    "type": "text",
                    "label": "Card message",
                    "max_length": 120,
                    "fonts": ["Serif"],
                    "price_delta": 300,
                    "area": {"x": 150, "y": 700, "width": 700, "height": 200},
                },
            ],
        },
    )
    return box
