"""Print files of paid orders' items. A print file's id is an unguessable capability, like a
preview's: whoever holds it (the shop's operators, the fulfillment partner it was sent to) may read
the print file, its preview and the uploaded images its design uses."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from customshop.application.prints import PrintFileBytes, PrintFiles
from customshop.entrypoints.http.errors import problems

_IMMUTABLE = {"Cache-Control": "private, max-age=31536000, immutable"}


def _file(found: PrintFileBytes) -> Response[bytes]:
    return Response(found.data, media_type=found.content_type, headers=_IMMUTABLE)


class PrintFileController(Controller):
    path = "/print-files"
    tags = ("orders",)

    @get("/{file_id:str}", operation_id="getPrintFile", media_type="image/png", responses=problems(404))
    async def print_file(
        self, print_files: NamedDependency[PrintFiles], file_id: FromPath[str]
    ) -> Response[bytes]:
        """The item's design at print resolution, as PNG (its resolution in the PNG's `pHYs`); 404
        until it is ready. It never changes: a reprint makes a new one."""
        return _file(await print_files.file(file_id, "print"))

    @get(
        "/{file_id:str}/preview",
        operation_id="getPrintFilePreview",
        media_type="image/png",
        responses=problems(404),
    )
    async def preview(
        self, print_files: NamedDependency[PrintFiles], file_id: FromPath[str]
    ) -> Response[bytes]:
        """The same design at preview size, as PNG."""
        return _file(await print_files.file(file_id, "preview"))

    @get(
        "/{file_id:str}/assets/{asset_id:str}",
        operation_id="getPrintFileAsset",
        media_type="application/octet-stream",
        responses=problems(404),
    )
    async def asset(
        self, print_files: NamedDependency[PrintFiles], file_id: FromPath[str], asset_id: FromPath[str]
    ) -> Response[bytes]:
        """An image the guest uploaded for this design (PNG, JPEG or WebP, as stored after
        sanitizing); 404 for an image the design does not use."""
        return _file(await print_files.file(file_id, "asset", asset_id))
