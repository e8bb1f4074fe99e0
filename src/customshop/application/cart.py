"""The guest's cart: configured lines priced when carted, and totals from the tax and shipping policies.

The cart lives under the guest's session key (see ``customization``); a guest that adds to its cart
without one gets a new key. Another guest's line answers ``CartItemNotFound``; a key that was never
issued, or expired, answers ``GuestKeyNotFound`` on every cart use case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from customshop.application.catalog_cache import CatalogCache
from customshop.application.customization import SessionNotFound, issue_key, live_guest
from customshop.application.design_source import DesignSource, design_source
from customshop.application.ports import (
    Clock,
    IdGenerator,
    ShippingPolicy,
    TaxPolicy,
    UnitOfWork,
    UnitOfWorkFactory,
)
from customshop.domain.cart import CartItemNotFound, CartLine, check_quantity, design_key, merge_or_append
from customshop.domain.catalog import OptionSet, Product
from customshop.domain.customization import Asset
from customshop.domain.errors import InvalidInput, NotFound, Violation
from customshop.domain.pricing import CartTotals, quote_design, total_cart
from customshop.domain.templates import Template
from customshop.domain.validation import AssetInfo, Design, check_design


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart with its totals. ``session_key`` is set only when this call minted the guest's key."""

    lines: list[CartLine]
    totals: CartTotals
    session_key: str | None = None


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


class Carts:
    """Cart use cases; each method is one committed unit of work and answers the whole cart."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        tax: TaxPolicy,
        shipping: ShippingPolicy,
        currency: str,
        catalog_cache: CatalogCache | None = None,
    ) -> None:
        self._uow = uow
        self._cache = catalog_cache
        self._clock = clock
        self._ids = ids
        self._tax = tax
        self._shipping = shipping
        self._currency = currency

    async def view(self, session_key: str | None) -> CartView:
        """The guest's cart; a guest without a key has an empty one.

        Raises:
            GuestKeyNotFound: a key that was never issued, or expired.
        """
        async with self._uow(read_only=True) as uow:
            guest = await live_guest(uow, session_key, self._clock.now())
            return self._view(await uow.carts.lines(guest) if guest is not None else [])

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
        return CartView(view.lines, view.totals, new_key)

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
            await uow.carts.update(line.with_quantity(quantity, self._clock.now()))
            await uow.commit()
            return self._view(await uow.carts.lines(guest))

    async def remove(self, session_key: str | None, item_id: str) -> CartView:
        """Take a line out of the cart.

        Raises:
            CartItemNotFound: not a line of this guest's cart.
        """
        async with self._uow() as uow:
            guest, _ = await self._owned(uow, session_key, item_id)
            await uow.carts.delete(item_id)
            await uow.commit()
            return self._view(await uow.carts.lines(guest))

    # -- internals -----------------------------------------------------------------------------

    def _view(self, lines: list[CartLine]) -> CartView:
        currency = lines[0].currency if lines else self._currency
        totals = total_cart(
            [(line.unit_price, line.quantity) for line in lines],
            currency,
            self._tax.tax_on,
            self._shipping.shipping_for,
        )
        return CartView(lines, totals)

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
        return self._view(lines)

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
