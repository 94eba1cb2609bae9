"""`codex logout`: remove the stored credentials, then revoke them at the issuer (best effort).

Revocation follows RFC 7009 at {issuer}/oauth/revoke: the refresh token when there is one
(revoking it ends the whole grant), else the access token; bounded by REVOKE_TIMEOUT seconds. A
failed revocation is logged and reported as one `warning:` line, and the local removal happens
anyway — a user who logs out must end up logged out. API keys are not OAuth tokens and are only
removed locally. Nothing stored → "Not logged in", exit 0. Reading and removing happen under
$CODEX_HOME/auth.lock, so a refresh in flight cannot write the tokens back (see logout_flow).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, TextIO

from cyclopts import Parameter

from codexlogin.errors import LoginFailure, StorageFailed

REVOKE_TIMEOUT = 5.0


@dataclass(frozen=True)
class LogoutResult:
    removed: bool  # anything was stored and is now gone
    revoked: bool | None  # None: nothing to revoke (API key, or nothing stored)
    warning: str | None = None


async def revoke_tokens(settings: Any, auth: Any, *, http: Any = None) -> tuple[bool | None, str | None]:
    """(revoked, warning). Never raises a LoginFailure: revocation is best effort."""
    from codexlogin import diagnostics
    from codexlogin.oauth.client import IssuerClient, make_http_client

    token_data = auth.tokens if auth is not None and auth.auth_mode == "chatgpt" else None
    if token_data is None:
        return None, None
    if token_data.refresh_token:
        token, hint = token_data.refresh_token, "refresh_token"
    elif token_data.access_token:
        token, hint = token_data.access_token, "access_token"
    else:
        return None, None
    bounded = replace(settings, exchange_timeout=min(settings.exchange_timeout, REVOKE_TIMEOUT))
    owned_http = http is None
    client = http or make_http_client(bounded)
    try:
        try:
            with diagnostics.named_action("codex:revoke", revoke_endpoint=settings.revoke_endpoint, token_type_hint=hint) as action:
                status = await IssuerClient(bounded, client).revoke(token, hint)
                action.add_success_fields(status=status)
        except LoginFailure as failure:
            return False, f"could not revoke the {hint.replace('_', ' ')} at the issuer ({failure.summary}); local credentials were removed anyway"
        return True, None
    finally:
        if owned_http:
            await client.aclose()


async def logout_flow(settings: Any, *, http: Any = None, lock_timeout: float | None = None) -> LogoutResult:
    """Remove from every backend under the credentials lock, then revoke what was removed (best effort).

    Under $CODEX_HOME/auth.lock (the lock a refresh holds across its network call) the current
    credentials are read and deleted; the lock is released before revocation (network, up to
    REVOKE_TIMEOUT), so a hanging issuer never keeps other codex processes waiting. A refresh in
    flight therefore finishes first and logout removes and revokes the tokens it rotated; a refresh
    that starts later finds nothing stored. StorageFailed if removal fails (what was read is still
    revoked: the user asked to end the login).
    """
    from codexlogin.credentials.store import delete_credentials, load_credentials
    from codexlogin.credentials.lock import hold_file_lock, lock_wait, refresh_lock_path
    from codexlogin.errors import TimedOut

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
    revoked, warning = await revoke_tokens(settings, auth, http=http)
    if removal_failure is not None:
        raise removal_failure
    return LogoutResult(removed=removed or auth is not None, revoked=revoked, warning=warning)


def run_logout(settings: Any, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from codexlogin.cli import report_failure, run_flow
    from codexlogin.credentials.store import credentials_present

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        present = credentials_present(settings)
    except LoginFailure as failure:
        return report_failure(failure, stderr)
    if not present:
        print("Not logged in", file=stdout, flush=True)
        return 0

    def body() -> LogoutResult:
        import trio

        return trio.run(logout_flow, settings)

    def success(result: LogoutResult) -> None:
        if result.warning:
            print(f"warning: {result.warning}", file=stderr, flush=True)
        print("Successfully logged out" if result.removed else "Not logged in", file=stdout, flush=True)

    return run_flow("logout", "logout", settings, body, success=success)


def logout(
    *,
    issuer: str | None = None,
    client_id: str | None = None,
    log_dir: Path | None = None,
    config: Annotated[tuple[str, ...], Parameter(name=["--config", "-c"], negative=(), show_default=False, consume_multiple=False)] = (),
) -> int:
    """Log out: remove the stored credentials, then revoke their tokens at the issuer (best effort).

    The refresh token is revoked (RFC 7009), or the access token when there is no refresh token,
    with a 5-second bound; if that fails a warning is printed (the credentials are removed
    regardless). Waits for a token refresh another codex process has in flight. Prints "Not logged
    in" and exits 0 when nothing was stored. Exit 7 when the stored credentials cannot be removed.

    Parameters
    ----------
    issuer
        OAuth issuer base URL [env: CODEX_LOGIN_ISSUER].
    client_id
        OAuth client id [env: CODEX_LOGIN_CLIENT_ID].
    log_dir
        Directory for codex-login.log [env: CODEX_LOGIN_LOG_DIR] (default $CODEX_HOME/log).
    config
        Override a setting as key=value (repeatable), e.g. -c cli_auth_credentials_store=keyring.
    """
    from codexlogin.config import load_settings

    try:
        settings = load_settings({"issuer": issuer, "client_id": client_id, "log_dir": log_dir}, config)
    except LoginFailure as failure:
        from codexlogin.cli import report_failure

        return report_failure(failure)
    return run_logout(settings)
