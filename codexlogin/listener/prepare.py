"""The loopback side of the browser login that needs no event loop: cancel key, bind, URL.

Kept free of trio, eliot, hypercorn and httpx so `codex login` can have its socket listening and the
sign-in URL printed before those (about 0.1 s of imports) load; a browser that is quicker than that
waits in the listen backlog until the server answers.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codexlogin.oauth.client import authorize_url
from codexlogin.oauth.dialects import Dialect, redirect_host
from codexlogin.oauth.issuer import Issuer, configured_issuer
from codexlogin.oauth.proxy import check_proxy_environment, proxy_variable_names
from codexlogin.oauth.tls import ssl_verify_setting
from codexlogin.errors import PortUnavailable, StorageFailed
from codexlogin.oauth.pkce import PkceCodes, generate_pkce, generate_state
from codexlogin.config import Settings

LOOPBACK_HOST = "127.0.0.1"
LOOPBACK_HOST6 = "::1"
CANCEL_KEY_FILE = "login-cancel.key"
LISTEN_BACKLOG = 128  # a browser opens a few connections; more just wait for the next accept

MIN_CANCEL_KEY = 32
# An own-pattern temp name: the credentials writer removes stale `.auth.json.*.tmp` files.
PROBE_PREFIX = ".auth.json."
PROBE_SUFFIX = ".tmp"


def _unsafe_directory(codex_home: Path) -> bool:
    """True when CODEX_HOME is writable by others (or not ours): a file there may be planted."""
    try:
        st = os.stat(codex_home)
    except OSError:
        return True
    return bool(st.st_mode & 0o022) or st.st_uid != os.geteuid()


def _read_cancel_key(path: Path) -> str | None:
    """The key in `path` when it is a regular file of ours, 0600 and well formed; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_mode & 0o170000) != 0o100000 or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            return None
        raw = os.read(fd, 256)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        key = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return key if len(key) >= MIN_CANCEL_KEY and key.isprintable() and " " not in key else None


def load_or_create_cancel_key(codex_home: Path) -> str | None:
    """A secret only this user can read; an older listener of ours obeys /cancel only with it.

    Trusted only in a CODEX_HOME that is ours and not group/world-writable (there another user
    could have planted it), and only from a regular 0600 file of ours; an empty, corrupt, foreign
    or loose one is replaced. Written atomically (temp file, then link or rename), so a full disk
    never leaves an empty key behind; a new key is linked into place, so two logins starting
    together agree on one key. None when CODEX_HOME is unusable or unsafe: then no /cancel is
    honoured and no takeover is tried with it, which is the safe side.
    """
    path = codex_home / CANCEL_KEY_FILE
    try:
        codex_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    if _unsafe_directory(codex_home):
        return None
    key = _read_cancel_key(path)
    if key is not None:
        return key
    key = generate_state()
    tmp = codex_home / f".{CANCEL_KEY_FILE}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, key.encode("ascii"))  # no fsync: an empty key after a crash is replaced
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # exclusive: a key another login just made wins
        except FileExistsError:
            if _read_cancel_key(path) is None:  # still empty, corrupt or not ours: replace it
                os.replace(tmp, path)
        except OSError:  # no hard links on this filesystem
            os.replace(tmp, path)
    except OSError:
        return None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return _read_cancel_key(path)


def check_store_writable(settings: Settings) -> None:
    """The file store must be able to save: a temp file is created and removed in CODEX_HOME.

    Checked before the port is touched and before the URL is printed, so a sign-in whose tokens
    could not be saved never starts. Stdlib only (the start-up path). A real create, not
    `os.access`, so it holds for root too (a CODEX_HOME under a regular file, a read-only mount,
    a full directory table). The keyring store is checked by `credentials.store.check_writable`.
    """
    if settings.cli_auth_credentials_store == "keyring":
        return
    home = settings.codex_home
    probe = home / f"{PROBE_PREFIX}{os.getpid()}.{os.urandom(6).hex()}{PROBE_SUFFIX}"
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        os.close(fd)
        try:
            os.unlink(probe)
        except FileNotFoundError:  # a save in another login cleaned it up as a stale temp file
            pass
    except OSError as exc:
        raise StorageFailed(
            f"cannot save credentials in {home}: {exc.strerror or exc}; nothing was opened."
            " Fix CODEX_HOME (it must be a writable directory) and run `codex login` again"
        ) from None


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


@dataclass(repr=False)
class PreparedLogin:
    """Everything decided before the event loop starts. `socks` is () when the port was busy;
    else the listening 127.0.0.1 socket first, then [::1] when the host has IPv6."""

    pkce: PkceCodes
    state: str
    cancel_key: str | None
    verify: Any  # the TLS setting for the issuer client (a CA bundle is checked here, early)
    socks: tuple[socket.socket, ...]
    issuer: Issuer  # the run's issuer, built once (discovery, when it runs, replaces it once)
    announced: bool = False

    def __repr__(self) -> str:
        return f"PreparedLogin(port={self.port}, <secrets redacted>)"

    @property
    def sock(self) -> socket.socket | None:
        """The 127.0.0.1 socket, None when the port was busy."""
        return self.socks[0] if self.socks else None

    @property
    def port(self) -> int | None:
        return self.socks[0].getsockname()[1] if self.socks else None


def redirect_uri_for(settings: Settings, dialect: Dialect, port: int) -> str:
    """RFC 8252 §7.3 loopback redirect; the host is the dialect's (openai: 127.0.0.1, as 0.171)."""
    return f"http://{redirect_host(settings, dialect)}:{port}/auth/callback"


def prepare_browser_login(settings: Settings) -> PreparedLogin:
    """Check the CA bundle and that the store can save, make PKCE and state, and bind + listen
    on both loopback addresses when the port is free.

    Order matters: a configuration error must surface before the port is touched, so an older
    login of ours on it is never cancelled for nothing.
    """
    verify = ssl_verify_setting()
    if proxy_variable_names(os.environ):  # httpx loads only when a proxy is set: the URL stays early
        check_proxy_environment()
    check_store_writable(settings)  # tokens that could not be saved must never be obtained
    pkce, state = generate_pkce(), generate_state()
    cancel_key = load_or_create_cancel_key(settings.codex_home)
    bound = try_bind_loopback(settings.port)
    if bound == IPV6_BUSY:
        raise ipv6_busy(settings.port)
    socks = bound if isinstance(bound, tuple) else ()
    for sock in socks:
        sock.listen(LISTEN_BACKLOG)
    return PreparedLogin(
        pkce=pkce, state=state, cancel_key=cancel_key, verify=verify, socks=socks, issuer=configured_issuer(settings)
    )


def sign_in_url(settings: Settings, prepared: PreparedLogin) -> str:
    """The authorize URL for a prepared (bound) login."""
    assert prepared.port is not None
    issuer = prepared.issuer
    return authorize_url(
        settings, issuer, redirect_uri_for(settings, issuer.dialect, prepared.port), prepared.pkce, prepared.state
    )
