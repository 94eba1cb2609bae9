"""`codex login`: the browser login (default), `--device-auth`, `--with-api-key` and `--with-access-token`.

The browser login itself lives in cli/login_browser.py, which imports no cyclopts: the fast lane
(cli/fast.py) runs it for the plain `codex login [--no-browser] …` shapes.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated

from cyclopts import Parameter

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.login_browser import browser_login, saved_line, say_who, stored_before
from codexlogin.cli.options import Flag, IssuerOptions
from codexlogin.config import Settings
from codexlogin.errors import RemovedFlag, UsageError


@command
def login(  # the fast lane's copy of the hot flags: cli/flags.py (tests/test_fast_lane.py compares)
    *,
    port: int | None = None,
    no_browser: Annotated[bool | None, Parameter(negative=())] = None,
    timeout: float | None = None,
    with_api_key: Flag = False,
    with_access_token: Flag = False,
    device_auth: Flag = False,
    options: IssuerOptions = IssuerOptions(),
    api_key: Annotated[str | None, Parameter(show=False)] = None,
    experimental_issuer: Annotated[str | None, Parameter(name="--experimental_issuer", show=False)] = None,
) -> int:
    """Sign in with your ChatGPT account in a browser (OAuth 2.0 authorization code + PKCE).

    Starts a one-shot listener on 127.0.0.1, prints the sign-in URL, opens a browser and waits for
    the issuer to redirect back. Credentials are saved to $CODEX_HOME/auth.json (mode 0600) and
    the run is recorded, scrubbed of secrets, in codex-login.log under the log directory.

    Parameters
    ----------
    port
        Loopback callback port, 0 for any free port [env: CODEX_LOGIN_PORT] (default 1455).
    no_browser
        Print the URL only; do not open a browser [env: CODEX_LOGIN_NO_BROWSER].
    timeout
        Seconds to wait for the browser sign-in, 0 for no limit [env: CODEX_LOGIN_TIMEOUT] (default 600).
    with_api_key
        Read an API key from stdin and store it, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.
    with_access_token
        Read a personal access token (at-…) from stdin, check it at the issuer and store it, e.g.
        `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token`.
    device_auth
        Sign in with a one-time device code (RFC 8628) instead of a browser redirect; for remote/headless machines.
    """
    if api_key is not None:  # never echoed: it is a secret on the command line
        raise RemovedFlag(API_KEY_FLAG_REMOVED)
    settings = options.settings(
        port=port, no_browser=no_browser, timeout=timeout, **_experimental_issuer(options, experimental_issuer)
    )
    if experimental_issuer is not None and settings.source_of("dialect") is None:
        # 0.171's flag, so 0.171's protocol: the issuer it names speaks the openai dialect.
        settings = replace(settings, dialect="openai")
    if sum((with_api_key, with_access_token, device_auth)) > 1:
        raise UsageError(
            "Choose one login credential source: --with-api-key, --with-access-token or --device-auth"
            " (none of them: the browser login)"
        )
    if with_api_key:
        return _api_key_login(settings)
    if with_access_token:
        return _access_token_login(settings)
    if device_auth:
        return _device_login(settings)
    return browser_login(settings)


#: Codex CLI 0.171's words for its removed flag (exit 1).
API_KEY_FLAG_REMOVED = "The --api-key flag is no longer supported. Pipe the key instead, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`."


def _experimental_issuer(options: IssuerOptions, url: str | None) -> dict[str, str]:
    """`--experimental_issuer URL`: Codex CLI 0.171's hidden name for the issuer setting."""
    if url is None:
        return {}
    if options.issuer is not None and options.issuer != url:
        raise UsageError("--issuer and --experimental_issuer name different issuers; give one of them")
    return {"issuer": url}


def _device_login(settings: Settings) -> int:
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.cli.signals import hold_early_signals, release_early_signals, run_flow
    from codexlogin.flows.device import device_login

    before = stored_before(settings)
    held = hold_early_signals()  # until the receiver around the flow runs, an ending signal is remembered
    try:
        with logged_run("login", "device", settings):
            auth, backend = run_flow(device_login, settings, ConsoleUI(), what="login")
    finally:
        if held:
            release_early_signals()
    print(saved_line(settings, backend), file=sys.stderr, flush=True)
    say_who(settings, before, auth, backend, chatgpt=True)
    return 0


def _api_key_login(settings: Settings) -> int:
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.cli.signals import run_flow
    from codexlogin.credentials.status import API_KEY_CHECKED, mask_api_key
    from codexlogin.credentials.store import describe_location
    from codexlogin.flows.apikey import api_key_login

    before = stored_before(settings)
    with logged_run("login", "api_key", settings):
        auth, backend = run_flow(api_key_login, settings, sys.stdin, ConsoleUI(), what="login")
    # Codex CLI 0.171's words (nothing checks the key until it is used), then where it went.
    print(f"API key saved. {API_KEY_CHECKED}", file=sys.stderr, flush=True)
    where = describe_location(settings, backend)
    print(f"Credentials saved to {where} (API key {mask_api_key(auth.openai_api_key)})", file=sys.stderr, flush=True)
    say_who(settings, before, auth, backend, chatgpt=False)
    return 0


def _access_token_login(settings: Settings) -> int:
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.cli.signals import run_flow
    from codexlogin.credentials.status import mask_api_key
    from codexlogin.flows.access_token import access_token_login

    before = stored_before(settings)
    with logged_run("login", "access_token", settings):
        auth, backend, account = run_flow(access_token_login, settings, sys.stdin, ConsoleUI(), what="login")
    masked = mask_api_key(auth.personal_access_token)
    print(saved_line(settings, backend, f" using a personal access token - {masked}"), file=sys.stderr, flush=True)
    say_who(settings, before, auth, backend, chatgpt=False, account=account)
    return 0
