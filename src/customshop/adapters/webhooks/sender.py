"""Webhook requests over HTTP with ``httpx``, each to a destination checked just before.

Partners register the URLs webhooks go to, so a URL is untrusted input that makes this server open
connections: pointed at ``127.0.0.1``, an internal service or a cloud metadata address
(``169.254.169.254``), a webhook would be a server-side request forgery. :func:`check_destination`
refuses such URLs, when they are registered and again before every attempt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping

import httpx

from customshop.application.ports import DeliveryResult

#: How much of an answer is read (then dropped): enough to end a small answer cleanly, so the
#: connection can be reused, and little enough that a receiver cannot make the sender read forever.
MAX_RESPONSE_BYTES = 64 * 1024

USER_AGENT = "customshop-webhooks"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The NAT64 well-known prefix (RFC 6052): where NAT64 is deployed, ``64:ff9b::a.b.c.d`` reaches the
#: IPv4 address ``a.b.c.d``.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeDestination(ValueError):
    """A URL a webhook may not be sent to; the message says why, in words a partner understands."""


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Refuse a webhook URL that is malformed or leads into a private network.

    The URL must be ``http`` or ``https``, name a host and carry no credentials. Unless
    ``allow_private``, every address its host resolves to (with the running loop's resolver; an IP
    literal is its own address) must be public: not loopback, private, link-local, multicast,
    reserved, unspecified or otherwise not globally routable. An IPv6 address that embeds an IPv4
    one (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64) is judged by the IPv4 address too.

    The URL is parsed by ``httpx``, the parser of the request that follows, so that both agree on
    which host it names.

    Args:
        url: The destination.
        allow_private: Skip the address check (and so the name resolution), for development and
            tests that deliver to local receivers.

    Raises:
        UnsafeDestination: the URL is refused; also when its host does not resolve.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeDestination(f"the URL is malformed: {exc}") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise UnsafeDestination(f"the URL must be http or https, not {parsed.scheme or 'without a scheme'}")
    if not parsed.raw_host:
        raise UnsafeDestination("the URL names no host")
    if parsed.userinfo:
        raise UnsafeDestination("the URL may not carry credentials (user:password@)")
    if allow_private:
        return
    host = parsed.raw_host.decode("ascii")
    literal = _ip_literal(host)
    addresses = (
        [literal]
        if literal is not None
        else await _resolve(host, parsed.port or _DEFAULT_PORTS[parsed.scheme])
    )
    for address in addresses:
        reason = _refusal(address)
        if reason is not None:
            where = host if literal is not None else f"{host} resolves to {address}, which"
            raise UnsafeDestination(f"{where} is {reason}: webhooks go to public addresses only")


class HttpWebhookSender:
    """Implements ``WebhookSender`` over ``httpx``.

    Contract:
        * ``send`` makes one POST of the body with ``Content-Type: application/json`` and the given
          headers (which win over it). A redirect is not followed: the 3xx is the result.
        * Before each request the destination goes through :func:`check_destination`, not only when
          it was registered: the name may resolve elsewhere since.
        * The whole attempt (check, connection, request and answer) ends within ``timeout_seconds``,
          however slowly the receiver answers.
        * At most :data:`MAX_RESPONSE_BYTES` of the answer are read, as they come (no decompression),
          and dropped: only the status matters.
        * Nothing is raised for a failed attempt: a refused destination, a network error or a
          timeout is a result with ``status=None`` and an ``error``.
        * Requests go straight to the destination: proxies named in the environment are not used,
          since the address check is about where the connection goes.

    The sender owns its ``httpx.AsyncClient``; the caller awaits ``close`` on shutdown.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        allow_private_networks: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Send with a limit of ``timeout_seconds`` per attempt.

        Args:
            timeout_seconds: Limit of a whole attempt, from the destination check to the answer.
            allow_private_networks: Allow destinations on loopback and private networks (development,
                tests, receivers inside the same network on purpose).
            transport: An ``httpx`` transport to use instead of the network (tests).

        Raises:
            ValueError: ``timeout_seconds`` is not positive.
        """
        if not timeout_seconds > 0:
            raise ValueError(f"the webhook timeout must be positive, not {timeout_seconds}")
        self._timeout_seconds = timeout_seconds
        self._allow_private = allow_private_networks
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    async def close(self) -> None:
        """Close the connections; the sender may not be used after."""
        await self._client.aclose()

    async def send(
        self, url: str, headers: Mapping[str, str], body: bytes, *, trusted: bool = False
    ) -> DeliveryResult:
        """POST ``body`` to ``url`` once, with ``headers``, and report the status or what went wrong.

        Args:
            url: The destination.
            trusted: The URL is the shop's own configuration (the fulfillment endpoint), not a
                partner's: it may be on a private network, so its address is not checked.
            headers: Headers to send, the signature headers among them; they override the defaults
                (``Content-Type``, ``User-Agent``).
            body: The JSON body, sent as it is.

        Returns:
            The receiver's status, or ``status=None`` and an ``error``; and the time taken.
        """
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout_seconds):
                # Checked on every attempt, so a name that has come to resolve to a private address
                # since it was registered is refused. httpx resolves the name again to connect,
                # which leaves a short window for DNS rebinding; checking the address the
                # connection is actually made to (in the transport) would close it, and is left for
                # later.
                await check_destination(url, allow_private=self._allow_private or trusted)
                status = await self._post(url, headers, body)
        except UnsafeDestination as exc:
            return _result(started, None, f"destination refused: {exc}")
        except (TimeoutError, httpx.TimeoutException):
            return _result(started, None, f"no answer within {self._timeout_seconds:g} s")
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError) as exc:
            # ValueError: a header or URL that httpx refuses to send.
            return _result(started, None, _describe(exc))
        return _result(started, status, None)

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        request_headers = httpx.Headers(
            {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        )
        request_headers.update(headers)
        async with self._client.stream("POST", url, content=body, headers=request_headers) as response:
            received = 0
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received >= MAX_RESPONSE_BYTES:
                    break  # leaving the block unread closes the connection
            return response.status_code


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a name, or an IP address in a form such as ``127.1``)."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UnsafeDestination(f"{host} does not resolve: {reason}") from None
    addresses = [ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in found]
    if not addresses:
        raise UnsafeDestination(f"{host} does not resolve to any address")
    return addresses


def _refusal(address: IPAddress) -> str | None:
    """Why no webhook may go to ``address`` (what it is, "a loopback address"), or ``None``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _refusal(address.ipv4_mapped)
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
        if embedded is not None and (reason := _refusal(embedded)) is not None:
            return reason
    checks = (
        ("a loopback address", address.is_loopback),
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
        ("not a public address", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


def _result(started: float, status: int | None, error: str | None) -> DeliveryResult:
    return DeliveryResult(status=status, error=error, duration_ms=round((time.monotonic() - started) * 1000))


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
