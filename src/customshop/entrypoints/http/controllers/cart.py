"""The guest's cart. It lives under the guest's session key (cookie or ``X-Session-Key``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
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
from customshop.entrypoints.http.schemas import CartItemCreate, CartItemUpdate, CartRead


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


def _answer(request: Request[Any, Any, Any], view: CartView) -> Response[CartRead]:
    if view.session_key is None:
        return Response(CartRead.of(view))
    return Response(
        CartRead.of(view),
        headers={SESSION_HEADER: view.session_key},
        cookies=[session_cookie(request, view.session_key)],
    )
