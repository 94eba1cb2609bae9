"""The public Python API end to end: the dev issuer over real HTTP on 127.0.0.1:0, real files.

Each test drives the API as a program would (`codexlogin.open_login_server`, …), plays the user's
browser or device with HTTP requests, and checks the stored credentials, the log tree (with the
caller named in its root action) and that nothing was printed.
"""

from __future__ import annotations

import json
import time

import pytest
import trio
from harness import approve, assert_no_listener, issue_tokens_async, jwt_with_exp, provenance_of, store_tokens

import codexlogin
from codexlogin.devissuer import GRANT_REFRESH, DevIssuer, serve_dev_issuer


def log_records(codex_home) -> list[dict]:
    path = codex_home / "log" / "codex-login.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def roots(codex_home) -> list[tuple[dict, dict]]:
    """(start, end) of every run's root action."""
    records = [r for r in log_records(codex_home) if r.get("action_type") == "codex:command"]
    starts = {r["task_uuid"]: r for r in records if r["action_status"] == "started"}
    return [(starts[r["task_uuid"]], r) for r in records if r["action_status"] != "started"]


@pytest.fixture
def home(tmp_path):
    return tmp_path / "api-home"


async def test_browser_login_wait_returns_the_saved_account(home, dev_issuer, capsys):
    url = dev_issuer.issuer_url
    with trio.fail_after(30):
        async with codexlogin.open_login_server(
            codex_home=home, issuer=url, port=0, open_browser=False, caller="test-tui"
        ) as server:
            assert server.auth_url.startswith(f"{url}/oauth/authorize?")
            assert isinstance(server.port, int) and server.port > 0
            async with trio.open_nursery() as nursery:
                nursery.start_soon(approve, server.auth_url)
                account = await server.wait()
        assert_no_listener(server.port)
    assert (account.mode, account.email, account.plan, account.account_id) == ("chatgpt", "dev@example.com", "pro", "acct_dev")
    assert account.issuer == url.rstrip("/") and account.storage == "file"
    assert codexlogin.read_account(codex_home=home) == account
    saved = json.loads((home / "auth.json").read_text())
    assert dev_issuer.token_active(saved["tokens"]["refresh_token"])
    [(start, end)] = roots(home)
    assert (start["command"], start["flow"], start["caller"]) == ("login", "browser", "test-tui")
    assert end["action_status"] == "succeeded"
    log = (home / "log" / "codex-login.log").read_text()
    assert saved["tokens"]["refresh_token"] not in log and saved["tokens"]["access_token"] not in log
    assert capsys.readouterr() == ("", "")  # the API never prints


async def test_cancel_ends_the_login_and_frees_the_port(home, dev_issuer, capsys):
    with trio.fail_after(30):
        async with codexlogin.open_login_server(
            codex_home=home, issuer=dev_issuer.issuer_url, port=0, open_browser=False
        ) as server:
            server.cancel()
            with pytest.raises(codexlogin.Cancelled):
                await server.wait()
        assert_no_listener(server.port)
    assert codexlogin.read_account(codex_home=home) is None
    [(start, end)] = roots(home)
    assert start["caller"] == "python" and end["action_status"] == "failed" and end["outcome"] == "cancelled"
    assert capsys.readouterr() == ("", "")


async def test_leaving_the_block_cancels_a_waiting_login(home, dev_issuer):
    with trio.fail_after(30):
        async with codexlogin.open_login_server(
            codex_home=home, issuer=dev_issuer.issuer_url, port=0, open_browser=False
        ) as server:
            pass
        with pytest.raises(codexlogin.Cancelled):
            await server.wait()
        assert_no_listener(server.port)


async def test_serve_login_in_trios_task_status_form(home, dev_issuer):
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                lambda task_status: codexlogin.serve_login(
                    codex_home=home, issuer=dev_issuer.issuer_url, port=0, open_browser=False, task_status=task_status
                )
            )
            assert isinstance(server, codexlogin.LoginServer)
            await approve(server.auth_url)
            account = await server.wait()
    assert account.email == "dev@example.com" and (home / "auth.json").exists()


async def test_a_busy_port_fails_at_start(home, mock_clock, dev_issuer):
    with trio.socket.socket() as busy:
        await busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with trio.fail_after(30), pytest.raises(codexlogin.PortUnavailable):
            async with codexlogin.open_login_server(codex_home=home, issuer=dev_issuer.issuer_url, port=port, open_browser=False):
                pass


async def test_device_login(home, mock_clock, dev_issuer, capsys):
    with trio.fail_after(120):
        async with codexlogin.open_device_login(codex_home=home, issuer=dev_issuer.issuer_url, caller="ci-tool") as login:
            assert login.verification_url == f"{dev_issuer.issuer_url}/device" and login.user_code
            dev_issuer.approve_device(login.user_code)
            account = await login.wait()
    assert account.mode == "chatgpt" and account.email == "dev@example.com"
    [(start, end)] = roots(home)
    assert (start["flow"], start["caller"], end["action_status"]) == ("device", "ci-tool", "succeeded")
    assert login.user_code not in (home / "log" / "codex-login.log").read_text()
    assert capsys.readouterr() == ("", "")


async def test_device_login_cancelled(home, mock_clock, dev_issuer):
    with trio.fail_after(120):
        async with codexlogin.open_device_login(codex_home=home, issuer=dev_issuer.issuer_url) as login:
            login.cancel()
            with pytest.raises(codexlogin.Cancelled):
                await login.wait()
    assert codexlogin.read_account(codex_home=home) is None
    [(_start, end)] = roots(home)
    assert end["outcome"] == "cancelled"


async def test_logout_revokes_and_removes(home, dev_issuer):
    settings = codexlogin.resolve_settings(codex_home=home, issuer=dev_issuer.issuer_url)
    with trio.fail_after(30):
        stored = store_tokens(settings, await issue_tokens_async(dev_issuer, dev_issuer.issuer_url))
        result = await codexlogin.logout(codex_home=home, caller="ide")
        again = await codexlogin.logout(codex_home=home)
    assert result.removed and result.revoked and not again.removed
    assert not dev_issuer.token_active(stored.tokens.refresh_token)
    assert codexlogin.read_account(codex_home=home) is None
    assert [(s["command"], s["caller"]) for s, _ in roots(home)] == [("logout", "ide"), ("logout", "python")]


async def test_access_token_fresh_and_refreshed_when_due(tmp_path, home):
    issuer = DevIssuer(access_token_lifetime=60)  # under 5 minutes: due at once
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_dev_issuer, issuer)
            settings = codexlogin.resolve_settings(codex_home=home, issuer=url)
            old = store_tokens(settings, await issue_tokens_async(issuer, url))
            token = await codexlogin.access_token(codex_home=home)
            nursery.cancel_scope.cancel()
    assert token.refreshed and token.access_token != old.tokens.access_token
    assert len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert token.access_token == json.loads((home / "auth.json").read_text())["tokens"]["access_token"]
    assert token.to_json()["issuer"] == url.rstrip("/") and "access_token=" not in repr(token)


async def test_access_token_not_logged_in_and_api_key(home):
    with pytest.raises(codexlogin.NotLoggedIn):
        await codexlogin.access_token(codex_home=home)
    account = await codexlogin.api_key_login("sk-proj-0123456789abcdef", codex_home=home)
    assert account.mode == "apikey" and account.api_key and "0123456789abcdef" not in account.api_key
    with pytest.raises(codexlogin.CredentialsUnusable) as info:
        await codexlogin.access_token(codex_home=home)
    assert info.value.exit_code == codexlogin.ExitCode.CREDENTIALS_UNUSABLE
    assert "sk-proj-0123456789abcdef" not in (home / "log" / "codex-login.log").read_text()
    with pytest.raises(codexlogin.UsageError):
        await codexlogin.api_key_login("two words", codex_home=home)


async def test_unreachable_issuer_for_a_due_token_is_a_network_error(home, refused_port):
    from codexlogin.credentials.files import save_auth
    from codexlogin.credentials.model import AuthDotJson, TokenData

    url = f"http://127.0.0.1:{refused_port()}"
    settings = codexlogin.resolve_settings(codex_home=home)
    tokens = TokenData("id", jwt_with_exp(int(time.time()) + 10), "rt-x", oauth_provenance=provenance_of(url))
    home.mkdir(parents=True)
    save_auth(settings.auth_file, AuthDotJson("chatgpt", tokens=tokens, last_refresh="2020-01-01T00:00:00Z"))
    with trio.fail_after(30), pytest.raises(codexlogin.NetworkError) as info:
        await codexlogin.access_token(codex_home=home)
    assert info.value.reference  # names the logged run


async def test_a_login_the_policy_forbids_fails_at_start(home, dev_issuer):
    from dataclasses import replace

    settings = replace(codexlogin.resolve_settings(codex_home=home, issuer=dev_issuer.issuer_url), forced_login_method="api")
    with trio.fail_after(30):
        with pytest.raises(codexlogin.PolicyViolation):
            async with codexlogin.open_device_login(settings):
                pass
        with pytest.raises(codexlogin.PolicyViolation):
            async with codexlogin.open_login_server(settings, port=0, open_browser=False):
                pass
    assert [end["outcome"] for _, end in roots(home)] == ["policy_violation", "policy_violation"]


async def test_overlapping_runs_each_log_their_whole_tree(home, dev_issuer):
    """The first run's log destination stays open for a run that outlives it (the app-server and
    programs overlap runs): the later run's tree still ends in the log."""
    url = dev_issuer.issuer_url
    with trio.fail_after(30):
        async with codexlogin.open_login_server(codex_home=home, issuer=url, port=0, open_browser=False, caller="first") as first:
            async with codexlogin.open_login_server(
                codex_home=home, issuer=url, port=0, open_browser=False, caller="second"
            ) as second:
                first.cancel()
                with pytest.raises(codexlogin.Cancelled):
                    await first.wait()
                await approve(second.auth_url)
                await second.wait()
    ends = {start["caller"]: end["action_status"] for start, end in roots(home)}
    assert ends == {"first": "failed", "second": "succeeded"}
    tree = [
        r for r in log_records(home) if r["task_uuid"] == next(s["task_uuid"] for s, _ in roots(home) if s["caller"] == "second")
    ]
    assert any(r.get("action_type") == "codex:token_exchange" for r in tree)
