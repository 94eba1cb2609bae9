"""A usable access token for another program: `codex login token` and the API's `access_token()`.

The stored ChatGPT access token, refreshed first when Codex CLI 0.171's rule says it is due
(flows.refresh: under auth.lock, at the credential's own issuer, re-reading after the lock so two
callers at once make one refresh request and never replay a rotated refresh token). A stored
personal access token is itself the bearer token (it has no expiry we know of). An API key is not
an access token: refused (exit 8) rather than handed out where a bearer token is expected.

Failures, as `status --check` has them: nothing stored → NotLoggedIn (1); the store unreadable →
StorageFailed (7); stored but unusable, or the refresh refused → CredentialsUnusable (8); the
stored login breaks the policy → PolicyViolation (9); a needed refresh cannot reach the issuer →
NetworkError (10); a setting names another issuer or client → IssuerConflict (2), and the token
is not handed out for it. The tokens are registered as the run's secrets before anything is
logged: codex-login.log never holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codexlogin import rfc3339
from codexlogin.config import Settings
from codexlogin.credentials.model import APIKEY, CHATGPT, PERSONAL_ACCESS_TOKEN, AuthDotJson
from codexlogin.credentials.status import access_token_expiry, evaluate
from codexlogin.credentials.store import load_credentials
from codexlogin.errors import CredentialsUnusable, ExitCode, NotLoggedIn, PolicyViolation
from codexlogin.flows.refresh import refresh_credentials
from codexlogin.oauth.issuer import credential_issuer, refuse_conflict
from codexlogin.redact import register_secrets

if TYPE_CHECKING:
    import httpx

DOING = "login token"


@dataclass(frozen=True, repr=False)
class AccessToken:
    """A bearer token for the stored login, and what a script needs to know about it."""

    access_token: str
    expires_at: str | None  # RFC 3339 UTC, or None when unknown
    account_id: str | None
    issuer: str  # the issuer that issued it (the credential's provenance)
    mode: str  # "chatgpt" | "personal_access_token"
    refreshed: bool = False  # this call refreshed it at the issuer

    def __repr__(self) -> str:  # never the token
        return f"AccessToken(mode={self.mode!r}, expires_at={self.expires_at!r}, refreshed={self.refreshed})"

    def to_json(self) -> dict[str, Any]:
        """`codex login token --json`: {access_token, expires_at, account_id, issuer}."""
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at,
            "account_id": self.account_id,
            "issuer": self.issuer,
        }


def _register(auth: AuthDotJson) -> None:
    if auth.tokens is not None:
        register_secrets(auth.tokens.access_token, auth.tokens.refresh_token, auth.tokens.id_token)
    register_secrets(auth.personal_access_token, auth.openai_api_key)


def _usable(settings: Settings, auth: AuthDotJson | None, backend: str) -> AuthDotJson:
    """The stored login when it can give a token; the failure status would report otherwise."""
    if auth is None:
        raise NotLoggedIn("not logged in; run `codex login`")
    _register(auth)
    report = evaluate(settings, auth, backend)
    if report.exit_code == ExitCode.CREDENTIALS_UNUSABLE:
        raise CredentialsUnusable(f"the stored credentials are unusable: {report.problem}; run `codex login` again")
    if report.exit_code == ExitCode.POLICY_VIOLATION:
        raise PolicyViolation(f"the stored login breaks the login policy: {report.problem}")
    if auth.auth_mode == APIKEY:
        raise CredentialsUnusable(
            "the stored login is an API key, which is not an access token; sign in with `codex login` for one",
            error_code="api_key_login",
        )
    return auth


async def current_access_token(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    lock_timeout: float | None = None,
    force_refresh: bool = False,
) -> AccessToken:
    """The stored login's access token, refreshed first when due (see the module docstring), or
    whenever `force_refresh` (the app-server's `account/read` with `refreshToken`)."""
    auth = _usable(settings, *load_credentials(settings))
    issuer = credential_issuer(auth.origin())
    refuse_conflict(settings, issuer, doing=DOING)
    if auth.auth_mode == PERSONAL_ACCESS_TOKEN:
        return AccessToken(auth.personal_access_token or "", None, None, issuer.base, PERSONAL_ACCESS_TOKEN)
    result = await refresh_credentials(
        settings, force=force_refresh, transport=transport, lock_timeout=lock_timeout, issuer=issuer
    )
    current = result.auth
    _register(current)
    if current.auth_mode != CHATGPT or current.tokens is None or not current.tokens.access_token:
        # Another codex replaced the login while we waited for the lock: ask again.
        raise NotLoggedIn("the stored ChatGPT login was replaced while waiting to refresh it; run the command again")
    tokens = current.tokens
    expires_at = rfc3339.from_epoch(access_token_expiry(tokens.access_token, tokens.access_token_expires_at))
    return AccessToken(
        tokens.access_token,
        expires_at,
        tokens.account_id,
        credential_issuer(current.origin()).base,
        CHATGPT,
        refreshed=result.refreshed,
    )


__all__ = ["AccessToken", "current_access_token"]
