"""The guest's cart. It lives under the guest's session key (cookie or ``X-Session-Key``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from customshop.application.cart import Carts, CartView
from customshop.domain.errors import InvalidInput
from customshop.entrypoints.http.body import Unchecked
from customshop.entrypoints.http.controllers.sessions import (
    SESSION_HEADER,
    presented_session_key,
    session_cookie,
)
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.schemas import (
    CartDetailsWrite,
    CartItemCreate,
    CartItemUpdate,
    CartRead,
    PromotionCodeIn,
)


class CartController(Controller):
    path = "/cart"
    tags = ("cart",)
    dependencies = {"session_key": Provide(presented_session_key)}  # noqa: RUF012 - Litestar's layer API

    @get("/", operation_id="getCart", responses=problems(404))
    async def view(self, carts: NamedDependency[Carts], session_key: NamedDependency[str | None]) -> CartRead:
        """The guest's cart with its totals (`items: []` and zeros when empty, or without a key). A key
        this server did not issue, or one that expired, is 404."""
        return CartRead.of(await carts.view(session_key))

    @post("/items", operation_id="addToCart", status_code=200, responses=problems(400, 404, 409, 415))
    async def add(
        self,
        request: Request[Any, Any, Any],
        carts: NamedDependency[Carts],
        session_key: NamedDependency[str | None],
        data: JSONBody[Unchecked[CartItemCreate]],
    ) -> Response[CartRead]:
        """Add a design and answer the updated cart. `{session_id, quantity}` carts a design session
        (its required zones must be filled); `{product_id, options, quantity}` carts a design given
        directly. The same design carted again adds to its line's quantity (at most 99). A cart holds
        one currency. A guest without a session key gets one (cookie and `X-Session-Key` header)."""
        # A body with a wrong field still has its design checked, for one 400 naming everything.
        item = await data.decode(partial(carts.design_problems, session_key))
        # The body names a session, or a product and its options (``CartItemCreate.object_problems``).
        if item.session_id is not None:
            view = await carts.add_session(session_key, item.session_id, item.quantity)
        elif item.product_id is not None and item.options is not None:
            view = await carts.add_design(session_key, item.product_id, item.options, item.quantity)
        else:  # refused while decoding; kept for the type checker
            raise InvalidInput(CartItemCreate.object_problems({}, ""), "Say what to add.")
        return _answer(request, view)

    @patch("/items/{item_id:str}", operation_id="changeCartItem", responses=problems(400, 404, 415))
    async def change(
        self,
        carts: NamedDependency[Carts],
        session_key: NamedDependency[str | None],
        item_id: FromPath[str],
        data: JSONBody[CartItemUpdate],
    ) -> CartRead:
        """Set a line's quantity (1 to 99) and answer the updated cart."""
        return CartRead.of(await carts.change_quantity(session_key, item_id, data.quantity))

    @delete("/items/{item_id:str}", operation_id="removeCartItem", status_code=200, responses=problems(404))
    async def remove(
        self, carts: NamedDependency[Carts], session_key: NamedDependency[str | None], item_id: FromPath[str]
    ) -> CartRead:
        """Take a line out and answer the updated cart."""
        return CartRead.of(await carts.remove(session_key, item_id))

    @put("/details", operation_id="setCartDetails", responses=problems(400, 404, 415))
    async def details(
        self,
        request: Request[Any, Any, Any],
        carts: NamedDependency[Carts],
        session_key: NamedDependency[str | None],
        data: JSONBody[Unchecked[CartDetailsWrite]],
    ) -> Response[CartRead]:
        """Tell the cart where it goes (`shipping_address`: at least `country`, with `subdivision`
        and `postal_code` where tax depends on them), by which shipping method (`shipping_method_id`;
        left out: the cheapest) and the guest's `email`, and answer the cart priced for it: its
        region's tax and shipping options. Replaces all three; the promotion code stays. Once regions
        exist, a country in none is 400 `shipping_address.country` `not_shippable`; a method that is
        not an active one of the country's region is 400 `shipping_method_id` `unknown`. A guest
        without a session key gets one."""
        # A body with a wrong field still has its country and method checked, for one 400.
        details = await data.decode(carts.details_problems)
        return _answer(request, await carts.set_details(session_key, details.to_input()))

    @post(
        "/promotions", operation_id="applyPromotionCode", status_code=200, responses=problems(400, 404, 415)
    )
    async def apply_code(
        self,
        carts: NamedDependency[Carts],
        session_key: NamedDependency[str | None],
        data: JSONBody[PromotionCodeIn],
    ) -> CartRead:
        """Apply a promotion code (case-insensitive) and answer the cart with its discount. One code
        per cart: a new code replaces the one applied before. A code that cannot be used is 400 on
        `code`: `unknown` (no such code, or inactive), `expired`, `exhausted`, `not_applicable`
        (nothing in the cart it applies to) or `min_subtotal`."""
        return CartRead.of(await carts.apply_code(session_key, data.code))

    @delete(
        "/promotions/{code:str}", operation_id="removePromotionCode", status_code=200, responses=problems(404)
    )
    async def remove_code(
        self, carts: NamedDependency[Carts], session_key: NamedDependency[str | None], code: FromPath[str]
    ) -> CartRead:
        """Take the promotion code off the cart and answer the cart; 404 when the cart has not this
        code applied."""
        return CartRead.of(await carts.remove_code(session_key, code))


def _answer(request: Request[Any, Any, Any], view: CartView) -> Response[CartRead]:
    if view.session_key is None:
        return Response(CartRead.of(view))
    return Response(
        CartRead.of(view),
        headers={SESSION_HEADER: view.session_key},
        cookies=[session_cookie(request, view.session_key)],
    )
