"""Preview jobs and their images. A job id is an unguessable capability: whoever holds it (the guest
that asked, its storefront's ``<img>`` tags) may read the job and its PNG."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from customshop.application.customization import Customization
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.schemas import PreviewRead


class PreviewController(Controller):
    path = "/previews"
    tags = ("customization",)

    @get("/{job_id:str}", operation_id="getPreview", responses=problems(404))
    async def status(
        self, customization: NamedDependency[Customization], job_id: FromPath[str]
    ) -> PreviewRead:
        """Where the render is: `queued`, `running`, `done` (with `url`) or `failed` (with `error`)."""
        return PreviewRead.of(await customization.preview(job_id))

    @get(
        "/{job_id:str}/image",
        operation_id="getPreviewImage",
        media_type="image/png",
        responses=problems(404),
    )
    async def image(
        self, customization: NamedDependency[Customization], job_id: FromPath[str]
    ) -> Response[bytes]:
        """The rendered PNG (404 until the job is done). It never changes, so it may be cached forever."""
        png = await customization.preview_image(job_id)
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "public, max-age=31536000, immutable"}
        )
