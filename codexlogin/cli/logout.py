"""`codex logout`: remove the stored credentials, then revoke them at the issuer (flows.logout)."""

from __future__ import annotations

import sys
from pathlib import Path

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.login import Config
from codexlogin.config import load_settings


@command
def logout(
    *,
    issuer: str | None = None,
    client_id: str | None = None,
    log_dir: Path | None = None,
    config: Config = (),
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
    from codexlogin.credentials.store import credentials_present

    settings = load_settings({"issuer": issuer, "client_id": client_id, "log_dir": log_dir}, config)
    if not credentials_present(settings):
        print("Not logged in", flush=True)
        return 0
    import trio

    from codexlogin.cli.console import ConsoleUI
    from codexlogin.flows.logout import logout_flow

    with logged_run("logout", "logout", settings):
        result = trio.run(logout_flow, settings)
    if result.warning:
        ConsoleUI().warning(result.warning)
    print("Successfully logged out" if result.removed else "Not logged in", flush=True)
    return 0
