"""The browser login's command body (`codex login` without a credential flag), free of cyclopts.

It checks the CA bundle, binds, listens, discovers the issuer (standard dialect, over http.client:
oauth.discovery_blocking) and prints the sign-in URL before trio, eliot, hypercorn or httpx load, so the user (or a script) has it sooner; a browser that is quicker waits in the
listen backlog until the server answers. cli/login.py (cyclopts) and cli/fast.py (the fast lane)
both call `browser_login`, so the two paths run the same code once the Settings are made.
"""

from __future__ import annotations

import contextlib
import sys

from codexlogin.cli.boundary import logged_run
from codexlogin.config import Settings
from codexlogin.errors import LoginFailure

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from typing import Any


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
    from codexlogin.cli.console import say_line

    say_line(line, sys.stderr)  # the email, plan and replaced name are the id_token's: one inert line


def browser_login(settings: Settings) -> int:
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.cli.signals import hold_early_signals, release_early_signals
    from codexlogin.credentials.policy import check_login_method
    from codexlogin.flows.ui import announce
    from codexlogin.listener.prepare import prepared_login, reserve_browser_login
    from codexlogin.oauth.issuer import configured_issuer

    check_login_method(settings, "chatgpt")  # before the port is touched: policy refuses early
    if settings.cli_auth_credentials_store == "keyring":  # the reservation checks the file store (stdlib only)
        from codexlogin.credentials.store import check_writable

        check_writable(settings)
    from codexlogin.cli.paste import echo_off, paste_accepted, terminal_lines

    accepts_paste = paste_accepted()
    ui = ConsoleUI(accepts_paste=accepts_paste)
    held = hold_early_signals()  # until the receiver around the flow runs, an ending signal is remembered
    terminal = contextlib.ExitStack()
    try:  # released on every way out, a failure before the run included
        if accepts_paste:
            terminal.enter_context(echo_off())  # from before the banner: a pasted code is never shown
        reservation: Any = None
        prepared: Any = None
        early_failure: LoginFailure | None = None
        looked_up: tuple[Any, Any, float] | None = None  # (issuer, Discovery, seconds): logged in the run
        try:
            reservation = reserve_browser_login(settings)
            issuer = configured_issuer(settings)
            if reservation.socks and issuer.wants_discovery:
                looked_up = _discover_before_url(issuer)  # None: a proxy is in force, the run discovers
            if reservation.socks and (looked_up is not None or not issuer.wants_discovery):
                # The port is ours and the issuer known: the URL now, before trio and httpx load.
                if looked_up is not None:
                    issuer = _concluded(ui, reservation, *looked_up)
                prepared = prepared_login(settings, reservation, issuer)
                announce(settings, ui, prepared)
            # Otherwise (a busy port to take over, discovery through a proxy) the run prepares, then shows the URL.
        except LoginFailure as failure:
            early_failure = failure  # raised inside the run, so it is logged
        before = stored_before(settings) if early_failure is None else None  # after the URL: costs it nothing
        with logged_run("login", "browser", settings):
            if looked_up is not None:  # the look-up before the URL, in the log as the run's own would be
                from codexlogin.flows.discover import log_discovery

                log_discovery(*looked_up)
            if early_failure is not None:
                raise early_failure
            from codexlogin.cli.signals import run_stoppable_flow
            from codexlogin.flows.browser import browser_login as browser_flow

            pasted = terminal_lines() if accepts_paste else None  # a pasted redirect address (flows.paste)
            if prepared is not None:
                auth = run_stoppable_flow(browser_flow, settings, ui, prepared, what="login", pasted=pasted)
            else:
                auth = run_stoppable_flow(_prepare_and_run, settings, ui, reservation, what="login", pasted=pasted)
    finally:
        terminal.close()  # the terminal's echo back
        if held:
            release_early_signals()
    # A keyring save removes auth.json, so the file's presence says which backend took them.
    backend = "file" if settings.auth_file.exists() else "keyring"
    print(saved_line(settings, backend), file=sys.stderr)
    say_who(settings, before, auth, backend, chatgpt=True)
    return 0


def _discover_before_url(issuer: Any) -> tuple[Any, Any, float] | None:
    """The standard dialect's discovery before trio (oauth.discovery_blocking): (issuer, what was
    found, seconds taken), or None when the run must discover (a proxy is in force)."""
    import time

    from codexlogin.oauth.discovery_blocking import fetch_discovery_blocking

    started = time.monotonic()
    found = fetch_discovery_blocking(issuer)
    return None if found is None else (issuer, found, time.monotonic() - started)


def _concluded(ui: Any, reservation: Any, issuer: Any, found: Any, _elapsed: float) -> Any:
    """The discovered issuer, as flows.discover.discover_for_login concludes inside a run: an
    issuer that cannot be reached ends the login before the URL (exit 10; its sockets closed), a
    discovery that failed otherwise is said before the URL."""
    from codexlogin.oauth.discovery import discovered, login_verdict

    failure, warning = login_verdict(issuer, found)
    if failure is not None:
        for sock in reservation.socks:
            sock.close()
        raise failure
    if warning is not None:
        ui.warning(warning)
    return discovered(issuer, found)


async def _prepare_and_run(settings: Settings, ui: Any, reservation: Any, *, stop: Any, pasted: Any = None) -> Any:
    """Inside the run: discovery and a port takeover (listener.prepare), then the URL, then the login."""
    from codexlogin.flows.browser import browser_login as browser_flow
    from codexlogin.flows.browser import prepare_login
    from codexlogin.flows.ui import announce

    prepared = await prepare_login(settings, reservation, ui=ui)
    announce(settings, ui, prepared)
    return await browser_flow(settings, ui, prepared, stop=stop, pasted=pasted)
