"""Logins another program drives: the browser login's server and the device login, as trio tasks.

    async with codexlogin.open_login_server(codex_home=..., port=0, open_browser=False) as server:
        print(server.auth_url)          # what to open
        account = await server.wait()   # the saved Account, or the LoginFailure raised
        # or: server.cancel()  -> wait() raises Cancelled

`serve_login` is the same as a task (`server = await nursery.start(serve_login, ...)`): it reports
started once the listener is bound and the URL is known, and ends when the login is decided; the
outcome is read with `wait()` (the task itself never raises the login's failure, only a failure to
start it). `open_device_login` / `serve_device_login` do the same for the device login, started
once the issuer has given the code (`verification_url`, `user_code`).

Built on flows.browser (prepare_login, browser_login) and flows.device; every login is one logged
run (api.run). Nothing here prints or installs signal handlers: `cancel()` is the stop.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import trio

from codexlogin.api.account import Account, PathLike, account_of
from codexlogin.api.run import DEFAULT_CALLER, api_run, resolve_settings
from codexlogin.config import Settings
from codexlogin.errors import Cancelled, LoginFailure
from codexlogin.flows.ui import SilentUI

if TYPE_CHECKING:
    import httpx

    from codexlogin.oauth.client import DeviceAuthorization


@contextlib.contextmanager
def _as_itself() -> Iterator[None]:
    """A nursery's one failure (a login that could not start, the caller's own exception) raised
    as itself rather than inside an exception group; cancellations are left to trio."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
            leaf = leaf.exceptions[0]
        if isinstance(leaf, BaseExceptionGroup) or not isinstance(leaf, Exception):
            raise
        raise leaf from None


class _RecordingUI(SilentUI):
    """The flows' LoginUI for a program: nothing shown, warnings kept for the caller."""

    def __init__(self, on_device_code: Callable[[DeviceAuthorization], None] | None = None) -> None:
        self.warnings: list[str] = []
        self._on_device_code = on_device_code

    def browser_not_opened(self, reason: str | None = None) -> None:
        self.warnings.append(reason or "the browser could not be started: open the URL yourself")

    def device_code(self, device: DeviceAuthorization) -> None:
        if self._on_device_code is not None:
            self._on_device_code(device)

    def warning(self, message: str) -> None:
        self.warnings.append(message)


class _Login:
    """What both logins share: one outcome, awaited by `wait()`, ended early by `cancel()`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._decided = trio.Event()
        self._cancel_requested = trio.Event()
        self._account: Account | None = None
        self._failure: LoginFailure | None = None
        self.ui = _RecordingUI()

    @property
    def warnings(self) -> list[str]:
        """What the login would have warned a person about (e.g. the browser did not start)."""
        return list(self.ui.warnings)

    @property
    def done(self) -> bool:
        return self._decided.is_set()

    def cancel(self) -> None:
        """End the login if it is still waiting (wait() then raises Cancelled); no effect once decided."""
        self._cancel_requested.set()

    async def wait(self) -> Account:
        """The saved account once the login succeeds; its LoginFailure otherwise."""
        await self._decided.wait()
        if self._failure is not None:
            raise self._failure
        assert self._account is not None
        return self._account

    def _finish(self, account: Account | None = None, failure: LoginFailure | None = None) -> None:
        self._account, self._failure = account, failure
        self._decided.set()

    async def _stop(self) -> LoginFailure:
        await self._cancel_requested.wait()
        return Cancelled("login cancelled by the caller")


class LoginServer(_Login):
    """A browser login in progress: its callback listener is bound and serving."""

    auth_url: str  # the issuer's sign-in URL: what the user opens
    short_url: str  # the listener's short address that redirects there
    port: int  # the bound callback port
    redirect_uri: str

    def __repr__(self) -> str:
        return f"LoginServer(port={getattr(self, 'port', None)}, done={self.done})"


async def serve_login(
    settings: Settings | None = None,
    *,
    codex_home: PathLike | None = None,
    issuer: str | None = None,
    client_id: str | None = None,
    port: int | None = None,
    open_browser: bool | None = None,
    timeout: float | None = None,
    caller: str = DEFAULT_CALLER,
    transport: httpx.AsyncBaseTransport | None = None,
    task_status: trio.TaskStatus[LoginServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run one browser login as a task: `server = await nursery.start(serve_login, ...)`.

    Reports started with the LoginServer once the listener is bound (a failure before that, e.g.
    a busy port or the login policy, is raised from `nursery.start`); returns when the login is
    decided, its outcome left for `server.wait()`."""
    from codexlogin.flows.browser import browser_login, prepare_login

    settings = resolve_settings(
        settings, codex_home=codex_home, issuer=issuer, client_id=client_id, port=port, open_browser=open_browser, timeout=timeout
    )
    server = LoginServer(settings)
    started = False
    try:
        with api_run("login", "browser", settings, caller=caller):
            prepared = await prepare_login(settings, transport=transport)
            server.auth_url, server.short_url = prepared.sign_in_url, prepared.short_url
            server.port, server.redirect_uri = prepared.port, prepared.redirect_uri
            task_status.started(server)
            started = True
            auth = await browser_login(settings, server.ui, prepared, transport=transport, stop=server._stop)
    except LoginFailure as failure:
        if not started:
            raise
        server._finish(failure=failure)
        return
    server._finish(account=account_of(settings, auth))


@contextlib.asynccontextmanager
async def open_login_server(
    settings: Settings | None = None,
    *,
    codex_home: PathLike | None = None,
    issuer: str | None = None,
    client_id: str | None = None,
    port: int | None = None,
    open_browser: bool | None = None,
    timeout: float | None = None,
    caller: str = DEFAULT_CALLER,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[LoginServer]:
    """`serve_login` in its own nursery for the block; leaving the block cancels a login still
    waiting (and waits for its listener to close). A failure to start, or the block's own
    exception, comes out as itself (not as an exception group)."""
    options: dict[str, Any] = dict(settings=settings, codex_home=codex_home, issuer=issuer, client_id=client_id)
    options.update(port=port, open_browser=open_browser, timeout=timeout, caller=caller, transport=transport)
    async with _started(serve_login, options) as server:
        yield server


@contextlib.asynccontextmanager
async def _started(serve: Callable[..., Any], options: dict[str, Any]) -> AsyncIterator[Any]:
    """`serve(**options)` started in its own nursery for the block; the login it reports started is
    cancelled when the block is left. Failures come out as themselves (`_as_itself`)."""
    with _as_itself():
        async with trio.open_nursery() as nursery:
            login = await nursery.start(functools.partial(serve, **options))
            try:
                yield login
            finally:
                login.cancel()


class DeviceLogin(_Login):
    """A device login in progress: the user enters `user_code` at `verification_url`."""

    _cancel_scope: trio.CancelScope | None = None

    verification_url: str
    user_code: str
    verification_url_complete: str | None
    expires_in: int

    def __repr__(self) -> str:
        return f"DeviceLogin(verification_url={getattr(self, 'verification_url', None)!r}, done={self.done})"


async def serve_device_login(
    settings: Settings | None = None,
    *,
    codex_home: PathLike | None = None,
    issuer: str | None = None,
    client_id: str | None = None,
    caller: str = DEFAULT_CALLER,
    transport: httpx.AsyncBaseTransport | None = None,
    task_status: trio.TaskStatus[DeviceLogin] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run one device login as a task: `login = await nursery.start(serve_device_login, ...)`,
    started once the issuer has given the code; its outcome is left for `login.wait()`."""
    from codexlogin.flows.device import device_login

    settings = resolve_settings(settings, codex_home=codex_home, issuer=issuer, client_id=client_id)
    login = DeviceLogin(settings)
    code_shown = trio.Event()

    def on_device_code(device: DeviceAuthorization) -> None:
        login.verification_url, login.user_code = device.verification_uri, device.user_code
        login.verification_url_complete, login.expires_in = device.verification_uri_complete, device.expires_in
        code_shown.set()

    login.ui = _RecordingUI(on_device_code)

    async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            with api_run("login", "device", settings, caller=caller):
                with trio.CancelScope() as scope:
                    login._cancel_scope = scope
                    if login._cancel_requested.is_set():
                        scope.cancel()
                    auth, _backend = await device_login(settings, login.ui, transport=transport)
                if scope.cancelled_caught:
                    raise Cancelled("login cancelled by the caller")
        except LoginFailure as failure:
            login._finish(failure=failure)
            return
        login._finish(account=account_of(settings, auth))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        nursery.start_soon(_cancel_when_asked, login)
        with trio.CancelScope() as until_code:
            nursery.start_soon(_set_after, login._decided, until_code)
            await code_shown.wait()
        if code_shown.is_set():
            task_status.started(login)
        await login._decided.wait()
        nursery.cancel_scope.cancel()  # the helper tasks
    if not code_shown.is_set() and login._failure is not None:  # before any code: from nursery.start
        raise login._failure


async def _cancel_when_asked(login: DeviceLogin) -> None:
    await login._cancel_requested.wait()
    if login._cancel_scope is not None:
        login._cancel_scope.cancel()


async def _set_after(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


@contextlib.asynccontextmanager
async def open_device_login(
    settings: Settings | None = None,
    *,
    codex_home: PathLike | None = None,
    issuer: str | None = None,
    client_id: str | None = None,
    caller: str = DEFAULT_CALLER,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[DeviceLogin]:
    """`serve_device_login` in its own nursery for the block; leaving it cancels a login still waiting."""
    options: dict[str, Any] = dict(settings=settings, codex_home=codex_home, issuer=issuer, client_id=client_id)
    options.update(caller=caller, transport=transport)
    async with _started(serve_device_login, options) as login:
        yield login


__all__ = ["DeviceLogin", "LoginServer", "open_device_login", "open_login_server", "serve_device_login", "serve_login"]
