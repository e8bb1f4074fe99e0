"""Orders: the guest's view (session key or order token), operators' lists and moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, Parameter

from customshop.application.access import AccessKeys
from customshop.application.checkout import Checkout
from customshop.application.orders import Orders
from customshop.application.prints import PrintFiles
from customshop.domain.access import Scope
from customshop.domain.errors import InvalidInput, Violation
from customshop.domain.orders import OrderStatus
from customshop.entrypoints.http.body import decode_body, json_body
from customshop.entrypoints.http.controllers.sessions import presented_session_key
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.params import (
    ADMIN_SECURITY,
    CursorParam,
    Limit,
    decode_cursor,
    encode_cursor,
    is_allowed,
    requires,
)
from customshop.entrypoints.http.rate_limits import CHECKOUT, RATE_LIMIT
from customshop.entrypoints.http.schemas import (
    OrderList,
    OrderRead,
    PaymentOut,
    PaymentRetry,
    StatusChange,
)

Token = Annotated[
    str | None, Parameter(max_length=100, description="The `order_token` checkout answered with.")
]
Day = Annotated[date | None, Parameter(description="A date, `YYYY-MM-DD` (UTC).")]
StatusFilter = Annotated[OrderStatus | None, Parameter(description="Only orders in this status.")]


def _start_of(day: date | None, field: str, problems_found: list[Violation]) -> datetime | None:
    if day is None:
        return None
    try:
        return datetime.combine(day, time(), UTC)
    except (OverflowError, ValueError):
        problems_found.append(Violation(field, "out_of_range", "this date is out of range"))
        return None


class OrderController(Controller):
    path = "/orders"
    tags = ("orders",)
    dependencies = {"session_key": Provide(presented_session_key)}  # noqa: RUF012 - Litestar's layer API

    @get("/{order_id:str}", operation_id="getOrder", responses=problems(400, 404))
    async def get_order(
        self,
        request: Request[Any, Any, Any],
        orders: NamedDependency[Orders],
        access: NamedDependency[AccessKeys],
        session_key: NamedDependency[str | None],
        order_id: FromPath[str],
        token: Token = None,
    ) -> OrderRead:
        """An order, for the guest that placed it (its session key, or `?token=`) or for an admin key
        with `orders:read`. Anyone else gets 404."""
        if await is_allowed(request, access, Scope.ORDERS_READ):
            return OrderRead.of(await orders.get(order_id))
        return OrderRead.of(await orders.view(order_id, session_key=session_key, token=token))

    @get(
        "/",
        operation_id="listOrders",
        opt=requires(Scope.ORDERS_READ),
        security=ADMIN_SECURITY,
        responses=problems(400, 403),
    )
    async def list_orders(
        self,
        orders: NamedDependency[Orders],
        status: StatusFilter = None,
        created_from: Day = None,
        created_to: Day = None,
        limit: Limit = 50,
        cursor: CursorParam = None,
    ) -> OrderList:
        """Orders, newest first: `status` filters by status; `created_from`/`created_to` (inclusive
        dates, UTC) by the day they were placed."""
        wrong: list[Violation] = []
        start = _start_of(created_from, "created_from", wrong)
        end_day = _start_of(created_to, "created_to", wrong)
        end = end_day + timedelta(days=1) if end_day is not None and created_to != date.max else None
        if start is not None and end_day is not None and start > end_day:
            wrong.append(Violation("created_to", "out_of_range", "created_to is before created_from"))
        if wrong:
            raise InvalidInput(wrong)
        page = await orders.list(
            status=status, created_from=start, created_to=end, before=decode_cursor(cursor), limit=limit
        )
        return OrderList([OrderRead.of(o) for o in page.items], encode_cursor(page.next_after))

    @post(
        "/{order_id:str}/status",
        operation_id="changeOrderStatus",
        status_code=200,
        opt=requires(Scope.ORDERS_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(400, 403, 404, 409, 415, 503),
    )
    async def change_status(
        self, orders: NamedDependency[Orders], order_id: FromPath[str], data: JSONBody[StatusChange]
    ) -> OrderRead:
        """Move an order along `paid → in_production → fulfilled → shipped → delivered`
        (`tracking_url` with `shipped`). `cancelled`/`refunded` work as `POST .../cancel`. A move
        the state machine does not allow is 409, as is `in_production` before every item's
        `print_file` is `ready`."""
        return OrderRead.of(await orders.advance(order_id, data.status, data.tracking_url))

    @post(
        "/{order_id:str}/cancel",
        operation_id="cancelOrder",
        status_code=200,
        opt=requires(Scope.ORDERS_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(403, 404, 409, 503),
    )
    async def cancel(self, orders: NamedDependency[Orders], order_id: FromPath[str]) -> OrderRead:
        """Cancel an unpaid order (its stock released, its payment stopped), or refund a paid one in
        full through its payment provider (503, and nothing changes, if the provider is down)."""
        return OrderRead.of(await orders.cancel(order_id))

    @post(
        "/{order_id:str}/reprint",
        operation_id="reprintOrder",
        status_code=202,
        opt=requires(Scope.ORDERS_WRITE),
        security=ADMIN_SECURITY,
        responses=problems(403, 404, 409),
    )
    async def reprint(
        self,
        orders: NamedDependency[Orders],
        print_files: NamedDependency[PrintFiles],
        order_id: FromPath[str],
    ) -> OrderRead:
        """Render every item's print file of a paid order again (each gets a new `print_file` url
        once ready); 409 for an order that is not paid or was refunded."""
        await print_files.reprint(order_id)
        return OrderRead.of(await orders.get(order_id))

    @post(
        "/{order_id:str}/payment",
        operation_id="retryPayment",
        status_code=201,
        responses=problems(400, 404, 409, 415, 429, 503),
        opt={RATE_LIMIT: CHECKOUT},
    )
    async def retry_payment(
        self,
        request: Request[Any, Any, Any],
        checkout: NamedDependency[Checkout],
        session_key: NamedDependency[str | None],
        order_id: FromPath[str],
        token: Token = None,
    ) -> PaymentOut:
        """A new payment handle for a `created` order whose payment failed or was abandoned. The body
        is optional: `{"payment_provider": ...}` switches provider. The order's stock stays reserved a
        while longer."""
        raw = await json_body(request)
        provider = decode_body(PaymentRetry, raw).payment_provider if raw.strip() else None
        view = await checkout.retry_payment(order_id, session_key, token, provider)
        return PaymentOut.of(view, str(request.base_url))
