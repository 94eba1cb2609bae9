"""Doctor's socket checks: the callback port is free (or held by a `codex login` of ours, asked who
it is, never to cancel), [::1] is free too, and 127.0.0.1 can be bound and connected to.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

from codexlogin.errors import PortUnavailable
from codexlogin.listener.bind import LOOPBACK_HOST, try_bind
from codexlogin.redact import scrub_clip
from codexlogin.support.doctor.report import DEVICE_AUTH_HINT, FAIL, OK, WARN, Result, format_ms

if TYPE_CHECKING:
    from codexlogin.config import Settings

PORT_PROBE_TIMEOUT = 2.0  # asking whatever holds the callback port who it is


def _is_our_not_found_page(text: str) -> bool:
    """Whether `text` is the 404 page our own listener answers PROBE_PATH with (listener.decide)."""
    from codexlogin.listener.decide import is_not_found_page

    return is_not_found_page(text)


PROBE_PATH = "/codex-login-probe"  # `GET /` redirects to the sign-in; any other path is our 404


async def identify_port_holder(port: int, timeout: float = PORT_PROBE_TIMEOUT) -> tuple[bool, str]:
    """(is ours, description) of whatever listens on 127.0.0.1:port; never asks it to cancel."""
    import httpx
    import trio

    with trio.move_on_after(timeout):
        try:
            # trust_env=False: a proxy from the environment must never see loopback traffic.
            async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
                response = await client.get(f"http://{LOOPBACK_HOST}:{port}{PROBE_PATH}")
        except httpx.HTTPError:
            return False, "it does not answer HTTP"
        if response.status_code == 404 and _is_our_not_found_page(response.text):
            return True, "a `codex login` in progress"
        server = response.headers.get("server")
        return False, f"it answers HTTP {response.status_code}" + (f" (Server: {scrub_clip(server, 60)})" if server else "")
    return False, f"it accepted a connection but sent no HTTP reply within {timeout:g} s"


def _ipv6_listener(port: int) -> bool:
    """Whether something accepts connections on [::1]:port (a browser may try localhost there first)."""
    try:
        with socket.create_connection(("::1", port), timeout=1.0):
            return True
    except OSError:
        return False


async def _port_state(port: int) -> tuple[str, str]:
    """("free" | "ours" | "foreign", who holds it), binding exactly as the login binds."""
    sock = try_bind(port)
    if sock is not None:
        sock.close()
        return "free", ""
    ours, who = await identify_port_holder(port)
    return ("ours" if ours else "foreign"), who


async def check_callback_port(settings: Settings) -> Result:
    import trio

    from codexlogin.oauth.dialects import any_port_allowed, callback_ports
    from codexlogin.oauth.issuer import configured_issuer

    dialect = configured_issuer(settings).dialect
    port = settings.port
    if port == 0:
        return OK, "port 0: each login listens on a free port the OS picks", None
    # The openai issuer takes redirects only to its registered ports: never advise another one.
    other_port = any_port_allowed(dialect)
    try:
        state, who = await _port_state(port)
        if state == "ours":
            return OK, f"{LOOPBACK_HOST}:{port} is held by {who}; a new `codex login` takes it over", None
        if state == "foreign":
            busy = f"{LOOPBACK_HOST}:{port} is in use by another program: {who}"
            for fallback in callback_ports(settings, dialect)[1:]:
                fallback_state, fallback_who = await _port_state(fallback)
                if fallback_state != "foreign":
                    return WARN, f"{busy}; the login falls back to port {fallback}", "stop that program to keep the usual port"
                busy += f"; so is the fallback port {fallback}: {fallback_who}"
            if other_port:
                return FAIL, busy, "stop that program, or sign in with --port N (--port 0 picks any free port)"
            return FAIL, busy, "stop that program: the issuer accepts sign-ins only on these ports"
    except PortUnavailable as failure:
        hint = (
            "pass --port N (--port 0 picks any free port)" if other_port else "check that 127.0.0.1 can be bound (see loopback)"
        )
        return FAIL, failure.detail, hint
    if await trio.to_thread.run_sync(_ipv6_listener, port):
        return (
            WARN,
            (
                f"{LOOPBACK_HOST}:{port} is free, but another program listens on [::1]:{port};"
                " a browser resolving localhost to ::1 reaches it instead"
            ),
            "stop that program, or sign in with --port N" if other_port else "stop that program",
        )
    return OK, f"{LOOPBACK_HOST}:{port} is free", None


async def check_loopback(settings: Settings) -> Result:
    import trio

    started = time.perf_counter()
    with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM) as listener:
        try:
            await listener.bind((LOOPBACK_HOST, 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM) as client:
                await client.connect((LOOPBACK_HOST, port))
                accepted, _ = await listener.accept()
                accepted.close()
        except OSError as exc:
            return (
                FAIL,
                f"cannot listen on and connect to {LOOPBACK_HOST}: {exc.strerror or exc}",
                f"the loopback interface is down or blocked (firewall, sandbox); {DEVICE_AUTH_HINT}",
            )
    return OK, f"{LOOPBACK_HOST} can be bound and connected to ({format_ms(time.perf_counter() - started)})", None
