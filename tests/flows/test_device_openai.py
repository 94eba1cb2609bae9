"""Device login in the openai dialect (Codex CLI 0.171's protocol) against the dev issuer over real
HTTP on 127.0.0.1, on trio's MockClock (no worker threads), every test under trio.fail_after.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import trio
from harness import DeviceRun as Run
from harness import device_settings as make_settings

from codexlogin.devissuer import DevIssuer, serve_dev_issuer
from codexlogin.errors import Denied, TimedOut, UsageError

pytestmark = pytest.mark.concurrency


def openai(tmp_path, url, **changes):
    return replace(make_settings(tmp_path, url), dialect="openai", **changes)


async def serve(nursery, **options) -> DevIssuer:
    issuer = DevIssuer(**options)
    await nursery.start(serve_dev_issuer, issuer)
    return issuer


def paths(issuer: DevIssuer) -> list[str]:
    return [f"{request.method} {request.path}" for request in issuer.request_log]


async def test_code_entered_after_a_while_signs_in(tmp_path, mock_clock, nursery):
    issuer = await serve(nursery)

    async def user(run):
        await run.wait_for_user_code()
        await trio.sleep(12)  # a few pending polls first
        issuer.approve_device(run.user_code())

    with trio.fail_after(120):
        run = Run(openai(tmp_path, issuer.issuer_url))
        auth = await run(user)
    assert not isinstance(auth, Exception), auth
    out = run.stderr.getvalue()
    assert f"{issuer.issuer_url}/codex/device" in out and "expires in 15 minutes" in out
    seen = paths(issuer)
    assert seen[0] == "POST /api/accounts/deviceauth/usercode"
    assert seen.count("POST /api/accounts/deviceauth/token") >= 3  # pending (403) before the approval
    exchange = issuer.token_requests("authorization_code")[-1]
    assert exchange["redirect_uri"] == f"{issuer.issuer_url}/deviceauth/callback"
    assert issuer.token_requests("urn:ietf:params:oauth:grant-type:token-exchange") == []  # no API key, as 0.171
    saved = json.loads(run.settings.auth_file.read_text())
    assert saved["OPENAI_API_KEY"] is None and all(saved["tokens"][k] for k in ("id_token", "access_token", "refresh_token"))
    poll = [m for m in run.log_messages() if m.get("action_type") == "codex:device_poll"][-1]
    assert poll["action_status"] == "succeeded" and poll["result"] == "approved" and poll["polls"] >= 3
    log = run.settings.log_file.read_text()
    for secret in (run.user_code(), exchange["code"], exchange["code_verifier"], saved["tokens"]["refresh_token"]):
        assert secret not in log


async def test_pending_as_404_is_waited_out_too(tmp_path, mock_clock, nursery):
    issuer = await serve(nursery)
    issuer.faults.deviceauth_pending_status = 404

    async def user(run):
        await run.wait_for_user_code()
        await trio.sleep(7)
        issuer.approve_device(run.user_code())

    with trio.fail_after(120):
        auth = await Run(openai(tmp_path, issuer.issuer_url))(user)
    assert not isinstance(auth, Exception), auth


async def test_denied(tmp_path, mock_clock, nursery):
    issuer = await serve(nursery)

    async def user(run):
        await run.wait_for_user_code()
        issuer.deny_device(run.user_code())

    with trio.fail_after(120):
        run = Run(openai(tmp_path, issuer.issuer_url))
        failure = await run(user)
    assert isinstance(failure, Denied) and failure.exit_code == 3 and not run.settings.auth_file.exists()


async def test_nobody_enters_the_code_within_15_minutes(tmp_path, mock_clock, nursery, monkeypatch):
    # The longest interval the client accepts (MAX_INTERVAL): 15 polls instead of 180, each costing
    # the MockClock's 50 ms of real idle time before it jumps; the 15-minute bound is the same.
    monkeypatch.setattr("codexlogin.devissuer.openai.DEVICE_POLL_INTERVAL", 60)
    issuer = await serve(nursery)
    with trio.fail_after(2000):
        started = trio.current_time()
        run = Run(openai(tmp_path, issuer.issuer_url))
        failure = await run()
        elapsed = trio.current_time() - started
    assert isinstance(failure, TimedOut) and failure.exit_code == 5 and "15 minutes" in failure.detail
    assert 899 <= elapsed <= 910


async def test_an_issuer_without_device_login_says_so(tmp_path, mock_clock, nursery):
    issuer = await serve(nursery)
    issuer.faults.device_code_enabled = False
    with trio.fail_after(60):
        failure = await Run(openai(tmp_path, issuer.issuer_url))()
    assert isinstance(failure, UsageError) and failure.exit_code == 2
    assert "device login is not enabled" in failure.detail and "/api/accounts/deviceauth/usercode" in failure.detail


async def test_a_forbidden_workspace_saves_nothing(tmp_path, mock_clock, nursery):
    issuer = await serve(nursery, auto_approve=True)
    with trio.fail_after(60):
        run = Run(openai(tmp_path, issuer.issuer_url, forced_chatgpt_workspace_id=("acct_other",)))
        failure = await run()
    assert failure.exit_code == 9 and not run.settings.auth_file.exists()
