"""`codex login`: the browser login (default), `--device-auth`, `--with-api-key` and `--with-access-token`.

The browser login checks the CA bundle, binds, listens and prints the sign-in URL before trio,
eliot, hypercorn or httpx load, so the user (or a script) has it ~0.1 s sooner; a browser that is
quicker waits in the listen backlog until the server answers.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

from cyclopts import Parameter

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.options import Flag, IssuerOptions
from codexlogin.config import Settings
from codexlogin.errors import LoginFailure, UsageError


@command
def login(
    *,
    port: int | None = None,
    no_browser: Annotated[bool | None, Parameter(negative=())] = None,
    timeout: float | None = None,
    with_api_key: Flag = False,
    with_access_token: Flag = False,
    device_auth: Flag = False,
    options: IssuerOptions = IssuerOptions(),
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
    settings = options.settings(port=port, no_browser=no_browser, timeout=timeout)
    if sum((with_api_key, with_access_token, device_auth)) > 1:
        raise UsageError(
            "Choose one login credential source: --with-api-key, --with-access-token or --device-auth"
            " (none of them: the browser login)"
        )
    if with_api_key:
        return _api_key_login(settings)
    if with_access_token:
        return _access_token_login(settings)
    from codexlogin.listener.prepare import release_early_signals

    try:  # the browser and device logins hold ending signals until their receiver runs
        return _device_login(settings) if device_auth else _browser_login(settings)
    finally:
        release_early_signals()


def _saved_line(settings: Settings, backend: str, how: str = "") -> str:
    from codexlogin.credentials.store import describe_location

    return f"Successfully logged in{how}. Credentials saved to {describe_location(settings, backend)}"


def _browser_login(settings: Settings) -> int:
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.credentials.policy import check_login_method
    from codexlogin.listener.prepare import hold_early_sigterm, prepare_browser_login, sign_in_url

    check_login_method(settings, "chatgpt")  # before the port is touched: policy refuses early
    ui = ConsoleUI()
    hold_early_sigterm()
    prepared: Any = None
    early_failure: LoginFailure | None = None
    try:
        prepared = prepare_browser_login(settings)
        if prepared.sock is not None:
            ui.sign_in_url(sign_in_url(settings, prepared), prepared.port, opening_browser=not settings.no_browser)
            prepared.announced = True
    except LoginFailure as failure:
        early_failure = failure  # raised inside the run, so it is logged
    with logged_run("login", "browser", settings):
        if early_failure is not None:
            raise early_failure
        from functools import partial

        import trio

        from codexlogin.flows.browser import browser_login

        trio.run(partial(browser_login, settings, ui, prepared=prepared))
    # A keyring save removes auth.json, so the file's presence says which backend took them.
    print(_saved_line(settings, "file" if settings.auth_file.exists() else "keyring"), file=sys.stderr)
    return 0


def _device_login(settings: Settings) -> int:
    from functools import partial

    import trio

    from codexlogin.cli.console import ConsoleUI
    from codexlogin.flows.device import device_login
    from codexlogin.listener.prepare import hold_early_signals

    hold_early_signals()
    with logged_run("login", "device", settings):
        _auth, backend = trio.run(partial(device_login, settings, ConsoleUI()))
    print(_saved_line(settings, backend), file=sys.stderr, flush=True)
    return 0


def _api_key_login(settings: Settings) -> int:
    from functools import partial

    import trio

    from codexlogin.cli.console import ConsoleUI
    from codexlogin.credentials.status import mask_api_key
    from codexlogin.flows.apikey import api_key_login

    with logged_run("login", "api_key", settings):
        auth, backend = trio.run(partial(api_key_login, settings, sys.stdin, ConsoleUI()))
    print(_saved_line(settings, backend, f" using an API key - {mask_api_key(auth.openai_api_key)}"), file=sys.stderr, flush=True)
    return 0


def _access_token_login(settings: Settings) -> int:
    from functools import partial

    import trio

    from codexlogin.cli.console import ConsoleUI
    from codexlogin.credentials.status import mask_api_key
    from codexlogin.flows.access_token import access_token_login

    with logged_run("login", "access_token", settings):
        auth, backend, _account = trio.run(partial(access_token_login, settings, sys.stdin, ConsoleUI()))
    masked = mask_api_key(auth.personal_access_token)
    print(_saved_line(settings, backend, f" using a personal access token - {masked}"), file=sys.stderr, flush=True)
    return 0
