"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException

from customshop.entrypoints.http.errors import RETRY_AFTER_SECONDS, problems

log = logging.getLogger("customshop.health")

#: Checks one dependency: returns once it answers, raises when it does not.
Probe = Callable[[], Awaitable[None]]
#: How long a dependency may take to answer before it counts as unreachable.
PROBE_TIMEOUT_SECONDS = 3.0


class Health(msgspec.Struct):
    status: str


async def unreachable(probes: Mapping[str, Probe], within: float = PROBE_TIMEOUT_SECONDS) -> list[str]:
    """The names of the dependencies whose probe failed or took longer than ``within`` seconds, in
    the order of ``probes``; all are probed at once."""

    async def check(name: str, probe: Probe) -> str | None:
        try:
            async with asyncio.timeout(within):
                await probe()
        except Exception as exc:
            log.warning("readiness: the %s is unreachable: %s", name, exc or type(exc).__name__)
            return name
        return None

    results = await asyncio.gather(*(check(name, probe) for name, probe in probes.items()))
    return [name for name in results if name is not None]


class HealthController(Controller):
    path = "/health"
    tags = ("operations",)
    include_in_schema = True

    @get("/live", operation_id="live")
    async def live(self) -> Health:
        """The process is up and serving."""
        return Health("ok")

    @get("/ready", operation_id="ready", responses=problems(503))
    async def ready(self, readiness: NamedDependency[Mapping[str, Probe]]) -> Health:
        """Every dependency answers: the database, and the job queue (Redis) when one is configured.
        503 naming each that does not."""
        down = await unreachable(readiness)
        if down:
            verb = "is" if len(down) == 1 else "are"
            raise ServiceUnavailableException(
                f"the {' and the '.join(down)} {verb} unreachable",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return Health("ok")
