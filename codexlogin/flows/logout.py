"""`codex logout`: remove the stored credentials, then revoke them at the issuer (best effort).

Revocation follows RFC 7009 at the revocation endpoint of the issuer that issued the tokens (their
provenance, oauth.issuer; a setting naming another issuer changes nothing but a note saying where
they went): the refresh token when there is one
(revoking it ends the whole grant), else the access token; bounded by REVOKE_TIMEOUT seconds. A
failed revocation is logged and reported as one `warning:` line, and the local removal happens
anyway — a user who logs out must end up logged out. API keys are not OAuth tokens and are only
removed locally. Nothing stored → "Not logged in", exit 0. Reading and removing happen under
$CODEX_HOME/auth.lock, so a refresh in flight cannot write the tokens back (see logout_flow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.credentials.lock import hold_file_lock, lock_wait, refresh_lock_path
from codexlogin.credentials.model import AuthDotJson
from codexlogin.credentials.store import delete_credentials, load_credentials
from codexlogin.errors import CredentialsUnusable, StorageFailed, TimedOut
from codexlogin.flows.discover import discover_stored
from codexlogin.oauth.client import IssuerClient, issuer_session
from codexlogin.oauth.errors import IssuerError
from codexlogin.oauth.issuer import Issuer, describe, issuer_conflict

if TYPE_CHECKING:
    import httpx

REVOKE_TIMEOUT = 5.0


@dataclass(frozen=True)
class LogoutResult:
    removed: bool  # anything was stored and is now gone
    revoked: bool | None  # None: nothing to revoke (API key, or nothing stored)
    warning: str | None = None
    note: str | None = None  # where the tokens were revoked, when a setting names another issuer


def token_to_revoke(refresh_token: str | None, access_token: str | None) -> tuple[str, str] | None:
    """(token, token_type_hint): the refresh token when there is one (revoking it ends the whole
    grant, RFC 7009 §2.1), else the access token; None when there is neither."""
    if refresh_token:
        return refresh_token, "refresh_token"
    if access_token:
        return access_token, "access_token"
    return None


async def revoke_bounded(client: IssuerClient, token: str, hint: str) -> str | None:
    """Revoke one token within REVOKE_TIMEOUT, logged: None when the issuer took it, else why not
    (the issuer's words, or the timeout). Never raises for the issuer: revocation is best effort."""
    try:
        with (
            diagnostics.schema.REVOKE(revoke_endpoint=client.issuer.revoke_endpoint, token_type_hint=hint) as action,
            trio.fail_after(REVOKE_TIMEOUT),
        ):
            status = await client.revoke(token, hint)
            action.add_success_fields(status=status)
    except IssuerError as error:
        return error.summary
    except trio.TooSlowError:
        return f"timeout: no reply within {REVOKE_TIMEOUT:g}s"
    return None


async def revoke_tokens(
    settings: Settings, issuer: Issuer, auth: AuthDotJson | None, *, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[bool | None, str | None]:
    """(revoked, warning), within REVOKE_TIMEOUT, at `issuer` (the one that issued `auth`'s tokens).
    Never raises for the issuer: revocation is best effort."""
    token_data = auth.tokens if auth is not None and auth.auth_mode == "chatgpt" else None
    chosen = token_to_revoke(token_data.refresh_token, token_data.access_token) if token_data is not None else None
    if chosen is None:
        return None, None
    token, hint = chosen
    try:
        async with issuer_session(settings, issuer, transport=transport, identified=True) as client:
            reason = await revoke_bounded(client, token, hint)
    except IssuerError as error:  # e.g. while the client is made: still best effort
        reason = error.summary
    if reason is None:
        return True, None
    return False, f"could not revoke the {hint.replace('_', ' ')} at the issuer ({reason}); local credentials were removed anyway"


async def logout_flow(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None, lock_timeout: float | None = None
) -> LogoutResult:
    """Remove from every backend under the credentials lock, then revoke what was removed (best effort).

    Under $CODEX_HOME/auth.lock (the lock a refresh holds across its network call) the current
    credentials are read and deleted; the lock is released before revocation (network, up to
    REVOKE_TIMEOUT), so a hanging issuer never keeps other codex processes waiting. A refresh in
    flight therefore finishes first and logout removes and revokes the tokens it rotated; a refresh
    that starts later finds nothing stored. StorageFailed if removal fails (what was read is still
    revoked: the user asked to end the login).
    """
    timeout = lock_wait(settings) if lock_timeout is None else lock_timeout
    removal_failure: StorageFailed | None = None
    try:
        async with hold_file_lock(refresh_lock_path(settings), timeout=timeout):
            try:
                auth, _backend = load_credentials(settings)
            except StorageFailed:
                auth = None  # unreadable or corrupt: nothing to revoke, but still remove it
            try:
                removed = delete_credentials(settings)
            except StorageFailed as failure:
                removal_failure, removed = failure, False
    except TimedOut as exc:
        raise StorageFailed(f"credentials not removed: {exc.summary}") from None
    revoked, warning, note = None, None, None
    if auth is not None and auth.auth_mode == "chatgpt":
        try:  # the credential's own issuer (standard dialect: its revocation endpoint, discovered, bounded)
            issuer = await discover_stored(settings, auth, doing=None, transport=transport)
        except CredentialsUnusable as failure:  # a provenance naming no usable issuer: removed, not revoked
            warning = f"the tokens were not revoked ({failure.summary.partition('; ')[0]}); local credentials were removed anyway"
        else:
            revoked, warning = await revoke_tokens(settings, issuer, auth, transport=transport)
            conflict = issuer_conflict(settings, issuer)
            if conflict is not None:  # said, so nobody believes the setting's issuer was asked
                done = "Revoked" if revoked else "Revocation was tried"
                note = f"{done} at {describe(issuer)}: {conflict} (stored tokens go only to the issuer that issued them)"
    if removal_failure is not None:
        raise removal_failure
    return LogoutResult(removed=removed or auth is not None, revoked=revoked, warning=warning, note=note)
