"""The browser login end to end: real hypercorn listener, real dev issuer over HTTP, real files.

Rules: 127.0.0.1 only, port 0 (or a port just taken from the OS), a hard trio.fail_after around
every test body, timeouts on trio's MockClock, never a real sleep.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import time
from contextlib import closing
from dataclasses import replace

import httpx
import pytest
import trio
from harness import (
    Run,
    approve,
    approving_browser,
    assert_no_secrets,
    assert_port_free,
    callback_url,
    get,
    make_settings,
    port_of,
    query_of,
)

from codexlogin import rfc3339
from codexlogin.credentials.model import NO_ID_TOKEN, AuthDotJson
from codexlogin.errors import (
    Cancelled,
    Denied,
    LoginFailure,
    NetworkError,
    PortUnavailable,
    Terminated,
    TimedOut,
    TokenExchangeFailed,
)

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


@pytest.mark.parametrize(("dialect", "redirect_host"), [("standard", "127.0.0.1"), ("openai", "127.0.0.1")])
async def test_happy_path_saves_auth_json_and_logs_the_tree(tmp_path, dev_issuer, dialect, redirect_host):
    openai = dialect == "openai"
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, dialect=dialect))
        auth = await run(approving_browser)
    assert run.pages[0].status_code == 200 and "Signed in" in run.pages[0].text
    assert run.pages[0].headers["cache-control"] == "no-store"
    assert run.pages[0].headers["referrer-policy"] == "no-referrer"
    saved = json.loads(run.settings.auth_file.read_text())
    assert saved["auth_mode"] == "chatgpt"
    # the id_token → API key exchange is OpenAI's own, tried only in its dialect
    assert saved["OPENAI_API_KEY"].startswith("sk-dev-") if openai else saved["OPENAI_API_KEY"] is None
    assert bool(dev_issuer.token_requests("urn:ietf:params:oauth:grant-type:token-exchange")) == openai
    assert saved["tokens"]["account_id"] == "acct_dev"
    assert saved["tokens"]["refresh_token"] == auth.tokens.refresh_token
    assert saved["last_refresh"].endswith("Z")
    assert stat.S_IMODE(os.stat(run.settings.auth_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(run.settings.log_file).st_mode) == 0o600
    assert "Starting local login server" in run.stderr.getvalue() and run.url in run.stderr.getvalue()
    assert_port_free(run.url)

    messages = run.log_messages()
    assert len({m["task_uuid"] for m in messages}) == 1, "one task per run"
    by_type = {}
    for message in messages:
        by_type.setdefault(message.get("action_type") or message.get("message_type"), []).append(message)
    expected = ["codex:command", "codex:listener", "codex:callback", "codex:token_exchange", "codex:save_credentials"]
    assert ("codex:api_key_exchange" in by_type) == openai
    for action_type in expected + ["codex:api_key_exchange"] * openai:
        statuses = [m["action_status"] for m in by_type[action_type]]
        assert statuses == ["started", "succeeded"], (action_type, statuses)
    started = by_type["codex:token_exchange"][0]
    assert started["token_endpoint"] == f"{dev_issuer.issuer_url}/oauth/token"
    assert started["redirect_uri"].startswith(f"http://{redirect_host}:")
    assert by_type["codex:token_exchange"][1]["status"] == 200
    callback = by_type["codex:callback"][0]
    assert (callback["has_code"], callback["has_state"], callback["has_error"], callback["state_valid"]) == (
        True,
        True,
        False,
        True,
    )
    # exchange nests inside the callback, which nests inside the listener
    assert len(started["task_level"]) > len(callback["task_level"]) > len(by_type["codex:listener"][0]["task_level"])

    code_request = dev_issuer.token_requests("authorization_code")[0]
    state = query_of(run.url)["state"]
    assert_no_secrets(
        run.log,
        code_request["code"],
        code_request["code_verifier"],
        state,
        *[saved["OPENAI_API_KEY"]] * openai,
        saved["tokens"]["id_token"],
        saved["tokens"]["access_token"],
        saved["tokens"]["refresh_token"],
    )


async def test_denial_ends_with_denied_and_error_page(tmp_path, dev_issuer):
    async def deny(run, url):
        state = query_of(url)["state"]
        run.pages.append(
            await get(callback_url(url, error="access_denied", error_description="<i>user said no</i>", state=state))
        )

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(deny)
    assert isinstance(failure, Denied) and failure.error_code == "access_denied"
    assert "user said no" in failure.detail
    assert "&lt;i&gt;user said no&lt;/i&gt;" in run.pages[0].text
    assert not run.settings.auth_file.exists()
    assert dev_issuer.token_requests() == []
    oauth_error = [m for m in run.log_messages() if m.get("message_type") == "codex:callback:oauth_error"]
    assert oauth_error[0]["error_code"] == "access_denied" and oauth_error[0]["has_error_description"] is True
    root_end = [m for m in run.log_messages() if m.get("action_type") == "codex:command"][-1]
    assert root_end["action_status"] == "failed" and root_end["outcome"] == "denied" and root_end["exit_code"] == 3
    assert_port_free(url=run.url)


async def test_state_mismatch_and_stray_requests_keep_waiting(tmp_path, dev_issuer):
    async def confused_then_good(run, url):
        run.pages.append(await get(callback_url(url, code="forged-code", state="forged-state")))
        run.pages.append(await get(callback_url(url, state="forged-state")))  # no code, and not our state
        run.pages.append(await get(url.replace("/oauth/authorize", "/favicon.ico").split("?")[0]))
        run.pages.append(await get(callback_url(url, code="x").replace("/auth/callback", "/favicon.ico")))
        run.pages.append(await approve(url))

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        await run(confused_then_good)
    assert [page.status_code for page in run.pages] == [400, 400, 404, 404, 200]
    assert run.settings.auth_file.exists()
    assert len(dev_issuer.token_requests("authorization_code")) == 1, "the forged code was never exchanged"
    mismatches = [m for m in run.log_messages() if m.get("message_type") == "codex:callback:state_mismatch"]
    assert len(mismatches) == 2
    assert_no_secrets(run.log, "forged-code", "forged-state")


@pytest.mark.parametrize(
    ("status", "content_type", "body", "error_code", "terminal_text"),
    [
        (
            400,
            "application/json",
            b'{"error": "invalid_grant", "error_description": "code expired"}',
            "invalid_grant",
            "invalid_grant: code expired",
        ),
        (
            400,
            "application/json",
            b'{"error": {"code": "token_expired", "message": "try again"}}',
            "token_expired",
            "token_expired: try again",
        ),
        (
            500,
            "text/html",
            b"<html><body>Internal meltdown PLANTEDBODYSECRET42</body></html>",
            None,
            "Internal meltdown PLANTEDBODYSECRET42",
        ),
        (502, "text/plain", b"upstream said PLANTEDBODYSECRET42", None, "upstream said PLANTEDBODYSECRET42"),
        (200, "text/plain", b"not json PLANTEDBODYSECRET42", None, "not json PLANTEDBODYSECRET42"),
    ],
)
async def test_token_endpoint_errors(tmp_path, dev_issuer, status, content_type, body, error_code, terminal_text):
    dev_issuer.faults.token_status = status
    dev_issuer.faults.token_body = body
    dev_issuer.faults.token_content_type = content_type
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(approving_browser)
    # issuer errors reach the caller carrying the issuer's facts: a refusal is TokenExchangeFailed
    # (exit 4), an issuer that is down (5xx) a NetworkError (exit 10, as in `status --check`)
    expected = NetworkError if status >= 500 else TokenExchangeFailed
    assert isinstance(failure, expected) and failure.fields["kind"] == "rejected"
    assert failure.fields["status"] == status and failure.error_code == error_code
    assert terminal_text in failure.detail, "the terminal keeps the backend's detail"
    assert run.pages[0].status_code == 502 and terminal_text.split(":")[0] in run.pages[0].text
    assert not run.settings.auth_file.exists()
    assert_no_secrets(run.log, "PLANTEDBODYSECRET42", "Internal meltdown", "upstream said")
    exchange_end = [m for m in run.log_messages() if m.get("action_type") == "codex:token_exchange"][-1]
    assert exchange_end["action_status"] == "failed" and exchange_end["status"] == status
    if error_code:
        assert exchange_end["error_code"] == error_code


async def test_connection_refused(tmp_path, refused_port):
    async def send_code(run, url):
        run.pages.append(await get(callback_url(url, code="some-code", state=query_of(url)["state"])))

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, f"http://127.0.0.1:{refused_port()}"))
        failure = await run(send_code)
    # An issuer that refuses connections ends the login at once, before the URL (its discovery could
    # not reach it), with exit 10 and the transport kind, never after the whole --timeout (issue 23).
    assert isinstance(failure, NetworkError) and failure.exit_code == 10 and failure.fields["kind"] == "connect"
    assert run.url is None and "cannot be reached" in failure.summary and "check the issuer URL" in failure.summary
    discovery = [m for m in run.log_messages() if m.get("message_type") == "codex:discovery"]
    assert discovery and "unreachable" in discovery[0]["problem"]
    assert not [m for m in run.log_messages() if m.get("action_type") == "codex:token_exchange"]


async def test_token_exchange_timeout_on_mock_clock(tmp_path, dev_issuer, mock_clock):
    dev_issuer.faults.token_delay = 10_000
    with trio.fail_after(100):  # virtual seconds: the exchange gives up at 30
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(approving_browser)
    assert isinstance(failure, NetworkError) and failure.fields["kind"] == "timeout"
    assert "within 30s" in failure.detail
    assert trio.current_time() < 100


async def test_api_key_exchange_failure_is_ignored(tmp_path, dev_issuer):
    dev_issuer.faults.api_key_exchange_error = "unsupported_grant_type"
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, dialect="openai"))
        auth = await run(approving_browser)
    assert auth.openai_api_key is None
    assert json.loads(run.settings.auth_file.read_text())["OPENAI_API_KEY"] is None
    api_key_end = [m for m in run.log_messages() if m.get("action_type") == "codex:api_key_exchange"][-1]
    assert api_key_end["action_status"] == "succeeded" and api_key_end["obtained"] is False
    assert api_key_end["error_code"] == "unsupported_grant_type" and "exit_code" not in api_key_end


async def test_login_timeout_frees_the_port(tmp_path, dev_issuer, mock_clock):
    async def absent_user(run, url):
        pass

    with trio.fail_after(1000):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, timeout=300.0))
        failure = await run(absent_user)
    assert isinstance(failure, TimedOut) and "300s" in failure.detail
    assert 300 <= trio.current_time() < 310
    assert_port_free(run.url)


@pytest.mark.parametrize(("signum", "expected"), [(signal.SIGINT, Cancelled), (signal.SIGTERM, Terminated)])
async def test_signals_cancel_cleanly(tmp_path, dev_issuer, signum, expected):
    async def interrupt(run, url):
        os.kill(os.getpid(), signum)

    from codexlogin.cli.signals import stop_on_signal  # the CLI takes the signals, not the flow

    with trio.fail_after(10), stop_on_signal() as stop:
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url), stop=stop)
        failure = await run(interrupt)
    assert type(failure) is expected
    assert_port_free(run.url)
    root_end = [m for m in run.log_messages() if m.get("action_type") == "codex:command"][-1]
    assert root_end["outcome"] == "cancelled"


@pytest.mark.concurrency
async def test_newer_login_takes_over_the_port_from_ours(tmp_path, dev_issuer):
    # Both runs share CODEX_HOME (so the cancel key) but not the log dir; the second takes the
    # port the first listens on.
    first = Run(replace(make_settings(tmp_path / "a", dev_issuer.issuer_url), codex_home=tmp_path / "home"))
    listening = trio.Event()

    async def wait_forever(run, url):
        listening.set()

    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(first, wait_forever)
            await listening.wait()
            taking_over = make_settings(tmp_path / "b", dev_issuer.issuer_url, port=port_of(first.url))
            second = Run(replace(taking_over, codex_home=tmp_path / "home"))
            await second(approving_browser)
    assert isinstance(first.result, Cancelled) and "newer" in first.result.detail
    assert not isinstance(second.result, LoginFailure)
    assert second.settings.auth_file.exists()


async def test_foreign_program_on_the_port_is_a_clear_error(tmp_path, dev_issuer, mock_clock):
    with closing(socket.socket()) as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen(5)  # accepts connections into the backlog, never answers HTTP
        port = foreign.getsockname()[1]
        with trio.fail_after(60):
            run = Run(make_settings(tmp_path, dev_issuer.issuer_url, port=port))
            failure = await run(approving_browser)
    assert isinstance(failure, PortUnavailable)
    assert f"port {port}" in failure.detail and "--port" in failure.detail
    assert failure.exit_code == 6


@pytest.mark.concurrency
async def test_concurrent_duplicate_callbacks_exchange_once(tmp_path, dev_issuer):
    dev_issuer.faults.token_delay = 0.2  # keep the first exchange in flight while the second arrives

    async def double_click(run, url):
        async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
            location = (await client.get(url)).headers["location"]
            async with trio.open_nursery() as nursery:
                for _ in range(2):
                    nursery.start_soon(lambda: _append(run, client.get(location)))

    async def _append(run, awaitable):
        run.pages.append(await awaitable)

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        await run(double_click)
    assert len(dev_issuer.token_requests("authorization_code")) == 1
    assert sorted(page.status_code for page in run.pages) == [200, 200]
    assert any("already finished" in page.text for page in run.pages)


async def test_plain_oauth_reply_without_id_or_refresh_token_is_accepted(tmp_path, dev_issuer):
    dev_issuer.faults.token_status = 200
    dev_issuer.faults.token_body = b'{"access_token": "plain-access-token-123", "token_type": "Bearer", "expires_in": 60}'
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    saved = json.loads(run.settings.auth_file.read_text())
    # never null (Codex CLI 0.171 refuses it): "" for the refresh token, a claim-less placeholder JWT
    tokens = {
        k: v for k, v in saved["tokens"].items() if k not in ("oauth_provenance", "login_owner_id", "access_token_expires_at")
    }
    assert tokens == {"id_token": NO_ID_TOKEN, "access_token": "plain-access-token-123", "refresh_token": "", "account_id": None}
    expiry = rfc3339.to_epoch(saved["tokens"]["access_token_expires_at"])  # from expires_in (RFC 6749 §5.1)
    assert expiry is not None and abs(expiry - (time.time() + 60)) < 10
    assert auth.tokens.id_token is None and AuthDotJson.from_json(saved).tokens.id_token is None
    assert saved["OPENAI_API_KEY"] is None
    assert dev_issuer.token_requests("urn:ietf:params:oauth:grant-type:token-exchange") == [], "no id_token, nothing to exchange"
    assert_no_secrets(run.log, "plain-access-token-123")


async def test_callback_from_another_issuer_ends_the_login_naming_both(tmp_path, dev_issuer):
    """RFC 9207: an `iss` that is not ours means a mix-up; the response is refused and, since the
    state was ours, the login ends at once with both issuers named (issue 13 #4)."""

    async def mixed_up(run, url):
        state = query_of(url)["state"]
        run.pages.append(await get(callback_url(url, code="stolen-code", state=state, iss="https://evil.example")))

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(mixed_up)
    assert isinstance(failure, LoginFailure) and failure.exit_code == 4 and failure.error_code == "issuer_mismatch"
    assert "https://evil.example" in failure.summary and dev_issuer.issuer_url in failure.summary
    assert [page.status_code for page in run.pages] == [400]
    assert "different issuer" in run.pages[0].text
    assert dev_issuer.token_requests("authorization_code") == []
    assert any(m.get("message_type") == "codex:callback:issuer_mismatch" for m in run.log_messages())


async def test_a_bug_while_completing_ends_the_login_instead_of_hanging(tmp_path, dev_issuer, monkeypatch):
    import codexlogin.flows.complete as complete_flow
    from codexlogin.errors import InternalError

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(complete_flow, "chatgpt_auth", broken)  # stands in for any unexpected bug
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(approving_browser)
    assert isinstance(failure, InternalError) and failure.exit_code == 70
    assert "RuntimeError: simulated bug" in failure.detail
    assert run.pages[0].status_code == 500
    assert_port_free(run.url)


async def test_a_bad_ca_bundle_fails_before_touching_an_older_login_on_the_port(tmp_path, dev_issuer, monkeypatch):
    from codexlogin.errors import UsageError

    home = tmp_path / "home"
    older = Run(replace(make_settings(tmp_path / "a", dev_issuer.issuer_url), codex_home=home))
    listening = trio.Event()

    async def wait(run, url):
        listening.set()

    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(older, wait)
            await listening.wait()
            newer = Run(replace(make_settings(tmp_path / "b", dev_issuer.issuer_url, port=port_of(older.url)), codex_home=home))
            monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(tmp_path / "missing.pem"))
            failure = await newer(approving_browser)
            assert isinstance(failure, UsageError) and "CODEX_CA_CERTIFICATE" in failure.detail
            assert older.result is None, "the older login is still waiting"
            monkeypatch.delenv("CODEX_CA_CERTIFICATE")
            await approve(older.url)
    assert not isinstance(older.result, LoginFailure)
