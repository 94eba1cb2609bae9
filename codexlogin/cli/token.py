"""`codex login token [--json]`: print the stored access token for scripts (flows.token).

`curl -H "Authorization: Bearer $(codex login token)" …`: the access token alone on stdout (never
the refresh or id token), refreshed first under auth.lock when it is due. Every run is logged like
any command (the token itself never: it is one of the run's secrets); the token is printed after
the run has ended.
"""

from __future__ import annotations

import json
from typing import Annotated

from cyclopts import Parameter

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.options import IssuerOptions


@command
def token(
    *,
    json_: Annotated[bool, Parameter(name="--json", negative=())] = False,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Print the stored access token for scripts (refreshed first when it is due).

    For scripts such as curl -H "Authorization: Bearer $(codex login token)". Prints only the
    access token (a stored personal access token is one too; an API key is not). Exit codes: 0 printed, 1 not
    logged in, 7 credential store unreadable, 8 stored credentials unusable (or the refresh was
    refused), 9 the stored login breaks forced_login_method / forced_chatgpt_workspace_id, 10 a
    needed refresh cannot reach the issuer, 2 a setting names another issuer than the stored
    login's (its token is not handed out for it).

    Parameters
    ----------
    json_
        Print one JSON object instead: {access_token, expires_at, account_id, issuer}.
    """
    from codexlogin.cli.signals import run_flow
    from codexlogin.credentials.status import read_status
    from codexlogin.flows.token import current_access_token

    settings = options.settings()
    stored = read_status(settings)  # the credential's issuer, for the run's root action
    with logged_run("login token", "token", settings, issuer=stored.issuer):
        result = run_flow(current_access_token, settings, what="token")
    print(json.dumps(result.to_json()) if json_ else result.access_token, flush=True)
    return 0
