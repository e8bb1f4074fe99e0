"""Checkout: the guest's cart becomes an order (``POST /checkout``)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter, JSONBody

from customshop.application.checkout import Checkout
from customshop.domain.errors import InvalidInput, Violation
from customshop.entrypoints.http.body import Unchecked
from customshop.entrypoints.http.controllers.sessions import presented_session_key
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.rate_limits import CHECKOUT, RATE_LIMIT
from customshop.entrypoints.http.schemas import CheckoutCreate, CheckoutRead

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_MAX = 255

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=IDEMPOTENCY_HEADER,
        description="Any unique string (a UUID): the same key and body replay the first answer; "
        "the same key with another body is 409. Kept for at least 24 hours.",
    ),
]


def checked_idempotency_key(key: str | None) -> str | None:
    """The key, when it is 1-255 printable ASCII characters.

    Raises:
        InvalidInput: anything else, naming the header.
    """
    if key is None:
        return None
    if not 0 < len(key) <= _KEY_MAX or not all(32 < ord(char) < 127 for char in key):
        raise InvalidInput(
            [
                Violation(
                    IDEMPOTENCY_HEADER,
                    "invalid_format",
                    f"an idempotency key is 1 to {_KEY_MAX} printable ASCII characters without spaces",
                )
            ]
        )
    return key


class CheckoutController(Controller):
    path = "/checkout"
    tags = ("checkout",)
    dependencies = {"session_key": Provide(presented_session_key)}  # noqa: RUF012 - Litestar's layer API

    @post(
        "/",
        operation_id="checkout",
        status_code=201,
        responses=problems(400, 404, 409, 415, 429, 503),
        opt={RATE_LIMIT: CHECKOUT},
    )
    async def checkout(
        self,
        request: Request[Any, Any, Any],
        checkout: NamedDependency[Checkout],
        session_key: NamedDependency[str | None],
        data: JSONBody[Unchecked[CheckoutCreate]],
        idempotency_key: IdempotencyKey = None,
    ) -> CheckoutRead:
        """Place an order for the guest's cart: re-price and re-check every line (a changed price is
        a 409 naming `items[i].unit_price`, and the cart then shows the new price), quote it as the
        cart does (the address's region, `shipping_method_id` or the cart's choice or the cheapest,
        the cart's promotion code and the automatic promotions), reserve the stock of the whole cart
        (short: 409), create the order and start its payment, all or nothing. The cart is emptied
        once the order exists. An empty cart is a 400 naming `cart`; once regions exist a country in
        none is 400 `shipping_address.country` `not_shippable`; a promotion code that can no longer
        be used is 409 naming it (`code`, with the reason); a session key this server did not
        issue, or one that expired, is 404."""
        # A body with a wrong field still has its provider, country and method checked.
        details = await data.decode(checkout.body_problems)
        placed = await checkout.place(
            session_key, details.to_request(), checked_idempotency_key(idempotency_key)
        )
        return CheckoutRead.of(placed, str(request.base_url))
