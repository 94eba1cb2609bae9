"""The browser login: one trio nursery runs the hypercorn callback listener beside the timeout.

Shape: bind 127.0.0.1 and ::1 ourselves (so a busy port is a clear error, and port 0 gives the real port),
hand the socket to hypercorn, show the authorize URL, open the browser in a thread, then wait for
the first decided outcome: success, denial, exchange failure, /cancel, a signal or the timeout.
Whatever the outcome, the listener is shut down before this returns, so the port is free again.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.credentials.model import AuthDotJson
from codexlogin.credentials.policy import check_login_method
from codexlogin.credentials.store import check_writable
from codexlogin.errors import LoginFailure, TimedOut
from codexlogin.flows.complete import complete_chatgpt_login, exchange_failed, save_wait
from codexlogin.flows.discover import discover_for_login
from codexlogin.flows.paste import accept_pasted_redirects
from codexlogin.flows.reach import probe_issuer
from codexlogin.flows.ui import LoginUI, announce
from codexlogin.listener.app import (
    MAX_LOGGED_IGNORED_REQUESTS,
    CallbackApp,
    LoginSession,
    serve_callback_app,
)
from codexlogin.listener.bind import LOOPBACK_HOST
from codexlogin.listener.deferred import defer_unused_protocols
from codexlogin.listener.prepare import (
    PreparedLogin,
    Reservation,
    prepare_browser_login,
    reserve_browser_login,
)
from codexlogin.oauth.authorize import login_nonce
from codexlogin.oauth.client import IssuerClient, issuer_session
from codexlogin.oauth.errors import IssuerError
from codexlogin.oauth.issuer import Issuer, configured_issuer
from codexlogin.oauth.pkce import PkceCodes
from codexlogin.redact import sanitize_url

if TYPE_CHECKING:
    import ssl

    import httpx


def make_completer(
    settings: Settings,
    client: IssuerClient,
    redirect_uri: str,
    pkce: PkceCodes,
    ui: LoginUI,
    *,
    deadline: float | None = None,
    deferred: list[Callable[[], Awaitable[None]]] | None = None,
) -> Callable[[str], Awaitable[AuthDotJson]]:
    """What the listener calls with a code: exchange, then complete the login. `deadline` (trio
    time, the login's --timeout): the save's wait for auth.lock ends there, but not before
    MIN_SAVE_WAIT (flows.complete.save_wait), counted when the code arrives."""

    async def complete(code: str) -> AuthDotJson:
        ui.status("Signed in at the issuer; exchanging the code for tokens…")
        with diagnostics.schema.TOKEN_EXCHANGE(
            issuer=client.issuer.base, token_endpoint=client.issuer.token_endpoint, redirect_uri=redirect_uri
        ) as action:
            try:
                token_response = await client.exchange_code(code, redirect_uri, pkce.verifier)
            except IssuerError as error:
                raise exchange_failed(error) from None
            action.add_success_fields(status=token_response.status)
        ui.status("Saving the credentials…")
        auth, _backend = await complete_chatgpt_login(
            settings,
            client,
            token_response,
            ui,
            lock_timeout=save_wait(settings, deadline),
            expected_nonce=login_nonce(client.issuer, pkce),
            deferred=deferred,
        )
        return auth

    return complete


#: Browsers that draw in the terminal: started from here they would take over the terminal the
#: login is printing to (and over SSH could never reach the callback anyway). `www-browser` is
#: Debian's alternative for the console browser.
TEXT_MODE_BROWSERS = frozenset({"w3m", "lynx", "links", "links2", "elinks", "browsh", "www-browser", "netrik", "edbrowse"})


def _command_name(name: str, controller: object) -> str:
    """The program a webbrowser choice runs: `lynx` for "lynx", "/usr/bin/lynx -dump %s" or its controller."""
    import os
    import shlex

    program = getattr(controller, "name", None) or name
    try:
        words = shlex.split(str(program))
    except ValueError:
        words = str(program).split()
    return os.path.basename(words[0]) if words else ""


def open_browser_skipping_text_mode(url: str) -> tuple[bool, str | None]:
    """What `webbrowser.open` does (try each choice in order, BROWSER first), without the text-mode
    ones: (opened, the text-mode browser passed over, if any)."""
    import webbrowser  # here, not at start-up: only a login that opens a browser needs it

    try:
        webbrowser.get()  # registers the platform's choices and BROWSER's on first use
    except webbrowser.Error:
        return False, None
    order = list(getattr(webbrowser, "_tryorder", None) or [])
    if not order:  # a webbrowser without the (private) order: it decides alone
        return webbrowser.open(url), None
    skipped: str | None = None
    for name in order:
        try:
            controller = webbrowser.get(name)
        except webbrowser.Error:
            continue
        program = _command_name(name, controller)
        if program in TEXT_MODE_BROWSERS:
            skipped = skipped or program
            continue
        if controller.open(url, 0, True):
            return True, None
    return False, skipped


async def _open_browser(url: str, ui: LoginUI) -> None:
    # webbrowser may block until the browser command exits (BROWSER=...), so it runs in a thread
    # that is abandoned, not waited for, once the login is decided.
    import os

    from codexlogin.wsl import open_in_windows_browser, running_under_wsl

    if not os.environ.get("BROWSER") and running_under_wsl():  # BROWSER, when set, is the user's choice
        used = await trio.to_thread.run_sync(open_in_windows_browser, url, abandon_on_cancel=True)
        if used is not None:
            diagnostics.schema.BROWSER_OPENED.log(opener=used)
            ui.browser_opened(f"Opened the sign-in in the Windows browser with {used}.")
            return
    skipped: str | None = None
    try:
        opened, skipped = await trio.to_thread.run_sync(open_browser_skipping_text_mode, url, abandon_on_cancel=True)
    except Exception as exc:  # e.g. a malformed BROWSER: the printed URL still works
        diagnostics.schema.BROWSER_OPEN_FAILED.log(error=type(exc).__name__)
        opened = False
    if not opened:
        ui.browser_not_opened(f"Not starting {skipped}, a text-mode browser, in this terminal" if skipped else None)


async def _watch_stop(session: LoginSession, stop: Callable[[], Awaitable[LoginFailure]]) -> None:
    session.abort(await stop())  # the CLI's signals (cli.signals): SIGINT cancelled, SIGTERM… terminated


async def _show_waiting(ui: LoginUI, timeout: float, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    with ui.waiting("Waiting for the browser sign-in…", timeout=timeout if timeout > 0 else None):
        task_status.started()
        await trio.sleep_forever()


PROBE_AFTER = 20.0  # seconds without any callback before the sign-in URL is probed once
_ERROR_PAGE_ADVICE = (
    "that usually means the issuer does not know this redirect URI ({redirect_uri}) or client id"
    " ({client_id}): check the client's registration, and run `codex login doctor`"
)

_NOT_FOUND_ADVICE = (
    "the issuer has no sign-in page at {authorize}: check the issuer URL (--issuer, its host and path),"
    " and run `codex login doctor`"
)


def _error_page_advice(probe_fact: str, redirect_uri: str, client_id: str, authorize: str) -> str:
    """A 404 means the sign-in page is not there (a wrong issuer URL or path is likelier than an
    unregistered client); other error pages usually mean the issuer refuses this client."""
    if probe_fact == "HTTP 404":
        return _NOT_FOUND_ADVICE.format(authorize=sanitize_url(authorize))
    return _ERROR_PAGE_ADVICE.format(redirect_uri=redirect_uri, client_id=client_id)


@dataclass
class _Probe:
    """What the one look at the sign-in URL found: None (not probed), "ok", "error_page", "unreachable"."""

    verdict: str | None = None
    fact: str = ""


def _no_callback_yet(session: LoginSession) -> bool:
    return session.outcome is None and not session.exchanging and session.ignored_requests == 0


async def _probe_when_no_callback(
    session: LoginSession, issuer: IssuerClient, url: str, redirect_uri: str, probe: _Probe, ui: LoginUI
) -> None:
    """After PROBE_AFTER seconds without a callback, GET the sign-in URL once (no redirects
    followed): an issuer that answers it with an error page (4xx/5xx) will never redirect back,
    and the terminal says what usually causes that instead of waiting silently for the timeout."""
    import httpx

    await trio.sleep(PROBE_AFTER)
    if not _no_callback_yet(session):
        return
    try:
        with trio.fail_after(min(issuer.settings.exchange_timeout, 10.0)):
            async with issuer.http.stream("GET", url) as response:  # the status is enough: no body read
                status = response.status_code
    except (httpx.HTTPError, trio.TooSlowError) as exc:
        probe.verdict, probe.fact = "unreachable", type(exc).__name__
    else:
        probe.verdict, probe.fact = ("error_page" if status >= 400 else "ok"), f"HTTP {status}"
    diagnostics.schema.AUTHORIZE_PROBE.log(verdict=probe.verdict, fact=probe.fact)
    if not _no_callback_yet(session):
        return
    if probe.verdict == "error_page":
        advice = _error_page_advice(probe.fact, redirect_uri, issuer.issuer.client_id, issuer.issuer.authorize_endpoint)
        ui.warning(
            f"No sign-in has come back yet, and the issuer answers the sign-in URL with an error page ({probe.fact}): {advice}."
        )
    elif probe.verdict == "unreachable":
        ui.warning(
            f"No sign-in has come back yet, and the issuer cannot be reached at {sanitize_url(issuer.issuer.authorize_endpoint)}"
            f" ({probe.fact}): check the network, proxy settings and the issuer URL (`codex login doctor`)."
        )


def _timeout_cause(session: LoginSession, probe: _Probe, redirect_uri: str, client_id: str, authorize: str = "") -> str:
    if probe.verdict == "error_page":
        return f"the issuer showed an error page instead of redirecting back ({probe.fact}); " + _error_page_advice(
            probe.fact, redirect_uri, client_id, authorize
        )
    if probe.verdict == "unreachable":
        return f"the issuer could not be reached ({probe.fact}); check the network and `codex login doctor`"
    if session.ignored_requests == 0:
        return "no callback ever arrived (was the sign-in finished in the browser?)"
    return "requests reached the listener, but none completed the sign-in"


def _probe_context(issuer: Issuer, prepared: PreparedLogin) -> ssl.SSLContext | None:
    """The SSL context the run's token exchange uses (never a second one), or None: no handshake."""
    import ssl

    from codexlogin.oauth.client import session_verify

    verify = session_verify(issuer, prepared.verify)
    return verify if isinstance(verify, ssl.SSLContext) else None


async def _wait_for_outcome(session: LoginSession, timeout: float, cause: Callable[[], str] = lambda: "") -> None:
    with trio.move_on_after(timeout if timeout > 0 else math.inf):
        await session.decided.wait()
    if session.outcome is None:
        if session.exchanging:  # a code arrived in time; its exchange has its own bound
            await session.decided.wait()
        else:
            why = cause()
            session.finish(
                TimedOut(f"no sign-in completed within {timeout:g}s{': ' + why if why else ''}; run `codex login` again")
            )


async def prepare_login(
    settings: Settings,
    reservation: Reservation | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    ui: LoginUI | None = None,
) -> PreparedLogin:
    """Everything a browser login decides before it waits, once: the policy and the store checked,
    the port reserved (unless the caller already did: `reservation`), the run's issuer built and
    discovered (standard dialect), a busy port taken over, the URLs built (listener.prepare).
    An unreachable issuer ends here (exit 10); a failed discovery is said on `ui` (flows.discover)."""
    defer_unused_protocols()  # before discovery imports httpx: HTTP/1.1 only, h2 loads if ever used
    if reservation is None:
        check_login_method(settings, "chatgpt")  # forced_login_method = api refuses the browser login
        check_writable(settings)  # the keyring store too (the reservation checks the file store)
        reservation = reserve_browser_login(settings)
    try:
        issuer = await discover_for_login(
            settings, configured_issuer(settings), ui, verify=reservation.verify, transport=transport
        )
        return await prepare_browser_login(settings, reservation, issuer)
    except BaseException:
        for sock in reservation.socks:
            sock.close()
        raise


async def sign_in(
    settings: Settings,
    ui: LoginUI,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_listening: Callable[[str], None] | None = None,
    stop: Callable[[], Awaitable[LoginFailure]] | None = None,
) -> AuthDotJson:
    """The whole browser login for a caller inside trio: prepare, announce, run."""
    prepared = await prepare_login(settings, transport=transport, ui=ui)
    announce(settings, ui, prepared)
    return await browser_login(settings, ui, prepared, transport=transport, on_listening=on_listening, stop=stop)


async def browser_login(
    settings: Settings,
    ui: LoginUI,
    prepared: PreparedLogin,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_listening: Callable[[str], None] | None = None,
    stop: Callable[[], Awaitable[LoginFailure]] | None = None,
    pasted: AsyncIterator[str] | None = None,
) -> AuthDotJson:
    """Run a prepared browser login (`prepare_login`, or the CLI's own early path) to its end;
    return the saved credentials or raise a LoginFailure. The sockets are closed on every way out.

    `stop`, when given, is awaited while the login waits: the failure it returns ends a login not
    yet decided (an exchange still running is cancelled, never saved); one already decided keeps its
    outcome. The CLI passes its ending signals (cli.signals); this flow installs no signal handler.

    `pasted`, when given, is a source of lines typed or pasted by the user (the CLI reads the
    terminal): a pasted redirect address finishes the login as the listener's callback would
    (flows.paste), whichever comes first; the source is closed when the login ends.
    """
    defer_unused_protocols()  # before httpx and hypercorn load (the openai dialect has not yet)
    # The caller owns the overall deadline (--timeout); the save still gets MIN_SAVE_WAIT for the lock.
    deadline = trio.current_time() + settings.timeout if settings.timeout > 0 else None
    issuer, port, redirect_uri = prepared.issuer, prepared.port, prepared.redirect_uri
    # What may wait until the browser has its page (the superseded tokens' revocation).
    after_page: list[Callable[[], Awaitable[None]]] = []
    try:
        # The issuer client (httpx and, for an https issuer, its TLS context) is made before the
        # listener serves; a browser quicker than that waits in the listen backlog.
        async with issuer_session(settings, issuer, verify=prepared.verify, transport=transport) as client:
            session = LoginSession(
                prepared.state,
                port,
                prepared.cancel_key,
                make_completer(settings, client, redirect_uri, prepared.pkce, ui, deadline=deadline, deferred=after_page),
                expected_issuer=issuer.identifier,  # discovery's `issuer`, else the base URL
                state_suffix=issuer.dialect.state_suffix,
                sign_in_url=prepared.sign_in_url,  # where the short address redirects
                iss_required=issuer.iss_required,
                org_setup_issuer=issuer.base if issuer.dialect.name == "openai" else None,
            )
            stop_listener = trio.Event()
            try:
                with diagnostics.schema.LISTENER(host=LOOPBACK_HOST, port=port):
                    async with trio.open_nursery() as nursery:
                        probe = _Probe()
                        with trio.CancelScope() as helpers:
                            async with trio.open_nursery() as helper_nursery:
                                # The spinner is up before the listener serves, so a code that comes
                                # at once is exchanged under it (its "exchanging" step not lost).
                                await helper_nursery.start(_show_waiting, ui, settings.timeout)
                                await nursery.start(serve_callback_app, CallbackApp(session), prepared.socks, stop_listener)
                                if on_listening is not None:
                                    on_listening(prepared.sign_in_url)
                                if stop is not None:
                                    helper_nursery.start_soon(_watch_stop, session, stop)
                                if pasted is not None:
                                    helper_nursery.start_soon(accept_pasted_redirects, session, pasted, ui)
                                if not settings.no_browser:
                                    # The browser's command line is readable by every local user: it gets
                                    # the one-shot short address, never the sign-in URL (login CSRF).
                                    helper_nursery.start_soon(_open_browser, prepared.short_url, ui)
                                if issuer.dialect.name == "openai" and transport is None:
                                    # Its URL was shown before any request (no discovery): is the issuer there?
                                    helper_nursery.start_soon(probe_issuer, session, issuer, _probe_context(issuer, prepared), ui)
                                if issuer.dialect.name == "standard":  # the openai issuer sits behind a bot wall
                                    helper_nursery.start_soon(
                                        _probe_when_no_callback, session, client, prepared.sign_in_url, redirect_uri, probe, ui
                                    )
                                await _wait_for_outcome(
                                    session,
                                    settings.timeout,
                                    lambda: _timeout_cause(
                                        session, probe, redirect_uri, issuer.client_id, issuer.authorize_endpoint
                                    ),
                                )
                                helpers.cancel()
                        for job in after_page:  # the page is on its way meanwhile
                            await job()
                        stop_listener.set()
                    if session.ignored_requests > MAX_LOGGED_IGNORED_REQUESTS:
                        diagnostics.schema.UNLOGGED_REQUESTS.log(count=session.ignored_requests - MAX_LOGGED_IGNORED_REQUESTS)
                    if isinstance(session.outcome, LoginFailure):
                        raise session.outcome
            except KeyboardInterrupt:
                # trio re-delivers, as KeyboardInterrupt, a Ctrl-C that arrived after the outcome was
                # decided (e.g. during the atomic save). The login is over by then: the decision stands.
                if session.outcome is None:
                    raise
                diagnostics.schema.LATE_SIGNAL.log(signal="SIGINT")
    finally:
        for sock in prepared.socks:
            if sock.fileno() != -1:  # hypercorn never took it (we failed before serving): free the port
                sock.close()
    if isinstance(session.outcome, LoginFailure):
        raise session.outcome
    assert session.outcome is not None
    return session.outcome


__all__ = ["browser_login", "make_completer", "prepare_login", "sign_in"]
