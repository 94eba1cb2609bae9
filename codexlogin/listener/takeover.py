"""Taking the callback port: bind it on 127.0.0.1 and ::1, or take it over from an older login of
ours (`GET /cancel`, answered with a proof made with the cancel key when it asks for one), then
retry the bind while it lets go; then the next of the ports given; say who holds a port that stays
busy (`Holder`).

The callback app that serves the socket once bound is `listener.app`.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import trio

from codexlogin import diagnostics
from codexlogin.errors import PortUnavailable
from codexlogin.listener.bind import IPV6_BUSY, LOOPBACK_HOST, ipv6_busy, try_bind_loopback
from codexlogin.listener.decide import CANCEL_HEADER, CANCEL_PATH, CHALLENGE_HEADER, cancel_proof

BIND_RETRIES = 10
BIND_RETRY_DELAY = 0.2
CANCEL_REQUEST_TIMEOUT = 2.0


class Holder:
    """Who answered our /cancel on a busy port."""

    CANCELLED = "cancelled"  # an older login of ours (or the reference CLI's) obeyed
    OTHER_HOME = "other_home"  # a login of ours that refused our proof: its cancel key differs
    FOREIGN = "foreign"  # anything else


async def request_cancel_of_previous_login(port: int, cancel_key: str | None) -> str:
    """Ask whatever holds the port to /cancel, as an older `codex login` would obey; a `Holder`.

    A plain GET /cancel stops the reference CLI's listener; ours answers 401 with a challenge,
    and stops only for a proof made with the cancel key (which never leaves this machine's files).
    A challenge that our proof does not satisfy (or that we cannot answer: no usable key) is a
    login of ours with another CODEX_HOME.
    """
    import httpx  # only when the port is busy

    url = f"http://{LOOPBACK_HOST}:{port}{CANCEL_PATH}"
    with trio.move_on_after(CANCEL_REQUEST_TIMEOUT):
        try:
            # trust_env=False: a proxy from the environment must never see loopback traffic.
            async with httpx.AsyncClient(timeout=CANCEL_REQUEST_TIMEOUT, trust_env=False) as client:
                response = await client.get(url)
                nonce = response.headers.get(CHALLENGE_HEADER)
                if response.status_code == 401 and nonce:
                    if not cancel_key:
                        return Holder.OTHER_HOME
                    response = await client.get(url, headers={CANCEL_HEADER: cancel_proof(cancel_key, nonce, port)})
                    return Holder.CANCELLED if response.is_success else Holder.OTHER_HOME
                return Holder.CANCELLED if response.is_success else Holder.FOREIGN
        except httpx.HTTPError:
            return Holder.FOREIGN
    return Holder.FOREIGN


@dataclass
class _Attempt:
    holder: str = Holder.FOREIGN
    ipv6_busy: bool = False


def _try_bind(port: int, attempt: _Attempt) -> tuple[socket.socket, ...] | None:
    bound = try_bind_loopback(port)
    if bound == IPV6_BUSY:
        attempt.ipv6_busy = True
        return None
    attempt.ipv6_busy = False
    return bound if isinstance(bound, tuple) else None


async def take_port(port: int, cancel_key: str | None, attempt: _Attempt | None = None) -> tuple[socket.socket, ...] | None:
    """Bind `port` on both loopbacks, asking an older login of ours on it to give it up first;
    None when it stays busy (`attempt` then says who holds it)."""
    attempt = attempt if attempt is not None else _Attempt()
    socks = _try_bind(port, attempt)
    if socks is not None:
        return socks
    if attempt.ipv6_busy:  # 127.0.0.1 is free: no login of ours to cancel, another program holds ::1
        return None
    attempt.holder = await request_cancel_of_previous_login(port, cancel_key)
    diagnostics.schema.TAKEOVER.log(port=port, previous_cancelled=attempt.holder == Holder.CANCELLED)
    if attempt.holder == Holder.OTHER_HOME:
        return None  # it refused us: waiting would not free the port
    for _ in range(BIND_RETRIES):
        await trio.sleep(BIND_RETRY_DELAY)
        socks = _try_bind(port, attempt)
        if socks is not None:
            return socks
    return None


async def bind_callback_socket(
    ports: tuple[int, ...], cancel_key: str | None, *, others_allowed: bool
) -> tuple[socket.socket, ...]:
    """The first of `ports` we can have on 127.0.0.1 and ::1 (each taken over from an older login
    of ours if need be): its sockets, 127.0.0.1 first.

    `others_allowed`: whether the issuer accepts a redirect to any port, so `--port` may be advised.
    """
    attempts: list[tuple[int, _Attempt]] = []
    for index, port in enumerate(ports):
        if index:
            diagnostics.schema.FALLBACK_PORT.log(busy_port=ports[index - 1], port=port)
        attempt = _Attempt()
        socks = await take_port(port, cancel_key, attempt)
        if socks is not None:
            return socks
        attempts.append((port, attempt))
    if others_allowed:
        advice = "or pass --port N (--port 0 picks any free port)"
    else:
        advice = "(the issuer accepts sign-ins only on these ports; `codex login doctor` shows what holds them)"
    ours = [port for port, attempt in attempts if attempt.holder == Holder.OTHER_HOME]
    six = [port for port, attempt in attempts if attempt.ipv6_busy]
    if ours:
        busy = " and ".join(str(port) for port in ours)
        why = (
            "it refused this login's takeover because its login-cancel.key differs"
            if cancel_key
            else "this login has no usable login-cancel.key to take it over with"
            " (CODEX_HOME must be a directory of yours that others cannot write)"
        )
        raise PortUnavailable(
            f"port {busy} {'is' if len(ours) == 1 else 'are'} in use by another codex login (other CODEX_HOME): {why};"
            " finish or cancel that login (Ctrl-C in its terminal), or run this one with the same CODEX_HOME"
            f" so it takes over{', ' + advice if others_allowed else ''}"
        )
    if six:
        raise ipv6_busy(six[0])
    busy = " and ".join(str(port) for port in ports)
    raise PortUnavailable(
        f"port {busy} on {LOOPBACK_HOST} {'is' if len(ports) == 1 else 'are'} in use by another program; stop it {advice}"
    )
