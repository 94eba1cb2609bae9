"""Issuer discovery before trio: oauth.discovery's look-up (`DiscoveryLookup`: which documents,
what a reply means, the result) driven over the standard library's http.client, so that the
browser login's standard dialect shows its sign-in URL without waiting for trio and httpx to load.

The same request as the httpx driver (`GET`, `Accept: application/json`, the dialect's identity
headers, no redirect followed), the same bound (DISCOVERY_BUDGET for the whole look-up, the name
look-up included: it runs in a thread that is abandoned when the budget is out), and the run's one
TLS context (oauth.tls: the very SSLContext the run's httpx client is given later, so no CA bundle
is loaded twice). A transport failure is named and worded as the httpx driver names it (oauth.errors).
What this driver cannot honour (a proxy) makes `fetch_discovery_blocking` return None: the run then
discovers over httpx, inside trio, as before.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from codexlogin.oauth.discovery import DISCOVERY_BUDGET, MAX_DOCUMENT_BYTES, Discovery, DiscoveryLookup, transport_problem
from codexlogin.oauth.proxy import proxy_in_force

if TYPE_CHECKING:
    import ssl

    from codexlogin.oauth.issuer import Issuer

READ_CHUNK = 64 * 1024
HAPPY_EYEBALLS_DELAY = 0.25  # seconds before the next address is tried too (trio's open_tcp_stream, RFC 8305)


class _OutOfTime(Exception):
    """The look-up's budget ran out (every socket wait is bounded by what is left of it)."""


class _CannotHonour(Exception):
    """A URL http.client would send otherwise than httpx (a host beyond ASCII, a character its
    request line refuses): the run's httpx look-up decides instead."""


def fetch_discovery_blocking(issuer: Issuer, *, budget: float = DISCOVERY_BUDGET) -> Discovery | None:
    """Both documents within `budget` seconds, blocking; never raises for what the issuer does.
    None when a proxy is in force (httpx's proxy handling is the one we trust: the run discovers)."""
    if proxy_in_force():
        return None
    from codexlogin.oauth.useragent import identity_headers

    identity = identity_headers(issuer.dialect.name, identified=False)
    headers = {"Accept": "application/json", **{name: value for name, value in identity.items() if value is not None}}
    context = None
    if issuer.base[:6].lower() == "https:":  # the run's one context (oauth.tls), the system store loaded
        from codexlogin.oauth.tls import ssl_verify_setting

        context = ssl_verify_setting(https=True)
    lookup = DiscoveryLookup(issuer.base)
    deadline = time.monotonic() + budget
    try:
        while (url := lookup.next_url()) is not None:
            _fetch(lookup, url, headers, context, deadline)
    except _OutOfTime:
        return lookup.result(timed_out=True, budget=budget)
    except _CannotHonour:
        return None
    return lookup.result(timed_out=False, budget=budget)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _OutOfTime
    return left


def _resolve(host: str, port: int, deadline: float) -> list[tuple]:  # type: ignore[type-arg]
    """getaddrinfo, bounded: the system resolver may wait far longer than the budget."""
    import threading

    answer: list[object] = []

    def look_up() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA refuses (empty, over 63 characters)
            answer.append(exc)

    thread = threading.Thread(target=look_up, name="codexlogin-discovery-dns", daemon=True)
    thread.start()
    thread.join(_left(deadline))
    if not answer:
        raise _OutOfTime
    if isinstance(answer[0], OSError | UnicodeError):
        raise answer[0]
    return answer[0]  # type: ignore[return-value]


def _connect(addresses: list[tuple], deadline: float) -> socket.socket:  # type: ignore[type-arg]
    """The first address that accepts, as trio's open_tcp_stream finds it in the run (RFC 8305's
    happy eyeballs): the next address is tried once the one before has failed or not answered
    within HAPPY_EYEBALLS_DELAY, the earlier attempts kept going. One address that drops every
    attempt (an IPv6 route that goes nowhere) must not spend the whole budget."""
    import os
    import selectors

    pending = list(addresses)
    attempts: set[socket.socket] = set()
    error: OSError | None = None
    next_start = time.monotonic()
    with selectors.DefaultSelector() as selector:
        try:
            while True:
                now = time.monotonic()
                if pending and (not attempts or now >= next_start):
                    family, kind, proto, _name, address = pending.pop(0)
                    try:
                        sock = socket.socket(family, kind, proto)
                    except OSError as exc:  # e.g. IPv6 disabled: the next address
                        error = exc
                        continue
                    sock.setblocking(False)
                    try:
                        sock.connect(address)
                    except (BlockingIOError, InterruptedError):  # under way (EINPROGRESS; WSAEWOULDBLOCK on Windows)
                        pass
                    except OSError as exc:
                        sock.close()
                        error = exc
                        continue  # the next address at once
                    else:
                        return _connected(sock, deadline)
                    attempts.add(sock)
                    selector.register(sock, selectors.EVENT_WRITE)
                    next_start = now + HAPPY_EYEBALLS_DELAY
                    continue
                if not attempts:
                    raise error or OSError("no address")
                wait = _left(deadline)  # _OutOfTime once the budget is spent
                if pending:
                    wait = min(wait, max(0.0, next_start - now))
                for key, _events in selector.select(wait):
                    sock = key.fileobj  # type: ignore[assignment]
                    selector.unregister(sock)
                    attempts.discard(sock)
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code == 0:
                        return _connected(sock, deadline)
                    sock.close()
                    error = OSError(code, os.strerror(code))
                    next_start = time.monotonic()  # a failure: the next address without waiting
        finally:
            for sock in attempts:  # the attempts that lost (the winner is no longer among them)
                sock.close()


def _connected(sock: socket.socket, deadline: float) -> socket.socket:
    """A connected socket back in blocking mode, every wait bounded by what is left of the budget."""
    try:
        sock.settimeout(_left(deadline))
    except BaseException:
        sock.close()
        raise
    return sock


def _fetch(lookup: DiscoveryLookup, url: str, headers: dict[str, str], context: ssl.SSLContext | None, deadline: float) -> None:
    """One document, told to `lookup`: a reply (`answered`) or a transport failure (`failed`)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not host.isascii():
        raise _CannotHonour  # httpx sends its IDNA form; http.client would fail to encode it
    try:
        addresses = _resolve(host, port, deadline)
    except (OSError, UnicodeError) as exc:
        _failed(lookup, url, "dns", str(exc) or type(exc).__name__, "ConnectError", never_connected=True)
        return
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=_left(deadline), context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=_left(deadline))
    connection._create_connection = lambda *_args, **_kwargs: _connect(addresses, deadline)  # type: ignore[attr-defined]
    connection.response_class = lambda sock, *args, **kwargs: http.client.HTTPResponse(  # type: ignore[assignment]
        _DeadlineSocket(sock, deadline),  # type: ignore[arg-type]
        *args,
        **kwargs,
    )
    try:
        try:
            connection.connect()  # the TLS handshake included
        except _OutOfTime:
            raise
        except TimeoutError:
            raise _OutOfTime from None
        except OSError as exc:
            import ssl

            if isinstance(exc, ssl.SSLError | ssl.CertificateError):
                _failed(lookup, url, "tls", str(exc) or type(exc).__name__, "ConnectError", never_connected=True)
            else:  # trio's words for a refused or unroutable address, which httpx passes on
                shown = f"[{host}]" if ":" in host else host
                _failed(
                    lookup,
                    url,
                    "connect",
                    f"all attempts to connect to {shown}:{port} failed",
                    "ConnectError",
                    never_connected=True,
                )
            return
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.putrequest("GET", target)  # http.client checks the request line here, before a byte is sent
        except (http.client.InvalidURL, ValueError):
            raise _CannotHonour from None
        try:
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            sock = connection.sock  # kept: a reply that closes the connection drops it from there
            assert sock is not None
            sock.settimeout(_left(deadline))
            response = connection.getresponse()
            body = _read_bounded(sock, response, deadline) if response.status == 200 else b""
        except TimeoutError:
            raise _OutOfTime from None
        except http.client.RemoteDisconnected as exc:
            _failed(lookup, url, "other", str(exc) or type(exc).__name__, "RemoteProtocolError", never_connected=False)
            return
        except (http.client.HTTPException, OSError) as exc:
            failure = "RemoteProtocolError" if isinstance(exc, http.client.HTTPException) else "ReadError"
            _failed(lookup, url, "other", str(exc) or type(exc).__name__, failure, never_connected=False)
            return
        lookup.answered(response.status, body, response.getheader("content-length"))
    finally:
        connection.close()


class _DeadlineSocket:
    """The connection's socket as http.client's reply reads it (`makefile`), every read waiting at
    most what is left of the budget: a socket timeout bounds one read, so a peer that sends its
    status line and headers a byte at a time would otherwise hold the look-up for as long as it likes."""

    def __init__(self, sock: socket.socket, deadline: float):
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str = "rb", *_args: object, **_kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: float):
        self._sock = sock
        # The socket's own raw file, as http.client's would be: it keeps the socket open when a
        # `Connection: close` reply makes http.client close the connection before the body is read.
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(_left(self._deadline))  # _OutOfTime once it is spent
        return self._raw.readinto(buffer)  # type: ignore[return-value]  # None only for a non-blocking socket

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def _read_bounded(sock: socket.socket, response: http.client.HTTPResponse, deadline: float) -> bytes:
    """At most MAX_DOCUMENT_BYTES + 1 bytes of the body (none when its declared length is over
    that), as oauth.client.read_bounded keeps them; every read bounded by the budget."""
    limit = MAX_DOCUMENT_BYTES + 1
    declared = response.getheader("content-length") or ""
    if declared.isdigit() and int(declared) > limit:
        return b""
    kept = bytearray()
    while len(kept) < limit:
        sock.settimeout(_left(deadline))
        chunk = response.read1(min(READ_CHUNK, limit - len(kept)))
        if not chunk:
            break
        kept += chunk
    return bytes(kept)


def _failed(lookup: DiscoveryLookup, url: str, kind: str, message: str, failure: str, *, never_connected: bool) -> None:
    from codexlogin.oauth.errors import transport_words  # the failure's words, as the httpx driver's

    lookup.failed(transport_problem(failure, kind, transport_words(kind, url, message), never_connected=never_connected))
