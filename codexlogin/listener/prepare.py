"""The browser login's one hand-off: everything decided before the login waits.

The only place that binds the callback port(s), takes a busy port over from an older login of ours
or falls back to the dialect's other port, and builds the redirect and sign-in URLs:
`reserve_browser_login` (checks, PKCE, state, cancel key, bind: no event loop) then
`prepared_login` (the URLs, for the run's issuer) — or `prepare_browser_login`, which takes a busy
port first. The flow (flows.browser) receives the `PreparedLogin` and decides none of it again.

Free of trio, eliot, hypercorn and httpx at import, so `codex login` can have its socket listening
and the sign-in URL printed before those (about 0.1 s of imports) load; a browser that is quicker
than that waits in the listen backlog until the server answers.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

from codexlogin.config import Settings
from codexlogin.errors import StorageFailed
from codexlogin.listener.bind import IPV6_BUSY, LISTEN_BACKLOG, ipv6_busy, try_bind_loopback
from codexlogin.oauth.authorize import authorize_url, login_nonce
from codexlogin.oauth.dialects import Dialect, redirect_host
from codexlogin.oauth.issuer import Issuer, configured_issuer
from codexlogin.oauth.pkce import PkceCodes, generate_pkce, generate_state
from codexlogin.oauth.proxy import check_proxy_environment, proxy_variable_names
from codexlogin.oauth.tls import check_ca_bundle

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time
    from dataclasses import replace
    from typing import Any
else:
    from codexlogin.record import record, replace  # dataclass(frozen=True) without its start-up cost

CANCEL_KEY_FILE = "login-cancel.key"

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


def codex_home_problem(codex_home: Path) -> tuple[str, str] | None:
    """(what is wrong, what to do) when CODEX_HOME is owned by another user or writable by group or
    others: they could plant or swap auth.json, auth.lock or the cancel key. None when it is ours
    and private, or does not exist yet (it is then made 0700). The login warns; doctor fails."""
    try:
        st = os.stat(codex_home)
    except OSError:
        return None
    mode = st.st_mode & 0o7777
    if st.st_uid != os.geteuid():
        return (
            f"CODEX_HOME {codex_home} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()}):"
            " its owner can replace your credentials",
            "use a CODEX_HOME of your own (chown or set CODEX_HOME), mode 0700, then `codex login` again",
        )
    if mode & 0o022:
        return (
            f"CODEX_HOME {codex_home} has mode {mode:04o}: other users can create and replace files in it",
            f"chmod 700 {codex_home}",
        )
    return None


#: credentials.lock.LOCK_FILE_NAME (the listener may not import credentials).
LOCK_FILE_NAME = "auth.lock"


def check_save_targets(settings: Settings) -> None:
    """What the save will touch must be usable before anything is opened: auth.json may not be a
    directory, auth.lock must be a regular file (or absent), never a symlink or a directory. Found
    after the sign-in, these used to cost the whole sign-in and code exchange (issue 22 #6)."""
    home = settings.codex_home
    targets = ((settings.auth_file, False), (home / LOCK_FILE_NAME, True))
    for path, regular_only in targets:
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):  # nothing there yet (the probe checks CODEX_HOME)
            continue
        except OSError as exc:
            what = f"cannot check {path}: {exc.strerror or exc}"
        else:
            kind = stat.S_IFMT(st.st_mode)
            if kind == stat.S_IFDIR:
                what = f"{path} is a directory"
            elif regular_only and kind == stat.S_IFLNK:
                what = f"{path} is a symbolic link (never followed)"
            elif regular_only and kind != stat.S_IFREG:
                what = f"{path} is not a regular file"
            else:
                continue
        raise StorageFailed(f"cannot save credentials: {what}; nothing was opened. Remove it and run `codex login` again")


def check_store_writable(settings: Settings) -> None:
    """The store must be able to save: auth.json and auth.lock usable (`check_save_targets`, every
    store: a keyring save takes the lock and removes auth.json), and for the file store a temp file
    is created and removed in CODEX_HOME.

    Checked before the port is touched and before the URL is printed, so a sign-in whose tokens
    could not be saved never starts. Stdlib only (the start-up path). A real create, not
    `os.access`, so it holds for root too (a CODEX_HOME under a regular file, a read-only mount,
    a full directory table). The keyring itself is checked by `credentials.store.check_writable`.
    """
    check_save_targets(settings)
    if settings.cli_auth_credentials_store in ("keyring", "ephemeral"):  # no auth.json to write
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


@record(frozen=True, repr=False)
class Reservation:
    """What is checked and made before the event loop (no trio, no httpx): the TLS setting (a CA
    bundle is checked here, early), PKCE, state, the cancel key, and the listening sockets when the
    port was free (() when it was busy: `prepare_browser_login` takes it over or falls back)."""

    pkce: PkceCodes
    state: str
    cancel_key: str | None
    verify: Any
    socks: tuple[socket.socket, ...]
    warnings: tuple[str, ...] = ()  # shown with the sign-in URL (flows.ui.announce)

    def __repr__(self) -> str:
        return f"Reservation(socks={len(self.socks)}, <secrets redacted>)"


@record(frozen=True, repr=False)
class PreparedLogin:
    """A browser login decided once, before anything waits: its listening sockets (127.0.0.1
    first, then [::1] when the host has IPv6), the run's issuer (discovered), the redirect URI and
    the sign-in URL. The flow (flows.browser) runs it and decides none of this again."""

    pkce: PkceCodes
    state: str
    cancel_key: str | None
    verify: Any  # the TLS setting for the issuer client (None: the issuer session's, oauth.tls)
    socks: tuple[socket.socket, ...]
    issuer: Issuer
    redirect_uri: str
    sign_in_url: str
    short_url: str  # http://localhost:PORT/<per-sign-in path>: redirects to sign_in_url, once
    warnings: tuple[str, ...] = ()  # shown with the sign-in URL (flows.ui.announce)

    def __repr__(self) -> str:
        return f"PreparedLogin(port={self.port}, <secrets redacted>)"

    @property
    def port(self) -> int:
        port: int = self.socks[0].getsockname()[1]
        return port


def redirect_uri_for(settings: Settings, dialect: Dialect, port: int) -> str:
    """RFC 8252 §7.3 loopback redirect; the host is the dialect's (openai: 127.0.0.1, as 0.171)."""
    return f"http://{redirect_host(settings, dialect)}:{port}/auth/callback"


def reserve_browser_login(settings: Settings) -> Reservation:
    """Check the CA bundle and that the file store can save, make PKCE and state, and bind + listen
    on both loopback addresses when the port is free.

    Order matters: a configuration error must surface before the port is touched, so an older
    login of ours on it is never cancelled for nothing.
    """
    # A bad CA bundle is an error now, before the port; the system store loads on the first request.
    check_ca_bundle(https=configured_issuer(settings).base[:6].lower() == "https:")
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
    problem = codex_home_problem(settings.codex_home)
    warnings = (f"{problem[0]}; {problem[1]}",) if problem else ()
    return Reservation(pkce=pkce, state=state, cancel_key=cancel_key, verify=None, socks=socks, warnings=warnings)


def prepared_login(settings: Settings, reservation: Reservation, issuer: Issuer) -> PreparedLogin:
    """The prepared login of a reservation whose sockets are held, for `issuer` (already
    discovered when it discovers): the redirect and sign-in URLs, built here and only here. The
    run's secrets are registered for redaction by value from here on."""
    from codexlogin.listener.start import start_path, start_url
    from codexlogin.redact import register_secrets

    assert reservation.socks, "prepared_login needs held sockets (prepare_browser_login takes the port)"
    pkce, state = reservation.pkce, reservation.state
    # redacted by value wherever they appear (the short address's path leads to the sign-in URL)
    register_secrets(state, pkce.verifier, reservation.cancel_key, start_path(state).lstrip("/"))
    login_nonce(issuer, pkce)  # registers the nonce too (standard dialect)
    port = reservation.socks[0].getsockname()[1]
    redirect_uri = redirect_uri_for(settings, issuer.dialect, port)
    return PreparedLogin(
        pkce=pkce,
        state=state,
        cancel_key=reservation.cancel_key,
        verify=reservation.verify,
        socks=reservation.socks,
        issuer=issuer,
        redirect_uri=redirect_uri,
        sign_in_url=authorize_url(settings, issuer, redirect_uri, pkce, state),
        short_url=start_url(port, state),
        warnings=reservation.warnings,
    )


async def prepare_browser_login(settings: Settings, reservation: Reservation, issuer: Issuer) -> PreparedLogin:
    """`prepared_login`, first taking the port when the reservation found it busy: from an older
    login of ours (its `GET /cancel`), else the dialect's fallback port (openai: 1457 after 1455)."""
    socks = reservation.socks
    if not socks:
        from codexlogin.listener.takeover import bind_callback_socket  # trio and httpx: only for a busy port
        from codexlogin.oauth.dialects import any_port_allowed, callback_ports

        socks = await bind_callback_socket(
            callback_ports(settings, issuer.dialect), reservation.cancel_key, others_allowed=any_port_allowed(issuer.dialect)
        )
        for sock in socks:
            sock.listen(LISTEN_BACKLOG)
    return prepared_login(settings, replace(reservation, socks=socks), issuer)
