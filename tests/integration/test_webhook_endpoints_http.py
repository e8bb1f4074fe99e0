"""Registering partner endpoints with private networks not allowed (the production setting): only
``https://`` URLs of public addresses are accepted; anything else is a 400 naming ``url``."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://8.8.8.8/hooks", "must be https"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("http://127.0.0.1/hooks", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ],
)
async def test_plain_http_and_private_addresses_are_refused(
    client: Client, admin: dict[str, str], url: str, reason: str
) -> None:
    response = await client.post(
        "/webhook-endpoints", json={"url": url, "events": ["order.paid"]}, headers=admin
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    (error,) = response.json()["errors"]
    assert (error["field"], error["code"]) == ("url", "refused")
    assert reason in error["message"]
    assert (await client.get("/webhook-endpoints", headers=admin)).json()["items"] == []


async def test_https_to_a_public_address_is_accepted(client: Client, admin: dict[str, str]) -> None:
    response = await client.post(
        "/webhook-endpoints", json={"url": "https://8.8.8.8/hooks", "events": ["order.paid"]}, headers=admin
    )
    assert response.status_code == 201, response.text
    assert response.json()["url"] == "https://8.8.8.8/hooks"
