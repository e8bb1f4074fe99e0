"""Real servers over real HTTP: ``customshop demo`` (embedded), ``serve --workers 2`` on PostgreSQL, and
``serve`` over TLS (contract §2, §6-§8)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import PROBLEM
from tests.integration.processes import Server, answering_pid, create_key, ok, serving
from tests.integration.tls import certificate_for

ADMIN_KEY_LINE = re.compile(r"^Admin API key \(shown once, scope admin\): (csk_\S+)$", re.MULTILINE)
DEMO_SLUGS = {"classic-tee", "engraved-keepsake-box", "build-your-own-gift-box"}
DEMO_REGIONS = {"United States", "EU: Germany", "EU: France", "Rest of world"}


def embedded_env(cli_env: dict[str, str]) -> dict[str, str]:
    """Nothing configured: the data lives under ./var of the working directory."""
    return {k: v for k, v in cli_env.items() if k != "CUSTOMSHOP_DATA_DIR"}


def wait_for_admin_key(server: Server) -> str:
    # The key is printed before the server starts listening, so it is there once /health/live answers.
    found = ADMIN_KEY_LINE.search(server.stdout_path.read_text())
    assert found, f"no admin key in the demo's output:\n{server.output}"
    return found.group(1)


def fresh_client(base_url: str) -> httpx.Client:
    """A client that opens a new connection per request, so the workers take turns."""
    return httpx.Client(base_url=base_url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def zone_types(product: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {zone["id"]: zone for zone in product["template"]["definition"]["zones"]}


# -- demo ------------------------------------------------------------------------------------------


def test_demo_serves_a_seeded_catalog_once(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = embedded_env(cli_env)
    shop = tmp_path / "shop"
    shop.mkdir()

    with serving("demo", env=env, cwd=shop) as server:
        admin_key = wait_for_admin_key(server)
        assert (shop / "var" / "customshop.db").is_file(), "the demo runs embedded, under ./var"
        with httpx.Client(base_url=server.url, timeout=10) as http:
            listing = http.get("/products")
            assert listing.status_code == 200
            products = listing.json()["items"]
            assert {p["slug"] for p in products} == DEMO_SLUGS
            assert listing.json()["next_cursor"] is None

            details = {}
            for product in products:
                response = http.get(f"/products/{product['id']}")
                assert response.status_code == 200, response.text
                detail = response.json()
                assert detail["id"] == product["id"]
                assert isinstance(detail["base_price"], int)
                assert detail["currency"] == "USD"
                assert {"id", "version", "definition"} <= set(detail["template"])
                assert detail["template"]["definition"]["zones"]
                details[detail["slug"]] = detail

            tee = zone_types(details["classic-tee"])
            assert {zone["type"] for zone in tee.values()} == {"text", "image", "color", "option"}
            assert details["classic-tee"]["volume_pricing"] == [
                {"min_quantity": 10, "discount_bps": 1500},
                {"min_quantity": 25, "discount_bps": 2000},
            ]
            keepsake = zone_types(details["engraved-keepsake-box"])
            assert any(z["type"] == "text" and len(z.get("fonts", [])) > 1 for z in keepsake.values())
            assert (
                keepsake["second_line"]["price_per_character"],
                keepsake["second_line"]["free_characters"],
            ) == (
                50,
                10,
            )
            gift_box = zone_types(details["build-your-own-gift-box"])
            assert any(z["type"] == "option" and z.get("multiple") is True for z in gift_box.values())

            # Every option zone points at one of the product's option sets.
            for detail in details.values():
                sets = http.get("/optionsets", params={"product_id": detail["id"]}).json()["items"]
                for zone in zone_types(detail).values():
                    if zone["type"] == "option":
                        assert zone["option_set_id"] in {s["id"] for s in sets}

            anonymous = http.post("/products", json={"name": "Mug", "base_price": 1200})
            assert anonymous.status_code == 403
            assert anonymous.headers["content-type"].startswith(PROBLEM)
            assert anonymous.json()["status"] == 403

            wrong_key = http.post(
                "/products", json={"name": "Mug", "base_price": 1200}, headers={"X-API-Key": "csk_nope"}
            )
            assert wrong_key.status_code == 403

            admin = {"X-API-Key": admin_key}
            created = http.post("/products", json={"name": "Mug", "base_price": 1200}, headers=admin)
            assert created.status_code == 201, created.text
            mug = created.json()
            assert mug["slug"] == "mug"
            assert mug["id"] in {p["id"] for p in http.get("/products").json()["items"]}
            assert http.delete(f"/products/{mug['id']}", headers=admin).status_code == 200
            assert len(http.get("/products").json()["items"]) == 3

            # The commerce rules: regions with their tax and methods, and a welcome code.
            regions = http.get("/regions", headers=admin).json()["items"]
            assert {r["name"] for r in regions} == DEMO_REGIONS
            methods = http.get("/shipping-methods", headers=admin).json()["items"]
            assert {m["region_id"] for m in methods} == {r["id"] for r in regions}
            codes = [p["code"] for p in http.get("/promotions", headers=admin).json()["items"]]
            assert codes == ["WELCOME10"]
    assert server.proc.returncode is not None

    # The same directory again: the catalog is kept, not seeded twice, and a new admin key works.
    with serving("demo", env=env, cwd=shop) as again:
        second_key = wait_for_admin_key(again)
        assert second_key != admin_key
        assert "seeded" not in again.stdout_path.read_text()
        with httpx.Client(base_url=again.url, timeout=10) as http:
            products = http.get("/products").json()["items"]
            assert sorted(p["slug"] for p in products) == sorted(DEMO_SLUGS)
            created = http.post(
                "/products", json={"name": "Poster", "base_price": 900}, headers={"X-API-Key": second_key}
            )
            assert created.status_code == 201, created.text
            # The first run's key was stored, not just printed.
            also = http.post(
                "/products", json={"name": "Tote", "base_price": 900}, headers={"X-API-Key": admin_key}
            )
            assert also.status_code == 201, also.text
            regions = http.get("/regions", headers={"X-API-Key": second_key}).json()["items"]
            assert len(regions) == len(DEMO_REGIONS)


# -- serve on PostgreSQL with two workers -----------------------------------------------------------


@pytest.fixture
def postgres_server(
    cli_env: dict[str, str], tmp_path: Path, fresh_postgres_url: str
) -> Iterator[tuple[Server, str]]:
    env = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url}
    ok("db", "upgrade", env=env, cwd=tmp_path)
    key = create_key(env, tmp_path, "catalog:write")
    with serving("serve", "--workers", "2", env=env, cwd=tmp_path) as server:
        yield server, key


def test_serve_with_two_workers_on_postgres(postgres_server: tuple[Server, str]) -> None:
    server, key = postgres_server
    admin = {"X-API-Key": key}
    with fresh_client(server.url) as http:
        plain = http.get("/health/live")
        assert plain.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in plain.headers, "HSTS is for TLS only"
        statuses = [http.get("/health/live").status_code for _ in range(25)]
        statuses += [http.get("/health/ready").status_code for _ in range(25)]
        assert statuses == [200] * 50
        assert "worker-1" in server.output
        assert "worker-2" in server.output
        # Which process answers each connection (the second worker may start accepting a moment
        # after the first: ask until both have answered).
        answered: set[int] = set()
        deadline = time.monotonic() + 20
        while len(answered) < 2:
            assert time.monotonic() < deadline, f"only process {answered} answered:\n{server.output}"
            with httpx.Client(base_url=server.url, timeout=10) as one_connection:
                response = one_connection.get("/health/ready")
                assert response.status_code == 200
                answered.add(answering_pid(server, response))
        assert server.proc.pid not in answered, "the workers answer, not the supervising process"

        created = http.post("/products", json={"name": "Poster", "base_price": 1500}, headers=admin)
        assert created.status_code == 201, created.text
        product = created.json()
        options = http.post(
            "/optionsets",
            json={"product_id": product["id"], "name": "Size", "options": [{"code": "A3", "label": "A3"}]},
            headers=admin,
        )
        assert options.status_code == 201, options.text
        template = http.post(
            "/templates",
            json={
                "product_id": product["id"],
                "version": 1,
                "definition": {
                    "canvas": {"width": 800, "height": 1200, "background": "#ffffff"},
                    "zones": [{"id": "size", "type": "option", "option_set_id": options.json()["id"]}],
                },
            },
            headers=admin,
        )
        assert template.status_code == 201, template.text

        # Whichever worker answers, the write is there.
        for _ in range(10):
            listed = http.get("/products")
            assert listed.status_code == 200
            assert product["id"] in {p["id"] for p in listed.json()["items"]}
            detail = http.get(f"/products/{product['id']}")
            assert detail.status_code == 200, detail.text
            assert detail.json()["template"]["version"] == 1

        forbidden = http.delete(f"/products/{product['id']}")
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"].startswith(PROBLEM)
        assert http.get("/products/no-such-product").status_code == 404

        # PostgreSQL can neither store nor compare a NUL character: refused as bad input, never a 500.
        for path in ("/products/a%00b", "/optionsets?product_id=%00", f"/templates/{product['id']}%00"):
            refused = http.get(path)
            assert refused.status_code == 400, (path, refused.text)
            assert refused.json()["errors"][0]["code"] == "invalid_character"
        nul_name = http.post("/products", json={"name": "Mug\u0000", "base_price": 900}, headers=admin)
        assert nul_name.status_code == 400, nul_name.text
        assert nul_name.json()["errors"] == [
            {"field": "name", "code": "invalid_character", "message": nul_name.json()["errors"][0]["message"]}
        ]
        nul_label = http.put(
            f"/optionsets/{options.json()['id']}",
            json={
                "product_id": product["id"],
                "name": "Size",
                "options": [{"code": "A3", "label": "A\u00003"}],
            },
            headers=admin,
        )
        assert nul_label.status_code == 400, nul_label.text
        assert [e["field"] for e in nul_label.json()["errors"]] == ["options[0].label"]
        # A body that fails validation before its malformed tail is still just invalid JSON.
        garbage = http.put(
            f"/optionsets/{options.json()['id']}",
            content=b"7\x16",
            headers=admin | {"content-type": "application/json"},
        )
        assert garbage.status_code == 400, garbage.text
        assert garbage.json()["errors"][0]["code"] == "invalid_json"

        document = http.get("/schema/openapi.json")
        assert document.status_code == 200
        openapi = json.loads(document.content)
        assert openapi["openapi"].startswith("3.")
        for path in ("/products", "/products/{product_id}", "/templates", "/optionsets", "/health/live"):
            assert path in openapi["paths"], path
        assert "apiKey" in openapi["components"]["securitySchemes"]

        page = http.get("/schema")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<html" in page.text.lower()


# -- TLS -------------------------------------------------------------------------------------------


def test_serve_over_tls(cli_env: dict[str, str], tmp_path: Path) -> None:
    cert, key = certificate_for("localhost", tmp_path)
    ok("db", "upgrade", env=cli_env, cwd=tmp_path)
    admin = {"X-API-Key": create_key(cli_env, tmp_path, "catalog:write")}
    tls = ("--tls-cert", str(cert), "--tls-key", str(key))
    with serving("serve", *tls, env=cli_env, cwd=tmp_path, scheme="https") as server:
        assert server.url.startswith("https://")
        with httpx.Client(base_url=server.url, verify=False, timeout=10) as https:
            live = https.get("/health/live")
            assert live.status_code == 200
            assert live.json() == {"status": "ok"}
            # Under TLS every answer tells browsers to use HTTPS from now on (HSTS), beside the other
            # security headers; over plain HTTP it does not (test_serve_with_two_workers_on_postgres).
            for answer in (live, https.get("/products"), https.get("/nowhere")):
                assert answer.headers["strict-transport-security"] == "max-age=31536000"
                assert answer.headers["x-content-type-options"] == "nosniff"
                assert answer.headers["x-frame-options"] == "DENY"
            assert https.get("/products").json() == {"items": [], "next_cursor": None}

            # Under TLS the guest's session cookie is Secure (contract §1).
            product = https.post("/products", json={"name": "Mug", "base_price": 1200}, headers=admin)
            assert product.status_code == 201, product.text
            definition = {
                "canvas": {"width": 800, "height": 400, "background": "#ffffff"},
                "zones": [
                    {
                        "id": "name",
                        "type": "text",
                        "max_length": 12,
                        "area": {"x": 50, "y": 150, "width": 700, "height": 100},
                    }
                ],
            }
            template = https.post(
                "/templates",
                json={"product_id": product.json()["id"], "version": 1, "definition": definition},
                headers=admin,
            )
            assert template.status_code == 201, template.text
            session = https.post("/sessions", json={"product_id": product.json()["id"]})
            assert session.status_code == 201, session.text
            cookie = session.headers["set-cookie"]
            assert f"session_key={session.json()['session_key']}" in cookie
            assert "Secure" in cookie
            assert "HttpOnly" in cookie
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{server.port}/health/live", timeout=5)
