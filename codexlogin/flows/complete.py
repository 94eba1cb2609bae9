"""One ending for every ChatGPT login (browser and device): token reply → policy → locked save.

Also the table of what an IssuerError means while signing in: the issuer rejected the exchange →
TokenExchangeFailed (exit 4); it could not be reached, or answered 5xx/429 → NetworkError (exit
10, as in `status --check`); the issuer's facts are in the log fields either way.

Every login saves through `save_replacing`: under $CODEX_HOME/auth.lock it reads what is stored,
keeps the fields of it that the auth.json model does not know (credentials.model), writes the new
login and hands back what it replaced. A ChatGPT login that replaced other ChatGPT tokens from the
same issuer and client (their provenance; none means the default issuer, as 0.171 reads it) then
revokes their refresh token (best effort, after the lock is released, bounded by REVOKE_TIMEOUT):
the superseded grant should not stay alive on the issuer. Tokens from another issuer are never
sent to this one.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from codexlogin import diagnostics, rfc3339
from codexlogin.config import Settings
from codexlogin.credentials.lock import hold_file_lock, lock_wait, refresh_lock_path
from codexlogin.credentials.model import CHATGPT, AuthDotJson, TokenData, expiry_from_expires_in
from codexlogin.credentials.policy import enforce_workspace
from codexlogin.credentials.store import load_credentials, save_credentials
from codexlogin.errors import LoginFailure, NetworkError, StorageFailed, TimedOut, TokenExchangeFailed
from codexlogin.flows.logout import revoke_bounded, token_to_revoke
from codexlogin.flows.ui import LoginUI
from codexlogin.oauth import jwt
from codexlogin.oauth.client import IssuerClient, TokenResponse
from codexlogin.oauth.errors import IssuerError, IssuerRejected, IssuerUnreachable
from codexlogin.oauth.issuer import Issuer

MIN_SAVE_WAIT = 2.0  # a code that arrives just before the deadline still gets this long for the lock


def exchange_failed(error: IssuerError) -> LoginFailure:
    """A sign-in request the issuer refused (exit 4), never answered or could not serve (exit 10)."""
    if isinstance(error, IssuerUnreachable):
        return NetworkError(error.summary, detail=error.detail, fields=error.log_fields())
    if isinstance(error, IssuerRejected) and (error.status >= 500 or error.status == 429):
        later = "; the issuer is unavailable, try again later"
        return NetworkError(
            error.summary + later, detail=error.detail + later, error_code=error.error_code, fields=error.log_fields()
        )
    return TokenExchangeFailed(error.summary, detail=error.detail, error_code=error.error_code, fields=error.log_fields())


def new_login_owner_id() -> str:
    """A random id for one login, 43 characters of base64url (as Codex CLI 0.171 writes)."""
    return secrets.token_urlsafe(32)


def chatgpt_auth(issuer: Issuer, token_response: TokenResponse, api_key: str | None) -> AuthDotJson:
    """The auth.json 0.171 writes for a ChatGPT login: the tokens, where they came from (`issuer`'s
    provenance), a new login owner id and `last_refresh` in nanoseconds."""
    return AuthDotJson(
        auth_mode=CHATGPT,
        openai_api_key=api_key,
        tokens=TokenData(
            id_token=token_response.id_token,
            access_token=token_response.access_token,
            refresh_token=token_response.refresh_token,
            account_id=jwt.account_id(token_response.id_token),
            oauth_provenance=issuer.provenance(),
            login_owner_id=new_login_owner_id(),
            access_token_expires_at=expiry_from_expires_in(token_response.expires_in, now=time.time()),
        ),
        last_refresh=rfc3339.now(),
    )


async def try_api_key_exchange(client: IssuerClient, id_token: str | None) -> str | None:
    """Optional, as in the reference CLI: a refusal (e.g. unsupported_grant_type) is recorded, not a failure.

    The action ends succeeded with `obtained: false` and the reason, so a successful login never
    shows a failed step (and an exit code it did not have) to whoever reads the log.
    """
    if not id_token:
        return None  # a plain OAuth server sends no id_token to exchange
    with diagnostics.schema.API_KEY_EXCHANGE(token_endpoint=client.issuer.token_endpoint) as action:
        try:
            api_key = await client.exchange_api_key(id_token)
        except IssuerError as error:
            fields = {k: v for k, v in error.log_fields().items() if k in ("error_code", "status", "kind")}
            action.add_success_fields(obtained=False, **fields)
            return None
        action.add_success_fields(obtained=True)
        return api_key


@dataclass(frozen=True, repr=False)
class SavedLogin:
    auth: AuthDotJson  # as stored: the new login plus the unknown fields kept from `replaced`
    backend: str  # "file" | "keyring"
    replaced: AuthDotJson | None  # what was stored before, read under the same lock hold

    def __repr__(self) -> str:
        return f"SavedLogin(backend={self.backend!r}, <credentials redacted>)"


async def save_replacing(settings: Settings, auth: AuthDotJson, ui: LoginUI, *, timeout: float | None = None) -> SavedLogin:
    """Save under $CODEX_HOME/auth.lock, as every writer does, so a refresh in flight can neither
    undo this login nor be undone by it half-way. Under the same hold, read what is stored: its
    unknown fields are kept, and it is returned (unreadable or corrupt: replaced, None)."""

    def keyring_fallback(reason: str) -> None:
        diagnostics.schema.KEYRING_FALLBACK.log(fallback="file", reason=reason)
        ui.warning(reason)

    timeout = lock_wait(settings) if timeout is None else timeout
    try:
        async with hold_file_lock(refresh_lock_path(settings), timeout=timeout):
            with diagnostics.schema.SAVE_CREDENTIALS(
                path=str(settings.auth_file), mode=settings.cli_auth_credentials_store
            ) as action:
                try:
                    previous, _ = load_credentials(settings)
                except StorageFailed:
                    previous = None  # nothing usable to keep; the save decides whether storage works
                stored = auth.keeping_unknown_fields_of(previous)
                backend = save_credentials(settings, stored, on_fallback=keyring_fallback)
                action.add_success_fields(backend=backend, auth_mode=stored.auth_mode)
                return SavedLogin(stored, backend, previous)
    except TimedOut as exc:
        raise StorageFailed(f"credentials not saved: {exc.summary}") from None


async def save_locked(settings: Settings, auth: AuthDotJson, ui: LoginUI, *, timeout: float | None = None) -> str:
    """`save_replacing`, for callers that need only the backend ("file" | "keyring")."""
    return (await save_replacing(settings, auth, ui, timeout=timeout)).backend


def superseded_login(issuer: Issuer, replaced: AuthDotJson | None, new: AuthDotJson) -> AuthDotJson | None:
    """The replaced ChatGPT login whose refresh token to revoke at `issuer`, or None: it must have
    one, differ from the new one, and come from this issuer and client (its provenance; none: the
    default issuer and client) — a token is never sent to an issuer that did not issue it."""
    if replaced is None or replaced.auth_mode != CHATGPT or replaced.tokens is None:
        return None
    old = replaced.tokens.refresh_token
    if not old or old == (new.tokens.refresh_token if new.tokens is not None else None):
        return None
    if not issuer.issued(replaced.origin()):
        return None
    return AuthDotJson(CHATGPT, tokens=TokenData(id_token=None, access_token="", refresh_token=old))


async def revoke_superseded(client: IssuerClient, replaced: AuthDotJson | None, new: AuthDotJson) -> None:
    """Best effort, bounded by REVOKE_TIMEOUT, over the login's own issuer client (the superseded
    tokens came from the same issuer and client): the outcome is in the log (codex:revoke), never
    in the login's exit code."""
    superseded = superseded_login(client.issuer, replaced, new)
    old = superseded.tokens.refresh_token if superseded is not None and superseded.tokens is not None else None
    if old:
        await revoke_bounded(client, old, "refresh_token")


def save_wait(settings: Settings, deadline: float | None) -> float:
    """How long the save may wait for auth.lock: the usual wait, but never past the login's own
    deadline (`--timeout`) by more than MIN_SAVE_WAIT: a lock another process holds must not make
    a `--timeout 10` login run a minute."""
    wait = lock_wait(settings)
    if deadline is None:
        return wait
    return min(wait, max(deadline - trio.current_time(), MIN_SAVE_WAIT))


async def revoke_unsaved(client: IssuerClient, token_response: TokenResponse) -> str:
    """Tokens were obtained but could not be stored: revoke them (best effort, within
    REVOKE_TIMEOUT) so no live grant exists that nobody holds. What happened, in words."""
    chosen = token_to_revoke(token_response.refresh_token, token_response.access_token)
    if chosen is None:
        return "no token to revoke"
    reason = await revoke_bounded(client, *chosen)
    if reason is None:
        return "the new tokens were revoked at the issuer"
    return f"the new tokens could not be revoked at the issuer ({reason}); they expire on their own"


def check_id_token_nonce(expected: str | None, id_token: str | None) -> None:
    """OIDC Core §3.1.3.7 (11): when this sign-in sent a nonce, the id_token must carry that very
    nonce; one without it, or with another, was issued for another request (replayed or mixed
    up). Unsigned claims, as everywhere here: the check catches a mix-up, the issuer's signature
    is not ours to verify."""
    if expected is None or not id_token:
        return
    claimed = jwt.jwt_claims(id_token).get("nonce")
    if claimed is None:
        raise TokenExchangeFailed(
            "sign-in refused: the id_token carries no nonce, but this sign-in sent one (a replayed or"
            " mixed-up response, OIDC Core §3.1.3.7); nothing was saved; run `codex login` again",
            error_code="nonce_missing",
        )
    if not isinstance(claimed, str) or not hmac.compare_digest(claimed.encode(), expected.encode()):
        raise TokenExchangeFailed(
            "sign-in refused: the id_token's nonce does not match this sign-in (a replayed or mixed-up"
            " response, OIDC Core §3.1.3.7); nothing was saved; run `codex login` again",
            error_code="nonce_mismatch",
        )


async def complete_chatgpt_login(
    settings: Settings,
    client: IssuerClient,
    token_response: TokenResponse,
    ui: LoginUI,
    *,
    api_key_exchange: bool = True,
    lock_timeout: float | None = None,
    expected_nonce: str | None = None,
    deferred: list[Callable[[], Awaitable[None]]] | None = None,
) -> tuple[AuthDotJson, str]:
    """The id_token's nonce (when this sign-in sent one), the workspace policy, then the optional
    API key (openai dialect only: no key is minted for a workspace the policy refuses), then the
    locked save, then the superseded refresh token's revocation: (credentials, backend). A save
    that fails revokes the tokens it could not keep. `lock_timeout`: how long the save may wait
    for auth.lock (the caller's, e.g. `save_wait` for a login with a --timeout; None: the usual). `deferred`: the revocation is appended there
    instead of awaited, for a caller that answers the user first (the browser's success page)."""
    check_id_token_nonce(expected_nonce, token_response.id_token)
    enforce_workspace(settings, chatgpt_auth(client.issuer, token_response, None))
    wanted = api_key_exchange and client.dialect.api_key_exchange
    api_key = await try_api_key_exchange(client, token_response.id_token) if wanted else None
    try:
        saved = await save_replacing(settings, chatgpt_auth(client.issuer, token_response, api_key), ui, timeout=lock_timeout)
    except StorageFailed as failure:
        revoked = await revoke_unsaved(client, token_response)
        raise type(failure)(
            f"{failure.summary}; {revoked}",
            detail=f"{failure.detail}; signed in, but nothing was saved: {revoked}. Fix the problem and run the login again",
            error_code=failure.error_code,
            fields={**failure.fields, "unsaved_tokens_revoked": revoked.startswith("the new tokens were revoked")},
        ) from None
    revoke = functools.partial(revoke_superseded, client, saved.replaced, saved.auth)
    if deferred is None:
        await revoke()
    else:
        deferred.append(revoke)
    return saved.auth, saved.backend
