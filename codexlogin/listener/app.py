"""The callback listener: the login session that turns requests into outcomes (decisions come from
the pure `decide`), and the ASGI app that hypercorn serves on the socket we bound (binding it, or
taking it over from an older login of ours, is `listener.takeover`).

Every page and every failure the session makes has the run's own secrets (state, code, verifier,
tokens, in any encoding) masked as `[REDACTED]` (`redact.mask_secrets`): an issuer that echoes
them back in an error is shown with its words, not with our secrets.
"""

from __future__ import annotations

import html
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from codexlogin import diagnostics
from codexlogin._asgi import answer_lifespan
from codexlogin.errors import Cancelled, Denied, InternalError, LoginFailure, NetworkError, TokenExchangeFailed
from codexlogin.listener.bind import LISTEN_BACKLOG
from codexlogin.listener.decide import (
    CANCEL_HEADER,
    ENTITLEMENT_GUIDANCE,
    MISSING_ENTITLEMENT,
    ORG_SETUP_SLOT,
    SECURITY_HEADERS,
    Action,
    CallbackRequest,
    Decision,
    decide,
    failure_page,
    org_setup_url,
    success_page,
)
from codexlogin.oauth.pkce import generate_state
from codexlogin.redact import REDACTED, mask_clip, mask_secrets, scrub_clip

if TYPE_CHECKING:
    from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope

    from codexlogin.credentials.model import AuthDotJson  # the outcome the flow's completer returns

MAX_LOGGED_PATH = 200
MAX_LOGGED_IGNORED_REQUESTS = 50  # past this, junk requests are answered but only counted
MAX_SHOWN_DETAIL = 5000  # what the terminal and the page show of a failure (after masking)


# --- the session: what the listener decided so far ---------------------------------------------


def account_label(auth: AuthDotJson | None) -> str | None:
    """ "alice@example.com (plus)": who a ChatGPT login is, from its id_token's claims (None: unknown)."""
    from codexlogin.oauth import jwt

    id_token = auth.tokens.id_token if auth is not None and auth.tokens is not None else None
    email = jwt.email(id_token)
    if not email:
        return None
    plan = jwt.plan_type(id_token)
    return f"{email} ({plan})" if plan else email


@dataclass
class LoginSession:
    expected_state: str
    port: int
    cancel_key: str | None
    complete: Callable[[str], Awaitable[AuthDotJson]]
    cancel_nonce: str = field(default_factory=generate_state)
    expected_issuer: str | None = None
    state_suffix: bool = False  # oauth.dialects: the issuer may append an onboarding entry point
    outcome: AuthDotJson | LoginFailure | None = None
    exchanging: bool = False
    decided: trio.Event = field(default_factory=trio.Event)
    exchange_scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    ignored_requests: int = 0
    # The run's reference, shown on every page (diagnostics.run), and where `GET /` redirects.
    reference: str | None = field(default_factory=diagnostics.current_reference)
    sign_in_url: str | None = field(default=None, repr=False)
    start_used: bool = False  # the one-shot short address has redirected once
    iss_required: bool = False  # the issuer promises `iss` on every response (RFC 9207 §2.4)
    # The openai dialect's issuer, whose new organization owners go on to its platform (decide.org_setup_url).
    org_setup_issuer: str | None = None
    org_setup: str | None = field(default=None, repr=False)  # that URL, once the login succeeded

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
        """(status, page, extra headers) for one request; the page never shows the run's secrets."""
        decision, status, page = await self.answer(request)
        page = mask_secrets(page)
        if self.org_setup and ORG_SETUP_SLOT in page:  # 0.171 hands the platform the id_token: after masking
            page = page.replace(ORG_SETUP_SLOT, html.escape(self.org_setup, quote=True))
        return status, page, decision.headers

    async def answer(self, request: CallbackRequest) -> tuple[Decision, int, str]:
        """Decide one request and act on it (logged as a callback): the decision, the status and
        the page (unmasked). The listener serves the page; a pasted redirect (flows.paste) has no
        browser to show it to and says what the decision was instead."""
        decision = decide(
            request,
            expected_state=self.expected_state,
            port=self.port,
            cancel_key=self.cancel_key,
            cancel_nonce=self.cancel_nonce,
            finished=self.exchanging or self.outcome is not None,
            expected_issuer=self.expected_issuer,
            state_suffix=self.state_suffix,
            reference=self.reference,
            sign_in_url=self.sign_in_url,
            start_used=self.start_used,
            iss_required=self.iss_required,
        )
        if decision.action in (Action.IGNORE, Action.ALREADY_FINISHED):
            # A flood of junk requests must not grow codex-login.log without bound.
            self.ignored_requests += 1
            if self.ignored_requests > MAX_LOGGED_IGNORED_REQUESTS:
                return decision, decision.status, decision.page
        with diagnostics.schema.CALLBACK(
            path=scrub_clip(request.path, MAX_LOGGED_PATH),  # redacted (by value too), then cut
            has_code=bool(decision.log_facts.get("has_code")),
            has_state=bool(decision.log_facts.get("has_state")),
            has_error=bool(decision.log_facts.get("has_error")),
            state_valid=bool(decision.log_facts.get("state_valid")),
        ) as action:
            status, page = await self._act(decision)
            action.add_success_fields(status=status, decision=decision.action.value)
            if "onboarding_entrypoint" in decision.log_facts:
                action.add_success_fields(onboarding_entrypoint=decision.log_facts["onboarding_entrypoint"])
            return decision, status, page

    async def _act(self, decision: Decision) -> tuple[int, str]:
        if decision.action is Action.IGNORE:
            if decision.log_facts and not decision.log_facts.get("state_valid"):
                diagnostics.schema.STATE_MISMATCH.log(severity="warning")
            elif decision.log_facts.get("issuer_mismatch"):
                diagnostics.schema.ISSUER_MISMATCH.log(severity="warning")
                received = str(decision.log_facts.get("received_issuer") or "")
                # Never advise switching to the claimed issuer: in a mix-up it is the attacker's.
                self.finish(
                    TokenExchangeFailed(
                        f"sign-in refused: the response names the issuer {received}, but this sign-in uses"
                        f" {self.expected_issuer} (RFC 9207 mix-up protection); nothing was exchanged or saved."
                        " `codex login doctor` shows what the configured issuer calls itself",
                        error_code="issuer_mismatch",
                    )
                )
            elif decision.log_facts.get("issuer_missing"):
                diagnostics.schema.ISSUER_MISMATCH.log(severity="warning")
                self.finish(
                    TokenExchangeFailed(
                        f"sign-in refused: the response does not name its issuer, but {self.expected_issuer} says it"
                        " always does (authorization_response_iss_parameter_supported, RFC 9207 §2.4): it may come from"
                        " another issuer; nothing was exchanged or saved. `codex login doctor` checks the issuer",
                        error_code="issuer_missing",
                    )
                )
            return decision.status, decision.page
        if decision.action is Action.REDIRECT:
            self.start_used = True
            return decision.status, decision.page
        if decision.action is Action.REUSED:
            self.finish(
                TokenExchangeFailed(
                    "sign-in stopped: the one-shot sign-in address was opened a second time, possibly by another"
                    " user or program on this computer; the login did not go on, so it cannot sign you in to"
                    " someone else's account. Run `codex login` again",
                    error_code="sign_in_address_reused",
                )
            )
            return decision.status, decision.page
        if decision.action is Action.ALREADY_FINISHED:
            return decision.status, decision.page
        if decision.action is Action.CANCEL:
            self.abort(Cancelled("login cancelled: a newer `codex login` took over the port"))
            return decision.status, decision.page
        if decision.action is Action.FAILED:
            self.finish(
                TokenExchangeFailed(
                    f"{decision.error_description} The issuer sent the browser back without an authorization code"
                    " (or an error); run `codex login` again",
                    error_code=decision.error_code,
                )
            )
            return decision.status, decision.page
        if decision.action is Action.DENIED:
            assert decision.error_code is not None  # decide() sets it for DENIED
            diagnostics.schema.OAUTH_ERROR.log(
                error_code=decision.error_code or "", has_error_description=bool(decision.error_description)
            )
            detail = decision.error_code + (f": {decision.error_description}" if decision.error_description else "")
            if decision.error_code == "access_denied" and MISSING_ENTITLEMENT in (decision.error_description or ""):
                detail = f"{ENTITLEMENT_GUIDANCE} ({detail})"
            self.finish(
                Denied(
                    mask_secrets(f"sign-in was not completed: {decision.error_code}", REDACTED),
                    detail=mask_clip(f"sign-in was not completed: {detail}", MAX_SHOWN_DETAIL),
                    error_code=decision.error_code,
                )
            )
            return decision.status, decision.page
        # Action.EXCHANGE. The check-and-set needs no lock: trio runs one task at a time and there is
        # no checkpoint between the `finished` check in decide() and this assignment.
        assert decision.code is not None  # decide() sets it for EXCHANGE
        self.exchanging = True
        failure: LoginFailure | None = None
        with self.exchange_scope:
            try:
                auth = await self.complete(decision.code)
            except LoginFailure as exc:
                failure = exc
            except Exception as exc:  # a bug must still end the login, not leave it waiting forever
                failure = InternalError(
                    mask_secrets(f"internal error while completing the sign-in: {type(exc).__name__}: {exc}", REDACTED)
                )
        ref = self.reference
        if self.exchange_scope.cancelled_caught:
            return 503, failure_page(
                "Sign-in cancelled",
                "The sign-in was cancelled in the terminal.",
                error_code="cancelled",
                todo="Run `codex login` again when you are ready.",
                reference=ref,
            )
        if failure is not None:
            self.finish(failure)
            status, message = _exchange_failure_status(failure)
            page = failure_page(
                "Sign-in failed",
                mask_clip(failure.detail, MAX_SHOWN_DETAIL),
                error_code=failure.error_code or failure.outcome,
                reference=ref,
                message=message,
            )
            return status, page
        self.finish(auth)
        if self.org_setup_issuer and auth.tokens is not None:
            self.org_setup = org_setup_url(self.org_setup_issuer, auth.tokens.id_token, auth.tokens.access_token)
        return 200, success_page(account_label(auth), reference=ref, org_setup=self.org_setup is not None)


def _exchange_failure_status(failure: LoginFailure) -> tuple[int, str]:
    """The callback's own status and words for a failed completion: an issuer that answered with
    an OAuth error (4xx) refused this sign-in's code (400), which is not a gateway error; no
    answer, a 5xx or an unusable reply is one (502); anything else is ours (500)."""
    issuer_status = failure.fields.get("status")
    if isinstance(failure, TokenExchangeFailed) and isinstance(issuer_status, int) and 400 <= issuer_status < 500:
        return 400, "The issuer refused to complete this sign-in; your terminal shows the same error."
    if isinstance(failure, TokenExchangeFailed | NetworkError):
        return 502, "The issuer could not complete this sign-in; your terminal shows the same error."
    return 500, "The sign-in stopped here; your terminal shows the same error."


# --- the ASGI shell around the session ----------------------------------------------------------


def _header(scope: HTTPScope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class CallbackApp:
    def __init__(self, session: LoginSession):
        self.session = session

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
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
            fetch_site=_header(scope, b"sec-fetch-site"),
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
        await send({"type": "http.response.body", "body": body, "more_body": False})


def hypercorn_config(socks: tuple[socket.socket, ...]) -> Any:
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{sock.detach()}" for sock in socks]  # hypercorn owns the sockets from here on
    config.backlog = LISTEN_BACKLOG
    config.errorlog = None  # hypercorn would print "Running on …" to stderr
    config.accesslog = None  # its lines carry the query string: code and state
    config.include_server_header = False
    config.graceful_timeout = 2.0
    config.keep_alive_timeout = 5.0
    config.read_timeout = 10
    config.h11_max_incomplete_size = 16 * 1024
    return config


async def serve_callback_app(
    app: CallbackApp, socks: tuple[socket.socket, ...], stop: trio.Event, *, task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve on every socket we bound (127.0.0.1 and ::1, RFC 8252 §7.3)."""
    # Imported here, after the URL is printed: hypercorn is ~55 ms of start-up the user need not wait for.
    from codexlogin.listener.deferred import defer_unused_protocols

    defer_unused_protocols()  # HTTP/1.1 only: h2 and wsproto load if a client ever asks for them
    from hypercorn.trio import serve

    await serve(app, hypercorn_config(socks), shutdown_trigger=stop.wait, task_status=task_status)
