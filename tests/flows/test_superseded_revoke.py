"""A new ChatGPT login that replaces stored ChatGPT tokens revokes the superseded refresh token:
after the save, outside auth.lock, best effort and bounded by REVOKE_TIMEOUT.

The dev issuer over real HTTP on 127.0.0.1 (port 0), real files under tmp_path, every test under
trio.fail_after; the hanging-issuer test on the MockClock (no worker threads).
"""

from __future__ import annotations

import io
import json

import pytest
import trio
from harness import HangingPath, Run, approving_browser, issue_tokens_async, make_settings, store_tokens

from codexlogin import DEFAULT_CLIENT_ID, diagnostics
from codexlogin.cli.console import ConsoleUI
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import serve_dev_issuer
from codexlogin.errors import LoginFailure
from codexlogin.flows.apikey import api_key_login
from codexlogin.flows.complete import superseded_login
from codexlogin.flows.device import device_login
from codexlogin.flows.logout import REVOKE_TIMEOUT
from codexlogin.oauth.issuer import configured_issuer

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def revoke_requests(issuer):
    return [r.params for r in issuer.request_log if r.path == "/oauth/revoke"]


def refresh_token(settings) -> str:
    return json.loads(settings.auth_file.read_text())["tokens"]["refresh_token"]


async def browser_login(settings):
    run = Run(settings)
    auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    return run


async def test_a_second_browser_login_revokes_the_first_refresh_token(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    with trio.fail_after(20):
        await browser_login(settings)
        first = refresh_token(settings)
        assert revoke_requests(dev_issuer) == []  # nothing was replaced
        run = await browser_login(settings)
    second = refresh_token(settings)
    assert second != first
    assert not dev_issuer.token_active(first) and dev_issuer.token_active(second)
    assert revoke_requests(dev_issuer) == [{"token": first, "token_type_hint": "refresh_token", "client_id": DEFAULT_CLIENT_ID}]
    revoke = [m for m in run.log_messages() if m.get("action_type") == "codex:revoke"]
    assert [m["action_status"] for m in revoke] == ["started", "succeeded"]
    assert first not in run.log and second not in run.log


async def test_a_device_login_revokes_the_tokens_it_replaces(tmp_path, mock_clock, dev_issuer):
    dev_issuer.device_auto_approve_after = 1
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    with trio.fail_after(60):
        old = store_tokens(settings, await issue_tokens_async(dev_issuer, dev_issuer.issuer_url))  # no provenance: an older file
        with diagnostics.open_log(settings.resolved_log_dir):
            auth, _backend = await device_login(settings, ConsoleUI(io.StringIO()))
    assert auth.tokens is not None and auth.tokens.refresh_token != old.tokens.refresh_token
    assert not dev_issuer.token_active(old.tokens.refresh_token) and dev_issuer.token_active(refresh_token(settings))


async def test_a_failed_revocation_changes_nothing_about_the_login(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    with trio.fail_after(20):
        await browser_login(settings)
        first = refresh_token(settings)
        dev_issuer.faults.revoke_status = 503
        run = await browser_login(settings)
    assert refresh_token(settings) != first and run.stderr.getvalue().count("warning:") == 0
    revoke = [m for m in run.log_messages() if m.get("action_type") == "codex:revoke"]
    assert revoke[-1]["action_status"] == "failed"
    root = [m for m in run.log_messages() if m.get("action_type") == "codex:command"]
    assert root[-1]["action_status"] == "succeeded"


async def test_a_hanging_revocation_is_given_up_after_the_revoke_timeout(tmp_path, mock_clock, dev_issuer, nursery):
    url = await nursery.start(serve_dev_issuer, HangingPath(dev_issuer, "/oauth/revoke"))
    settings = make_settings(tmp_path, url)
    with trio.fail_after(100):
        await browser_login(settings)
        first = refresh_token(settings)
        started = trio.current_time()
        await browser_login(settings)
        waited = trio.current_time() - started
    assert refresh_token(settings) != first and dev_issuer.token_active(first)
    assert REVOKE_TIMEOUT <= waited < REVOKE_TIMEOUT + 2


async def test_the_success_page_does_not_wait_for_the_revocation(tmp_path, mock_clock, dev_issuer, nursery):
    """The browser gets its page once the new tokens are saved; the superseded token's revocation
    (here never answered) runs after it, still inside the login, still logged."""
    url = await nursery.start(serve_dev_issuer, HangingPath(dev_issuer, "/oauth/revoke"))
    settings = make_settings(tmp_path, url)
    page_times = []

    async def timing_browser(run, url):
        await approving_browser(run, url)
        page_times.append(trio.current_time())

    with trio.fail_after(100):
        await browser_login(settings)
        started = trio.current_time()
        run = Run(settings)
        auth = await run(timing_browser)
        ended = trio.current_time()
    assert not isinstance(auth, LoginFailure) and run.pages[-1].status_code == 200
    assert page_times[-1] - started < 1 and ended - started >= REVOKE_TIMEOUT
    revoke = [m for m in run.log_messages() if m.get("action_type") == "codex:revoke"]
    assert [m["action_status"] for m in revoke] == ["started", "failed"]


async def test_an_api_key_login_revokes_nothing(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    with trio.fail_after(20):
        await browser_login(settings)
        first = refresh_token(settings)
        await api_key_login(settings, io.StringIO("sk-proj-0123456789abcdefghij"), ConsoleUI(io.StringIO()))
    assert revoke_requests(dev_issuer) == [] and dev_issuer.token_active(first)


def _chatgpt(refresh, provenance=None):
    return AuthDotJson("chatgpt", tokens=TokenData("id", "access", refresh, oauth_provenance=provenance))


@pytest.mark.parametrize(
    ("replaced", "revoked"),
    [
        (None, None),
        (AuthDotJson("apikey", openai_api_key="sk-x"), None),
        (AuthDotJson("personal_access_token", personal_access_token="at-x"), None),
        (_chatgpt(None), None),  # no refresh token: nothing that outlives the access token
        (_chatgpt("rt-new"), None),  # the same token is not superseded
        # no provenance (a 0.171 file): the default issuer's, as 0.171 reads it, so never sent to this one
        (_chatgpt("rt-old"), None),
        (_chatgpt("rt-old", {"issuer": "http://127.0.0.1:9/", "client_id": DEFAULT_CLIENT_ID}), "rt-old"),
        (_chatgpt("rt-old", {"issuer": "https://other.example", "client_id": DEFAULT_CLIENT_ID}), None),
        (_chatgpt("rt-old", {"issuer": "http://127.0.0.1:9", "client_id": "another-client"}), None),
    ],
)
def test_which_replaced_login_is_revoked(tmp_path, replaced, revoked):
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    superseded = superseded_login(configured_issuer(settings), replaced, _chatgpt("rt-new"))
    assert (superseded.tokens.refresh_token if superseded else None) == revoked
