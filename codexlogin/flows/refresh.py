"""Refreshing stored ChatGPT tokens: when, how, and only one process at a time.

A refresh is due when the access token's JWT `exp` — for an opaque token the expiry stored from
`expires_in` (tokens.access_token_expires_at) — is less than 5 minutes away (or passed); only
when neither can be read, when `last_refresh` is older than 8 days (or unknown) — Codex CLI
0.171's rules. The request goes to the issuer that issued the stored tokens (their provenance,
oauth.issuer; a setting naming another issuer is refused with exit 2), in its dialect
(oauth.dialects): JSON with `refresh_reason` for the openai issuer, an RFC 6749 §6 form without
scope otherwise, at the token endpoint discovery names (flows.discover, standard dialect). The reply's `expires_in` replaces the stored expiry. The refresh runs
under the cross-process lock from locking.py and re-reads the credentials once it holds the lock:
if another process refreshed meanwhile, its rotated tokens are used as they are and no request is
made, because replaying the old refresh token would make the issuer revoke the whole grant. Every
other writer (login saves, `codex logout`) takes the same lock, so nothing changes the stored
credentials during the request; should a writer that does not lock (an older codex) have removed
or replaced them meanwhile, the reply is not saved (no resurrected logout, no overwritten login) and
the tokens it carried are revoked instead (best effort).

Failures come out by kind (`.kind` on the failure, also in the log):
  network     no reply (DNS, connect, TLS, timeout)              → NetworkError (exit 10)
  unavailable the issuer answered 5xx or 429: retry later         → NetworkError (exit 10)
  rejected    the issuer refused the refresh token (4xx)         → CredentialsUnusable (exit 8)
  expired     the refresh token expired (refresh_token_expired, or invalid_grant "expired") → exit 8
  reused      refresh_token_reused: another codex already spent it → CredentialsUnusable (exit 8)
  revoked     refresh_token_invalidated                           → CredentialsUnusable (exit 8)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import trio

from codexlogin import diagnostics, rfc3339
from codexlogin.config import Settings
from codexlogin.credentials.lock import hold_file_lock, lock_wait, refresh_lock_path
from codexlogin.credentials.model import AuthDotJson, expiry_from_expires_in
from codexlogin.credentials.status import refresh_due
from codexlogin.credentials.store import load_credentials, save_credentials
from codexlogin.errors import CredentialsUnusable, LoginFailure, NetworkError, NotLoggedIn, StorageFailed, TokenExchangeFailed
from codexlogin.flows.complete import exchange_failed
from codexlogin.flows.discover import discover_stored
from codexlogin.flows.logout import revoke_tokens
from codexlogin.oauth import jwt
from codexlogin.oauth.client import TokenResponse, issuer_session
from codexlogin.oauth.errors import IssuerError, IssuerRejected, IssuerUnreachable
from codexlogin.oauth.issuer import Issuer

if TYPE_CHECKING:
    import httpx


class RefreshUnreachable(NetworkError):
    def __init__(self, summary: str, *, kind: str, detail: str | None = None):
        super().__init__(summary, detail=detail)
        self.kind = kind

    def log_fields(self) -> dict[str, object]:
        return {**super().log_fields(), "kind": self.kind}


class RefreshRejected(CredentialsUnusable):
    def __init__(self, summary: str, *, kind: str, detail: str | None = None, error_code: str | None = None):
        super().__init__(summary, detail=detail, error_code=error_code)
        self.kind = kind

    def log_fields(self) -> dict[str, object]:
        return {**super().log_fields(), "kind": self.kind}


@dataclass(frozen=True, repr=False)
class RefreshResult:
    auth: AuthDotJson
    backend: str
    refreshed: bool  # this process made the refresh request
    reason: str | None  # why a refresh was due: expiring | stale | forced | None (it was not)
    by_other_process: bool = False  # due, but another process refreshed while we waited

    def __repr__(self) -> str:
        return f"RefreshResult(refreshed={self.refreshed}, reason={self.reason!r}, backend={self.backend!r})"


def refresh_reason(auth: AuthDotJson, *, now: float | None = None) -> str | None:
    """Why the stored ChatGPT tokens should be refreshed now, or None. API keys never need it."""
    if auth.auth_mode != "chatgpt" or auth.tokens is None:
        return None
    return refresh_due(
        auth.tokens.access_token,
        auth.last_refresh,
        time.time() if now is None else now,
        stored_expiry=auth.tokens.access_token_expires_at,
    )


# The openai issuer names why a refresh token is dead for good (Codex CLI 0.171 words each one).
_PERMANENT = {
    "refresh_token_expired": ("expired", "the stored refresh token has expired"),
    "refresh_token_reused": (
        "reused",
        "the stored refresh token was already used (another codex refreshed it, here or elsewhere)",
    ),
    "refresh_token_invalidated": ("revoked", "the stored refresh token was revoked"),
}


def classify_failure(exc: IssuerError) -> LoginFailure:
    """What an issuer error from the token endpoint means for a refresh: the kinds above."""
    again = "run `codex login` again"
    if isinstance(exc, IssuerUnreachable):
        return RefreshUnreachable(
            f"token refresh failed: {exc.summary}", kind="network", detail=f"token refresh failed: {exc.detail}"
        )
    if isinstance(exc, IssuerRejected) and (exc.status >= 500 or exc.status == 429):
        return RefreshUnreachable(
            f"token refresh failed, the issuer is unavailable: {exc.summary}; try again later",
            kind="unavailable",
            detail=f"token refresh failed, the issuer is unavailable: {exc.detail}; try again later",
        )
    if isinstance(exc, IssuerRejected) and 400 <= exc.status < 500:
        kind, what = _PERMANENT.get(exc.error_code or "", ("rejected", "the issuer rejected the stored refresh token"))
        if kind == "rejected" and exc.error_code == "invalid_grant" and "expired" in (exc.error_message or "").lower():
            kind, what = _PERMANENT["refresh_token_expired"]
        elif kind == "rejected" and exc.status == 401:
            what = "the issuer no longer accepts the stored credentials"
        return RefreshRejected(
            f"{what} ({exc.summary}); {again}", kind=kind, detail=f"{what} ({exc.detail}); {again}", error_code=exc.error_code
        )
    if isinstance(exc, IssuerRejected) and exc.status < 300:
        # The refresh token was spent on a reply nobody can read (not JSON, nested too deeply, no
        # access_token): the issuer may have rotated it. Said, so a later "already used" is understood.
        spent = (
            "; the stored refresh token was sent, and the issuer may have replaced it: if the next"
            " `codex login status --check` says it was already used, run `codex login` again"
        )
        return TokenExchangeFailed(
            exc.summary + spent, detail=exc.detail + spent, error_code=exc.error_code, fields=exc.log_fields()
        )
    return exchange_failed(exc)  # anything else the client cannot use: exit 4


def refreshed_auth(old: AuthDotJson, response: TokenResponse) -> AuthDotJson:
    """The stored credentials with the refresh reply applied; kept parts survive (API key, old
    id_token, provenance, login owner id, unknown fields)."""
    assert old.tokens is not None
    id_token = response.id_token or old.tokens.id_token
    return replace(
        old,
        tokens=replace(
            old.tokens,
            id_token=id_token,
            access_token=response.access_token,
            refresh_token=response.refresh_token or old.tokens.refresh_token,
            account_id=jwt.account_id(id_token) or old.tokens.account_id,
            # The old expiry belonged to the old access token: a reply without expires_in has none.
            access_token_expires_at=expiry_from_expires_in(response.expires_in, now=time.time()),
        ),
        last_refresh=rfc3339.now(),
    )


async def refresh_credentials(
    settings: Settings,
    *,
    force: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    lock_timeout: float | None = None,
    issuer: Issuer | None = None,
) -> RefreshResult:
    """Refresh the stored ChatGPT tokens when due (or when `force`), save the rotated tokens atomically.

    The refresh goes to the issuer that issued them (`issuer`: one the caller already discovered
    for this credential, reused when it is the same origin). Raises IssuerConflict (exit 2) when a
    setting names another issuer, NotLoggedIn when nothing is stored, CredentialsUnusable when there is no refresh token or
    the issuer refuses it, NetworkError when the issuer cannot be reached or is unavailable.
    """
    auth, backend = load_credentials(settings)
    if auth is None:
        raise NotLoggedIn("not logged in; run `codex login`")
    if auth.auth_mode != "chatgpt" or auth.tokens is None:
        return RefreshResult(auth, backend, refreshed=False, reason=None)
    reason = "forced" if force else refresh_reason(auth)
    if reason is None:
        return RefreshResult(auth, backend, refreshed=False, reason=None)
    if not auth.tokens.refresh_token:
        raise RefreshRejected("the stored ChatGPT credentials have no refresh token; run `codex login` again", kind="rejected")
    # The credential's own issuer (standard dialect: its token endpoint, discovered, bounded).
    issuer = await discover_stored(settings, auth, doing="token refresh", known=issuer, transport=transport)
    lock_timeout = lock_timeout if lock_timeout is not None else lock_wait(settings)
    with diagnostics.schema.REFRESH(reason=reason, backend=backend, token_endpoint=issuer.token_endpoint) as action:
        async with hold_file_lock(refresh_lock_path(settings), timeout=lock_timeout) as waited:
            current, backend = load_credentials(settings)
            if current is None:
                raise NotLoggedIn("logged out while waiting to refresh; run `codex login`")
            # Changed while we waited: another process refreshed (or logged in again). Its tokens
            # are as fresh as the issuer makes them; refreshing again would only spend a rotation.
            changed_meanwhile = (
                current.auth_mode != "chatgpt"
                or current.tokens is None
                or (current.tokens.refresh_token != auth.tokens.refresh_token)
                or not issuer.issued(current.origin())
            )
            if changed_meanwhile:
                action.add_success_fields(refreshed=False, by_other_process=True, lock_wait=round(waited, 3))
                return RefreshResult(current, backend, refreshed=False, reason=reason, by_other_process=True)
            # Not changed_meanwhile: current holds auth's refresh token, checked non-empty above.
            assert current.tokens is not None and current.tokens.refresh_token
            try:
                # Shielded, connect to reply: once the request is out the issuer may rotate the refresh
                # token, and the new one lives only in this reply. A signal (status --check
                # cancelled) waits for it, at most exchange_timeout, so it is saved below, not lost.
                with trio.CancelScope(shield=True):
                    async with issuer_session(settings, issuer, transport=transport, identified=True) as client:
                        response = await client.refresh(current.tokens.refresh_token, reason)
            except IssuerError as exc:
                raise classify_failure(exc) from None
            new_auth = refreshed_auth(current, response)
            # Every writer takes this lock, so nothing can have changed during the request; but a
            # writer that does not (an older codex) may have logged out or in meanwhile. Saving now
            # would resurrect a logged-out login or overwrite the new one: keep what is stored.
            try:
                stored, stored_backend = load_credentials(settings)
            except StorageFailed:
                stored, stored_backend = None, backend
            if stored is not None and stored.to_json() == current.to_json():
                backend = save_credentials(
                    settings,
                    new_auth,
                    on_fallback=lambda reason: diagnostics.schema.KEYRING_FALLBACK.log(fallback="file", reason=reason),
                )
                action.add_success_fields(
                    refreshed=True,
                    rotated=new_auth.tokens.refresh_token != current.tokens.refresh_token,  # type: ignore[union-attr]
                    status=response.status,
                    backend=backend,
                    lock_wait=round(waited, 3),
                )
                return RefreshResult(new_auth, backend, refreshed=True, reason=reason)
        # Outside the lock: a rotated refresh token just issued is stored nowhere; end its grant (best
        # effort, bounded). An unrotated one is still the old grant's: leave that to whoever changed it.
        new_refresh = new_auth.tokens.refresh_token  # type: ignore[union-attr]
        orphaned = new_refresh != current.tokens.refresh_token and not (
            stored is not None and stored.tokens is not None and stored.tokens.refresh_token == new_refresh
        )
        action.add_success_fields(refreshed=True, saved=False, changed_meanwhile=True, revoking=orphaned, status=response.status)
        if orphaned:
            await revoke_tokens(settings, issuer, new_auth, transport=transport)
        if stored is None:
            raise NotLoggedIn(
                "the stored credentials were removed or replaced while the refresh was in flight; run `codex login`"
            )
        return RefreshResult(stored, stored_backend, refreshed=False, reason=reason, by_other_process=True)


__all__ = [
    "RefreshRejected",
    "RefreshResult",
    "RefreshUnreachable",
    "classify_failure",
    "refresh_credentials",
    "refresh_reason",
]
