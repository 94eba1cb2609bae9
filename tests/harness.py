"""Shared harness for login tests: one in-process login run driven by a scripted browser."""

from __future__ import annotations

import errno
import io
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import keyring.backend
import keyring.errors
import trio

from codexlogin import DEFAULT_CLIENT_ID, diagnostics
from codexlogin.cli.console import ConsoleUI
from codexlogin.config import Settings, load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import GRANT_DEVICE_CODE, DevIssuer, serve_dev_issuer
from codexlogin.errors import LoginFailure
from codexlogin.flows.browser import sign_in
from codexlogin.flows.device import device_login
from codexlogin.oauth.issuer import configured_issuer

#: An ASGI app's parts, loosely typed (the dev issuer and its wrappers take any ASGI scope).
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def make_settings(tmp_path: Path, issuer_url: str, **changes: Any) -> Settings:
    settings = load_settings({"issuer": issuer_url, "port": 0, "no_browser": True})
    return replace(settings, log_dir=tmp_path / "log", **changes)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def callback_url(authorize_url: str, **params: str) -> str:
    redirect = query_of(authorize_url)["redirect_uri"]
    return f"{redirect}?{urlencode(params)}"


def to_loopback_ip(url: str) -> tuple[str, dict[str, str]]:
    """(URL with `localhost` replaced by 127.0.0.1, the Host header a browser would send).

    A browser resolves localhost itself; here that would be trio's name lookup in a worker
    thread, which races an autojumping MockClock. Connecting to the IP keeps every test on the loop.
    """
    parts = urlsplit(url)
    if parts.hostname != "localhost":
        return url, {}
    return parts._replace(netloc=f"127.0.0.1:{parts.port}").geturl(), {"Host": parts.netloc}


async def get(url: str, **kwargs: Any) -> httpx.Response:
    url, host = to_loopback_ip(url)
    headers = {**host, **kwargs.pop("headers", {})}
    async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
        return await client.get(url, headers=headers, **kwargs)


async def approve(authorize_url: str) -> httpx.Response:
    """The user's browser: the auto-approving issuer redirects straight back to our listener."""
    async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
        redirect = await client.get(authorize_url)
        assert redirect.status_code == 302, redirect.text
        url, host = to_loopback_ip(redirect.headers["location"])
        return await client.get(url, headers=host)


class WatchedText(io.StringIO):
    """What a UI writes, with `await wait_for(pattern)`: a test waits for a line, not in a sleep loop.

    Written to from the trio loop the waiting test runs on (the console UI writes from the flow's tasks).
    """

    def __init__(self) -> None:
        super().__init__()
        self._written = trio.Event()

    def write(self, text: str) -> int:
        count = super().write(text)
        self._written.set()
        self._written = trio.Event()
        return count

    async def wait_for(self, pattern: str | re.Pattern[str]) -> re.Match[str]:
        """The first match of `pattern` (a regex, or plain text) in what is written, once it is."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        while (match := regex.search(self.getvalue())) is None:
            await self._written.wait()
        return match


class Run:
    """One login run, its browser side, and what it left behind."""

    def __init__(self, settings: Settings, stop: Callable[[], Awaitable[LoginFailure]] | None = None):
        self.settings = settings
        self.stop = stop  # browser_login's `stop` (cli.signals.stop_on_signal for the CLI's signals)
        self.stderr = WatchedText()
        self.pages: list[httpx.Response] = []
        self.result: AuthDotJson | LoginFailure | None = None
        self.url: str | None = None

    @property
    def log(self) -> str:
        path = self.settings.log_file
        return path.read_text() if path.exists() else ""

    def log_messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.splitlines()]

    async def __call__(self, browser: Callable[[Run, str], Awaitable[None]]) -> AuthDotJson | LoginFailure | None:
        send, receive = trio.open_memory_channel[str](1)

        async def drive() -> None:
            self.url = await receive.receive()
            await browser(self, self.url)

        async def login() -> AuthDotJson:
            with diagnostics.command_action("login", "browser"):
                return await sign_in(self.settings, ConsoleUI(self.stderr), on_listening=send.send_nowait, stop=self.stop)

        with diagnostics.open_log(self.settings.resolved_log_dir):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drive)
                try:
                    self.result = await login()
                except LoginFailure as failure:
                    self.result = failure
                nursery.cancel_scope.cancel()  # a login that failed early never reached the browser
        return self.result


async def approving_browser(run: Run, url: str) -> None:
    run.pages.append(await approve(url))


def assert_no_listener(port: int, host: str = "127.0.0.1") -> None:
    """Nothing is left listening on host:port: a new login (which binds with SO_REUSEADDR, as we
    do) gets the port. Under parallel test runs another process's outgoing connection may take the
    freed port as its local port, which fails even that bind; then a connect must be refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with closing(socket.socket(family)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            probe.listen(1)
            return
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
    with closing(socket.socket(family)) as knock:
        knock.settimeout(5)
        try:
            knock.connect((host, port))
        except ConnectionRefusedError:
            return
    raise AssertionError(f"something still listens on {host}:{port}")


def port_of(url: str) -> int:
    """The port a login listens on, from its sign-in URL's redirect_uri (a login on port 0 is
    asked where it listens: a port picked beforehand might be taken by another test meanwhile)."""
    port = urlsplit(query_of(url)["redirect_uri"]).port
    assert port is not None, url
    return port


def assert_port_free(url: str) -> None:
    assert_no_listener(port_of(url))


def assert_no_secrets(log: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret and secret not in log, f"secret leaked into codex-login.log: {secret[:12]}…"


def issue_tokens(issuer: DevIssuer, url: str) -> dict[str, Any]:
    """A fresh grant from the issuer over HTTP (device flow, approved at once). Blocking: for
    tests whose issuer runs in another thread (`issuer_in_thread`)."""
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        device = client.post("/oauth/device/code", data={"client_id": DEFAULT_CLIENT_ID}).json()
        issuer.approve_device(device["user_code"])
        reply = client.post("/oauth/token", data=_device_token_form(device))
        assert reply.status_code == 200, reply.text
        issued: dict[str, Any] = reply.json()
        return issued


async def issue_tokens_async(issuer: DevIssuer, url: str) -> dict[str, Any]:
    """`issue_tokens` on the trio loop, for an issuer served in the test's own run (and MockClock)."""
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as client:
        device = (await client.post("/oauth/device/code", data={"client_id": DEFAULT_CLIENT_ID})).json()
        issuer.approve_device(device["user_code"])
        reply = await client.post("/oauth/token", data=_device_token_form(device))
        assert reply.status_code == 200, reply.text
        issued: dict[str, Any] = reply.json()
        return issued


def _device_token_form(device: dict[str, Any]) -> dict[str, str]:
    return {"grant_type": GRANT_DEVICE_CODE, "device_code": device["device_code"], "client_id": DEFAULT_CLIENT_ID}


def provenance_of(url: str, dialect: str = "standard") -> dict[str, str]:
    """tokens.oauth_provenance of a login at `url` with the default client, as a login writes it
    (the `dialect` is named unless it is 0.171's own, openai)."""
    provenance = {"issuer": url.rstrip("/"), "client_id": DEFAULT_CLIENT_ID}
    return provenance if dialect == "openai" else {**provenance, "dialect": dialect}


def store_tokens(
    settings: Settings,
    issued: dict[str, Any],
    *,
    issuer: str | None = None,
    dialect: str | None = None,
    last_refresh: str | None = None,
    api_key: str | None = "sk-kept-0123456789",
) -> AuthDotJson:
    """Store `issued` as a login at `issuer` (default: the settings' issuer) in `dialect` (default:
    the settings') stores it: with that origin in tokens.oauth_provenance."""
    origin = replace(settings, issuer=issuer or settings.issuer, dialect=dialect or settings.dialect)
    auth = AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=api_key,
        tokens=TokenData(
            issued["id_token"],
            issued["access_token"],
            issued["refresh_token"],
            "acct_dev",
            oauth_provenance=configured_issuer(origin).provenance(),
        ),
        last_refresh=last_refresh or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    save_auth(settings.auth_file, auth)
    return auth


@contextmanager
def issuer_in_thread(issuer: Any) -> Iterator[str]:
    """Serve `issuer` (the dev issuer, or a wrapper of it) from a thread with its own trio.run, for
    subprocess and sync-command tests."""
    ready, box = threading.Event(), dict[str, Any]()

    def main() -> None:
        async def run() -> None:
            box["token"] = trio.lowlevel.current_trio_token()
            with trio.CancelScope() as scope:
                box["scope"] = scope
                async with trio.open_nursery() as nursery:
                    box["url"] = await nursery.start(serve_dev_issuer, issuer)
                    ready.set()

        trio.run(run)

    thread = threading.Thread(target=main, name="dev-issuer", daemon=True)
    thread.start()
    assert ready.wait(10), "dev issuer did not start"
    try:
        yield box["url"]
    finally:
        trio.from_thread.run_sync(box["scope"].cancel, trio_token=box["token"])
        thread.join(10)


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring leaves it untyped
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


NINE_DAYS_AGO = "2020-01-01T00:00:00Z"


def jwt_with_exp(exp: int) -> str:
    import base64

    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).rstrip(b"=").decode()
    return f"e30.{payload}.sig"


async def read_body(receive: Receive) -> bytes:
    """The whole request body of one ASGI http request (b"" if the client went away)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return body
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


_FLAG_NAMES = {"json_": "--json", "output": "-o"}


def cli_argv(*command: str, **options: Any) -> list[str]:
    """`codex` argv for a command and keyword options the way a user types them: `issuer=URL`
    → `--issuer URL`, `config=("k=v",)` → `-c k=v`, `json_=True` → `--json`."""
    argv = list(command)
    for name, value in options.items():
        flag = _FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
        if name == "config":
            for pair in value:
                argv += ["-c", pair]
        elif value is True:
            argv.append(flag)
        elif value is not None and value is not False:
            argv += [flag, str(value)]
    return argv


def run_cli(*command: str, **options: Any) -> int:
    """Run one `codex` command in-process through the real cyclopts app; its exit code."""
    from codexlogin.cli.app import app

    code: int = app(cli_argv(*command, **options), result_action="return_value")
    return code


class IssuerWrapper:
    """An ASGI wrapper around the dev issuer that serve_dev_issuer can still tell its URL."""

    def __init__(self, inner: Any):
        self.inner = inner

    @property
    def issuer_url(self) -> str:
        url: str = self.inner.issuer_url
        return url

    @issuer_url.setter
    def issuer_url(self, value: str) -> None:
        self.inner.issuer_url = value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.inner(scope, receive, send)


class PathWatch(IssuerWrapper):
    """The dev issuer, with `reached` set once `path` is requested: a test waits on it, not in a loop."""

    def __init__(self, inner: Any, path: str):
        super().__init__(inner)
        self.path = path
        self.reached = trio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            self.reached.set()
        await self.inner(scope, receive, send)


class HangingPath(PathWatch):
    """The dev issuer, except that one path never answers; `reached` is set once it is requested."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            self.reached.set()
            await trio.sleep_forever()
        await self.inner(scope, receive, send)


#: The suffix every `error:` line of a logged run ends with (cli.boundary.next_step).
REFERENCE_SUFFIX = re.compile(r" \(ref [A-Z2-7]{8}; more: codex login log --grep [A-Z2-7]{8}(, codex login doctor)?\)$")


def without_reference(line: str) -> str:
    """An `error:` line with its run reference suffix removed (asserting it was there)."""
    assert REFERENCE_SUFFIX.search(line), f"no run reference at the end of {line!r}"
    return REFERENCE_SUFFIX.sub("", line)


# --- the device login -------------------------------------------------------------------------

USER_CODE_RE = re.compile(r"^   ([A-Z]{4}-[A-Z]{4})$", re.MULTILINE)


def device_settings(tmp_path: Path, issuer_url: str, **changes: Any) -> Settings:
    settings = load_settings({"issuer": issuer_url})
    return replace(settings, log_dir=tmp_path / "log", **changes)


class DeviceRun:
    """One device login against the dev issuer, and the person entering its code (`user`)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.stderr = WatchedText()

    def log_messages(self) -> list[dict[str, Any]]:
        path = self.settings.log_file
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def user_code(self) -> str | None:
        match = USER_CODE_RE.search(self.stderr.getvalue())
        return match.group(1) if match else None

    async def wait_for_user_code(self) -> str:
        """The user code, once the login has shown it."""
        return (await self.stderr.wait_for(USER_CODE_RE)).group(1)

    async def __call__(self, user: Callable[[DeviceRun], Awaitable[None]] | None = None) -> AuthDotJson | LoginFailure:
        """Run the login; `user(run)` plays the person at the browser, concurrently."""
        outcome: list[AuthDotJson | LoginFailure] = []

        async def login(cancel_scope: trio.CancelScope) -> None:
            try:
                # the prompt (stdout, as Codex CLI 0.171) and the rest (stderr) in one record
                auth, _backend = await device_login(self.settings, ConsoleUI(self.stderr, self.stderr))
                outcome.append(auth)
            except LoginFailure as failure:
                outcome.append(failure)
            cancel_scope.cancel()

        with diagnostics.open_log(self.settings.resolved_log_dir), diagnostics.command_action("login", "device"):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(login, nursery.cancel_scope)
                if user is not None:
                    nursery.start_soon(user, self)
        return outcome[0]
