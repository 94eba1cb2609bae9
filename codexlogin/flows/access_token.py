"""`codex login --with-access-token`: a personal access token from stdin, checked at the issuer, stored.

Read as `--with-api-key` reads a key: from a pipe only (never a terminal, where it would echo, and
never from argv, where `ps` and shell history would show it), stripped, one token. Only personal
access tokens (`at-…`) are accepted; agent-identity JWTs are refused. The token is checked online,
as Codex CLI 0.171 does, with `GET {issuer}/api/accounts/v1/user-auth-credential/whoami` and
`Authorization: Bearer at-…`, bounded by exchange_timeout: 200 names the ChatGPT account, whose
workspace must be one `forced_chatgpt_workspace_id` allows; 401 means the issuer rejected the token
(exit 4); no reply is exit 10 like every request to the issuer. A personal access token is a ChatGPT
credential, so `forced_login_method = api` refuses it. It is stored in 0.171's shape
`{"OPENAI_API_KEY": null, "personal_access_token": "at-…"}` under $CODEX_HOME/auth.lock, and never
reaches codex-login.log (a registered secret before any request).

The token belongs to the issuer that checked it: a token from another issuer than the default
is stored with a top-level `oauth_provenance` (credentials.model), and `codex login status
--check` asks that issuer's whoami (`check_stored_access_token`; a setting naming another issuer
is refused with exit 2), with status's kinds: rejected (exit 8), network / unavailable (exit 10).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import trio

from codexlogin.config import Settings
from codexlogin.credentials.model import PERSONAL_ACCESS_TOKEN, AuthDotJson
from codexlogin.credentials.policy import check_login_method, enforce_workspace_id
from codexlogin.errors import CredentialsUnusable, LoginFailure, NetworkError, TokenExchangeFailed, UsageError
from codexlogin.flows.apikey import read_secret_from_stdin
from codexlogin.flows.complete import exchange_failed, save_replacing
from codexlogin.flows.ui import LoginUI
from codexlogin.oauth.client import REQUEST_ID_HEADERS, issuer_session
from codexlogin.oauth.errors import IssuerError, IssuerRejected, IssuerUnreachable, parse_oauth_error, transport_failure
from codexlogin.oauth.issuer import Issuer, configured_issuer, credential_issuer, refuse_conflict
from codexlogin.redact import register_secrets, sanitize_url

if TYPE_CHECKING:
    import httpx

PIPE_HINT = "printenv CODEX_ACCESS_TOKEN | codex login --with-access-token"
TOKEN_PREFIX = "at-"
MAX_TOKEN_CHARS = 4096
WHOAMI = "whoami endpoint"


@dataclass(frozen=True)
class AccessTokenAccount:
    """What whoami says a personal access token belongs to."""

    email: str | None
    user_id: str | None
    account_id: str | None
    plan: str | None


async def read_access_token(stdin: TextIO | None) -> str:
    """The token from a non-terminal stdin, stripped; UsageError for a terminal, empty or odd input,
    or anything but a personal access token."""
    token = await read_secret_from_stdin(
        stdin, flag="--with-access-token", short="token", noun="access token", pipe_hint=PIPE_HINT, max_chars=MAX_TOKEN_CHARS
    )
    check_token_kind(token)
    return token


def check_token_kind(token: str) -> None:
    """Only personal access tokens; the error never repeats the input."""
    if token.startswith(TOKEN_PREFIX) and len(token) > len(TOKEN_PREFIX):
        return
    if token.count(".") == 2 and all(token.split(".")):
        raise UsageError(
            "agent identity tokens (JWTs) are not supported by --with-access-token; only personal access tokens (at-…) are"
        )
    hint = "; for an API key (sk-…) use `--with-api-key`" if token.startswith("sk-") else ""
    raise UsageError(f"--with-access-token supports only personal access tokens (at-…); stdin does not hold one{hint}")


async def whoami(
    settings: Settings, issuer: Issuer, token: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> AccessTokenAccount:
    """The account of `token` at `issuer` (IssuerError unless whoami answers 200 with a JSON object)."""
    import httpx

    register_secrets(token)
    url = issuer.whoami_endpoint
    try:
        async with issuer_session(settings, issuer, transport=transport, identified=True) as client:
            with trio.fail_after(settings.exchange_timeout):
                response = await client.http.get(url, headers={"Authorization": f"Bearer {token}"})
    except trio.TooSlowError:
        raise IssuerUnreachable(
            WHOAMI, "timeout", f"no reply from {sanitize_url(url)} within {settings.exchange_timeout:g}s"
        ) from None
    except httpx.HTTPError as exc:
        raise transport_failure(WHOAMI, url, exc) from None
    body = response.content.decode("utf-8", "replace")
    if not response.is_success:
        code, message = parse_oauth_error(response.content)
        request_id = next((response.headers[h] for h in REQUEST_ID_HEADERS if response.headers.get(h)), None)
        raise IssuerRejected(WHOAMI, response.status_code, code, message, body, request_id=request_id)
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise IssuerRejected(WHOAMI, response.status_code, None, None, body)
    return AccessTokenAccount(
        email=_text(data, "email"),
        user_id=_text(data, "chatgpt_user_id"),
        account_id=_text(data, "chatgpt_account_id"),
        plan=_text(data, "chatgpt_plan_type"),
    )


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _rejected(error: IssuerError) -> bool:
    return isinstance(error, IssuerRejected) and error.status in (401, 403)


def login_failed(error: IssuerError) -> LoginFailure:
    """What a whoami failure means for a login: exit 4 naming a rejected token as such; exit 10
    for an issuer that cannot be reached or answers 5xx/429 (flows.complete.exchange_failed)."""
    if not _rejected(error):
        return exchange_failed(error)
    again = f"create a new personal access token and run `{PIPE_HINT}`"
    return TokenExchangeFailed(
        f"the issuer rejected the access token ({error.summary})",
        detail=f"the issuer rejected the access token ({error.detail}); {again}",
        error_code=error.error_code,
        fields=error.log_fields(),
    )


async def access_token_login(
    settings: Settings,
    stdin: TextIO | None,
    ui: LoginUI,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    lock_timeout: float | None = None,
) -> tuple[AuthDotJson, str, AccessTokenAccount]:
    """Check the policy, read the token, ask whoami, check the workspace, save:
    (the stored credentials, the backend, the token's account)."""
    check_login_method(settings, "chatgpt")  # before reading: forced_login_method = api refuses it
    token = await read_access_token(stdin)
    issuer = configured_issuer(settings)
    try:
        with ui.waiting("Checking the access token with the issuer…"):
            account = await whoami(settings, issuer, token, transport=transport)
    except IssuerError as error:
        raise login_failed(error) from None
    enforce_workspace_id(settings, account.account_id)
    # Where it came from, for every later use; a default-issuer file stays exactly 0.171's shape.
    provenance = None if issuer.issued(None) else issuer.provenance()
    stored = AuthDotJson(PERSONAL_ACCESS_TOKEN, personal_access_token=token, oauth_provenance=provenance)
    saved = await save_replacing(settings, stored, ui, timeout=lock_timeout)
    return saved.auth, saved.backend, account


# --- `codex login status --check` -----------------------------------------------------------------


class AccessTokenRejected(CredentialsUnusable):
    kind = "rejected"

    def log_fields(self) -> dict[str, object]:
        return {**super().log_fields(), "kind": self.kind}


class AccessTokenUnreachable(NetworkError):
    def __init__(self, summary: str, *, kind: str, detail: str | None = None):
        super().__init__(summary, detail=detail)
        self.kind = kind

    def log_fields(self) -> dict[str, object]:
        return {**super().log_fields(), "kind": self.kind}


def check_failed(error: IssuerError) -> LoginFailure:
    """What a whoami failure means for `status --check`, by the kinds a refresh uses."""
    what = "checking the personal access token failed"
    if isinstance(error, IssuerUnreachable):
        return AccessTokenUnreachable(f"{what}: {error.summary}", kind="network", detail=f"{what}: {error.detail}")
    if isinstance(error, IssuerRejected) and (error.status >= 500 or error.status == 429):
        later = "; try again later"
        return AccessTokenUnreachable(
            f"{what}, the issuer is unavailable: {error.summary}{later}",
            kind="unavailable",
            detail=f"{what}, the issuer is unavailable: {error.detail}{later}",
        )
    if isinstance(error, IssuerRejected) and 400 <= error.status < 500:
        again = f"run `{PIPE_HINT}` with a new one"
        return AccessTokenRejected(
            f"the issuer rejected the stored personal access token ({error.summary}); {again}",
            detail=f"the issuer rejected the stored personal access token ({error.detail}); {again}",
            error_code=error.error_code,
        )
    return exchange_failed(error)  # a 2xx that is not a JSON object: exit 4


async def check_stored_access_token(
    settings: Settings, auth: AuthDotJson, *, transport: httpx.AsyncBaseTransport | None = None
) -> AccessTokenAccount:
    """Whoami for a stored personal access token at the issuer that checked it when it was stored
    (IssuerConflict, exit 2, when a setting names another); LoginFailure by kind (check_failed)."""
    issuer = credential_issuer(auth.origin())
    refuse_conflict(settings, issuer, doing="status --check")
    try:
        return await whoami(settings, issuer, auth.personal_access_token or "", transport=transport)
    except IssuerError as error:
        raise check_failed(error) from None


__all__ = [
    "PIPE_HINT",
    "AccessTokenAccount",
    "access_token_login",
    "check_stored_access_token",
    "check_token_kind",
    "read_access_token",
    "whoami",
]
