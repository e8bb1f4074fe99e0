"""Webhook requests over HTTP with ``httpx``, each to a destination checked just before.

Partners register the URLs webhooks go to, so a URL is untrusted input that makes this server open
connections: pointed at ``127.0.0.1``, an internal service or a cloud metadata address
(``169.254.169.254``), a webhook would be a server-side request forgery. :func:`check_destination`
refuses such URLs, when they are registered and again before every attempt.

Each attempt resolves the host once, checks every address it resolves to, and connects to one of
those very addresses (the connection is *pinned*): a name that resolves to a public address for the
check cannot send the connection to another (DNS rebinding). The request still names the host: the
``Host`` header, TLS SNI and the certificate check are the hostname's.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import httpcore
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

#: Resolves a host name for a port to its addresses; raises ``UnsafeDestination`` when it cannot.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one attempt may connect: the URL's host and port, and the addresses that were checked."""

    host: str
    port: int
    addresses: tuple[IPAddress, ...]


#: The destination of the attempt running in this task; the connection is made to its addresses.
_PINNED: contextvars.ContextVar[Destination | None] = contextvars.ContextVar(
    "pinned_destination", default=None
)


class UnsafeDestination(ValueError):
    """A URL a webhook may not be sent to; the message says why, in words a partner understands."""


async def check_destination(url: str, *, allow_private: bool, resolve: Resolver | None = None) -> None:
    """Refuse a webhook URL that is malformed or leads into a private network (at registration).

    The URL must be ``http`` or ``https``, name a host and carry no credentials. Unless
    ``allow_private``, every address its host resolves to (with ``resolve``, by default the running
    loop's resolver; an IP literal is its own address) must be public: not loopback, private,
    link-local, multicast, reserved, unspecified or otherwise not globally routable, and the URL
    must be ``https``. An IPv6 address that embeds an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``,
    6to4, NAT64) is judged by the IPv4 address too.

    The URL is parsed by ``httpx``, the parser of the request that follows, so that both agree on
    which host it names.

    Args:
        url: The destination.
        allow_private: Skip the address check (and so the name resolution) and allow ``http``, for
            development and tests that deliver to local receivers.
        resolve: How host names are resolved (tests).

    Raises:
        UnsafeDestination: the URL is refused; also when its host does not resolve.
    """
    parsed = _parse(url)
    if not allow_private:
        await _checked(parsed, allow_private=False, resolve=resolve or resolve_host)


async def pinned_destination(
    url: str, *, allow_private: bool, resolve: Resolver | None = None
) -> Destination:
    """Resolve the URL's host once and check it as :func:`check_destination` does; the addresses
    returned are those the connection must go to. With ``allow_private`` the name is resolved all
    the same (the connection is pinned too), but any address and ``http`` pass.

    Raises:
        UnsafeDestination: the URL is refused; also when its host does not resolve.
    """
    return await _checked(_parse(url), allow_private=allow_private, resolve=resolve or resolve_host)


def _parse(url: str) -> httpx.URL:
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
    return parsed


async def _checked(parsed: httpx.URL, *, allow_private: bool, resolve: Resolver) -> Destination:
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    literal = _ip_literal(host)
    addresses = [literal] if literal is not None else await resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = _refusal(address)
            if reason is not None:
                where = host if literal is not None else f"{host} resolves to {address}, which"
                raise UnsafeDestination(f"{where} is {reason}: webhooks go to public addresses only")
        if parsed.scheme != "https":
            raise UnsafeDestination("the URL must be https (http only when private networks are allowed)")
    return Destination(host, port, tuple(addresses))


class PinnedNetwork(httpcore.AsyncNetworkBackend):
    """An ``httpcore`` network backend that connects only to the checked addresses of the attempt
    under way (:data:`_PINNED`), trying them in order; never to whatever the host name resolves to
    now. A connection asked for any other host or port, or outside an attempt, is refused."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pinned = _PINNED.get()
        if pinned is None or (pinned.host, pinned.port) != (host, port):
            raise httpcore.ConnectError(f"no checked address to connect to {host}:{port}")
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in pinned.addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _pinned_transport(
    verify: ssl.SSLContext | bool, network: httpcore.AsyncNetworkBackend | None
) -> httpx.AsyncHTTPTransport:
    """An ``httpx`` transport whose connections go through :class:`PinnedNetwork`. httpx takes no
    network backend of its own, so its connection pool is replaced by one made with the same
    defaults (a test sends through it to a local TLS server, so a change in httpx shows)."""
    transport = httpx.AsyncHTTPTransport(verify=verify, trust_env=False)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PinnedNetwork(network),
    )
    return transport


class HttpWebhookSender:
    """Implements ``WebhookSender`` over ``httpx``.

    Contract:
        * ``send`` makes one POST of the body with ``Content-Type: application/json`` and the given
          headers (which win over it). A redirect is not followed: the 3xx is the result.
        * Before each request the destination is checked again (:func:`pinned_destination`), not only
          when it was registered: the name may resolve elsewhere since. The connection goes to an
          address that passed that check, never to a second resolution of the name.
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
        resolve: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        """Send with a limit of ``timeout_seconds`` per attempt.

        Args:
            timeout_seconds: Limit of a whole attempt, from the destination check to the answer.
            allow_private_networks: Allow destinations on loopback and private networks (development,
                tests, receivers inside the same network on purpose).
            transport: An ``httpx`` transport to use instead of the network (tests; no pinning).
            resolve: How host names are resolved (default: the running loop's resolver).
            verify: TLS certificate verification: the system's CAs, or a context (tests).
            network: The ``httpcore`` network backend the pinned connections are made with (tests).

        Raises:
            ValueError: ``timeout_seconds`` is not positive.
        """
        if not timeout_seconds > 0:
            raise ValueError(f"the webhook timeout must be positive, not {timeout_seconds}")
        self._timeout_seconds = timeout_seconds
        self._allow_private = allow_private_networks
        self._resolve = resolve or resolve_host
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            transport=transport or _pinned_transport(verify, network),
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
                # since it was registered is refused; and the connection goes to the addresses
                # checked here (PinnedNetwork), so there is no second resolution to rebind.
                destination = await pinned_destination(
                    url, allow_private=self._allow_private or trusted, resolve=self._resolve
                )
                pinned = _PINNED.set(destination)
                try:
                    status = await self._post(url, headers, body)
                finally:
                    _PINNED.reset(pinned)
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


async def resolve_host(host: str, port: int) -> list[IPAddress]:
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
