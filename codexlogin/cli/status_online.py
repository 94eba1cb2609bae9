"""Plain `codex login status` with a personal access token: asked online, as Codex CLI 0.171 does.

0.171 asks whoami each time it shows a personal access token's status, so a revoked token shows.
We do the same, bounded by WHOAMI_BOUND seconds, at the token's own issuer (never another one a
setting names): the issuer accepts it (the account it names is shown and checked against
forced_chatgpt_workspace_id), rejects it (unusable, exit 8), or cannot be reached in time — then
the offline answer stands, with a warning (0.171 fails with exit 1 there). Used by both the fast
lane and cli/status.py; trio and httpx are imported only for a stored personal access token.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from codexlogin.credentials.model import PERSONAL_ACCESS_TOKEN

if TYPE_CHECKING:
    from codexlogin.config import Settings
    from codexlogin.credentials.status import StatusReport

#: Seconds the plain status waits for whoami before it answers offline.
WHOAMI_BOUND = 5.0


def check_access_token_online(settings: Settings, report: StatusReport) -> str | None:
    """Update `report` from whoami when it shows a usable personal access token; the warning to
    print when the issuer could not say (None: asked and answered, or nothing to ask)."""
    if report.mode != PERSONAL_ACCESS_TOKEN or report.exit_code != 0:
        return None
    import trio

    from codexlogin.credentials.policy import workspace_problem
    from codexlogin.credentials.store import load_credentials
    from codexlogin.errors import ExitCode, LoginFailure
    from codexlogin.flows.access_token import PIPE_HINT, AccessTokenRejected, check_stored_access_token

    bounded = replace(settings, exchange_timeout=min(settings.exchange_timeout, WHOAMI_BOUND))
    try:
        auth, _backend = load_credentials(settings)
        if auth is None or auth.auth_mode != PERSONAL_ACCESS_TOKEN:
            return None  # replaced since it was read: the report stands as read
        account = trio.run(check_stored_access_token, bounded, auth)
    except AccessTokenRejected as failure:
        report.status, report.exit_code = "unusable", int(ExitCode.CREDENTIALS_UNUSABLE)
        report.problem = failure.summary.partition("; ")[0]
        return None
    except LoginFailure as failure:
        why = failure.summary.removeprefix("checking the personal access token failed: ")
        return f"could not check the personal access token online ({why}); showing it as stored"
    report.email, report.plan, report.account_id = account.email, account.plan, account.account_id
    problem = workspace_problem(settings, account.account_id, again=PIPE_HINT)
    if problem is not None:
        report.status, report.exit_code, report.problem = "policy_violation", int(ExitCode.POLICY_VIOLATION), problem
    return None
