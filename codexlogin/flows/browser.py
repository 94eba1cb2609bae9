"""The browser login: one trio nursery runs the hypercorn callback listener beside the timeout.

Shape: bind 127.0.0.1 ourselves (so a busy port is a clear error, and port 0 gives the real port),
hand the socket to hypercorn, show the authorize URL, open the browser in a thread, then wait for
the first decided outcome: success, denial, exchange failure, /cancel, a signal or the timeout.
Whatever the outcome, the listener is shut down before this returns, so the port is free again.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import webbrowser
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.credentials.model import AuthDotJson
from codexlogin.credentials.policy import check_login_method
from codexlogin.errors import Cancelled, LoginFailure, Terminated, TimedOut
from codexlogin.flows.complete import complete_chatgpt_login, exchange_failed
from codexlogin.flows.signals import ENDING_SIGNALS, failure_for, next_signal
from codexlogin.flows.ui import LoginUI
from codexlogin.listener.app import (
    MAX_LOGGED_IGNORED_REQUESTS,
    CallbackApp,
    LoginSession,
    bind_callback_socket,
    serve_callback_app,
)
from codexlogin.listener.prepare import (
    LISTEN_BACKLOG,
    LOOPBACK_HOST,
    PreparedLogin,
    early_sigterm,
    prepare_browser_login,
    redirect_uri_for,
    sign_in_url,
)
from codexlogin.oauth.client import IssuerClient, issuer_session
from codexlogin.oauth.dialects import any_port_allowed, callback_ports
from codexlogin.oauth.errors import IssuerError
from codexlogin.oauth.pkce import PkceCodes
from codexlogin.redact import register_secrets

if TYPE_CHECKING:
    import httpx


def make_completer(
    settings: Settings, issuer: IssuerClient, redirect_uri: str, pkce: PkceCodes, ui: LoginUI
) -> Callable[[str], Awaitable[AuthDotJson]]:
    async def complete(code: str) -> AuthDotJson:
        with diagnostics.token_exchange_action(settings.issuer, settings.token_endpoint, redirect_uri) as action:
            try:
                token_response = await issuer.exchange_code(code, redirect_uri, pkce.verifier)
            except IssuerError as error:
                raise exchange_failed(error) from None
            action.add_success_fields(status=token_response.status)
        auth, _backend = await complete_chatgpt_login(settings, issuer, token_response, ui)
        return auth

    return complete


async def _open_browser(url: str, ui: LoginUI) -> None:
    # webbrowser may block until the browser command exits (BROWSER=...), so it runs in a thread
    # that is abandoned, not waited for, once the login is decided.
    try:
        opened = await trio.to_thread.run_sync(webbrowser.open, url, abandon_on_cancel=True)
    except Exception as exc:  # e.g. a malformed BROWSER: the printed URL still works
        diagnostics.log_browser_open_failed(type(exc).__name__)
        opened = False
    if not opened:
        ui.browser_not_opened()


def _open_signal_receiver() -> Any:
    """SIGINT/SIGTERM/SIGHUP/SIGQUIT as values instead of dying, so every phase can end cleanly."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext(None)  # signal handlers can only be installed from the main thread
    return trio.open_signal_receiver(*ENDING_SIGNALS)


async def _watch_signals(session: LoginSession, signals: Any) -> None:
    signum = await next_signal(signals)  # one held since before this receiver (prepare) comes first
    if signum is not None:
        session.abort(failure_for(signum))  # SIGINT: cancelled (130); SIGTERM/HUP/QUIT: terminated (143)


async def _show_waiting(ui: LoginUI) -> None:
    with ui.waiting("Waiting for sign-in in the browser… (Ctrl-C to cancel)"):
        await trio.sleep_forever()


async def _wait_for_outcome(session: LoginSession, timeout: float) -> None:
    with trio.move_on_after(timeout if timeout > 0 else math.inf):
        await session.decided.wait()
    if session.outcome is None:
        if session.exchanging:  # a code arrived in time; its exchange has its own bound
            await session.decided.wait()
        else:
            session.finish(TimedOut(f"no sign-in completed within {timeout:g}s; run `codex login` again"))


async def browser_login(
    settings: Settings,
    ui: LoginUI,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_listening: Callable[[str], None] | None = None,
    prepared: PreparedLogin | None = None,
) -> AuthDotJson:
    """Run the whole browser login; return the saved credentials or raise a LoginFailure.

    `prepared` comes from `listener.prepare.prepare_browser_login`, which the CLI calls before
    importing trio so the URL is out sooner (it then shows it and sets `prepared.announced`);
    without it the same preparation happens here.
    """
    check_login_method(settings, "chatgpt")  # forced_login_method = api refuses the browser login
    if prepared is None:
        prepared = prepare_browser_login(settings)
    pkce, state, cancel_key = prepared.pkce, prepared.state, prepared.cancel_key
    register_secrets(state, pkce.verifier, cancel_key)  # redacted by value wherever they appear
    sock = prepared.sock
    if sock is None:  # the port was busy: take it over from an older login of ours, or fall back
        sock = prepared.sock = await bind_callback_socket(
            callback_ports(settings), cancel_key, others_allowed=any_port_allowed(settings)
        )
        sock.listen(LISTEN_BACKLOG)
    port = sock.getsockname()[1]
    redirect_uri = redirect_uri_for(settings, port)
    try:
        async with issuer_session(settings, verify=prepared.verify, transport=transport) as issuer:
            session = LoginSession(
                state,
                port,
                cancel_key,
                make_completer(settings, issuer, redirect_uri, pkce, ui),
                expected_issuer=settings.issuer,
                state_suffix=issuer.dialect.state_suffix,
            )
            stop_listener = trio.Event()
            try:
                with _open_signal_receiver() as signals, diagnostics.listener_action(LOOPBACK_HOST, port):
                    # Listening before the URL is shown: a browser that is quicker than hypercorn's
                    # start waits in the backlog and is answered as soon as the server runs.
                    url = sign_in_url(settings, prepared)
                    if not prepared.announced:
                        ui.sign_in_url(url, port, opening_browser=not settings.no_browser)
                        prepared.announced = True
                    async with trio.open_nursery() as nursery:
                        await nursery.start(serve_callback_app, CallbackApp(session), sock, stop_listener)
                        if on_listening is not None:
                            on_listening(url)
                        with trio.CancelScope() as helpers:
                            async with trio.open_nursery() as helper_nursery:
                                helper_nursery.start_soon(_watch_signals, session, signals)
                                helper_nursery.start_soon(_show_waiting, ui)
                                if not settings.no_browser:
                                    helper_nursery.start_soon(_open_browser, url, ui)
                                await _wait_for_outcome(session, settings.timeout)
                                helpers.cancel()
                        stop_listener.set()
                    if session.ignored_requests > MAX_LOGGED_IGNORED_REQUESTS:
                        diagnostics.log_unlogged_requests(session.ignored_requests - MAX_LOGGED_IGNORED_REQUESTS)
                    if isinstance(session.outcome, LoginFailure):
                        raise session.outcome
            except KeyboardInterrupt:
                # trio re-delivers, as KeyboardInterrupt, a Ctrl-C that arrived after the outcome was
                # decided (e.g. during the atomic save). The login is over by then: the decision stands.
                if session.outcome is None:
                    raise
                diagnostics.log_late_signal("SIGINT")
    finally:
        if sock.fileno() != -1:  # hypercorn never took it (we failed before serving): free the port
            sock.close()
    if isinstance(session.outcome, LoginFailure):
        raise session.outcome
    assert session.outcome is not None
    return session.outcome


__all__ = ["browser_login", "make_completer"]
