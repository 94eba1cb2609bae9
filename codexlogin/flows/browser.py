"""The browser login: one trio nursery runs the hypercorn callback listener beside the timeout.

Shape: bind 127.0.0.1 ourselves (so a busy port is a clear error, and port 0 gives the real port),
hand the socket to hypercorn, print the authorize URL, open the browser in a thread, then wait for
the first decided outcome: success, denial, exchange failure, /cancel, a signal or the timeout.
Whatever the outcome, the listener is shut down before this returns, so the port is free again.
"""

from __future__ import annotations

import contextlib
import math
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import trio

from codexlogin import diagnostics

from codexlogin.oauth import jwt as tokens
from codexlogin._asgi import answer_lifespan
from codexlogin.listener.decide import (
    CANCEL_HEADER,
    CHALLENGE_HEADER,
    CANCEL_PATH,
    SECURITY_HEADERS,
    Action,
    CallbackRequest,
    cancel_proof,
    decide,
    failure_page,
    success_page,
)
from codexlogin.oauth.client import IssuerClient, TokenExchangeFailed, make_http_client
from codexlogin.listener.prepare import (
    LISTEN_BACKLOG,
    LOOPBACK_HOST,
    PreparedLogin,
    announce_prepared,
    early_sigterm,
    load_or_create_cancel_key,
    prepare_browser_login,
    redirect_uri_for,
    try_bind,
)
from codexlogin.errors import (
    Cancelled,
    Denied,
    InternalError,
    LoginFailure,
    PolicyViolation,
    PortUnavailable,
    Terminated,
    TimedOut,
)
from codexlogin.credentials.store import save_credentials_locked
from codexlogin.oauth.pkce import PkceCodes, generate_state
from codexlogin.config import Settings
from codexlogin.credentials.files import AuthDotJson, TokenData, now_rfc3339

if TYPE_CHECKING:
    import httpx

BIND_RETRIES = 10
BIND_RETRY_DELAY = 0.2
CANCEL_REQUEST_TIMEOUT = 2.0
MAX_LOGGED_PATH = 200
MAX_LOGGED_IGNORED_REQUESTS = 50  # past this, junk requests are answered but only counted


# --- the port: bind, or take it over from an older login of ours -------------------------------


async def request_cancel_of_previous_login(port: int, cancel_key: str | None) -> bool:
    """Ask whatever holds the port to /cancel, as an older `codex login` would obey.

    A plain GET /cancel stops the reference CLI's listener; ours answers 401 with a challenge,
    and stops only for a proof made with the cancel key (which never leaves this machine's files).
    """
    import httpx  # only when the port is busy

    url = f"http://{LOOPBACK_HOST}:{port}{CANCEL_PATH}"
    with trio.move_on_after(CANCEL_REQUEST_TIMEOUT):
        try:
            # trust_env=False: a proxy from the environment must never see loopback traffic.
            async with httpx.AsyncClient(timeout=CANCEL_REQUEST_TIMEOUT, trust_env=False) as client:
                response = await client.get(url)
                nonce = response.headers.get(CHALLENGE_HEADER)
                if response.status_code == 401 and nonce and cancel_key:
                    response = await client.get(url, headers={CANCEL_HEADER: cancel_proof(cancel_key, nonce, port)})
                return response.is_success
        except httpx.HTTPError:
            return False
    return False


async def bind_callback_socket(port: int, cancel_key: str | None) -> socket.socket:
    sock = try_bind(port)
    if sock is not None:
        return sock
    accepted = await request_cancel_of_previous_login(port, cancel_key)
    diagnostics.log_event("codex:listener:takeover", port=port, previous_cancelled=accepted)
    for _ in range(BIND_RETRIES):
        await trio.sleep(BIND_RETRY_DELAY)
        sock = try_bind(port)
        if sock is not None:
            return sock
    raise PortUnavailable(
        f"port {port} on {LOOPBACK_HOST} is in use by another program;"
        " stop it or pass --port N (--port 0 picks any free port)"
    )


# --- the session: what the listener decided so far ---------------------------------------------


@dataclass
class LoginSession:
    expected_state: str
    port: int
    cancel_key: str | None
    complete: Callable[[str], Awaitable[AuthDotJson]]
    cancel_nonce: str = field(default_factory=generate_state)
    expected_issuer: str | None = None
    outcome: AuthDotJson | LoginFailure | None = None
    exchanging: bool = False
    decided: trio.Event = field(default_factory=trio.Event)
    exchange_scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    ignored_requests: int = 0

    def finish(self, outcome: AuthDotJson | LoginFailure) -> None:
        """The first outcome wins; later ones (a late callback, a second signal) are ignored."""
        if self.outcome is None:
            self.outcome = outcome
            self.decided.set()

    def abort(self, failure: LoginFailure) -> None:
        """Stop from outside (signal, timeout): an exchange still running is cancelled, never saved."""
        self.exchange_scope.cancel()
        self.finish(failure)

    async def handle(self, request: CallbackRequest) -> tuple[int, str, tuple[tuple[bytes, bytes], ...]]:
        """(status, page, extra headers) for one request."""
        decision = decide(
            request,
            expected_state=self.expected_state,
            port=self.port,
            cancel_key=self.cancel_key,
            cancel_nonce=self.cancel_nonce,
            finished=self.exchanging or self.outcome is not None,
            expected_issuer=self.expected_issuer,
        )
        if decision.action in (Action.IGNORE, Action.ALREADY_FINISHED):
            # A flood of junk requests must not grow codex-login.log without bound.
            self.ignored_requests += 1
            if self.ignored_requests > MAX_LOGGED_IGNORED_REQUESTS:
                return decision.status, decision.page, decision.headers
        with diagnostics.callback_action(
            request.path[:MAX_LOGGED_PATH],
            has_code=bool(decision.log_facts.get("has_code")),
            has_state=bool(decision.log_facts.get("has_state")),
            has_error=bool(decision.log_facts.get("has_error")),
            state_valid=bool(decision.log_facts.get("state_valid")),
        ) as action:
            status, page = await self._act(decision)
            action.add_success_fields(status=status, decision=decision.action.value)
            return status, page, decision.headers

    async def _act(self, decision: Any) -> tuple[int, str]:
        if decision.action is Action.IGNORE:
            if decision.log_facts and not decision.log_facts.get("state_valid"):
                diagnostics.log_state_mismatch()
            elif decision.log_facts.get("issuer_mismatch"):
                diagnostics.log_event("codex:callback:issuer_mismatch", severity="warning")
            return decision.status, decision.page
        if decision.action is Action.ALREADY_FINISHED:
            return decision.status, decision.page
        if decision.action is Action.CANCEL:
            self.abort(Cancelled("login cancelled: a newer `codex login` took over the port"))
            return decision.status, decision.page
        if decision.action is Action.DENIED:
            diagnostics.log_oauth_error(decision.error_code or "", bool(decision.error_description))
            detail = decision.error_code + (f": {decision.error_description}" if decision.error_description else "")
            self.finish(Denied(f"sign-in was not completed: {decision.error_code}", detail=f"sign-in was not completed: {detail}", error_code=decision.error_code))
            return decision.status, decision.page
        # Action.EXCHANGE. The check-and-set needs no lock: trio runs one task at a time and there is
        # no checkpoint between the `finished` check in decide() and this assignment.
        self.exchanging = True
        failure: LoginFailure | None = None
        with self.exchange_scope:
            try:
                auth = await self.complete(decision.code)
            except LoginFailure as exc:
                failure = exc
            except Exception as exc:  # a bug must still end the login, not leave it waiting forever
                failure = InternalError(f"internal error while completing the sign-in: {type(exc).__name__}: {exc}")
        if self.exchange_scope.cancelled_caught:
            return 503, failure_page("Sign-in cancelled", "The sign-in was cancelled in the terminal.")
        if failure is not None:
            self.finish(failure)
            return 502 if isinstance(failure, TokenExchangeFailed) else 500, failure_page("Sign-in failed", failure.detail)
        self.finish(auth)
        return 200, success_page()


# --- the ASGI shell around the session ----------------------------------------------------------


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class CallbackApp:
    def __init__(self, session: LoginSession):
        self.session = session

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = CallbackRequest(
            method=scope["method"],
            path=scope["path"],
            raw_query=scope.get("query_string", b""),
            host=_header(scope, b"host"),
            cancel_token=_header(scope, CANCEL_HEADER.encode()),
        )
        status, page, extra_headers = await self.session.handle(request)
        body = page.encode("utf-8")
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *SECURITY_HEADERS,
            *extra_headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def hypercorn_config(sock: socket.socket) -> Any:
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns the socket from here on
    config.backlog = LISTEN_BACKLOG
    config.errorlog = None  # hypercorn would print "Running on …" to stderr
    config.accesslog = None  # its lines carry the query string: code and state
    config.include_server_header = False
    config.graceful_timeout = 2.0
    config.keep_alive_timeout = 5.0
    config.read_timeout = 10
    config.h11_max_incomplete_size = 16 * 1024
    return config


async def serve_callback_app(app: CallbackApp, sock: socket.socket, stop: trio.Event, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    # Imported here, after the URL is printed: hypercorn is ~55 ms of start-up the user need not wait for.
    from hypercorn.trio import serve

    await serve(app, hypercorn_config(sock), shutdown_trigger=stop.wait, task_status=task_status)


# --- the login itself ---------------------------------------------------------------------------


def build_chatgpt_auth(token_response: Any, api_key: str | None) -> AuthDotJson:
    return AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=api_key,
        tokens=TokenData(
            id_token=token_response.id_token,
            access_token=token_response.access_token,
            refresh_token=token_response.refresh_token,
            account_id=tokens.account_id(token_response.id_token),
        ),
        last_refresh=now_rfc3339(),
    )


def enforce_workspace(settings: Settings, auth: AuthDotJson) -> None:
    allowed = settings.forced_chatgpt_workspace_id
    if not allowed:
        return
    account = auth.tokens.account_id if auth.tokens else None
    if account not in allowed:
        raise PolicyViolation(
            f"this login is restricted to workspace {', '.join(allowed)}, but the account signed in"
            f" to workspace {account or '(none)'}; no credentials were saved",
            error_code="workspace_mismatch",
        )


async def try_api_key_exchange(issuer: IssuerClient, id_token: str | None) -> str | None:
    """Optional, as in the reference CLI: a refusal (e.g. unsupported_grant_type) is recorded, not a failure.

    The action ends succeeded with `obtained: false` and the reason, so a successful login never
    shows a failed step (and an exit code it did not have) to whoever reads the log.
    """
    if not id_token:
        return None  # a plain OAuth server sends no id_token to exchange
    with diagnostics.api_key_exchange_action(issuer.settings.token_endpoint) as action:
        try:
            api_key = await issuer.exchange_api_key(id_token)
        except TokenExchangeFailed as failure:
            fields = {k: v for k, v in failure.log_fields().items() if k in ("error_code", "status", "kind")}
            action.add_success_fields(obtained=False, **fields)
            return None
        action.add_success_fields(obtained=True)
        return api_key


def make_completer(settings: Settings, issuer: IssuerClient, redirect_uri: str, pkce: PkceCodes) -> Callable[[str], Awaitable[AuthDotJson]]:
    async def complete(code: str) -> AuthDotJson:
        with diagnostics.token_exchange_action(settings.issuer, settings.token_endpoint, redirect_uri) as action:
            token_response = await issuer.exchange_code(code, redirect_uri, pkce.verifier)
            action.add_success_fields(status=token_response.status)
        api_key = await try_api_key_exchange(issuer, token_response.id_token)
        auth = build_chatgpt_auth(token_response, api_key)
        enforce_workspace(settings, auth)
        # Under $CODEX_HOME/auth.lock, like every writer: a refresh in flight cannot overwrite it.
        await save_credentials_locked(settings, auth)  # logs its own codex:save_credentials action
        return auth

    return complete


async def _open_browser(url: str, stderr: TextIO) -> None:
    # webbrowser may block until the browser command exits (BROWSER=...), so it runs in a thread
    # that is abandoned, not waited for, once the login is decided.
    try:
        opened = await trio.to_thread.run_sync(webbrowser.open, url, abandon_on_cancel=True)
    except Exception as exc:  # e.g. a malformed BROWSER: the printed URL still works
        diagnostics.log_event("codex:browser:open_failed", error=type(exc).__name__)
        opened = False
    if not opened:
        print("Could not open a browser; open the URL above yourself.", file=stderr, flush=True)


def _open_signal_receiver() -> Any:
    """SIGINT/SIGTERM as values instead of KeyboardInterrupt, so every phase can end cleanly."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext(None)  # signal handlers can only be installed from the main thread
    return trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)


async def _watch_signals(session: LoginSession, signals: Any) -> None:
    if early_sigterm():  # arrived between the printed URL and this receiver
        session.abort(Terminated("login terminated (SIGTERM)"))
        return
    if signals is None:
        return
    async for signum in signals:
        if signum == signal.SIGTERM:
            session.abort(Terminated("login terminated (SIGTERM)"))
        else:
            session.abort(Cancelled("login cancelled (Ctrl-C)"))
        return


async def _show_waiting(stderr: TextIO) -> None:
    if not stderr.isatty():
        return
    from rich.console import Console  # only for a terminal: rich is slow to import

    with Console(file=stderr).status("Waiting for sign-in in the browser… (Ctrl-C to cancel)"):
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
    *,
    stderr: TextIO | None = None,
    http: httpx.AsyncClient | None = None,
    on_listening: Callable[[str], None] | None = None,
    prepared: PreparedLogin | None = None,
) -> AuthDotJson:
    """Run the whole browser login; return the saved credentials or raise a LoginFailure.

    `prepared` comes from `loopback.prepare_browser_login`, which the CLI calls before importing
    trio so the URL is out sooner; without it the same preparation happens here.
    """
    stderr = stderr or sys.stderr
    owned_http = http is None
    if prepared is None:
        prepared = prepare_browser_login(settings)
    pkce, state, cancel_key = prepared.pkce, prepared.state, prepared.cancel_key
    sock = prepared.sock
    if sock is None:  # the port was busy: ask an older login of ours to give it up
        sock = prepared.sock = await bind_callback_socket(settings.port, cancel_key)
        sock.listen(LISTEN_BACKLOG)
    port = sock.getsockname()[1]
    redirect_uri = redirect_uri_for(port)
    try:
        issuer = IssuerClient(settings, http)
        session = LoginSession(
            state, port, cancel_key, make_completer(settings, issuer, redirect_uri, pkce), expected_issuer=settings.issuer
        )
        stop_listener = trio.Event()
        try:
            with _open_signal_receiver() as signals, diagnostics.listener_action(LOOPBACK_HOST, port):
                # Listening before the URL is printed: a browser that is quicker than hypercorn's start
                # waits in the backlog and is answered as soon as the server runs.
                url = announce_prepared(settings, prepared, stderr)
                async with trio.open_nursery() as nursery:
                    await nursery.start(serve_callback_app, CallbackApp(session), sock, stop_listener)
                    if on_listening is not None:
                        on_listening(url)
                    if http is None:  # no checkpoint since serve started: no request is handled before this
                        http = issuer.http = make_http_client(settings, prepared.verify)
                    with trio.CancelScope() as helpers:
                        async with trio.open_nursery() as helper_nursery:
                            helper_nursery.start_soon(_watch_signals, session, signals)
                            helper_nursery.start_soon(_show_waiting, stderr)
                            if not settings.no_browser:
                                helper_nursery.start_soon(_open_browser, url, stderr)
                            await _wait_for_outcome(session, settings.timeout)
                            helpers.cancel()
                    stop_listener.set()
                if session.ignored_requests > MAX_LOGGED_IGNORED_REQUESTS:
                    diagnostics.log_event("codex:listener:unlogged_requests", count=session.ignored_requests - MAX_LOGGED_IGNORED_REQUESTS)
                if isinstance(session.outcome, LoginFailure):
                    raise session.outcome
        except KeyboardInterrupt:
            # trio re-delivers, as KeyboardInterrupt, a Ctrl-C that arrived after the outcome was
            # decided (e.g. during the atomic save). The login is over by then: the decision stands.
            if session.outcome is None:
                raise
            diagnostics.log_event("codex:listener:late_signal", signal="SIGINT")
        if isinstance(session.outcome, LoginFailure):
            raise session.outcome
        assert session.outcome is not None
        return session.outcome
    finally:
        if sock.fileno() != -1:  # hypercorn never took it (we failed before serving): free the port
            sock.close()
        if owned_http and http is not None:
            await http.aclose()


__all__ = [
    "CallbackApp",
    "LoginSession",
    "bind_callback_socket",
    "browser_login",
    "load_or_create_cancel_key",
]
