"""The pasted redirect beside the listener (issue 23): both run, whichever arrives first wins, and
the other is answered as the listener answers a late callback. In-process, the flow fed by a memory
channel of pasted lines (the CLI's terminal reader stands behind it), against the dev issuer over
real HTTP."""

from __future__ import annotations

import httpx
import trio
from harness import WatchedText, make_settings, to_loopback_ip

from codexlogin import diagnostics
from codexlogin.cli.console import ConsoleUI
from codexlogin.errors import LoginFailure
from codexlogin.flows.browser import browser_login, prepare_login
from codexlogin.flows.ui import announce


async def redirect_of(sign_in_url: str) -> str:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        answer = await client.get(sign_in_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def run_with_paste(settings, user):
    """Run the browser login with a pasted-lines source; `user(sign_in_url, paste)` plays the person."""
    send, receive = trio.open_memory_channel[str](10)
    stderr = WatchedText()
    ui = ConsoleUI(stderr, accepts_paste=True)

    async def lines():
        async for line in receive:
            yield line

    with diagnostics.open_log(settings.resolved_log_dir), diagnostics.command_action("login", "browser"):
        prepared = await prepare_login(settings, ui=ui)
        announce(settings, ui, prepared)
        result: object = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(user, prepared.sign_in_url, send)
            try:
                result = await browser_login(settings, ui, prepared, pasted=lines())
            except LoginFailure as failure:
                result = failure
            nursery.cancel_scope.cancel()
    return result, stderr.getvalue()


async def test_the_paste_wins_and_a_later_callback_finds_the_login_finished(tmp_path, dev_issuer, nursery):
    from harness import PathWatch

    from codexlogin.devissuer import serve_dev_issuer

    exchange = PathWatch(dev_issuer, "/oauth/token")
    await nursery.start(serve_dev_issuer, exchange)
    dev_issuer.faults.token_delay = 0.5  # the paste's exchange is still running when the callback comes
    settings = make_settings(tmp_path, exchange.issuer_url)
    late: list[httpx.Response] = []

    async def user(url, paste):
        redirect = await redirect_of(url)
        await paste.send(redirect)
        await exchange.reached.wait()  # the paste's code is being exchanged
        # the browser's own redirect, reaching the listener after the paste (e.g. through a late port forward)
        target, host = to_loopback_ip(redirect)
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            late.append(await client.get(target, headers=host))

    with trio.fail_after(30):
        result, shown = await run_with_paste(settings, user)
    assert not isinstance(result, LoginFailure), result
    assert len(dev_issuer.token_requests("authorization_code")) == 1  # the code was exchanged once
    assert late and late[0].status_code == 200 and "already finished" in late[0].text
    assert "paste it here" in shown


async def test_the_listener_wins_and_the_paste_source_is_closed(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    closed = trio.Event()

    async def user(url, paste):
        redirect = await redirect_of(url)
        target, host = to_loopback_ip(redirect)
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            await client.get(target, headers=host)
        closed.set()

    with trio.fail_after(30):
        result, _shown = await run_with_paste(settings, user)
    assert not isinstance(result, LoginFailure), result
    assert closed.is_set() and len(dev_issuer.token_requests("authorization_code")) == 1
