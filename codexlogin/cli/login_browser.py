"""The browser login's command body (`codex login` without a credential flag), free of cyclopts.

It checks the CA bundle, binds, listens and prints the sign-in URL before trio, eliot, hypercorn
or httpx load, so the user (or a script) has it sooner; a browser that is quicker waits in the
listen backlog until the server answers. cli/login.py (cyclopts) and cli/fast.py (the fast lane)
both call `browser_login`, so the two paths run the same code once the Settings are made.
"""

from __future__ import annotations

import sys
from typing import Any

from codexlogin.cli.boundary import logged_run
from codexlogin.config import Settings
from codexlogin.errors import LoginFailure


def saved_line(settings: Settings, backend: str, how: str = "") -> str:
    from codexlogin.credentials.store import describe_location

    return f"Successfully logged in{how}. Credentials saved to {describe_location(settings, backend)}"


def browser_login(settings: Settings) -> int:
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

        from codexlogin.flows.browser import browser_login as browser_flow

        trio.run(partial(browser_flow, settings, ui, prepared=prepared))
    # A keyring save removes auth.json, so the file's presence says which backend took them.
    print(saved_line(settings, "file" if settings.auth_file.exists() else "keyring"), file=sys.stderr)
    return 0
