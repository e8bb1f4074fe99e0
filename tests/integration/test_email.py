"""Order emails through HTTP, on SQLite and PostgreSQL: an order paid with the ``test`` provider and
shipped by an operator reaches a real SMTP server (aiosmtpd on loopback) as two multipart messages;
a server that is down at first still gets them once it is up; without an SMTP URL they are written
as ``.eml`` files under the data directory."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.mail.folder import FolderMailer
from customshop.entrypoints.container import Container
from customshop.entrypoints.settings import Settings
from tests.builders import ORDER, TEE
from tests.integration.conftest import render_prints
from tests.integration.mail import MailServer
from tests.integration.shopping import carted, pump

Client = AsyncTestClient  # type: ignore[type-arg]
MAIL_FROM = "Tee Shop <orders@shop.example.com>"
TRACKING = "https://track.example.com/1Z999?ref=mail&x=1"


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    yield server
    server.stop()


@pytest.fixture
def settings(
    database_url: str, clean_engine: AsyncEngine, tmp_path: Path, request: pytest.FixtureRequest
) -> Settings:
    smtp = "mail_server" in request.fixturenames  # tests with an SMTP server send to it
    return Settings(
        database_url=database_url,
        data_dir=str(tmp_path / "var"),
        test_payments_enabled=True,
        smtp_url=(f"smtp://127.0.0.1:{request.getfixturevalue('mail_server').port}" if smtp else None),
        mail_from=MAIL_FROM,
        webhook_retry_schedule=(1, 1, 1),  # emails back off on the same schedule
        outbox_poll_seconds=3600,  # the tests pump events themselves (see `pump`)
        reservation_sweep_seconds=3600,
        rate_limit_enabled=False,
    )


async def paid_and_shipped(
    client: Client, catalog: dict[str, str], admin: dict[str, str], container: Container
) -> str:
    """An order placed and paid with the test provider, then shipped by an operator; its id."""
    key = await carted(client, catalog["classic-tee"], TEE, quantity=2)
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    payment = placed["payment"]
    assert (await client.post(f"/test-payments/{payment['payment_id']}/succeed")).status_code == 200
    order_id = str(placed["order_id"])
    await render_prints(container)
    for status in ("in_production", "fulfilled"):
        moved = await client.post(f"/orders/{order_id}/status", json={"status": status}, headers=admin)
        assert moved.status_code == 200, moved.text
    shipped = await client.post(
        f"/orders/{order_id}/status", json={"status": "shipped", "tracking_url": TRACKING}, headers=admin
    )
    assert shipped.status_code == 200, shipped.text
    return order_id


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and the HTML of a ``multipart/alternative`` message, checking its structure."""
    assert message.get_content_type() == "multipart/alternative"
    text, rich = message.iter_parts()
    assert (text.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    assert isinstance(text, EmailMessage) and isinstance(rich, EmailMessage)
    return str(text.get_content()), str(rich.get_content())


async def test_smtp_a_paid_then_shipped_order_sends_two_emails(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    mail_server: MailServer,
    container: Container,
) -> None:
    mail_server.start()
    order_id = await paid_and_shipped(client, catalog, admin, container)
    assert mail_server.received == []  # committed, not yet relayed
    await pump(container)
    await pump(container)  # a second round sends nothing again

    assert [(sender, rcpts) for sender, rcpts, _ in mail_server.received] == [
        ("orders@shop.example.com", ["ada@example.com"]),
        ("orders@shop.example.com", ["ada@example.com"]),
    ]
    confirmation, update = sorted(mail_server.messages(), key=lambda m: "shipped" in str(m["Subject"]))
    for message in (confirmation, update):
        assert (message["From"], message["To"]) == (MAIL_FROM, "ada@example.com")
        assert message["Date"] and str(message["Message-ID"]).endswith("@shop.example.com>")
    assert confirmation["Subject"] == f"Tee Shop: order {order_id} confirmed"
    assert update["Subject"] == f"Tee Shop: order {order_id} shipped"

    text, rich = parts(confirmation)
    # 2 × (1900 + 300), tax 10 %, shipping 500 (the `catalog` fixture's policies).
    assert "2 x Classic T-shirt: 44.00 USD" in text and "Subtotal: 44.00 USD" in text
    assert "Total: 53.40 USD" in text and "53.40 USD" in rich
    assert "Ada Lovelace" in text and "St James&#x27;s Square" in rich

    text, rich = parts(update)
    assert TRACKING in text
    assert f'href="{TRACKING.replace("&", "&amp;")}"' in rich


async def test_smtp_a_server_down_at_first_still_gets_the_email(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    mail_server: MailServer,
    container: Container,
) -> None:
    key = await carted(client, catalog["classic-tee"], TEE)
    placed = (await client.post("/checkout", json=ORDER, headers=key)).json()
    assert (await client.post(f"/test-payments/{placed['payment']['payment_id']}/succeed")).status_code == 200
    await pump(container)  # the first attempt: connection refused
    assert mail_server.received == []

    mail_server.start()
    await asyncio.sleep(1.2)  # the retry schedule's first step, 1 s (± 10 %)
    await pump(container)
    (message,) = mail_server.messages()
    assert message["Subject"] == f"Tee Shop: order {placed['order_id']} confirmed"
    parts(message)


async def test_without_an_smtp_url_emails_are_written_to_the_data_folder(
    client: Client,
    catalog: dict[str, str],
    admin: dict[str, str],
    container: Container,
    tmp_path: Path,
) -> None:
    mailer = container.adapters.mailer()
    assert isinstance(mailer, FolderMailer) and mailer.folder == (tmp_path / "var" / "mail").resolve()
    order_id = await paid_and_shipped(client, catalog, admin, container)
    await pump(container)
    files = sorted(mailer.folder.glob("*.eml"))
    assert len(files) == 2
    assert not [p for p in mailer.folder.iterdir() if p.suffix != ".eml"]  # nothing half-written
    subjects = set()
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        assert (message["From"], message["To"]) == (MAIL_FROM, "ada@example.com")
        subjects.add(str(message["Subject"]))
        text, _ = parts(message)
        assert order_id in text
    assert subjects == {
        f"Tee Shop: order {order_id} confirmed",
        f"Tee Shop: order {order_id} shipped",
    }
