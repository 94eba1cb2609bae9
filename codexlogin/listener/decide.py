"""The loopback listener's decisions: a pure function from one request to one decision.

No I/O here: browser_flow.py wraps `decide` in a thin ASGI shell that performs the token exchange
when told to and serves the page. Every page is HTML-escaped and carries headers that keep it from
being cached, framed, or leaking the callback URL (with its code) through a Referer.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import parse_qsl

from codexlogin.listener.start import START_PATH_CHARS as START_PATH_CHARS
from codexlogin.listener.start import start_path as start_path
from codexlogin.listener.start import start_url as start_url
from codexlogin.oauth.dialects import ONBOARDING_SUFFIX
from codexlogin.oauth.pkce import states_match
from codexlogin.redact import scrub_clip

CALLBACK_PATH = "/auth/callback"
CANCEL_PATH = "/cancel"
CANCEL_HEADER = "x-codex-login-cancel"
CHALLENGE_HEADER = "x-codex-login-challenge"
MAX_QUERY_BYTES = 8192
MAX_ENTRYPOINT_CHARS = 64
MAX_ISSUER_CHARS = 300  # an `iss` shown on the terminal (RFC 9207 mismatch)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)


class Action(Enum):
    IGNORE = "ignore"  # answer and keep waiting
    EXCHANGE = "exchange"  # valid code and state: exchange the code, then answer
    DENIED = "denied"  # the issuer reported an error (user denied, ...): answer and stop
    FAILED = "failed"  # our own state, but nothing to finish the sign-in with: answer and stop
    CANCEL = "cancel"  # a newer login of ours asked this one to stop
    ALREADY_FINISHED = "already_finished"
    REDIRECT = "redirect"  # the short address: on to the sign-in URL
    REUSED = "reused"  # the one-shot short address opened a second time: the login ends


@dataclass(frozen=True)
class CallbackRequest:
    method: str
    path: str
    raw_query: bytes = b""
    host: str | None = None
    cancel_token: str | None = None
    fetch_site: str | None = None  # Sec-Fetch-Site: "none" when the user typed or pasted the address

    @property
    def params(self) -> dict[str, str]:
        """First value wins for a repeated key; undecodable bytes are replaced, never raised."""
        result: dict[str, str] = {}
        text = self.raw_query[:MAX_QUERY_BYTES].decode("utf-8", "replace")
        for key, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
            result.setdefault(key, value)
        return result


@dataclass(frozen=True)
class Decision:
    action: Action
    status: int
    page: str = ""
    # Facts for the log (never the values): which parameters were present and whether state matched.
    log_facts: Mapping[str, object] = field(default_factory=dict)
    error_code: str | None = None
    error_description: str | None = None
    code: str | None = field(default=None, repr=False)
    headers: tuple[tuple[bytes, bytes], ...] = ()


@cache
def _template() -> Template:
    # A file beside this module (importlib.resources would import zipfile and tempfile at start-up).
    return Template((Path(__file__).parent / "pages" / "page.html").read_text("utf-8"))


KEEPS_WAITING = "This request cannot finish the sign-in; the login in your terminal keeps waiting."
RETRY = "Return to your terminal and run `codex login` again."
TROUBLESHOOT = "If it keeps failing, `codex login doctor` checks what breaks the sign-in."


def _inline_code(text: str) -> str:
    """Our own words, escaped, with `command` shown as <code>command</code> (a page is not
    Markdown: a literal backtick reads as noise). Issuer text goes into Details, never here."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", html.escape(text))


def render_page(
    heading: str,
    message: str,
    *,
    ok: bool,
    details: str | None = None,
    error_code: str | None = None,
    todo: str | None = None,
    reference: str | None = None,
    head: str = "",
    link: tuple[str, str] | None = None,
) -> str:
    """Every value is escaped here, so callers can pass backend or request text as is (`head` is
    markup of our own; `link` is (href, text), both escaped).

    An error page is a card like the reference CLI's: the error code, the details, what to do, and
    the run's reference (which `codex login log --grep REF` finds)."""
    rows = []
    if error_code:
        rows.append(f"<dt>Error code</dt><dd><code>{html.escape(error_code)}</code></dd>")
    if details:
        rows.append(f"<dt>Details</dt><dd><pre>{html.escape(details)}</pre></dd>")
    if todo:
        rows.append(f"<dt>What to do</dt><dd>{_inline_code(todo)}</dd>")
    if reference:
        ref = html.escape(reference)
        rows.append(
            f"<dt>Reference</dt><dd><code>{ref}</code> (in the terminal, <code>codex login log --grep {ref}</code> shows this sign-in)</dd>"
        )
    card = "<dl>\n" + "\n".join(rows) + "\n</dl>" if rows else ""
    if link is not None:
        card = f'<p><a href="{html.escape(link[0], quote=True)}">{html.escape(link[1])}</a></p>\n' + card
    return _template().substitute(
        head=head,
        title=html.escape(heading),
        heading=html.escape(heading),
        kind="ok" if ok else "err",
        message=_inline_code(message),
        card=card,
    )


def success_page(account: str | None = None, *, reference: str | None = None, org_setup: bool = False) -> str:
    """`account`: who signed in ("alice@example.com (plus)"), when the id_token says. `org_setup`:
    the page goes on to the platform's organization setup (org_setup_url) after 3 seconds, as Codex
    CLI 0.171's does; the URL itself is put in at ORG_SETUP_SLOT after the page is masked."""
    heading = f"Signed in to Codex as {account}" if account else "Signed in to Codex"
    if org_setup:
        return render_page(
            heading,
            "Finish setting up your API organization: the OpenAI Platform opens in 3 seconds.",
            ok=True,
            reference=reference,
            head=f'\n<meta http-equiv="refresh" content="3;url={ORG_SETUP_SLOT}">',
            link=(ORG_SETUP_SLOT, "Continue to the organization setup"),
        )
    return render_page(heading, "You can close this tab and return to your terminal.", ok=True, reference=reference)


#: Where the organization-setup URL goes in the success page (after masking: it carries the id_token).
ORG_SETUP_SLOT = "codex-org-setup-url"
#: The issuer whose platform 0.171 sends a new organization owner to (its page accepts two platform
#: origins; we send only the default issuer's tokens, and only to its own platform).
ORG_SETUP_PLATFORMS = {"https://auth.openai.com": "https://platform.openai.com"}


def org_setup_url(issuer_base: str, id_token: str | None, access_token: str | None) -> str | None:
    """Codex CLI 0.171's rule: the id_token says the user owns an organisation (`is_org_owner`)
    whose platform onboarding is not finished (`completed_platform_onboarding` not true): then
    `{platform}/org-setup?p=<plan>&t=<id_token>&with_org=<organization_id>&project_id=<project_id>`.
    None otherwise, or for another issuer than the default."""
    from urllib.parse import urlencode

    from codexlogin.oauth import jwt

    platform = ORG_SETUP_PLATFORMS.get(issuer_base.rstrip("/"))
    claims = jwt.auth_claims(id_token)
    if platform is None or not id_token or claims.get("is_org_owner") is not True:
        return None
    if claims.get("completed_platform_onboarding") is True:
        return None

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    plan = text(jwt.auth_claims(access_token).get("chatgpt_plan_type"))
    query = {
        "p": plan,
        "t": id_token,
        "with_org": text(claims.get("organization_id")),
        "project_id": text(claims.get("project_id")),
    }
    return f"{platform}/org-setup?{urlencode(query)}"


def failure_page(
    heading: str,
    detail: str,
    *,
    error_code: str | None = None,
    todo: str = f"{RETRY} {TROUBLESHOOT}",
    reference: str | None = None,
    message: str = "The sign-in stopped here; your terminal shows the same error.",
) -> str:
    return render_page(heading, message, ok=False, details=detail, error_code=error_code, todo=todo, reference=reference)


def older_tab_page(*, reference: str | None = None) -> str:
    """A callback whose state is not this sign-in's: almost always a tab of an older attempt."""
    return render_page(
        "This tab belongs to an older sign-in",
        "This sign-in was started by an earlier `codex login` (or another attempt) than the one now waiting in your terminal,"
        " so it cannot finish that one.",
        ok=False,
        error_code="state_mismatch",
        todo="Close this tab and use the newest sign-in tab, or open the URL your terminal shows now."
        " The login in your terminal keeps waiting.",
        reference=reference,
    )


def reused_page(*, reference: str | None = None) -> str:
    """The one-shot sign-in address opened a second time: someone else may have opened it."""
    return failure_page(
        "This sign-in address was already used",
        "This address opens the sign-in once. It was opened before, possibly by someone else on this computer,"
        " so the login in your terminal was stopped: it must not finish a sign-in someone else may have started.",
        error_code="sign_in_address_reused",
        todo="Close this tab and run `codex login` again in your terminal.",
        reference=reference,
        message="The sign-in stopped here; your terminal shows the same error.",
    )


MISSING_ENTITLEMENT = "missing_codex_entitlement"
MISSING_CODE = "missing_authorization_code"  # Codex CLI 0.171's error code and words
MISSING_CODE_MESSAGE = "Missing authorization code. Sign-in could not be completed."
ENTITLEMENT_GUIDANCE = "Codex is not enabled for your workspace. Contact your workspace administrator to request access."


def denied_page(error_code: str, description: str | None, *, reference: str | None = None) -> str:
    """The issuer sent the browser back with `error=` (the user declined, or the issuer refused)."""
    if error_code == "access_denied" and MISSING_ENTITLEMENT in (description or ""):
        todo = ENTITLEMENT_GUIDANCE
    elif error_code == "access_denied":
        todo = "If you declined by mistake, return to your terminal and run `codex login` again."
    else:
        todo = f"{RETRY} {TROUBLESHOOT}"
    return failure_page(
        "Sign-in was not completed", description or error_code, error_code=error_code, todo=todo, reference=reference
    )


def _not_found_page(reference: str | None) -> str:
    return render_page("Not found", "This address only answers the Codex sign-in.", ok=False, reference=reference)


def is_not_found_page(text: str) -> bool:
    """Whether `text` is our listener's 404 page (for doctor's port probe), whatever the run's reference."""
    sentinel = "REFERENCE0SENTINEL"
    pattern = re.escape(_not_found_page(sentinel)).replace(sentinel, "[A-Z0-9]{1,16}")
    return text == _not_found_page(None) or re.fullmatch(pattern, text) is not None


def cancel_proof(cancel_key: str, nonce: str, port: int) -> str:
    """What a newer login of ours answers to this listener's challenge.

    Bound to the listener's own nonce and port, so a program that holds some port and collects a
    proof cannot replay it to our listener (other nonce) or relay our challenge (other port).
    """
    return hmac.new(cancel_key.encode(), f"{nonce}:{port}".encode(), hashlib.sha256).hexdigest()


def host_allowed(host: str | None, port: int) -> bool:
    """Only loopback names with our port: a page on another name (DNS rebinding) is refused."""
    if host is None:
        return False
    allowed = {f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}
    return host.strip().lower() in allowed


def issuer_matches(expected_issuer: str | None, received: str | None) -> bool:
    """RFC 9207: when the issuer names itself in the callback (`iss`), it must be ours."""
    if not received or not expected_issuer:
        return True
    return received.rstrip("/") == expected_issuer.rstrip("/")


def decide(
    request: CallbackRequest,
    *,
    expected_state: str,
    port: int,
    cancel_key: str | None,
    finished: bool,
    expected_issuer: str | None = None,
    cancel_nonce: str | None = None,
    state_suffix: bool = False,
    reference: str | None = None,
    sign_in_url: str | None = None,
    start_used: bool = False,
    iss_required: bool = False,
) -> Decision:
    """What to do with one request to the listener (pure). `state_suffix`: the issuer may append
    `.onboarding_entrypoint=<value>` to the state (the openai dialect); it is stripped and recorded.
    `reference` (the run's) is shown on every page; `sign_in_url` is where `start_path(state)` redirects,
    once: `start_used` says it already did. `iss_required`: the issuer's discovery promises `iss` on
    every response (RFC 9207 §2.4), so a callback without it is refused."""
    ref = reference
    if not host_allowed(request.host, port):
        return Decision(
            Action.IGNORE, 403, render_page("Forbidden", "This address only answers the Codex sign-in.", ok=False, reference=ref)
        )
    if request.method != "GET":
        return Decision(
            Action.IGNORE, 405, render_page("Method not allowed", "Only GET is served here.", ok=False, reference=ref)
        )

    if request.path == CANCEL_PATH:
        forbidden = render_page("Forbidden", "Only a Codex sign-in may cancel this one.", ok=False, reference=ref)
        if not (cancel_key and cancel_nonce):
            return Decision(Action.IGNORE, 403, forbidden)
        if not request.cancel_token:  # step 1: the challenge (the key itself never crosses the wire)
            return Decision(Action.IGNORE, 401, forbidden, headers=((CHALLENGE_HEADER.encode(), cancel_nonce.encode()),))
        if states_match(cancel_proof(cancel_key, cancel_nonce, port), request.cancel_token):
            return Decision(
                Action.CANCEL, 200, render_page("Login cancelled", "A newer sign-in took over.", ok=False, reference=ref)
            )
        return Decision(Action.IGNORE, 403, forbidden)

    if sign_in_url and hmac.compare_digest(request.path.encode(), start_path(expected_state).encode()):
        if finished:
            page = render_page(
                "Sign-in already finished", "This sign-in has already finished; you can close this tab.", ok=True, reference=ref
            )
            return Decision(Action.ALREADY_FINISHED, 200, page)
        if request.fetch_site not in (None, "none", "same-origin"):
            # Only an address the user typed or pasted (or a reload) starts the sign-in: another
            # site must not send the browser into it.
            page = render_page(
                "Open the sign-in from your terminal",
                "This address starts the Codex sign-in only when you open it yourself.",
                ok=False,
                todo="Copy the address your terminal shows into the address bar.",
                reference=ref,
            )
            return Decision(Action.IGNORE, 403, page)
        if start_used:
            # One-shot: the browser's copy of this address is visible to other local users (its
            # command line), so a second use means someone else may hold the sign-in URL too.
            return Decision(Action.REUSED, 409, reused_page(reference=ref))
        page = render_page("Continuing to the sign-in", "Your browser should open the sign-in page now.", ok=True, reference=ref)
        return Decision(Action.REDIRECT, 302, page, headers=((b"location", sign_in_url.encode("ascii", "replace")),))

    if request.path != CALLBACK_PATH:
        return Decision(Action.IGNORE, 404, _not_found_page(ref))

    params = request.params
    code, state, error = params.get("code", ""), params.get("state", ""), params.get("error", "")
    entrypoint = None
    if state_suffix and ONBOARDING_SUFFIX in state:
        state, _, entrypoint = state.partition(ONBOARDING_SUFFIX)
    state_valid = states_match(expected_state, state)
    facts: dict[str, object] = {
        "has_code": bool(code),
        "has_state": bool(state),
        "has_error": bool(error),
        "state_valid": state_valid,
    }
    if entrypoint is not None and state_valid:  # only an entry point of our own sign-in is recorded
        facts["onboarding_entrypoint"] = scrub_clip(entrypoint, MAX_ENTRYPOINT_CHARS)
    if finished:
        page = render_page(
            "Sign-in already finished", "This sign-in has already finished; you can close this tab.", ok=True, reference=ref
        )
        return Decision(Action.ALREADY_FINISHED, 200, page, facts)
    if not state_valid:
        if state:
            return Decision(Action.IGNORE, 400, older_tab_page(reference=ref), facts)
        page = render_page(
            "This address cannot finish the sign-in",
            "It carries no state parameter, so it does not belong to the sign-in your terminal is waiting for."
            " The login in your terminal keeps waiting.",
            ok=False,
            error_code="missing_state",
            todo="Use the sign-in tab your terminal opened, or open the URL it shows.",
            reference=ref,
        )
        return Decision(Action.IGNORE, 400, page, facts)
    if iss_required and not params.get("iss") and not params.get("error"):
        # RFC 9207 §2.4: the issuer promised `iss` on every response; one without it may come
        # from another issuer (a mix-up). The state is ours: the session ends the login at once.
        # An error response carries no code to steal and ends the login anyway: it is read as the
        # error it reports (django-oauth-toolkit promises `iss` but omits it on a Cancel).
        page = failure_page(
            "Sign-in failed",
            "The response did not name its issuer, although this issuer always does.",
            error_code="issuer_missing",
            reference=ref,
        )
        return Decision(Action.IGNORE, 400, page, {**facts, "issuer_missing": True})
    if not issuer_matches(expected_issuer, params.get("iss")):
        # A mix-up attack: another issuer's response sent to our listener (RFC 9207 §2.4).
        # The state is ours, so this sign-in cannot succeed any more: the session ends it at once.
        page = failure_page(
            "Sign-in failed",
            "The response came from a different issuer than this sign-in uses.",
            error_code="issuer_mismatch",
            reference=ref,
        )
        received = scrub_clip(params.get("iss", ""), MAX_ISSUER_CHARS)
        return Decision(Action.IGNORE, 400, page, {**facts, "issuer_mismatch": True, "received_issuer": received})
    if error:
        description = params.get("error_description") or None
        page = denied_page(error, description, reference=ref)
        return Decision(Action.DENIED, 200, page, facts, error_code=error, error_description=description)
    if not code:
        # Our own state, yet neither a code nor an error: this sign-in cannot finish any more, so it
        # ends now, as Codex CLI 0.171's does (its words and error code), rather than at the timeout.
        page = failure_page(
            "Sign-in could not be completed",
            MISSING_CODE_MESSAGE,
            error_code=MISSING_CODE,
            reference=ref,
        )
        return Decision(Action.FAILED, 200, page, facts, error_code=MISSING_CODE, error_description=MISSING_CODE_MESSAGE)
    return Decision(Action.EXCHANGE, 200, "", facts, code=code)
