"""The loopback side of the browser login that needs no event loop: cancel key, bind, URL.

Kept free of trio, eliot, hypercorn and httpx so `codex login` can have its socket listening and the
sign-in URL printed before those (about 0.1 s of imports) load; a browser that is quicker than that
waits in the listen backlog until the server answers.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codexlogin.oauth.client import authorize_url
from codexlogin.oauth.dialects import redirect_host
from codexlogin.oauth.proxy import check_proxy_environment, proxy_variable_names
from codexlogin.oauth.tls import ssl_verify_setting
from codexlogin.errors import PortUnavailable
from codexlogin.oauth.pkce import PkceCodes, generate_pkce, generate_state
from codexlogin.config import Settings

LOOPBACK_HOST = "127.0.0.1"
CANCEL_KEY_FILE = "login-cancel.key"
LISTEN_BACKLOG = 128  # a browser opens a few connections; more just wait for the next accept

#: The signals that end a login run: SIGINT → cancelled (130), the others → terminated (143).
ENDING_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)

_early_signals: list[int] = []
_held_handlers: dict[int, Any] = {}


def _remember(signum: int, frame: Any) -> None:
    if signum == signal.SIGINT and signal.SIGINT in _early_signals:
        raise KeyboardInterrupt  # a second Ctrl-C: whatever is still starting up is interrupted now
    _early_signals.append(signum)


def hold_early_signals() -> None:
    """Until the login's own signal receiver runs, remember an ending signal instead of dying mid-setup.

    The URL is printed before trio loads, so a supervisor (SIGTERM), a closed terminal (SIGHUP),
    Ctrl-\\ (SIGQUIT) or Ctrl-C may arrive before the flow can take it; the flow then ends as for a
    later signal (143, or 130 for SIGINT) with its log tree. A second SIGINT while held raises
    KeyboardInterrupt, so a start-up that hangs can still be interrupted. `release_early_signals`
    puts the previous handlers back once the run is logged.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be installed from the main thread
    _early_signals.clear()
    for signum in ENDING_SIGNALS:
        previous = signal.signal(signum, _remember)
        _held_handlers.setdefault(signum, previous)


def take_early_signal() -> int | None:
    """The first signal remembered since `hold_early_signals` (then forgotten), or None."""
    if not _early_signals:
        return None
    first = _early_signals[0]
    _early_signals.clear()
    return first


def release_early_signals() -> None:
    """The handlers from before `hold_early_signals` again; remembered signals are forgotten."""
    if threading.current_thread() is not threading.main_thread():
        return
    while _held_handlers:
        signum, previous = _held_handlers.popitem()
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    _early_signals.clear()


hold_early_sigterm = hold_early_signals  # the name callers used when only SIGTERM was held


def early_sigterm() -> bool:
    return bool(_early_signals)


def load_or_create_cancel_key(codex_home: Path) -> str | None:
    """A secret only this user can read; an older listener of ours obeys /cancel only with it.

    Created with O_EXCL so two logins starting together agree on one key. None when CODEX_HOME is
    unusable: then no /cancel is honoured, which is the safe side.
    """
    path = codex_home / CANCEL_KEY_FILE
    try:
        codex_home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            key = path.read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return key if len(key) >= 32 else None
    except OSError:
        return None
    key = generate_state()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def try_bind(port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR lets us reuse a port in TIME_WAIT; Linux still refuses a port someone listens on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK_HOST, port))
        return sock
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise PortUnavailable(f"cannot listen on {LOOPBACK_HOST}:{port}: {exc.strerror or exc}") from None


@dataclass(repr=False)
class PreparedLogin:
    """Everything decided before the event loop starts. `sock` is None when the port was busy."""

    pkce: PkceCodes
    state: str
    cancel_key: str | None
    verify: Any  # the TLS setting for the issuer client (a CA bundle is checked here, early)
    sock: socket.socket | None
    announced: bool = False

    def __repr__(self) -> str:
        return f"PreparedLogin(port={self.port}, <secrets redacted>)"

    @property
    def port(self) -> int | None:
        return self.sock.getsockname()[1] if self.sock is not None else None


def redirect_uri_for(settings: Settings, port: int) -> str:
    """RFC 8252 §7.3 loopback redirect; the host is the dialect's (openai: 127.0.0.1, as 0.171)."""
    return f"http://{redirect_host(settings)}:{port}/auth/callback"


def prepare_browser_login(settings: Settings) -> PreparedLogin:
    """Check the CA bundle, make PKCE and state, and bind + listen when the port is free.

    Order matters: a configuration error must surface before the port is touched, so an older
    login of ours on it is never cancelled for nothing.
    """
    verify = ssl_verify_setting()
    if proxy_variable_names(os.environ):  # httpx loads only when a proxy is set: the URL stays early
        check_proxy_environment()
    pkce, state = generate_pkce(), generate_state()
    cancel_key = load_or_create_cancel_key(settings.codex_home)
    sock = try_bind(settings.port)
    if sock is not None:
        sock.listen(LISTEN_BACKLOG)
    return PreparedLogin(pkce=pkce, state=state, cancel_key=cancel_key, verify=verify, sock=sock)


def sign_in_url(settings: Settings, prepared: PreparedLogin) -> str:
    """The authorize URL for a prepared (bound) login."""
    assert prepared.port is not None
    return authorize_url(settings, redirect_uri_for(settings, prepared.port), prepared.pkce, prepared.state)
