"""The framework's own ceiling: a bare Litestar app answering ``/ping``, served like customshop."""

from __future__ import annotations

import gc

from litestar import Litestar, get


@get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


async def _freeze(_: Litestar) -> None:
    gc.collect()
    gc.freeze()


app = Litestar(route_handlers=[ping], on_startup=[_freeze])
