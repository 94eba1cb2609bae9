"""`codex login app-server` end to end: a scripted JSON-RPC client over a real subprocess's pipes,
the dev issuer over real HTTP on 127.0.0.1:0; every message the server sends is validated against
Codex CLI 0.171's protocol schemas (tests/interop/codex-0.171-schemas, checked in appserver.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import asynccontextmanager

import trio
from appserver import AppServerClient
from harness import approve, assert_no_listener, port_of

from codexlogin.devissuer import GRANT_REFRESH

CODEX = [sys.executable, "-m", "codexlogin"]


@asynccontextmanager
async def app_server(tmp_path, issuer_url: str, **env: str):
    home = tmp_path / "codex-home"
    environ = {**os.environ, "CODEX_HOME": str(home), "CODEX_LOGIN_ISSUER": issuer_url, "CODEX_LOGIN_PORT": "0", **env}
    process = await trio.lowlevel.open_process(
        [*CODEX, "login", "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environ
    )
    try:
        yield AppServerClient(process), home
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def roots(home) -> list[dict]:
    path = home / "log" / "codex-login.log"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [r for r in records if r.get("action_type") == "codex:command" and r["action_status"] == "started"]


async def test_api_key_login_read_logout_and_unknown_method(tmp_path, dev_issuer):
    with trio.fail_after(60):
        async with app_server(tmp_path, dev_issuer.issuer_url) as (client, home):
            early = await client.request("account/read", {})
            assert early["error"] == {"code": -32600, "message": "Not initialized"}
            init = (await client.initialize("my-ide"))["result"]
            assert init["codexHome"] == str(home) and init["platformFamily"] == "unix"
            assert init["userAgent"].startswith("my-ide/")
            again = await client.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
            assert again["error"]["message"] == "Already initialized"

            unknown = await client.request("thread/start", {})
            assert unknown["error"]["code"] == -32601
            assert "thread/start" in unknown["error"]["message"] and "account/login/start" in unknown["error"]["message"]

            assert (await client.request("account/read", {}))["result"] == {
                "account": None,
                "userId": None,
                "requiresOpenaiAuth": True,
                "workspaceRouting": None,
            }
            started = await client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-proj-app0123456789"})
            assert started["result"] == {"type": "apiKey"}
            completed = await client.notification("account/login/completed")
            assert completed["params"] == {"loginId": None, "success": True, "error": None}
            updated = await client.notification("account/updated")
            assert updated["params"] == {"authMode": "apikey", "planType": None}
            assert (await client.request("account/read", {"refreshToken": True}))["result"]["account"] == {"type": "apiKey"}

            assert (await client.request("account/logout"))["result"] == {}
            assert (await client.notification("account/updated"))["params"] == {"authMode": None, "planType": None}
            assert (await client.request("account/read", {}))["result"]["account"] is None

            bogus = await client.request("account/login/start", {"type": "amazonBedrock"})
            assert bogus["error"]["code"] == -32600
            assert await client.close() == []
            assert await client.process.wait() == 0
    assert not (home / "auth.json").exists()
    assert [(r["command"], r["caller"]) for r in roots(home)] == [
        ("login", "app-server (my-ide)"),
        ("logout", "app-server (my-ide)"),
    ]
    assert "sk-proj-app0123456789" not in (home / "log" / "codex-login.log").read_text()
    assert client.schemas.checked == len(client.received) == 13


async def test_browser_login_completed_by_fetching_the_auth_url(tmp_path, dev_issuer):
    with trio.fail_after(60):
        async with app_server(tmp_path, dev_issuer.issuer_url) as (client, home):
            await client.initialize()
            started = (await client.request("account/login/start", {"type": "chatgpt"}))["result"]
            assert started["type"] == "chatgpt" and started["authUrl"].startswith(dev_issuer.issuer_url)
            page = await approve(started["authUrl"])
            assert page.status_code == 200
            completed = await client.notification("account/login/completed")
            assert completed["params"] == {"loginId": started["loginId"], "success": True, "error": None}
            updated = await client.notification("account/updated")
            assert updated["params"] == {"authMode": "chatgpt", "planType": "pro"}
            read = (await client.request("account/read", {}))["result"]
            assert read["account"] == {"type": "chatgpt", "email": "dev@example.com", "planType": "pro", "workspaceName": None}
            assert read["userId"] == "user_dev"
            assert not dev_issuer.token_requests(GRANT_REFRESH)
            refreshed = (await client.request("account/read", {"refreshToken": True}))["result"]
            assert refreshed == read and len(dev_issuer.token_requests(GRANT_REFRESH)) == 1  # under auth.lock
            await client.close()
    saved = json.loads((home / "auth.json").read_text())
    assert dev_issuer.token_active(saved["tokens"]["refresh_token"])
    assert [(r["flow"], r["caller"]) for r in roots(home)] == [
        ("browser", "app-server (test-client)"),
        ("token", "app-server (test-client)"),
    ]


async def test_device_code_login(tmp_path, dev_issuer, monkeypatch):
    # The shortest interval the client accepts (the dev issuer runs in this process): the first
    # poll comes 1 s after the code is shown, not 5.
    monkeypatch.setattr("codexlogin.devissuer.device.DEVICE_POLL_INTERVAL", 1)
    with trio.fail_after(60):
        async with app_server(tmp_path, dev_issuer.issuer_url) as (client, home):
            await client.initialize()
            started = (await client.request("account/login/start", {"type": "chatgptDeviceCode"}))["result"]
            assert started["verificationUrl"] == f"{dev_issuer.issuer_url}/device" and started["userCode"]
            dev_issuer.approve_device(started["userCode"])
            completed = await client.notification("account/login/completed")  # after the first poll (1 s)
            assert completed["params"] == {"loginId": started["loginId"], "success": True, "error": None}
            assert (await client.notification("account/updated"))["params"]["authMode"] == "chatgpt"
            await client.close()
    assert json.loads((home / "auth.json").read_text())["tokens"]["account_id"] == "acct_dev"
    assert started["userCode"] not in (home / "log" / "codex-login.log").read_text()


async def test_cancel_and_one_login_at_a_time(tmp_path, dev_issuer):
    with trio.fail_after(60):
        async with app_server(tmp_path, dev_issuer.issuer_url) as (client, home):
            await client.initialize()
            first = (await client.request("account/login/start", {"type": "chatgpt"}))["result"]
            # A second start ends the first (its completion comes before the second's answer), as 0.171 does.
            second = (await client.request("account/login/start", {"type": "chatgpt"}))["result"]
            ended = await client.notification("account/login/completed")  # already received: before the answer
            assert ended["params"] == {
                "loginId": first["loginId"],
                "success": False,
                "error": "Login server error: Login cancelled",
            }
            assert client.received.index(ended) == len(client.received) - 2
            assert_no_listener(port_of(first["authUrl"]))

            canceled = await client.request("account/login/cancel", {"loginId": second["loginId"]})
            assert canceled["result"] == {"status": "canceled"}
            completed = await client.notification("account/login/completed")
            assert completed["params"] == {
                "loginId": second["loginId"],
                "success": False,
                "error": "Login server error: Login was not completed",
            }
            again = await client.request("account/login/cancel", {"loginId": second["loginId"]})
            assert again["result"] == {"status": "notFound"}
            malformed = await client.request("account/login/cancel", {"loginId": "nope"})
            assert malformed["error"] == {"code": -32600, "message": "invalid login id: nope"}

            third = (await client.request("account/login/start", {"type": "chatgpt"}))["result"]
            rest = await client.close()  # end of input: the waiting login ends too
            assert [m["params"]["loginId"] for m in rest if m.get("method") == "account/login/completed"] == [third["loginId"]]
            assert await client.process.wait() == 0
    assert not (home / "auth.json").exists()
    outcomes = [r["flow"] for r in roots(home)]
    assert outcomes == ["browser", "browser", "browser"]


async def test_a_login_that_cannot_start_is_an_error_answer(tmp_path, dev_issuer):
    with trio.fail_after(60):
        async with app_server(tmp_path, dev_issuer.issuer_url, CODEX_LOGIN_FORCED_LOGIN_METHOD="api") as (client, _home):
            await client.initialize()
            answer = await client.request("account/login/start", {"type": "chatgpt"})
            assert answer["error"]["code"] == -32603 and "forced_login_method = api" in answer["error"]["message"]
            answer = await client.request("account/login/start", {"type": "chatgptDeviceCode"})
            assert answer["error"]["code"] == -32603 and "failed to request device code" in answer["error"]["message"]
            await client.close()
