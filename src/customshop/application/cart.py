"""The guest's cart: configured lines priced when carted, what the guest told it (address, shipping
method, email, promotion code), and its quote under the commerce rules.

The cart lives under the guest's session key (see ``customization``); a guest that adds to its cart
(or tells it its details) without one gets a new key. Another guest's line answers
``CartItemNotFound``; a key that was never issued, or expired, answers ``GuestKeyNotFound`` on every
cart use case. Every answer carries the cart's quote (:func:`customshop.application.quotes.quote_cart`,
which checkout prices with too).

One promotion code per cart: applying a code replaces the one applied before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from customshop.application.catalog_cache import CatalogCache
from customshop.application.customization import SessionNotFound, issue_key, live_guest
from customshop.application.design_source import DesignSource, design_source
from customshop.application.ports import Clock, IdGenerator, UnitOfWork, UnitOfWorkFactory
from customshop.application.quotes import CartQuote, quote_cart, quote_line
from customshop.domain.cart import (
    CartAddress,
    CartDetails,
    CartItemNotFound,
    CartLine,
    cart_address_problems,
    check_quantity,
    design_key,
    merge_or_append,
)
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.customization import Asset
from customshop.domain.errors import InvalidInput, NotFound, Violation
from customshop.domain.orders import address_field_problems, email_problems
from customshop.domain.pricing import quote_design
from customshop.domain.promotions import normalize_code
from customshop.domain.quote import FlatRates, QuoteLine, promotion_refusal
from customshop.domain.templates import Template
from customshop.domain.validation import AssetInfo, Design, check_design


class PromotionNotInCart(NotFound):
    """The cart has no such promotion code applied."""


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart with its details and its quote. ``session_key`` is set only when this call minted the
    guest's key."""

    lines: list[CartLine]
    quote: CartQuote
    details: CartDetails | None = None
    session_key: str | None = None


@dataclass(frozen=True, slots=True)
class DetailsInput:
    """What ``PUT /cart/details`` sets: the address (at least its country), the chosen shipping
    method (None: the cheapest) and the email. It replaces all three; the promotion code stays."""

    address: CartAddress | None = None
    shipping_method_id: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class _NamedDesign:
    """What a design a cart request names is made of: its product, template, option sets, zone
    values and uploaded images."""

    product: Product
    template: Template
    option_sets: Mapping[str, OptionSet]
    options: Mapping[str, object]
    assets: list[Asset]

    def check(self) -> tuple[Design | None, list[Violation]]:
        """The design checked as a cart line needs it (required zones filled)."""
        infos = {a.id: AssetInfo(a.id, a.content_type, a.width, a.height, a.bytes) for a in self.assets}
        return check_design(
            self.template.definition, self.option_sets, self.options, assets=infos, complete=True
        )


#: A design given directly for a product without a default template.
NO_TEMPLATE = Violation("product_id", "no_template", "this product has no default template")


async def destination_problems(
    uow: UnitOfWork, country: object, shipping_method_id: object, *, country_field: str
) -> list[Violation]:
    """What the stored rules say of a destination ``country`` and a chosen ``shipping_method_id``
    (raw values: what is not a string is the body's own check): a country outside every region
    while regions exist (``not_shippable`` at ``country_field``), a method that is not an active one
    of that country's region (``shipping_method_id``, ``unknown``). Reads only."""
    problems: list[Violation] = []
    if not isinstance(country, str) or address_field_problems("country", country):
        country = None  # not a country code: the address's own check names it
    region = await uow.regions.for_country(country) if country is not None else None
    if country is not None and region is None and await uow.regions.any():
        problems.append(Violation(country_field, "not_shippable", f"this shop does not ship to {country}"))
    if isinstance(shipping_method_id, str):
        method = await uow.shipping_methods.get(shipping_method_id)
        if method is None or not method.active or (region is not None and method.region_id != region.id):
            where = f" to {country}" if isinstance(country, str) else ""
            problems.append(
                Violation(
                    "shipping_method_id",
                    "unknown",
                    f"there is no active shipping method {shipping_method_id!r}{where}",
                )
            )
    return problems


class Carts:
    """Cart use cases; each method is one committed unit of work and answers the whole cart."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        flat: FlatRates,
        currency: str,
        catalog_cache: CatalogCache | None = None,
    ) -> None:
        self._uow = uow
        self._cache = catalog_cache
        self._clock = clock
        self._ids = ids
        self._flat = flat
        self._currency = currency

    async def view(self, session_key: str | None) -> CartView:
        """The guest's cart; a guest without a key has an empty one.

        Raises:
            GuestKeyNotFound: a key that was never issued, or expired.
        """
        async with self._uow(read_only=True) as uow:
            guest = await live_guest(uow, session_key, self._clock.now())
            if guest is None:
                return await self._view(uow, [], None)
            return await self._view(uow, await uow.carts.lines(guest), await uow.cart_details.get(guest))

    async def add_session(self, session_key: str | None, session_id: str, quantity: int) -> CartView:
        """Cart the design of a customization session. Its required zones must be filled.

        Raises:
            SessionNotFound: unknown, expired, or another guest's session (or its template is gone).
            InvalidInput: the design is incomplete (``options.<zone>: required``) or no longer fits,
                the quantity is not 1-99, or the product's currency is not the cart's.
        """
        check_quantity(quantity)
        async with self._uow() as uow:
            guest = await live_guest(uow, session_key, self._clock.now())
            named = await self._named_design(uow, guest, {"session_id": session_id})
            if guest is None or named is None:
                raise SessionNotFound(f"there is no session {session_id!r}")
            view = await self._store(uow, guest, self._line(guest, named, quantity))
            await uow.commit()
        return view

    async def add_design(
        self, session_key: str | None, product_id: str, options: Mapping[str, object], quantity: int
    ) -> CartView:
        """Cart a design given directly, checked against the product's default template; its images
        must have been uploaded to one of the guest's sessions.

        Raises:
            InvalidInput: unknown product or no default template (``product_id``), a design that does not
                fit (``options.<zone>``), a quantity not 1-99, or a currency that is not the cart's.
            GuestKeyNotFound: a key that was never issued, or expired (a guest without a key gets one).
        """
        check_quantity(quantity)
        async with self._uow() as uow:
            guest = await live_guest(uow, session_key, self._clock.now())
            new_key = None
            if guest is None:
                new_key, guest = await issue_key(uow, self._clock.now())
            named = await self._named_design(uow, guest, {"product_id": product_id, "options": options})
            assert named is not None  # a product and its options always name a design (or raise)
            view = await self._store(uow, guest, self._line(guest, named, quantity))
            await uow.commit()
        return replace(view, session_key=new_key)

    async def design_problems(self, session_key: str | None, given: Mapping[str, object]) -> list[Violation]:
        """What is wrong with the design an add-to-cart request names, judged from its raw fields
        (``session_id``, or ``product_id`` and ``options``) while the rest of the request may be
        malformed, so that one 400 names it all. Writes nothing and raises nothing: a field of the
        wrong type, or a session this guest does not own (a 404 once the request is sound), gives
        no problem here.
        """
        async with self._uow(read_only=True) as uow:
            try:
                guest = await live_guest(uow, session_key, self._clock.now())
                named = await self._named_design(uow, guest, given)
            except NotFound:
                return []
            except InvalidInput as exc:
                return list(exc.violations)
        return [] if named is None else named.check()[1]

    async def _named_design(
        self, uow: UnitOfWork, guest: str | None, given: Mapping[str, object]
    ) -> _NamedDesign | None:
        """What the design ``given`` names (``session_id``, or ``product_id`` and ``options``) is
        made of; None when its fields name none, or a session that is not ``guest``'s and live, or
        one whose template is gone.

        Raises:
            InvalidInput: the product is not for sale, or has no default template.
        """
        session_id, product_id, options = (given.get(f) for f in ("session_id", "product_id", "options"))
        if isinstance(session_id, str):
            session = await uow.sessions.get(session_id)
            live = session is not None and session.is_live(self._clock.now())
            if guest is None or session is None or not live or not session.owned_by(guest):
                return None
            source = await design_source(uow, session.product_id, session.template_id, self._cache)
            product = self._sellable(source, "session_id")
            assets = await uow.assets.list_for_session(session.id) if _asset_ids(session.options) else []
            if source.template is None:
                return None
            return _NamedDesign(product, source.template, source.option_sets, session.options, assets)
        if isinstance(product_id, str) and isinstance(options, Mapping):
            source = await design_source(uow, product_id, None, self._cache)
            product = self._sellable(source, "product_id")
            if source.template is None:
                raise InvalidInput([NO_TEMPLATE])
            wanted = _asset_ids(options)
            owned = await uow.assets.list_for_guest(guest) if guest is not None and wanted else []
            named = [a for a in owned if a.id in wanted]
            return _NamedDesign(product, source.template, source.option_sets, options, named)
        return None

    async def change_quantity(self, session_key: str | None, item_id: str, quantity: int) -> CartView:
        """Set a line's quantity (1-99).

        Raises:
            CartItemNotFound: not a line of this guest's cart. InvalidInput: a bad quantity.
        """
        check_quantity(quantity)
        async with self._uow() as uow:
            guest, lines = await self._owned(uow, session_key, item_id)
            line = next(line for line in lines if line.id == item_id)
            changed = line.with_quantity(quantity, self._clock.now())
            await uow.carts.update(changed)
            view = await self._view(
                uow, [changed if x.id == item_id else x for x in lines], await uow.cart_details.get(guest)
            )
            await uow.commit()
        return view

    async def remove(self, session_key: str | None, item_id: str) -> CartView:
        """Take a line out of the cart.

        Raises:
            CartItemNotFound: not a line of this guest's cart.
        """
        async with self._uow() as uow:
            guest, lines = await self._owned(uow, session_key, item_id)
            await uow.carts.delete(item_id)
            view = await self._view(
                uow, [x for x in lines if x.id != item_id], await uow.cart_details.get(guest)
            )
            await uow.commit()
        return view

    # -- details and promotions ------------------------------------------------------------------

    async def details_problems(self, given: Mapping[str, object]) -> list[Violation]:
        """What the stored rules say of a ``PUT /cart/details`` body's raw fields while the rest of
        it may be malformed (see :func:`destination_problems`), so that one 400 names it all."""
        address = given.get("shipping_address")
        country = address.get("country") if isinstance(address, Mapping) else None
        async with self._uow(read_only=True) as uow:
            return await destination_problems(
                uow, country, given.get("shipping_method_id"), country_field="shipping_address.country"
            )

    async def set_details(self, session_key: str | None, given: DetailsInput) -> CartView:
        """Tell the cart where it goes, how and the guest's email (``PUT /cart/details``): replaces
        the address, shipping method and email; the promotion code stays. A guest without a key gets
        one.

        Raises:
            InvalidInput: naming every bad field: the address's fields, the email's form, a country
                this shop does not ship to once regions exist (``shipping_address.country``,
                ``not_shippable``), a shipping method that is not an active one of the country's
                region (``shipping_method_id``, ``unknown``). Nothing is stored.
            GuestKeyNotFound: a key that was never issued, or expired.
        """
        problems = cart_address_problems(given.address) if given.address is not None else []
        if given.email is not None:
            problems += email_problems(given.email)
        now = self._clock.now()
        async with self._uow() as uow:
            country = given.address.country if given.address is not None else None
            problems += await destination_problems(
                uow, country, given.shipping_method_id, country_field="shipping_address.country"
            )
            if problems:
                raise InvalidInput(problems, "The cart's details are invalid.")
            guest = await live_guest(uow, session_key, now)
            new_key = None
            if guest is None:
                new_key, guest = await issue_key(uow, now)
            before = await uow.cart_details.get(guest)
            details = CartDetails(
                guest=guest,
                updated_at=now,
                email=given.email,
                address=given.address,
                shipping_method_id=given.shipping_method_id,
                promotion_code=before.promotion_code if before is not None else None,
            )
            await uow.cart_details.save(details)
            view = await self._view(uow, await uow.carts.lines(guest), details)
            await uow.commit()
        return replace(view, session_key=new_key)

    async def apply_code(self, session_key: str | None, code: str) -> CartView:
        """Apply a promotion code to the cart (``POST /cart/promotions``), replacing the code applied
        before: one code per cart.

        Raises:
            InvalidInput: on ``code``: ``unknown`` (no promotion has it, or it is inactive),
                ``expired`` (outside its dates), ``exhausted`` (its uses are all taken),
                ``not_applicable`` (nothing in the cart it applies to) or ``min_subtotal`` (the
                lines it applies to cost less than its minimum). Nothing is stored.
            GuestKeyNotFound: a key that was never issued, or expired (or no key: an empty cart
                takes no code, ``not_applicable``).
        """
        wanted = normalize_code(code)
        now = self._clock.now()
        async with self._uow() as uow:
            guest = await live_guest(uow, session_key, now)
            lines = await uow.carts.lines(guest) if guest is not None else []
            promotion = await uow.promotions.by_code(wanted) if wanted else None
            if promotion is None or promotion.automatic:
                reason: str | None = "unknown"
            else:
                reason = promotion_refusal(promotion, await self._quote_lines(uow, lines), now)
            if reason is not None or guest is None:
                raise InvalidInput(
                    [_code_refused(wanted, reason or "not_applicable")], "The code cannot be used."
                )
            before = await uow.cart_details.get(guest)
            details = (
                replace(before, promotion_code=wanted, updated_at=now)
                if before is not None
                else CartDetails(guest=guest, updated_at=now, promotion_code=wanted)
            )
            await uow.cart_details.save(details)
            view = await self._view(uow, lines, details)
            await uow.commit()
        return view

    async def remove_code(self, session_key: str | None, code: str) -> CartView:
        """Take the promotion code off the cart (``DELETE /cart/promotions/{code}``).

        Raises:
            PromotionNotInCart: the cart has not this code applied (codes compare case-insensitively).
            GuestKeyNotFound: a key that was never issued, or expired.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            guest = await live_guest(uow, session_key, now)
            before = await uow.cart_details.get(guest) if guest is not None else None
            if guest is None or before is None or before.promotion_code != normalize_code(code):
                raise PromotionNotInCart(f"the cart has no promotion code {code!r}")
            details = replace(before, promotion_code=None, updated_at=now)
            await uow.cart_details.save(details)
            view = await self._view(uow, await uow.carts.lines(guest), details)
            await uow.commit()
        return view

    # -- internals -----------------------------------------------------------------------------

    async def _view(self, uow: UnitOfWork, lines: list[CartLine], details: CartDetails | None) -> CartView:
        address = details.address if details is not None else None
        priced = await quote_cart(
            uow,
            await self._quote_lines(uow, lines),
            currency=lines[0].currency if lines else self._currency,
            flat=self._flat,
            now=self._clock.now(),
            destination=address.destination if address is not None else None,
            shipping_method_id=details.shipping_method_id if details is not None else None,
            code=details.promotion_code if details is not None else None,
        )
        return CartView(lines, priced, details)

    async def _quote_lines(self, uow: UnitOfWork, lines: Sequence[CartLine]) -> list[QuoteLine]:
        """The cart's lines as the quote prices them, with their products' tax class and volume
        tiers (from the catalog cache when there is one)."""
        products: dict[str, Product | None] = {}
        for line in lines:
            if line.product_id not in products:
                if self._cache is not None:
                    source = await design_source(uow, line.product_id, line.template_id, self._cache)
                    products[line.product_id] = source.product
                else:
                    products[line.product_id] = await uow.products.get(line.product_id)
        return [
            quote_line(line.id, line.product_id, line.unit_price, line.quantity, products[line.product_id])
            for line in lines
        ]

    @staticmethod
    def _sellable(source: DesignSource, field: str) -> Product:
        if source.product is None or not source.product.active:
            raise InvalidInput([Violation(field, "not_available", "this product is not for sale")])
        return source.product

    def _line(self, guest: str, named: _NamedDesign, quantity: int) -> CartLine:
        design, problems = named.check()
        if design is None:
            raise InvalidInput(problems, "The design is not complete or does not fit the template.")
        product, template = named.product, named.template
        quote = quote_design(product, template.definition, named.option_sets, design)
        now = self._clock.now()
        stored = design.to_dict()
        return CartLine(
            id=self._ids.new_id(),
            guest=guest,
            product_id=product.id,
            product_name=product.name,
            template_id=template.id,
            template_version=template.version,
            template_snapshot=template.definition.to_dict(),
            options=stored,
            components=quote.components,
            currency=quote.currency,
            unit_price=quote.unit_price,
            quantity=quantity,
            design_key=design_key(product.id, template.id, stored),
            created_at=now,
            updated_at=now,
        )

    async def _store(self, uow: UnitOfWork, guest: str, line: CartLine) -> CartView:
        lines = await uow.carts.lines(guest)
        stored, is_new = merge_or_append(lines, line, self._clock.now())
        if is_new:
            await uow.carts.add(stored)
            lines.append(stored)
        else:
            await uow.carts.update(stored)
            lines = [stored if existing.id == stored.id else existing for existing in lines]
        return await self._view(uow, lines, await uow.cart_details.get(guest))

    async def _owned(
        self, uow: UnitOfWork, session_key: str | None, item_id: str
    ) -> tuple[str, list[CartLine]]:
        guest = await live_guest(uow, session_key, self._clock.now())
        lines = await uow.carts.lines(guest) if guest else []
        if guest is None or not any(line.id == item_id for line in lines):
            raise CartItemNotFound(f"there is no item {item_id!r} in this cart")
        return guest, lines


def _asset_ids(options: Mapping[str, object]) -> set[str]:
    """The asset ids a raw design names (image values are ``{"asset_id": ...}``)."""
    return {
        str(value["asset_id"])
        for value in options.values()
        if isinstance(value, Mapping) and isinstance(value.get("asset_id"), str)
    }


def _code_refused(code: str, reason: str) -> Violation:
    messages = {
        "unknown": "there is no such promotion code",
        "expired": "this code is not valid now",
        "exhausted": "this code has been used as often as it may be",
        "not_applicable": "this code applies to nothing in the cart",
        "min_subtotal": "the cart's eligible items do not reach this code's minimum",
    }
    return Violation("code", reason, f"{code}: {messages.get(reason, 'this code cannot be used')}")
