"""Binding the callback port on loopback: 127.0.0.1 and, when the host has IPv6, [::1] (RFC 8252 §7.3).

The primitives listener.prepare (a free port) and listener.takeover (a busy one) bind with.
Stdlib only: `codex login` binds before trio loads.
"""

from __future__ import annotations

import errno
import socket

from codexlogin.errors import PortUnavailable

LOOPBACK_HOST = "127.0.0.1"
LOOPBACK_HOST6 = "::1"
LISTEN_BACKLOG = 128  # a browser opens a few connections; more just wait for the next accept


def _bind_one(family: int, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR lets us reuse a port in TIME_WAIT; Linux still refuses a port someone listens on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def try_bind(port: int) -> socket.socket | None:
    """127.0.0.1:port, or None when it is in use (`doctor` probes with it)."""
    try:
        return _bind_one(socket.AF_INET, LOOPBACK_HOST, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return None
        raise PortUnavailable(f"cannot listen on {LOOPBACK_HOST}:{port}: {exc.strerror or exc}") from None


NO_IPV6 = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT})
IPV6_BUSY = "[::1]"  # try_bind_loopback: 127.0.0.1 was free, [::1] is held by someone else
PORT0_ATTEMPTS = 20


def _bind_ipv6(port: int) -> socket.socket | None | str:
    """[::1]:port; None when the host has no IPv6, IPV6_BUSY when something holds it."""
    try:
        return _bind_one(socket.AF_INET6, LOOPBACK_HOST6, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return IPV6_BUSY
        if exc.errno in NO_IPV6:
            return None
        raise PortUnavailable(f"cannot listen on [{LOOPBACK_HOST6}]:{port}: {exc.strerror or exc}") from None


def try_bind_loopback(port: int) -> tuple[socket.socket, ...] | str | None:
    """Both loopback addresses for `port` (RFC 8252 §7.3): (127.0.0.1 socket, [::1] socket), or
    the 127.0.0.1 socket alone on a host without IPv6. None when 127.0.0.1:port is in use (maybe
    an older login of ours: take it over); IPV6_BUSY when 127.0.0.1 was free but another program
    holds [::1]:port, where a browser resolving `localhost` would hand it our callback.
    Port 0: the OS picks a port free on 127.0.0.1, and we retry until [::1] has it free too.
    """
    for _ in range(PORT0_ATTEMPTS if port == 0 else 1):
        sock = try_bind(port)
        if sock is None:
            return None
        bound = sock.getsockname()[1]
        six = _bind_ipv6(bound)
        if six is None:
            return (sock,)
        if isinstance(six, socket.socket):
            return (sock, six)
        sock.close()
    return IPV6_BUSY


def ipv6_busy(port: int) -> PortUnavailable:
    return PortUnavailable(
        f"port {port} on [{LOOPBACK_HOST6}] is in use by another program (127.0.0.1:{port} is free):"
        " a browser resolving localhost to ::1 would hand it the sign-in callback; stop that program"
        " (`codex login doctor` shows it), or pass --port N if the issuer allows it"
    )
