"""Guest design sessions: start, read, change, upload images, ask for a preview.

Guests never log in: the session key (cookie ``session_key`` or header ``X-Session-Key``) is their
identity, and a session, upload or preview request without the owning key answers 404 (so does any
request with a key this server did not issue, or one that expired).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import CookieParameter, FromPath, HeaderParameter, JSONBody

from customshop.application.customization import Customization
from customshop.domain.customization import GUEST_KEY_LIFETIME
from customshop.domain.templates import IMAGE_BYTES_LIMIT
from customshop.entrypoints.http.body import Unchecked
from customshop.entrypoints.http.errors import problems
from customshop.entrypoints.http.rate_limits import PREVIEWS, RATE_LIMIT, UPLOADS
from customshop.entrypoints.http.schemas import (
    AssetRead,
    PreviewRead,
    SessionCreate,
    SessionRead,
    SessionUpdate,
)
from customshop.entrypoints.http.uploads import ENVELOPE, receive_upload

SESSION_COOKIE = "session_key"
SESSION_HEADER = "X-Session-Key"


#: How long the browser keeps the key: as long as the key lives. It outlives any one design session,
#: since it also holds the guest's cart and access to its orders.
COOKIE_MAX_AGE = int(GUEST_KEY_LIFETIME.total_seconds())


def session_cookie(request: Request[Any, Any, Any], key: str) -> Cookie:
    """The ``session_key`` cookie: HttpOnly, SameSite=Lax, Secure when the request came over TLS."""
    return Cookie(
        key=SESSION_COOKIE,
        value=key,
        path="/",
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


async def presented_session_key(
    header: Annotated[
        str | None,
        HeaderParameter(name=SESSION_HEADER, description="The guest's session key (or the cookie)."),
    ] = None,
    cookie: Annotated[
        str | None,
        CookieParameter(name=SESSION_COOKIE, description="The guest's session key (or the header)."),
    ] = None,
) -> str | None:
    """The session key the guest presents: the header when both are sent."""
    return header or cookie


class SessionController(Controller):
    path = "/sessions"
    tags = ("customization",)
    dependencies = {"session_key": Provide(presented_session_key)}  # noqa: RUF012 - Litestar's layer API

    @post("/", operation_id="startSession", responses=problems(400, 415))
    async def start(
        self,
        request: Request[Any, Any, Any],
        customization: NamedDependency[Customization],
        session_key: NamedDependency[str | None],
        data: JSONBody[SessionCreate],
    ) -> Response[SessionRead]:
        """Start designing a product, on its default template or on `template_version`.

        Returns the guest's session key in the body and as the `session_key` cookie (HttpOnly,
        SameSite=Lax, Secure under TLS). A guest that presents a live key this server issued keeps it,
        so all its designs and its cart stay together; any other key is never adopted: a fresh one is
        minted instead.
        """
        view = await customization.start(data.product_id, data.template_version, session_key)
        key = view.session_key or session_key or ""
        return Response(
            SessionRead.of(view, session_key=key), status_code=201, cookies=[session_cookie(request, key)]
        )

    @get("/{session_id:str}", operation_id="getSession", responses=problems(404))
    async def view(
        self,
        customization: NamedDependency[Customization],
        session_key: NamedDependency[str | None],
        session_id: FromPath[str],
    ) -> SessionRead:
        """The design so far, its pinned template version and a live price quote (404 if unknown,
        expired, or not this guest's)."""
        return SessionRead.of(await customization.view(session_id, session_key))

    @patch("/{session_id:str}", operation_id="updateSession", responses=problems(400, 404, 415))
    async def update(
        self,
        customization: NamedDependency[Customization],
        session_key: NamedDependency[str | None],
        session_id: FromPath[str],
        data: JSONBody[Unchecked[SessionUpdate]],
    ) -> SessionRead:
        """Merge zone values into the design. Every value is checked against the template; when any
        is bad the answer is 400 with one error per broken rule (`options.<zone_id>`) and nothing is
        stored. Required zones are enforced when the design is carted, not here."""
        # A body with a wrong field still has its zone values checked, for one 400 naming everything.
        changes = await data.decode(
            lambda given: customization.option_problems(session_id, session_key, given.get("options"))
        )
        return SessionRead.of(await customization.update(session_id, session_key, changes.options))

    @post(
        "/{session_id:str}/assets",
        operation_id="uploadAsset",
        responses=problems(400, 404, 415, 429, 503),
        request_max_body_size=IMAGE_BYTES_LIMIT + ENVELOPE,
        opt={RATE_LIMIT: UPLOADS},
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        customization: NamedDependency[Customization],
        session_key: NamedDependency[str | None],
        session_id: FromPath[str],
    ) -> AssetRead:
        """Upload one image as `multipart/form-data` (any field name; the first file part counts).

        Its type is judged from its bytes, not its name; oversize (beyond the template's largest
        image zone), unsupported, undecodable or decompression-bomb images are 400. The stored image
        has its EXIF orientation applied and its metadata stripped."""
        limit = await customization.upload_limit(session_id, session_key)
        async with receive_upload(request, limit) as upload:
            asset = await customization.upload(session_id, session_key, upload.file, upload.size)
        return AssetRead.of(asset)

    @post(
        "/{session_id:str}/preview",
        operation_id="requestPreview",
        status_code=202,
        responses=problems(404, 429, 503),
        opt={RATE_LIMIT: PREVIEWS},
    )
    async def preview(
        self,
        customization: NamedDependency[Customization],
        session_key: NamedDependency[str | None],
        session_id: FromPath[str],
    ) -> PreviewRead:
        """Queue a render of the current design. An identical design rendered before (or being
        rendered) is answered with that job instead of rendering it again."""
        return PreviewRead.of(await customization.request_preview(session_id, session_key))
