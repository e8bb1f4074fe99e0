"""``HttpWebhookSender`` and ``check_destination`` over real sockets, against a local receiver.

The receiver (``tests/integration/standins/webhook_receiver.py``) is a real HTTP server on loopback,
so these tests need ``allow_private_networks=True`` to reach it; the destination tests run with it
off and show that nothing leaves for a refused address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import secrets
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpcore
import httpx
import pytest
from standardwebhooks import Webhook

from customshop.adapters.webhooks.sender import (
    MAX_RESPONSE_BYTES,
    HttpWebhookSender,
    IPAddress,
    UnsafeDestination,
    check_destination,
)
from customshop.application.ports import DeliveryResult
from customshop.domain.webhooks import format_secret, signature_headers, verify
from tests.integration.conftest import free_port
from tests.integration.standins.webhook_receiver import WebhookReceiver
from tests.integration.tls import certificate_for

BODY = json.dumps(
    {
        "type": "order.paid",
        "timestamp": "2025-01-02T03:04:05Z",
        "data": {"order_id": "ord_1", "amount": 1234},
    },
    separators=(",", ":"),
).encode()


@pytest.fixture
async def sender() -> AsyncIterator[HttpWebhookSender]:
    sender = HttpWebhookSender(timeout_seconds=5.0, allow_private_networks=True)
    yield sender
    await sender.close()


def signed(secret: str, message_id: str = "msg_1") -> dict[str, str]:
    return signature_headers(secret, message_id, int(time.time()), BODY)


# -- deliveries ----------------------------------------------------------------------------------


async def test_a_delivery_arrives_signed_and_verifiable(
    receiver: WebhookReceiver, sender: HttpWebhookSender
) -> None:
    secret = format_secret(secrets.token_bytes(24))
    headers = signed(secret, "evt_01JQ7Z")

    result = await sender.send(f"{receiver.url}/hooks/customshop", headers, BODY)

    assert result.status == 204 and result.error is None and result.succeeded
    assert result.duration_ms >= 0
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/customshop")
    assert request.body == BODY
    assert request.headers["content-type"] == "application/json"
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert request.headers[name] == headers[name]
    # The receiver's side, with the reference implementation and with ours.
    assert Webhook(secret).verify(request.body, request.headers) == json.loads(BODY)
    assert verify(secret, request.headers, request.body, now=int(time.time())) == "evt_01JQ7Z"


async def test_the_callers_headers_win_over_the_defaults(
    receiver: WebhookReceiver, sender: HttpWebhookSender
) -> None:
    result = await sender.send(receiver.url, {"content-type": "application/cloudevents+json"}, BODY)

    assert result.status == 204
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/cloudevents+json"


@pytest.mark.parametrize("status", [200, 202, 400, 410, 429, 500, 503])
async def test_the_receivers_status_is_the_result(
    receiver: WebhookReceiver, sender: HttpWebhookSender, status: int
) -> None:
    receiver.answer_with(status)

    result = await sender.send(receiver.url, signed(format_secret(bytes(range(24)))), BODY)

    assert result.status == status and result.error is None
    assert result.succeeded == (200 <= status < 300)
    assert len(receiver.requests) == 1


async def test_a_redirect_is_reported_not_followed(
    receiver: WebhookReceiver, sender: HttpWebhookSender
) -> None:
    receiver.redirect(f"{receiver.url}/elsewhere")

    result = await sender.send(f"{receiver.url}/hooks", {}, BODY)

    assert result.status == 302 and not result.succeeded
    assert [request.path for request in receiver.requests] == ["/hooks"]


async def test_a_stalled_receiver_times_out_within_the_limit(receiver: WebhookReceiver) -> None:
    receiver.stall()
    sender = HttpWebhookSender(timeout_seconds=0.5, allow_private_networks=True)
    started = time.monotonic()
    try:
        result = await sender.send(receiver.url, {}, BODY)
    finally:
        await sender.close()

    elapsed = time.monotonic() - started
    assert result.status is None
    assert result.error == "no answer within 0.5 s"
    assert 0.4 <= elapsed < 2.0
    assert 400 <= result.duration_ms < 2000
    assert len(receiver.requests) == 1  # it was sent, and not again


async def test_a_receiver_that_answers_byte_by_byte_is_cut_off_at_the_limit(
    receiver: WebhookReceiver,
) -> None:
    # Every read gets a byte within 50 ms, so only a limit on the whole attempt can end it.
    receiver.drip()
    sender = HttpWebhookSender(timeout_seconds=0.5, allow_private_networks=True)
    started = time.monotonic()
    try:
        result = await sender.send(receiver.url, {}, BODY)
    finally:
        await sender.close()

    assert result.status is None and result.error == "no answer within 0.5 s"
    assert time.monotonic() - started < 2.0


async def test_an_endless_answer_is_read_no_further_than_the_cap(receiver: WebhookReceiver) -> None:
    # The receiver announces a terabyte and sends as fast as it can: reading it all would time out.
    receiver.flood()
    sender = HttpWebhookSender(timeout_seconds=3.0, allow_private_networks=True)
    try:
        result = await sender.send(receiver.url, {}, BODY)
    finally:
        await sender.close()

    assert result == DeliveryResult(status=200, error=None, duration_ms=result.duration_ms)
    assert result.duration_ms < 3000
    assert MAX_RESPONSE_BYTES == 64 * 1024


async def test_a_closed_port_is_an_error_not_an_exception(sender: HttpWebhookSender) -> None:
    result = await sender.send(f"http://127.0.0.1:{free_port()}/hooks", {}, BODY)

    assert result.status is None
    assert result.error is not None and result.error.startswith("ConnectError")


async def test_an_unsendable_header_is_an_error_not_an_exception(
    receiver: WebhookReceiver, sender: HttpWebhookSender
) -> None:
    result = await sender.send(receiver.url, {"x-note": "two\r\nlines"}, BODY)

    assert result.status is None and result.error
    assert receiver.requests == []


async def test_one_sender_serves_concurrent_deliveries(receiver: WebhookReceiver) -> None:
    sender = HttpWebhookSender(timeout_seconds=5.0, allow_private_networks=True)
    try:
        results = await asyncio.gather(*(sender.send(f"{receiver.url}/{n}", {}, BODY) for n in range(3)))
    finally:
        await sender.close()

    assert [result.status for result in results] == [204, 204, 204]
    assert sorted(request.path for request in receiver.requests) == ["/0", "/1", "/2"]


def test_the_timeout_must_be_positive() -> None:
    for timeout in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="timeout"):
            HttpWebhookSender(timeout_seconds=timeout)


# -- destinations --------------------------------------------------------------------------------


PRIVATE = [
    ("http://127.0.0.1:{port}/hooks", "127.0.0.1 is a loopback address"),
    ("http://localhost:{port}/hooks", "localhost resolves to 127.0.0.1, which is a loopback address"),
    ("http://10.0.0.1/hooks", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[::1]:{port}/hooks", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]:{port}/hooks", "::ffff:127.0.0.1 is a loopback address"),
    ("http://no-such-host.invalid/hooks", "no-such-host.invalid does not resolve"),
]


@pytest.mark.parametrize(("template", "reason"), PRIVATE)
async def test_private_destinations_are_refused_before_anything_is_sent(
    receiver: WebhookReceiver, template: str, reason: str
) -> None:
    url = template.format(port=receiver.url.rsplit(":", 1)[1])
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    with pytest.raises(UnsafeDestination, match=reason):
        await check_destination(url, allow_private=False)

    for transport in (httpx.MockTransport(record), None):
        sender = HttpWebhookSender(allow_private_networks=False, transport=transport)
        try:
            result = await sender.send(url, signed(format_secret(bytes(range(24)))), BODY)
        finally:
            await sender.close()
        assert result.status is None
        assert result.error is not None and result.error.startswith("destination refused: ")
        assert reason in result.error
    assert sent == []
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hooks", "must be http or https, not ftp"),
        ("file:///etc/passwd", "must be http or https, not file"),
        ("example.com/hooks", "must be http or https"),
        ("http://user:pass@example.com/hooks", "credentials"),
        ("https://token@example.com/hooks", "credentials"),
        ("http:///hooks", "no host"),
        ("http://[::1/hooks", "malformed"),
    ],
)
async def test_urls_that_are_not_plain_http_are_refused_even_on_private_networks(
    url: str, reason: str
) -> None:
    with pytest.raises(UnsafeDestination, match=reason):
        await check_destination(url, allow_private=True)
    with pytest.raises(UnsafeDestination, match=reason):
        await check_destination(url, allow_private=False)

    sender = HttpWebhookSender(allow_private_networks=True, transport=httpx.MockTransport(_never))
    try:
        result = await sender.send(url, {}, BODY)
    finally:
        await sender.close()
    assert result.status is None and result.error is not None and reason in result.error


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://2130706433/", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://127.1/", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://100.64.0.1/", "not a public address"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://[::ffff:10.1.2.3]/", "private"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 of 169.254.169.254
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
async def test_every_kind_of_non_public_address_is_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeDestination, match=reason):
        await check_destination(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hooks",
        "https://93.184.215.14:8080/hooks",
        "https://[2606:4700:4700::1111]/hooks",
        "https://[::ffff:8.8.8.8]/hooks",
    ],
)
async def test_public_addresses_pass(url: str) -> None:
    await check_destination(url, allow_private=False)


async def test_private_destinations_pass_when_allowed(receiver: WebhookReceiver) -> None:
    await check_destination(receiver.url, allow_private=True)
    await check_destination("http://10.0.0.1/hooks", allow_private=True)
    # Not resolved at all then: an unknown name fails later, at connection time.
    await check_destination("http://no-such-host.invalid/", allow_private=True)


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent, yet {request.url} was")


# -- pinned connections ------------------------------------------------------------------------------

PUBLIC = ipaddress.ip_address("93.184.215.14")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class RecordingNetwork(httpcore.AsyncMockBackend):
    """Answers 204 on every connection, and records where each connection was asked to go."""

    def __init__(self) -> None:
        super().__init__([b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"])
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(  # type: ignore[override]
        self, host: str, port: int, *args: object, **kwargs: object
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await super().connect_tcp(host, port)


async def test_a_name_checked_public_cannot_rebind_the_connection_to_loopback() -> None:
    """The resolver answers a public address for the check, then loopback to anyone asking again:
    the connection goes to the checked address, and the name is resolved once per attempt."""
    answers: list[list[IPAddress]] = [[PUBLIC]]
    asked: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return answers.pop(0) if answers else [LOOPBACK]

    network = RecordingNetwork()
    sender = HttpWebhookSender(allow_private_networks=False, resolve=rebinding, network=network)
    try:
        first = await sender.send("https://partner.example/hooks", {}, BODY)
        second = await sender.send("https://partner.example/hooks", {}, BODY)
    finally:
        await sender.close()
    assert first.status == 204, first
    assert network.connected == [(str(PUBLIC), 443)], "the connection went where the check said"
    assert second.status is None and second.error is not None
    assert "resolves to 127.0.0.1, which is a loopback address" in second.error
    assert asked == ["partner.example", "partner.example"], "one resolution per attempt"
    assert network.connected == [(str(PUBLIC), 443)], "nothing more was connected"


async def test_http_is_refused_unless_private_networks_are_allowed() -> None:
    async def public(host: str, port: int) -> list[IPAddress]:
        return [PUBLIC]

    with pytest.raises(UnsafeDestination, match="must be https"):
        await check_destination("http://partner.example/hooks", allow_private=False, resolve=public)
    await check_destination("http://partner.example/hooks", allow_private=True, resolve=public)
    network = RecordingNetwork()
    sender = HttpWebhookSender(allow_private_networks=False, resolve=public, network=network)
    try:
        refused = await sender.send("http://partner.example/hooks", {}, BODY)
    finally:
        await sender.close()
    assert refused.status is None and refused.error is not None and "must be https" in refused.error
    assert network.connected == []


async def test_the_pinned_connection_reaches_the_checked_address_as_the_hostname(tmp_path: Path) -> None:
    """A real TLS server on loopback with a certificate for ``partner.test`` (a name no DNS knows):
    the sender reaches it only through the injected resolution, with the hostname's Host header, SNI
    and certificate check."""
    cert, key = certificate_for("partner.test", tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    requests: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        requests.append(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    asked: list[str] = []

    async def local(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return [LOOPBACK]

    client_tls = ssl.create_default_context(cafile=str(cert))
    sender = HttpWebhookSender(allow_private_networks=True, resolve=local, verify=client_tls)
    try:
        result = await sender.send(f"https://partner.test:{port}/hooks", {"webhook-id": "msg_1"}, BODY)
        # The certificate is checked against the name in the URL, not the address connected to.
        by_address = await sender.send(f"https://127.0.0.1:{port}/hooks", {}, BODY)
    finally:
        await sender.close()
        server.close()
        await server.wait_closed()
    assert result.status == 204, result
    assert asked == ["partner.test"]
    assert names[0] == "partner.test"
    head, _, body = requests[0].partition(b"\r\n\r\n")
    assert f"host: partner.test:{port}".encode() in head.lower()
    assert body == BODY
    assert by_address.status is None and by_address.error is not None, by_address
    assert len(requests) == 1
