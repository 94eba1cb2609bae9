"""`codex logout`: remove the stored credentials, then revoke them at the issuer (flows.logout)."""

from __future__ import annotations

import sys

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.options import IssuerOptions


@command
def logout(
    *,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Log out: remove the stored credentials, then revoke their tokens at the issuer (best effort).

    The refresh token is revoked (RFC 7009), or the access token when there is no refresh token,
    at the issuer that issued them (whatever --issuer says; a different one is named in a note),
    with a 5-second bound; if that fails a warning is printed (the credentials are removed
    regardless). Waits for a token refresh another codex process has in flight. Prints, on stderr
    as Codex CLI 0.171 does, "Successfully logged out: removed the login of alice@example.com" (who
    it was), or "Not logged in — nothing to remove" and exits 0 when nothing was stored. Exit 7 when the stored credentials cannot be removed.
    """
    from codexlogin.credentials.store import credentials_present

    settings = options.settings()
    if not credentials_present(settings):
        print(NOTHING_STORED, file=sys.stderr, flush=True)
        return 0
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.cli.signals import run_flow
    from codexlogin.credentials.status import read_status
    from codexlogin.flows.logout import logout_flow

    stored = read_status(settings)  # who, for the last line: read before it is removed
    what = stored.stored_login()
    with logged_run("logout", "logout", settings, issuer=stored.issuer):  # revoked at the credential's issuer
        result = run_flow(logout_flow, settings, what="logout")
    if result.warning:
        ConsoleUI().warning(result.warning)
    if result.note:
        ConsoleUI().warning(result.note)
    from codexlogin.cli.console import say_line

    # 0.171's stream (stderr); one terminal-safe line: `what` holds the id_token's email
    say_line(logged_out_line(what) if result.removed else NOTHING_STORED, sys.stderr)
    return 0


NOTHING_STORED = "Not logged in — nothing to remove"


SUCCESSFULLY_LOGGED_OUT = "Successfully logged out"  # Codex CLI 0.171's words, then ours


def logged_out_line(what: str | None) -> str:
    """ "Successfully logged out: removed the login of alice@example.com"; "…: removed the API key
    sk-proj-***abcde"; "Successfully logged out" when what was stored is not known."""
    return f"{SUCCESSFULLY_LOGGED_OUT}: removed {what}" if what else SUCCESSFULLY_LOGGED_OUT
