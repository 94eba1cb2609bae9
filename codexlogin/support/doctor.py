"""`codex login doctor [--json]`: check what breaks the browser login, and say what to do.

Checks, printed in this order (they run concurrently where they wait on I/O):

  codex_home     $CODEX_HOME can hold files (a temp file is created and removed)
  log_dir        the log directory can hold files; codex-login.log, when present, is appendable
  auth_json      stored credentials are readable (never printed); auth.json mode 0600
  callback_port  the callback port is free, or held by a `codex login` of ours; [::1] free too
  loopback       127.0.0.1 can be bound and connected to
  browser        a browser can be launched; hints for SSH, WSL and machines without a display
  ca_bundle      CODEX_CA_CERTIFICATE / SSL_CERT_FILE, when set, load as a CA bundle
  issuer         GET {issuer}/.well-known/openid-configuration answers (timing, proxy env shown)
  clock          the local clock agrees with the issuer's Date header (within 5 minutes)

Each check ends `ok`, `warn` (login should work, but read the hint) or `FAIL` (login will likely
fail; the hint says what to do). No browser is a warning, not a failure, where the device login
works: the openai dialect, or a standard issuer whose discovery document names a
`device_authorization_endpoint`.

On a terminal the status words are coloured (ok green, warn yellow, FAIL red; never with NO_COLOR,
TERM=dumb or when not a terminal) and long lines wrap at the terminal's width under the check's
own indent, the hint on its own line (`format_text(report, color=, width=)`); piped output keeps
one line per check. Every check is also an action `codex:doctor:<name>` in
codex-login.log, under the run's `codex:command` root (command "login doctor"); a failed check
ends its action failed with `status`, `hint` and `duration_ms`.

Exit codes: 0 when no check failed (warnings allowed); 1 when at least one failed (the same
"the answer is no" code as `status` and `log`); 2 usage or configuration error.

`--json` prints one object: {"ok": bool, "exit_code": int, "version": str, "checks": [{"name",
"status": "ok"|"warn"|"fail", "detail", "hint": str|null, "duration_ms": float}, ...]}.

Only cyclopts and codexlogin's light modules load at import; trio, httpx and eliot load when the
checks run.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import stat
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codexlogin import __version__
from codexlogin.listener.prepare import LOOPBACK_HOST, try_bind
from codexlogin.errors import ExitCode, LoginFailure, PortUnavailable, UsageError
from codexlogin.oauth.tls import ca_source
from codexlogin.redact import sanitize_proxy, sanitize_url, scrub_clip, scrub_text
from codexlogin.terminal import escape_controls

OK, WARN, FAIL = "ok", "warn", "fail"
# In the order they are shown; each is logged as the declared codex:doctor:<name> action
# (diagnostics.schema.DOCTOR_CHECKS, not imported here: that loads eliot; a test pins the two).
CHECK_NAMES = (
    "codex_home",
    "log_dir",
    "auth_json",
    "callback_port",
    "loopback",
    "browser",
    "ca_bundle",
    "issuer",
    "clock",
)
NETWORK_TIMEOUT = 5.0  # per network check; lowered further by a smaller exchange_timeout
PORT_PROBE_TIMEOUT = 2.0  # asking whatever holds the callback port who it is
CLOCK_SKEW_WARN = 300.0  # seconds
DISCOVERY_PATH = "/.well-known/openid-configuration"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
NO_PROXY_VARS = ("NO_PROXY", "no_proxy")
PROC_VERSION = Path("/proc/version")
DEVICE_AUTH_HINT = "use `codex login --device-auth` (sign in on any device with a code)"

#: Exit code when a check failed: 1, the generic "no" shared with `status` and `log`.
CHECKS_FAILED_EXIT = ExitCode.NOT_LOGGED_IN


@dataclass
class Check:
    name: str
    status: str  # OK | WARN | FAIL
    detail: str
    hint: str | None = None
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "hint": self.hint,
            "duration_ms": self.duration_ms,
        }


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        return int(ExitCode.SUCCESS) if self.ok else int(CHECKS_FAILED_EXIT)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "version": __version__,
            "checks": [check.to_json() for check in self.checks],
        }


class CheckFailed(LoginFailure):
    """Ends one check's `codex:doctor:<name>` action as failed (caught at once, never shown)."""

    exit_code = CHECKS_FAILED_EXIT
    outcome = "check_failed"

    def __init__(self, check: Check):
        super().__init__(check.detail)
        self.check = check

    def log_fields(self) -> dict[str, object]:
        return {"status": FAIL, "hint": self.check.hint, "duration_ms": self.check.duration_ms}


class ChecksFailed(LoginFailure):
    """At least one check failed: the run's outcome, exit code 1."""

    exit_code = CHECKS_FAILED_EXIT
    outcome = "checks_failed"


Result = tuple[str, str, str | None]  # (status, detail, hint)


# --- pure helpers -----------------------------------------------------------------------------


def proxy_env(environ: Mapping[str, str]) -> list[str]:
    """`NAME=value` for each proxy variable set, read as httpx reads it (no scheme: http://), without
    userinfo or secret query values (`<invalid-url>` when it cannot be parsed)."""
    shown = [f"{name}={sanitize_proxy(environ[name])}" for name in PROXY_VARS if environ.get(name)]
    shown += [f"{name}={scrub_text(environ[name])}" for name in NO_PROXY_VARS if environ.get(name)]
    return shown


def remote_context(environ: Mapping[str, str], platform: str, proc_version: str) -> list[tuple[str, str]]:
    """(reason, hint) pairs for sessions where a local browser cannot finish the login."""
    found: list[tuple[str, str]] = []
    if environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"):
        found.append(
            (
                "this is an SSH session: a browser on your own computer cannot reach this machine's localhost callback",
                f"{DEVICE_AUTH_HINT}, or forward the callback port (ssh -L PORT:localhost:PORT)",
            )
        )
    wsl = platform.startswith("linux") and "microsoft" in proc_version.lower()
    if wsl:
        found.append(
            (
                "this is WSL: the Windows browser is opened through wslview or BROWSER",
                f"if no browser opens, install wslu (wslview) or set BROWSER, or {DEVICE_AUTH_HINT}",
            )
        )
    elif platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        found.append(("no graphical display (DISPLAY and WAYLAND_DISPLAY are unset)", DEVICE_AUTH_HINT))
    return found


def format_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def describe_skew(skew: float) -> str:
    """`3 h 12 min ahead of` / `45 s behind`: the local clock against the issuer's."""
    amount = abs(skew)
    if amount >= 3600:
        text = f"{int(amount // 3600)} h {int(amount % 3600 // 60)} min"
    elif amount >= 60:
        text = f"{int(amount // 60)} min {int(amount % 60)} s"
    else:
        text = f"{amount:.0f} s"
    return f"{text} {'ahead of' if skew > 0 else 'behind'}"


#: SGR colours of the status words on a terminal.
STATUS_COLORS = {OK: "32", WARN: "33", FAIL: "1;31"}
MIN_WRAP_COLUMNS = 24  # narrower than this after the indent, lines run over instead


def format_text(report: Report, *, color: bool = False, width: int | None = None) -> str:
    """One line per check: status, name, detail, then `-> hint` when there is one.

    `width` (a terminal's columns): wrap the detail under the check's own indent and put the hint
    on its own line(s) beneath it. `color`: the status word in its colour (STATUS_COLORS).
    """
    name_width = max((len(check.name) for check in report.checks), default=0)
    indent = " " * (4 + 2 + name_width + 2)
    lines = []
    for check in report.checks:
        label = "FAIL" if check.status == FAIL else check.status
        shown = f"\x1b[{STATUS_COLORS.get(check.status, '0')}m{label}\x1b[0m{' ' * (4 - len(label))}" if color else f"{label:<4}"
        head = f"{shown}  {check.name:<{name_width}}  "
        # What came from outside (Server/Date headers, discovery fields) cannot drive the terminal.
        detail, hint = escape_controls(check.detail), escape_controls(check.hint) if check.hint else None
        if width is None:
            line = head + detail
            if hint:
                line += f" -> {hint}"
            lines.append(line)
            continue
        columns = max(width - len(indent), MIN_WRAP_COLUMNS)
        body = textwrap.wrap(detail, columns, break_on_hyphens=False) or [""]
        if hint:
            body += textwrap.wrap(f"-> {hint}", columns, subsequent_indent="   ", break_on_hyphens=False)
        lines.append(head + body[0])
        lines.extend(indent + part for part in body[1:])
    if report.ok:
        warnings = sum(check.status == WARN for check in report.checks)
        tail = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        lines.append(f"All {len(report.checks)} checks passed{tail}.")
    return "\n".join(lines) + "\n"


# --- filesystem checks ------------------------------------------------------------------------


def probe_directory(path: Path, what: str, hint: str) -> Result:
    """Create and remove a temp file in `path`, or in its nearest existing ancestor if missing."""
    probe = path
    while not probe.is_dir():
        if probe.exists() or probe.is_symlink():
            return FAIL, f"{what} {path} cannot be created: {probe} is not a directory", hint
        if probe.parent == probe:
            return FAIL, f"{what} {path} has no existing parent directory", hint
        probe = probe.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".codex-doctor-", suffix=".tmp", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return FAIL, f"{what} {path}: cannot create a file in {probe}: {exc.strerror or exc}", hint
    if probe != path:
        return OK, f"{what} {path} does not exist yet; it can be created (in {probe})", None
    return OK, f"{what} {path} is writable", None


def check_codex_home(settings: Any) -> Result:
    return probe_directory(
        settings.codex_home, "CODEX_HOME", "set CODEX_HOME to a directory you can write (default ~/.codex)"
    )


def check_log_dir(settings: Any) -> Result:
    hint = "pass --log-dir DIR or set CODEX_LOGIN_LOG_DIR to a writable directory (login works without a log, support does not)"
    status, detail, advice = probe_directory(settings.resolved_log_dir, "log directory", hint)
    log_file = settings.log_file
    if status != OK or not (log_file.exists() or log_file.is_symlink()):
        return status, detail, advice
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(log_file, flags)
    except OSError as exc:
        return FAIL, f"{log_file} cannot be appended to: {exc.strerror or exc}", hint
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return FAIL, f"{log_file} is not a regular file", hint
    finally:
        os.close(fd)
    return OK, f"{detail}; {log_file.name} can be appended to", None


def check_auth_json(settings: Any) -> Result:
    from codexlogin.credentials.store import load_credentials
    from codexlogin.errors import StorageFailed

    path = settings.auth_file
    try:
        auth, backend = load_credentials(settings)
    except StorageFailed as failure:
        if settings.cli_auth_credentials_store in ("keyring", "auto") and not path.exists():
            hint = "fix the system keyring, or set cli_auth_credentials_store = file"
        else:
            hint = f"fix or remove {path} (`codex logout`), then run `codex login`"
        return FAIL, scrub_text(failure.detail), hint
    if auth is None:
        detail = f"no credentials stored yet ({backend}); not logged in"
    else:
        detail = f"{auth.auth_mode} credentials stored ({backend}: {path if backend == 'file' else 'system keyring'})"
    if backend == "file" and path.exists():
        from codexlogin.credentials.files import permission_problem

        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            return FAIL, f"cannot stat {path}: {exc.strerror or exc}", f"fix the permissions of {path}"
        unsafe = permission_problem(path)  # another owner or group/world bits: planted or readable
        if unsafe is not None:
            return (FAIL if unsafe[0] == "fail" else WARN), f"{detail}; {unsafe[1]}", unsafe[2]
        if mode != 0o600:
            return WARN, f"{detail}; mode {mode:04o}", f"chmod 600 {path}"
        detail += ", mode 0600"
    return OK, detail, None


# --- sockets ----------------------------------------------------------------------------------


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


async def check_callback_port(settings: Any) -> Result:
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
        hint = "pass --port N (--port 0 picks any free port)" if other_port else "check that 127.0.0.1 can be bound (see loopback)"
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


async def check_loopback(settings: Any) -> Result:
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


# --- browser ----------------------------------------------------------------------------------


def find_browser(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(browser found, problem): BROWSER entries as webbrowser uses them, else webbrowser.get()."""
    entries = [entry for entry in environ.get("BROWSER", "").split(os.pathsep) if entry.strip()]
    if entries:
        for entry in entries:
            try:
                command = shlex.split(entry)[0]
            except (ValueError, IndexError):
                continue
            if shutil.which(command):
                return f"BROWSER={entry}", None
        return None, f"BROWSER={environ['BROWSER']} names no executable command"
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return None, "no browser found (webbrowser could not locate a runnable browser)"
    return str(getattr(browser, "name", "") or type(browser).__name__), None


def _read_proc_version() -> str:
    try:
        return PROC_VERSION.read_text(errors="replace")
    except OSError:
        return ""


def without_browser(result: Result) -> Result:
    """A browser failure where the device login works: a warning, advising the device login."""
    status, detail, hint = result
    if status != FAIL:
        return result
    advice = f"{DEVICE_AUTH_HINT}; or set BROWSER to your browser's command, or open the printed URL yourself"
    if hint and hint.startswith(DEVICE_AUTH_HINT):  # e.g. the SSH advice: device login or a port forward
        advice = hint
    return WARN, f"{detail}; the device login works with this issuer", advice


def browser_result(settings: Any, environ: Mapping[str, str], platform: str, proc_version: str) -> Result:
    remote = remote_context(environ, platform, proc_version)
    if settings.no_browser:
        detail = "no_browser is set: codex login prints the URL for you to open"
        if remote:
            return WARN, f"{detail}; {remote[0][0]}", remote[0][1]
        return OK, detail, None
    found, problem = find_browser(environ)
    if found is None:
        hint = remote[0][1] if remote else f"set BROWSER to your browser's command, open the printed URL yourself, or {DEVICE_AUTH_HINT}"
        reason = f"{problem}; {remote[0][0]}" if remote else str(problem)
        return FAIL, reason, hint
    if remote:
        return WARN, f"{found}, but {remote[0][0]}", remote[0][1]
    return OK, f"{found}", None


async def check_browser(settings: Any, timeout: float, device_login: Callable[[], Awaitable[bool]] | None = None) -> Result:
    """browser_result in a thread, bounded; a failure is a warning when `device_login()` says the
    device login works with this issuer."""
    import trio

    environ = dict(os.environ)
    result: Result = (WARN, f"looking for a browser took longer than {timeout:g} s", "set BROWSER to your browser's command")
    with trio.move_on_after(timeout):
        result = await trio.to_thread.run_sync(
            browser_result, settings, environ, sys.platform, _read_proc_version(), abandon_on_cancel=True
        )
    if result[0] == FAIL and device_login is not None and await device_login():
        return without_browser(result)
    return result


# --- the issuer -------------------------------------------------------------------------------


def check_ca_bundle(settings: Any) -> Result:
    from codexlogin.oauth.tls import bundle_certificate_count, ssl_verify_setting

    source = ca_source(os.environ)
    if source is None:
        return OK, "system trust store (CODEX_CA_CERTIFICATE and SSL_CERT_FILE are unset)", None
    name, path = source
    try:
        ssl_verify_setting(os.environ)
        count = bundle_certificate_count(path)
    except UsageError as error:
        return FAIL, error.detail, f"point {name} at a readable PEM file holding your CA certificate(s), or unset it"
    detail = f"custom CA in use: {name}={path} ({count} CA certificate{'s' if count != 1 else ''})"
    if name == "CODEX_CA_CERTIFICATE" and os.environ.get("SSL_CERT_FILE"):
        detail += "; SSL_CERT_FILE is ignored"
    return OK, detail, None


@dataclass
class IssuerProbe:
    """What the issuer check saw, for the clock check."""

    date_header: str | None = None
    received_at: float | None = None
    reachable: bool = False
    device_authorization: bool = False  # the discovery document names a device_authorization_endpoint


_TRANSPORT_HINTS = {
    "timeout": "check your network, VPN or proxy (HTTPS_PROXY); the issuer did not answer in time",
    "connect": "check your network, firewall or proxy settings (HTTPS_PROXY, NO_PROXY) and the issuer URL",
    "dns": "check DNS and your network connection, and the issuer URL",
    "proxy": "fix the proxy's credentials in that variable, or add the issuer's host to NO_PROXY",
    "tls": "TLS verification failed: if your network inspects TLS, set CODEX_CA_CERTIFICATE to your organisation's CA bundle (PEM)",
    "other": "check your network and proxy settings",
}


async def check_issuer(settings: Any, timeout: float, probe: IssuerProbe, ca_failed: bool) -> Result:
    import httpx
    import trio

    from codexlogin.oauth.client import issuer_session
    from codexlogin.oauth.errors import classify_transport_error, transport_words
    from codexlogin.oauth.issuer import configured_issuer
    from codexlogin.oauth.proxy import PROXY_URL_ADVICE, check_proxy_environment

    issuer = configured_issuer(settings)  # what a new login would talk to
    url = issuer.base + DISCOVERY_PATH
    shown = sanitize_url(url)
    proxies = proxy_env(os.environ)
    route = f"via {', '.join(proxies)}" if proxies else "no proxy in the environment"
    source = ca_source(os.environ)
    trust = f"CA from {source[0]} and the system's" if source else "system CAs"
    dialect = issuer.dialect.name
    if ca_failed:
        return FAIL, f"{shown} not tried: the custom CA bundle cannot be loaded (see ca_bundle)", "fix the CA bundle first"
    try:  # a malformed proxy: named, never shown (httpx's own error would quote the value)
        check_proxy_environment()
    except UsageError as error:
        return FAIL, f"{shown} not tried: {error.detail.partition(';')[0]}", f"fix or unset it: {PROXY_URL_ADVICE}"
    started = time.perf_counter()
    try:
        with trio.fail_after(timeout):
            async with issuer_session(settings, issuer) as client:
                response = await client.http.get(url)
    except trio.TooSlowError:
        kind, message = "timeout", f"no reply within {timeout:g} s"
    except httpx.HTTPError as exc:  # in words: the host DNS could not resolve, the proxy variable
        kind = classify_transport_error(exc)
        message = scrub_text(transport_words(kind, url, str(exc) or type(exc).__name__))
    except UsageError as error:  # the CA bundle changed under us
        return FAIL, error.detail, "fix the CA bundle first"
    else:
        elapsed = time.perf_counter() - started
        probe.reachable = True
        probe.received_at = time.time()
        probe.date_header = response.headers.get("date")
        facts = f"{shown}: HTTP {response.status_code} in {format_ms(elapsed)} ({route}; {trust}; {dialect} dialect)"
        if response.status_code >= 500:
            return WARN, facts, "the issuer has a problem right now; try again later"
        if dialect == "standard":  # the login reads discovery (oauth.discovery): say what it finds
            from codexlogin.oauth.discovery import fetch_discovery

            found = await fetch_discovery(settings, issuer, budget=min(timeout, 3.0))
            probe.device_authorization = found.get("device_authorization_endpoint") is not None
            if found.rejected:
                hint = "the login goes on with the defaults; pass --issuer as the provider names itself if its endpoints live elsewhere"
                return WARN, f"{facts}; discovery: {found.describe()}", hint
            return OK, f"{facts}; discovery: {found.describe()}", None
        named = _discovery_issuer(response)
        probe.device_authorization = _discovery_field(response, "device_authorization_endpoint") is not None
        if named is not None and named.rstrip("/") != issuer.base:
            return (
                WARN,
                f"{facts}; its discovery document names the issuer {sanitize_url(named)}",
                "set --issuer to the exact issuer URL the provider names, or callbacks are refused as from another issuer",
            )
        return OK, facts, None
    elapsed = time.perf_counter() - started
    return FAIL, f"{shown}: {kind} after {format_ms(elapsed)}: {message} ({route}; {trust})", _TRANSPORT_HINTS.get(kind, _TRANSPORT_HINTS["other"])


def _discovery_issuer(response: Any) -> str | None:
    return _discovery_field(response, "issuer")


def _discovery_field(response: Any, name: str) -> str | None:
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def clock_result(probe: IssuerProbe) -> Result:
    from email.utils import parsedate_to_datetime

    if not probe.reachable or probe.received_at is None:
        return WARN, "not compared: the issuer did not answer", "fix the issuer check first"
    if not probe.date_header:
        return WARN, "not compared: the issuer sent no Date header", None
    try:
        server = parsedate_to_datetime(probe.date_header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return WARN, f"not compared: unreadable Date header {scrub_clip(probe.date_header, 64)!r}", None
    skew = probe.received_at - server
    if abs(skew) > CLOCK_SKEW_WARN:
        return (
            WARN,
            f"the local clock is {describe_skew(skew)} the issuer's (Date: {probe.date_header})",
            (
                "set the clock right (enable automatic time / NTP, e.g. `timedatectl set-ntp true`):"
                " tokens look expired or not yet valid otherwise"
            ),
        )
    return OK, f"the local clock is within {max(abs(skew), 1):.0f} s of the issuer's", None


# --- running the checks -----------------------------------------------------------------------


async def _run_one(name: str, results: dict[str, Check], fn: Callable[[], Awaitable[Result]]) -> Check:
    from codexlogin import diagnostics

    started = time.perf_counter()
    try:
        with diagnostics.schema.DOCTOR_CHECKS[name]() as action:
            try:
                status, detail, hint = await fn()
            except Exception as exc:  # noqa: BLE001 - a bug in one check must not hide the others
                status = FAIL
                detail = f"the check itself failed: {type(exc).__name__}: {scrub_text(str(exc))}"
                hint = "please report this, with the file from `codex login bundle`"
            check = Check(name, status, detail, hint, round((time.perf_counter() - started) * 1000, 1))
            results[name] = check
            if status == FAIL:
                raise CheckFailed(check)
            extra = {"hint": hint} if hint else {}
            action.add_success_fields(status=status, detail=detail, duration_ms=check.duration_ms, **extra)
    except CheckFailed:
        pass
    return results[name]


async def run_checks(settings: Any) -> Report:
    """Run every check (I/O ones concurrently); the report lists them in CHECK_NAMES order."""
    import trio

    timeout = min(float(settings.exchange_timeout), NETWORK_TIMEOUT)
    results: dict[str, Check] = {}

    def sync(fn: Callable[[Any], Result]) -> Callable[[], Awaitable[Result]]:
        async def call() -> Result:
            return fn(settings)

        return call

    probe = IssuerProbe()
    issuer_checked = trio.Event()

    async def device_login() -> bool:
        """Whether `codex login --device-auth` works here: always in the openai dialect (0.171's
        device endpoints), for a standard issuer when its discovery document names the endpoint."""
        from codexlogin.oauth.issuer import configured_issuer

        if configured_issuer(settings).dialect.device_protocol == "openai":
            return True
        await issuer_checked.wait()
        return probe.device_authorization

    async def issuer_chain() -> None:
        ca = await _run_one("ca_bundle", results, sync(check_ca_bundle))
        try:
            await _run_one("issuer", results, lambda: check_issuer(settings, timeout, probe, ca.status == FAIL))
        finally:
            issuer_checked.set()

        async def clock() -> Result:
            return clock_result(probe)

        await _run_one("clock", results, clock)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_run_one, "callback_port", results, lambda: check_callback_port(settings))
        nursery.start_soon(_run_one, "loopback", results, lambda: check_loopback(settings))
        nursery.start_soon(_run_one, "browser", results, lambda: check_browser(settings, timeout, device_login))
        nursery.start_soon(issuer_chain)
        for name, fn in (("codex_home", check_codex_home), ("log_dir", check_log_dir), ("auth_json", check_auth_json)):
            await _run_one(name, results, sync(fn))
    return Report([results[name] for name in CHECK_NAMES])
