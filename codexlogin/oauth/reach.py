"""Can the issuer be reached at all? A probe that sends no request: for a login whose URL is shown
before anything is fetched (the openai dialect has no discovery), so that an issuer that is not
there ends the login at once instead of after the whole --timeout.

`probe_reach(http, url, context)` looks at the route the token exchange will take (`route_for`:
httpx's own proxy rules, read from the environment as the run's client reads it, NO_PROXY
honoured): with no proxy, a TCP connection to the issuer's host and port and, for https, a TLS
handshake with the run's own SSL context (oauth.tls; never a second one); through a proxy, a TCP
connection to the proxy only (a CONNECT would be a request). Bounded by `budget` seconds.

The verdict (`Reach`): "reachable"; "unreachable" for what will not get better by waiting (the name
does not exist, the connection is refused, the network or host is unreachable, the certificate
does not verify), with the transport kind oauth.errors uses ("dns", "connect", "tls"); "unclear"
for everything else (a timeout, a temporary DNS failure, a TLS error other than verification).
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import trio

if TYPE_CHECKING:
    pass

PROBE_BUDGET = 2.0  # seconds for the whole probe (name, connection, handshake)

#: connect() errors that waiting will not cure (a timeout or a reset may be the network's mood);
#: EAFNOSUPPORT: an address of a family this system cannot use (IPv6 disabled).
HARD_CONNECT_ERRORS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EAFNOSUPPORT})
#: getaddrinfo() errors that say the name does not exist (EAI_AGAIN is a DNS server's bad moment).
HARD_DNS_ERRORS = frozenset(code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code)
DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}


@dataclass(frozen=True)
class Route:
    """Where the first packet of a request to `url` goes."""

    host: str
    port: int
    tls: bool  # a TLS handshake with the issuer is part of the probe (direct https only)
    proxy: str | None = None  # the proxy URL httpx uses for it, when one applies

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Reach:
    verdict: str  # "reachable" | "unreachable" | "unclear"
    route: Route
    kind: str | None = None  # "dns" | "connect" | "tls" (unreachable); "timeout", "tls", ... (unclear)
    message: str = ""  # the system's words for what failed
    elapsed: float = 0.0


def proxy_url_for(url: str) -> str | None:
    """The proxy httpx (trust_env=True, no explicit proxy) sends a request to `url` through, or None:
    its own environment reading and URL patterns, in its own order (NO_PROXY entries included)."""
    import httpx
    from httpx._utils import URLPattern, get_environment_proxies  # what httpx.AsyncClient mounts

    target = httpx.URL(url)
    for pattern, proxy in sorted((URLPattern(key), value) for key, value in get_environment_proxies().items()):
        if pattern.matches(target):
            return proxy
    return None


def route_for(url: str) -> Route:
    parts = urlsplit(url)
    proxy = proxy_url_for(url)
    if proxy is not None:
        proxied = urlsplit(proxy)
        scheme = proxied.scheme.lower()
        return Route(proxied.hostname or "", proxied.port or DEFAULT_PORTS.get(scheme, 80), tls=False, proxy=proxy)
    scheme = parts.scheme.lower()
    return Route(parts.hostname or "", parts.port or DEFAULT_PORTS.get(scheme, 80), tls=scheme == "https")


async def probe_reach(url: str, context: ssl.SSLContext | None, *, budget: float = PROBE_BUDGET) -> Reach:
    """Probe the route a request to `url` takes (see the module); never raises for what it finds."""
    import trio

    route = route_for(url)
    started = time.monotonic()
    result: Reach | None = None
    with trio.move_on_after(budget):
        result = await _probe(route, context)
    if result is None:
        result = Reach("unclear", route, "timeout", f"no answer within {budget:g}s")
    return Reach(result.verdict, route, result.kind, result.message, round(time.monotonic() - started, 3))


async def _probe(route: Route, context: ssl.SSLContext | None) -> Reach:
    import trio

    try:
        infos = await trio.socket.getaddrinfo(route.host, route.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return Reach("unreachable" if exc.errno in HARD_DNS_ERRORS else "unclear", route, "dns", str(exc))
    except UnicodeError as exc:  # a label IDNA refuses (empty, over 63 characters): no such name, ever
        return Reach("unreachable", route, "dns", str(exc))
    stream, errors = await _connect_any(infos)
    if stream is None:
        hard = bool(errors) and all(error.errno in HARD_CONNECT_ERRORS for error in errors)
        usable = [error for error in errors if error.errno != errno.EAFNOSUPPORT] or errors  # the words of a real attempt
        first = usable[0] if usable else OSError("no address to connect to")
        words = os.strerror(first.errno) if first.errno else str(first)  # trio's strerror repeats the address
        return Reach("unreachable" if hard else "unclear", route, "connect", f"{words} ({route.address})")
    try:
        if route.tls and context is not None:
            tls = trio.SSLStream(stream, context, server_hostname=route.host)
            try:
                await tls.do_handshake()
            except trio.BrokenResourceError as broken:
                cause = broken.__cause__
                if isinstance(cause, ssl.SSLCertVerificationError):
                    return Reach("unreachable", route, "tls", _verify_words(cause))
                return Reach("unclear", route, "tls", str(cause or broken) or type(broken).__name__)
        return Reach("reachable", route)
    finally:
        await trio.aclose_forcefully(stream)


def _verify_words(error: ssl.SSLCertVerificationError) -> str:
    reason = f"certificate verify failed: {error.verify_message}" if error.verify_message else ""
    text = str(error)
    return text if not reason or reason in text else f"{text}: {reason}"


async def _connect_any(infos: list[tuple[Any, ...]]) -> tuple[trio.SocketStream | None, list[OSError]]:
    """A connected trio SocketStream to the first address that takes one (all tried at once), or
    (None, each address's error)."""
    import trio

    errors: list[OSError] = []
    winner: list[trio.SocketStream] = []

    async def attempt(family: int, address: Any, scope: trio.CancelScope) -> None:
        try:
            sock = trio.socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # a family this system cannot use (IPv6 disabled): the other addresses decide
            errors.append(exc)
            return
        try:
            await sock.connect(address)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            return
        except BaseException:
            sock.close()
            raise
        if winner:
            sock.close()
            return
        winner.append(trio.SocketStream(sock))
        scope.cancel()

    seen: set[tuple[int, Any]] = set()
    async with trio.open_nursery() as nursery:
        for family, _type, _proto, _name, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            nursery.start_soon(attempt, family, address, nursery.cancel_scope)
    return (winner[0] if winner else None), errors


__all__ = ["PROBE_BUDGET", "Reach", "Route", "probe_reach", "proxy_url_for", "route_for"]
