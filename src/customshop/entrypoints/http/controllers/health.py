"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.exceptions import ServiceUnavailableException

from customshop.entrypoints.http.errors import problems


class Health(msgspec.Struct):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ("operations",)
    include_in_schema = True

    @get("/live", operation_id="live")
    async def live(self) -> Health:
        """The process is up and serving."""
        return Health("ok")

    @get("/ready", operation_id="ready", responses=problems(503))
    async def ready(self, request: Request[Any, Any, Any]) -> Health:
        """Every dependency answers (503 naming the first that does not)."""
        for name, probe in request.app.state.readiness.items():
            try:
                await probe()
            except Exception:
                raise ServiceUnavailableException(f"the {name} is unreachable") from None
        return Health("ok")
