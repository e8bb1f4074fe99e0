"""Partner webhooks (``webhooks:manage``): endpoints and the log of deliveries; and the fulfillment
partner's own webhook into customshop."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, SkipValidation

from customshop.application.orders import Orders
from customshop.application.ports import Clock
from customshop.application.webhooks import Webhooks
from customshop.domain.access import Scope
from customshop.domain.errors import NotFound
from customshop.domain.webhooks import verify
from customshop.entrypoints.http.body import decode_body, json_body
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.params import (
    ADMIN_SECURITY,
    CursorParam,
    Limit,
    decode_cursor,
    encode_cursor,
    requires,
)
from customshop.entrypoints.http.schemas import (
    FulfillmentReport,
    NoticeRead,
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointRead,
    WebhookLogList,
    WebhookLogRead,
)

EventFilter = Annotated[str | None, Parameter(max_length=40, description="Only attempts of this event type.")]


class WebhookEndpointController(Controller):
    path = "/webhook-endpoints"
    tags = ("webhooks",)
    opt = requires(Scope.WEBHOOKS_MANAGE)
    security = ADMIN_SECURITY

    @post("/", operation_id="createWebhookEndpoint", status_code=201, responses=problems(400, 403, 415))
    async def create(
        self, webhooks: NamedDependency[Webhooks], data: JSONBody[WebhookEndpointCreate]
    ) -> WebhookEndpointRead:
        """Subscribe a URL to events (`order.created`, `order.paid`, `payment.failed`,
        `order.status_changed`, `order.shipped`, `order.cancelled`, `order.refunded`). The answer holds
        the endpoint's signing secret. URLs resolving to loopback, private or link-local addresses
        are refused unless the server allows private networks."""
        return WebhookEndpointRead.of(await webhooks.create_endpoint(data.url, data.events))

    @get("/", operation_id="listWebhookEndpoints", responses=problems(400, 403))
    async def list_endpoints(
        self, webhooks: NamedDependency[Webhooks], limit: Limit = 50, cursor: CursorParam = None
    ) -> WebhookEndpointList:
        """The endpoints, oldest first, a page at a time (`next_cursor` is null on the last page);
        a disabled one says why."""
        page = await webhooks.list_endpoints(after=decode_cursor(cursor), limit=limit)
        return WebhookEndpointList(
            [WebhookEndpointRead.of(e) for e in page.items], encode_cursor(page.next_after)
        )

    @delete("/{endpoint_id:str}", operation_id="deleteWebhookEndpoint", responses=problems(403, 404))
    async def remove(self, webhooks: NamedDependency[Webhooks], endpoint_id: FromPath[str]) -> None:
        """Remove an endpoint with its pending deliveries and its logs."""
        await webhooks.delete_endpoint(endpoint_id)


class WebhookLogController(Controller):
    path = "/webhooklogs"
    tags = ("webhooks",)
    opt = requires(Scope.WEBHOOKS_MANAGE)
    security = ADMIN_SECURITY

    @get("/", operation_id="listWebhookLogs", responses=problems(400, 403))
    async def list_logs(
        self,
        webhooks: NamedDependency[Webhooks],
        event: EventFilter = None,
        limit: Limit = 50,
        cursor: CursorParam = None,
    ) -> WebhookLogList:
        """Delivery attempts, newest first: `id, endpoint_id, event, attempt, response_status,
        sent_at, error?`."""
        page = await webhooks.logs(event=event, before=decode_cursor(cursor), limit=limit)
        return WebhookLogList([WebhookLogRead.of(log) for log in page.items], encode_cursor(page.next_after))


class FulfillmentWebhookController(Controller):
    path = "/webhooks"
    tags = ("fulfillment",)

    @post(
        "/fulfillment",
        operation_id="fulfillmentWebhook",
        status_code=200,
        responses=problems(400, 401, 404, 409, 415),
    )
    async def fulfillment(
        self,
        request: Request[Any, Any, Any],
        orders: NamedDependency[Orders],
        fulfillment_secret: NamedDependency[str | None],
        # A Protocol: Litestar cannot check the value's type, so it is taken as bridged.
        clock: NamedDependency[SkipValidation[Clock]],
    ) -> NoticeRead:
        """The fulfillment partner reports `{order_id, status, tracking_url?}`, signed the Standard
        Webhooks way with `CUSTOMSHOP_FULFILLMENT_SECRET`: a bad signature, or a timestamp more than 5
        minutes away, is 401; a `webhook-id` seen before is a 200 no-op; an unknown order 404; a move
        the state machine does not allow 409."""
        secret = fulfillment_secret
        if not secret:
            raise NotFound("fulfillment reports are not configured on this server")
        body = await json_body(request)
        message_id = verify(secret, dict(request.headers), body, int(clock.now().timestamp()))
        report = decode_body(FulfillmentReport, body)
        order = await orders.report_fulfillment(
            message_id, report.order_id, report.status, report.tracking_url
        )
        return NoticeRead(received=True, result="duplicate" if order is None else "applied")
