"""Guest design sessions, uploads and previews through HTTP (contract §3), on SQLite and PostgreSQL.

Previews here run on the embedded in-process job runner; tests/integration/test_worker.py runs them
on a real rq worker process.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from PIL import Image

from customshop.adapters.memory import ManualClock
from customshop.entrypoints.container import Container
from customshop.entrypoints.demo import seed_demo_catalog
from tests.integration.shopping import wait_for_preview

Client = AsyncTestClient  # type: ignore[type-arg]


def image_bytes(size: tuple[int, int], color: tuple[int, int, int], fmt: str = "PNG", **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


@pytest.fixture
async def tee(container: Container) -> dict[str, Any]:
    """The demo T-shirt (text, photo, body colour and size zones)."""
    await seed_demo_catalog(container.use_cases.catalog())
    page = await container.use_cases.catalog().list_products(include_inactive=False, after=None, limit=10)
    product = next(p for p in page.items if p.slug == "classic-tee")
    return {"id": product.id}


async def start(client: Client, product_id: str, **extra: Any) -> tuple[str, dict[str, str]]:
    response = await client.post("/sessions", json={"product_id": product_id} | extra)
    assert response.status_code == 201, response.text
    body = response.json()
    client.cookies.clear()  # each test says explicitly which key it presents
    return body["session_id"], {"X-Session-Key": body["session_key"]}


async def test_a_guest_starts_a_session_with_a_key_and_a_cookie(client: Client, tee: dict[str, Any]) -> None:
    response = await client.post("/sessions", json={"product_id": tee["id"]})
    assert response.status_code == 201
    body = response.json()
    assert body["session_key"].startswith("gsk_") and len(body["session_key"]) > 40
    assert body["options"] == {}
    assert body["template_version"] == 1
    assert body["price"] == {"currency": "USD", "base_price": 1900, "components": [], "unit_price": 1900}
    cookie = response.headers["set-cookie"]
    assert f"session_key={body['session_key']}" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain HTTP here; under TLS the cookie is Secure
    # The cookie alone identifies the guest.
    again = await client.get(f"/sessions/{body['session_id']}")
    assert again.status_code == 200
    assert again.json()["session_key"] is None  # the key is only ever sent back on creation


async def test_a_guest_keeps_its_key_across_sessions(client: Client, tee: dict[str, Any]) -> None:
    first, key = await start(client, tee["id"])
    second = await client.post("/sessions", json={"product_id": tee["id"]}, headers=key)
    assert second.json()["session_key"] == key["X-Session-Key"]
    assert (await client.get(f"/sessions/{first}", headers=key)).status_code == 200
    assert (await client.get(f"/sessions/{second.json()['session_id']}", headers=key)).status_code == 200


async def test_another_guest_sees_nothing(client: Client, tee: dict[str, Any]) -> None:
    session, key = await start(client, tee["id"])
    _, stranger = await start(client, tee["id"])
    for headers in (stranger, {}, {"X-Session-Key": "gsk_" + "A" * 43}, {"X-Session-Key": "nonsense"}):
        assert (await client.get(f"/sessions/{session}", headers=headers)).status_code == 404
        patched = await client.patch(f"/sessions/{session}", json={"options": {"size": "M"}}, headers=headers)
        assert patched.status_code == 404
        assert (await client.post(f"/sessions/{session}/preview", headers=headers)).status_code == 404
        files = {"file": ("a.png", image_bytes((700, 700), (1, 2, 3)), "image/png")}
        assert (
            await client.post(f"/sessions/{session}/assets", files=files, headers=headers)
        ).status_code == 404
    assert (await client.get(f"/sessions/{session}", headers=key)).json()["options"] == {}
    assert (await client.get("/sessions/unknown", headers=key)).status_code == 404


async def test_starting_needs_a_sellable_product_and_a_known_version(
    client: Client, tee: dict[str, Any]
) -> None:
    for body, field in (
        ({"product_id": "nope"}, "product_id"),
        ({"product_id": tee["id"], "template_version": 9}, "template_version"),
        ({"product_id": tee["id"], "template_version": "1"}, "template_version"),
        ({}, "product_id"),
    ):
        response = await client.post("/sessions", json=body)
        assert response.status_code == 400, body
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_changes_are_checked_and_nothing_is_stored_when_one_is_bad(
    client: Client, tee: dict[str, Any]
) -> None:
    session, key = await start(client, tee["id"])
    good = {"front_text": {"text": "Hi there", "font": "Serif", "color": "#FFFFFF"}, "size": "XL"}
    response = await client.patch(f"/sessions/{session}", json={"options": good}, headers=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["options"] == {
        "front_text": {"text": "Hi there", "font": "Serif", "color": "#ffffff"},
        "size": "XL",
    }
    assert body["price"]["unit_price"] == 1900 + 300 + 200
    assert {(c["zone_id"], c["code"], c["amount"]) for c in body["price"]["components"]} == {
        ("front_text", None, 300),
        ("size", "XL", 200),
    }

    bad = {
        "front_text": {"text": "This is far too long for the chest", "font": "Comic"},
        "body_color": "#123456",
        "size": "XXXL",
        "photo": {"asset_id": "not-uploaded"},
        "sleeve": "long",
    }
    response = await client.patch(f"/sessions/{session}", json={"options": bad}, headers=key)
    assert response.status_code == 400
    errors = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert errors == {
        ("options.front_text", "too_long"),
        ("options.front_text.font", "font_not_allowed"),
        ("options.body_color", "not_in_palette"),
        ("options.size", "unknown_option"),
        ("options.photo", "unknown_asset"),
        ("options.sleeve", "unknown_zone"),
    }
    assert all(e.get("zone_id") for e in response.json()["errors"] if e["field"] != "options.sleeve")
    assert (await client.get(f"/sessions/{session}", headers=key)).json()["options"] == body["options"]

    cleared = await client.patch(f"/sessions/{session}", json={"options": {"front_text": None}}, headers=key)
    assert cleared.json()["options"] == {"size": "XL"}
    assert (await client.patch(f"/sessions/{session}", json={"colour": 1}, headers=key)).status_code == 400


async def test_sessions_expire(client: Client, container: Container, tee: dict[str, Any]) -> None:
    clock = ManualClock()
    container.adapters.clock.override(providers.Object(clock))
    container.use_cases.customization.reset()
    session, key = await start(client, tee["id"])
    clock.advance(days=6)
    assert (
        await client.patch(f"/sessions/{session}", json={"options": {"size": "M"}}, headers=key)
    ).status_code == 200
    clock.advance(days=6, hours=23)  # a change gives the session another 7 days
    assert (await client.get(f"/sessions/{session}", headers=key)).status_code == 200
    clock.advance(hours=2)
    assert (await client.get(f"/sessions/{session}", headers=key)).status_code == 404


async def test_sessions_stay_on_the_version_they_started_with(
    client: Client, admin: dict[str, str], tee: dict[str, Any]
) -> None:
    session, key = await start(client, tee["id"])
    current = (await client.get(f"/products/{tee['id']}")).json()["template"]["definition"]
    narrower = {**current, "zones": [z for z in current["zones"] if z["id"] != "front_text"]}
    created = await client.post(
        "/templates",
        json={"product_id": tee["id"], "version": 2, "definition": narrower, "is_default": True},
        headers=admin,
    )
    assert created.status_code == 201
    text = {"front_text": {"text": "Still here"}}
    old = await client.patch(f"/sessions/{session}", json={"options": text}, headers=key)
    assert old.status_code == 200
    assert old.json()["template_version"] == 1
    new_session, new_key = await start(client, tee["id"])
    new = await client.patch(f"/sessions/{new_session}", json={"options": text}, headers=new_key)
    assert new.status_code == 400
    pinned, pinned_key = await start(client, tee["id"], template_version=1)
    assert (
        await client.patch(f"/sessions/{pinned}", json={"options": text}, headers=pinned_key)
    ).status_code == 200


async def test_uploads_are_judged_by_their_bytes_and_cleaned(client: Client, tee: dict[str, Any]) -> None:
    session, key = await start(client, tee["id"])
    url = f"/sessions/{session}/assets"
    png_named_jpeg = {"photo": ("holiday.jpg", image_bytes((800, 600), (0, 128, 255)), "image/jpeg")}
    response = await client.post(url, files=png_named_jpeg, headers=key)
    assert response.status_code == 201, response.text
    asset = response.json()
    assert (asset["content_type"], asset["width"], asset["height"]) == ("image/png", 800, 600)
    assert asset["bytes"] == len(png_named_jpeg["photo"][1])

    # A JPEG shot sideways: orientation applied, metadata gone.
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    exif[0x010F] = "SecretCam"
    sideways = image_bytes((900, 700), (200, 10, 10), "JPEG", exif=exif.tobytes())
    response = await client.post(url, files={"file": ("p.jpg", sideways, "image/jpeg")}, headers=key)
    assert response.status_code == 201
    assert (response.json()["width"], response.json()["height"]) == (700, 900)

    gif = io.BytesIO()
    Image.new("RGB", (700, 700)).save(gif, "GIF")
    for name, payload, code in (
        ("x.png", b"definitely not an image", "undecodable"),
        ("x.png", gif.getvalue(), "unsupported_type"),
        ("x.png", image_bytes((800, 800), (1, 1, 1))[:200], "undecodable"),
    ):
        response = await client.post(url, files={"file": (name, payload, "image/png")}, headers=key)
        assert response.status_code == 400, name
        assert response.json()["errors"][0] == {
            "field": "file",
            "code": code,
            "message": response.json()["errors"][0]["message"],
        }

    as_json = await client.post(url, json={"photo": "x"}, headers=key)
    assert as_json.status_code == 415
    assert as_json.json()["type"] == "/problems/unsupported-media-type"
    only_a_field = b'--b\r\nContent-Disposition: form-data; name="photo"\r\n\r\nx\r\n--b--\r\n'
    no_file = await client.post(
        url, content=only_a_field, headers={**key, "content-type": "multipart/form-data; boundary=b"}
    )
    assert no_file.status_code == 400
    assert no_file.json()["errors"][0]["field"] == "file"


async def test_a_decompression_bomb_is_refused(client: Client, tee: dict[str, Any]) -> None:
    session, key = await start(client, tee["id"])
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 megapixels in a few dozen kilobytes
    assert len(bomb.getvalue()) < 200_000
    response = await client.post(
        f"/sessions/{session}/assets", files={"file": ("b.png", bomb.getvalue(), "image/png")}, headers=key
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "decompression_bomb"


async def test_an_upload_declared_too_large_is_refused_unread(client: Client, tee: dict[str, Any]) -> None:
    session, key = await start(client, tee["id"])
    declared = await client.post(
        f"/sessions/{session}/assets",
        content=b"x",
        headers=key
        | {"content-type": "multipart/form-data; boundary=b", "content-length": str(50 * 1024 * 1024)},
    )
    assert declared.status_code == 400
    assert declared.json()["errors"][0]["code"] == "too_large"
    # Streamed uploads that grow past the limit: tests/integration/test_upload_streaming.py (real server).


async def test_an_uploaded_photo_fills_its_zone_and_is_checked_against_it(
    client: Client, tee: dict[str, Any]
) -> None:
    session, key = await start(client, tee["id"])
    url = f"/sessions/{session}/assets"
    small = (
        await client.post(
            url, files={"f": ("s.png", image_bytes((300, 300), (9, 9, 9)), "image/png")}, headers=key
        )
    ).json()
    big = (
        await client.post(
            url, files={"f": ("b.png", image_bytes((800, 800), (9, 9, 9)), "image/png")}, headers=key
        )
    ).json()
    too_small = await client.patch(
        f"/sessions/{session}", json={"options": {"photo": {"asset_id": small["asset_id"]}}}, headers=key
    )
    assert too_small.status_code == 400
    assert too_small.json()["errors"][0]["code"] == "too_small"
    fine = await client.patch(
        f"/sessions/{session}", json={"options": {"photo": {"asset_id": big["asset_id"]}}}, headers=key
    )
    assert fine.status_code == 200
    assert fine.json()["price"]["unit_price"] == 1900 + 500
    # Another guest's upload cannot be used.
    other, other_key = await start(client, tee["id"])
    stolen = await client.patch(
        f"/sessions/{other}", json={"options": {"photo": {"asset_id": big["asset_id"]}}}, headers=other_key
    )
    assert stolen.status_code == 400
    assert stolen.json()["errors"][0]["code"] == "unknown_asset"


async def test_a_preview_is_a_real_png_of_the_design_and_identical_designs_share_it(
    client: Client, tee: dict[str, Any]
) -> None:
    session, key = await start(client, tee["id"])
    photo = (
        await client.post(
            f"/sessions/{session}/assets",
            files={"f": ("p.png", image_bytes((800, 800), (0, 200, 0)), "image/png")},
            headers=key,
        )
    ).json()
    design = {
        "front_text": {"text": "HELLO", "font": "Sans", "color": "#f1c40f"},
        "photo": {"asset_id": photo["asset_id"]},
        "body_color": "#c0392b",
        "size": "M",
    }
    assert (
        await client.patch(f"/sessions/{session}", json={"options": design}, headers=key)
    ).status_code == 200
    queued = await client.post(f"/sessions/{session}/preview", headers=key)
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"  # the contract: 202 {job_id, status: "queued"}
    done = await wait_for_preview(client, queued.json()["job_id"])
    assert done["status"] == "done", done
    image = await client.get(done["url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(image.content)).convert("RGB")
    assert picture.size == (1000, 1000)
    assert picture.getpixel((500, 550)) == (0, 200, 0)  # the photo's area (250..750, 300..800)
    assert picture.getpixel((20, 20)) == (0xC0, 0x39, 0x2B)  # the body colour
    text_area = picture.crop((100, 120, 900, 240))
    yellow = sum(1 for px in text_area.get_flattened_data() if px == (0xF1, 0xC4, 0x0F))
    assert yellow > 500  # the text, in its colour, inside its area

    # The same design from another guest, with the same picture uploaded again, reuses the render.
    twin, twin_key = await start(client, tee["id"])
    twin_photo = (
        await client.post(
            f"/sessions/{twin}/assets",
            files={"f": ("p.png", image_bytes((800, 800), (0, 200, 0)), "image/png")},
            headers=twin_key,
        )
    ).json()
    twin_design = design | {"photo": {"asset_id": twin_photo["asset_id"]}}
    await client.patch(f"/sessions/{twin}", json={"options": twin_design}, headers=twin_key)
    reused = await client.post(f"/sessions/{twin}/preview", headers=twin_key)
    assert reused.json() == done

    # A different design renders anew.
    await client.patch(f"/sessions/{twin}", json={"options": {"body_color": "#ffffff"}}, headers=twin_key)
    fresh = await client.post(f"/sessions/{twin}/preview", headers=twin_key)
    assert fresh.json()["job_id"] != done["job_id"]
    assert (await wait_for_preview(client, fresh.json()["job_id"]))["status"] == "done"


async def test_unknown_previews_are_404(client: Client) -> None:
    assert (await client.get("/previews/nope")).status_code == 404
    assert (await client.get("/previews/nope/image")).status_code == 404
