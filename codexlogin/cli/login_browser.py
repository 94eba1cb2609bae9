"""The browser login's command body (`codex login` without a credential flag), free of cyclopts.

It checks the CA bundle, binds, listens and prints the sign-in URL before trio, eliot, hypercorn
or httpx load, so the user (or a script) has it sooner; a browser that is quicker waits in the
listen backlog until the server answers. cli/login.py (cyclopts) and cli/fast.py (the fast lane)
both call `browser_login`, so the two paths run the same code once the Settings are made.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from codexlogin.cli.boundary import logged_run
from codexlogin.config import Settings
from codexlogin.errors import LoginFailure


def saved_line(settings: Settings, backend: str, how: str = "") -> str:
    from codexlogin.credentials.store import describe_location

    return f"Successfully logged in{how}. Credentials saved to {describe_location(settings, backend)}"


def stored_before(settings: Settings) -> Any:
    """What is stored before this login (a StatusReport), to say when the login replaces another account's."""
    from codexlogin.credentials.status import read_status

    try:
        return read_status(settings)
    except Exception:  # only for a message: never a reason for the login to fail
        return None


def say_who(settings: Settings, before: Any, auth: Any, backend: str, *, chatgpt: bool, account: Any = None) -> None:
    """ "Logged in as alice@example.com (plus)" after a ChatGPT login (or a personal access token
    whose `account` the issuer named), and whose login it replaced."""
    from codexlogin.credentials.status import evaluate, replaced_note, who

    after = evaluate(settings, auth, backend)
    if account is not None:
        after.email, after.plan = account.email, account.plan
    note = replaced_note(before, after) if before is not None else None
    name = who(after.email, after.plan) if chatgpt or account is not None else None
    if name:
        line = f"Logged in as {name}" + (f"; {note}" if note else "")
    elif note:
        line = note[0].upper() + note[1:]
    else:
        return
    print(line, file=sys.stderr, flush=True)


def browser_login(settings: Settings) -> int:
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.cli.signals import hold_early_signals, release_early_signals
    from codexlogin.credentials.policy import check_login_method
    from codexlogin.listener.decide import start_url
    from codexlogin.listener.prepare import prepare_browser_login, sign_in_url
    from codexlogin.oauth.discovery import fetch_discovery_blocking
    from codexlogin.oauth.proxy import proxy_variable_names

    check_login_method(settings, "chatgpt")  # before the port is touched: policy refuses early
    if settings.cli_auth_credentials_store == "keyring":  # prepare checks the file store (stdlib only)
        from codexlogin.credentials.store import check_writable

        check_writable(settings)
    ui = ConsoleUI()
    held = hold_early_signals()  # until the receiver around the flow runs, an ending signal is remembered
    try:  # released on every way out, a failure before the run included
        prepared: Any = None
        early_failure: LoginFailure | None = None
        found: Any = None  # this run's discovery (standard dialect), logged once the log is open
        try:
            prepared = prepare_browser_login(settings)
            if prepared.sock is not None and prepared.issuer.wants_discovery and not proxy_variable_names(os.environ):
                # The port is held; discovery (bounded) before the URL, still without trio or httpx.
                started = time.monotonic()
                found = (prepared.issuer, fetch_discovery_blocking(prepared.issuer, prepared.verify), time.monotonic() - started)
                prepared.issuer = prepared.issuer.with_discovery(found[1].metadata if found[1].found else ())
            # Otherwise (a proxy set, or the port busy) the flow reads discovery and prints the URL.
            if prepared.sock is not None and not prepared.issuer.wants_discovery:
                short_url = start_url(prepared.port, prepared.state)
                ui.sign_in_url(sign_in_url(settings, prepared), prepared.port, opening_browser=not settings.no_browser, short_url=short_url)
                prepared.announced = True
        except LoginFailure as failure:
            early_failure = failure  # raised inside the run, so it is logged
        before = stored_before(settings) if early_failure is None else None  # after the URL: costs it nothing
        with logged_run("login", "browser", settings):
            if found is not None:
                from codexlogin.flows.discover import log_discovery

                log_discovery(*found)
            if early_failure is not None:
                raise early_failure
            from codexlogin.cli.signals import run_stoppable_flow
            from codexlogin.flows.browser import browser_login as browser_flow

            auth = run_stoppable_flow(browser_flow, settings, ui, prepared=prepared, what="login")
    finally:
        if held:
            release_early_signals()
    # A keyring save removes auth.json, so the file's presence says which backend took them.
    backend = "file" if settings.auth_file.exists() else "keyring"
    print(saved_line(settings, backend), file=sys.stderr)
    say_who(settings, before, auth, backend, chatgpt=True)
    return 0
