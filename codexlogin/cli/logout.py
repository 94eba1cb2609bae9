"""`codex logout`: remove the stored credentials, then revoke them at the issuer (flows.logout)."""

from __future__ import annotations

import sys
from pathlib import Path

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.options import Flag, IssuerOptions


@command
def logout(
    *,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Log out: remove the stored credentials, then revoke their tokens at the issuer (best effort).

    The refresh token is revoked (RFC 7009), or the access token when there is no refresh token,
    with a 5-second bound; if that fails a warning is printed (the credentials are removed
    regardless). Waits for a token refresh another codex process has in flight. Prints "Not logged
    in" and exits 0 when nothing was stored. Exit 7 when the stored credentials cannot be removed.
    """
    from codexlogin.credentials.store import credentials_present

    settings = options.settings()
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
