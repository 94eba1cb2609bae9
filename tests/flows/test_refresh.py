"""Refreshing stored tokens against the dev issuer over real HTTP, and the cross-process lock.

Rules: 127.0.0.1 only, port 0; a hard bound on every test (trio.fail_after, subprocess timeouts);
real files under tmp_path. The two-process test serves the issuer from a thread running its own
trio.run and starts two real `python -c` refreshers against it.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import trio
from harness import NINE_DAYS_AGO, issue_tokens, issue_tokens_async, issuer_in_thread, jwt_with_exp, provenance_of, store_tokens

from codexlogin import diagnostics
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.lock import hold_file_lock, refresh_lock_path
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import (
    GRANT_REFRESH,
    DevIssuer,
    serve_dev_issuer,
)
from codexlogin.errors import (
    CredentialsUnusable,
    ExitCode,
    NetworkError,
    NotLoggedIn,
    TimedOut,
    TokenExchangeFailed,
)
from codexlogin.flows.refresh import (
    RefreshRejected,
    RefreshUnreachable,
    classify_failure,
    refresh_credentials,
    refresh_reason,
)
from codexlogin.oauth.errors import IssuerRejected, IssuerUnreachable

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def make_settings(tmp_path, url, **changes):
    return replace(load_settings({"issuer": url}), log_dir=tmp_path / "log", exchange_timeout=10, **changes)


async def issue(issuer):
    return await issue_tokens_async(issuer, issuer.issuer_url)


def saved(settings) -> dict:
    return json.loads(settings.auth_file.read_text())


# --- when -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exp_in", "last_refresh", "expected"),
    [
        (3600, "now", None),
        (301, "now", None),
        (299, "now", "expiring"),
        (-10, "now", "expiring"),
        (3600, NINE_DAYS_AGO, None),  # a readable exp decides alone (Codex CLI 0.171)
        (3600, None, None),
        (None, "now", None),  # an opaque access token: only the age counts
        (None, NINE_DAYS_AGO, "stale"),
        (None, None, "stale"),
    ],
)
def test_refresh_reason(exp_in, last_refresh, expected):
    now = 1_800_000_000
    access = jwt_with_exp(now + exp_in) if exp_in is not None else "opaque"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)) if last_refresh == "now" else last_refresh
    auth = AuthDotJson("chatgpt", tokens=TokenData("id", access, "rt"), last_refresh=stamp)
    assert refresh_reason(auth, now=now) == expected
    assert refresh_reason(AuthDotJson("apikey", openai_api_key="sk-x"), now=now) is None


# --- against the issuer ---------------------------------------------------------------------------


async def test_fresh_tokens_make_no_request(tmp_path):
    issuer = DevIssuer()
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_dev_issuer, issuer)
            settings = make_settings(tmp_path, url)
            store_tokens(settings, await issue(issuer))
            before = settings.auth_file.read_bytes()
            result = await refresh_credentials(settings)
            nursery.cancel_scope.cancel()
    assert not result.refreshed and result.reason is None
    assert issuer.token_requests(GRANT_REFRESH) == [] and settings.auth_file.read_bytes() == before


@pytest.mark.parametrize("why", ["expiring", "stale"])
async def test_due_tokens_are_refreshed_and_the_rotation_saved(tmp_path, why):
    issuer = DevIssuer(access_token_lifetime=60 if why == "expiring" else 3600)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_dev_issuer, issuer)
            settings = make_settings(tmp_path, url)
            issued = await issue(issuer)
            if why == "stale":  # the age counts only when the access token's exp cannot be read
                issued["access_token"] = "opaque-access-token"
            old = store_tokens(settings, issued, last_refresh=NINE_DAYS_AGO if why == "stale" else None)
            with diagnostics.open_log(settings.resolved_log_dir):
                result = await refresh_credentials(settings)
            nursery.cancel_scope.cancel()
    assert result.refreshed and result.reason == why and result.backend == "file"
    assert len(issuer.token_requests(GRANT_REFRESH)) == 1
    data = saved(settings)
    assert stat.S_IMODE(settings.auth_file.stat().st_mode) == 0o600
    assert data["tokens"]["refresh_token"] != old.tokens.refresh_token
    assert issuer.token_active(data["tokens"]["refresh_token"]) and not issuer.token_active(old.tokens.refresh_token)
    assert data["tokens"]["access_token"] != old.tokens.access_token and data["tokens"]["account_id"] == "acct_dev"
    assert data["OPENAI_API_KEY"] == "sk-kept-0123456789" and data["last_refresh"] != old.last_refresh
    assert [p.name for p in settings.codex_home.iterdir() if p.name.endswith(".tmp")] == []
    log = settings.log_file.read_text()
    for secret in (old.tokens.refresh_token, data["tokens"]["refresh_token"], data["tokens"]["access_token"]):
        assert secret not in log
    done = [json.loads(line) for line in log.splitlines() if '"codex:refresh"' in line][-1]
    assert done["action_status"] == "succeeded" and done["refreshed"] is True and done["rotated"] is True


@pytest.mark.concurrency
async def test_concurrent_refreshers_in_one_process_make_one_request(tmp_path):
    issuer = DevIssuer(access_token_lifetime=60)
    issuer.faults.token_delay = 0.3  # keep the first refresher inside the lock for a while
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_dev_issuer, issuer)
            settings = make_settings(tmp_path, url)
            store_tokens(settings, await issue(issuer))
            results = []

            async def refresher():
                results.append(await refresh_credentials(settings))

            async with trio.open_nursery() as inner:
                inner.start_soon(refresher)
                inner.start_soon(refresher)
            nursery.cancel_scope.cancel()
    assert len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert sorted(r.refreshed for r in results) == [False, True]
    assert [r.by_other_process for r in results if not r.refreshed] == [True]
    assert issuer.token_active(saved(settings)["tokens"]["refresh_token"])


REFRESHER = """
import sys, trio
from codexlogin.flows.refresh import refresh_credentials
from codexlogin.config import load_settings
print("ready", flush=True)  # imports done (seconds under load): the test starts both only now
sys.stdin.readline()  # start line: both processes begin together
result = trio.run(refresh_credentials, load_settings({}))
print("refreshed" if result.refreshed else "other" if result.by_other_process else "none", flush=True)
"""


@pytest.mark.concurrency
def test_two_processes_make_exactly_one_refresh_request(tmp_path):
    issuer = DevIssuer(access_token_lifetime=60)
    issuer.faults.token_delay = 0.5  # the winner holds the lock while the loser waits on it
    with issuer_in_thread(issuer) as url:
        settings = make_settings(tmp_path, url)
        old = store_tokens(settings, issue_tokens(issuer, url))
        env = {**os.environ, "CODEX_LOGIN_ISSUER": url}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", REFRESHER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(2)
        ]
        for proc in procs:  # both have imported everything: neither can finish before the other starts
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=60) for proc in procs]
        refresh_requests = issuer.token_requests(GRANT_REFRESH)
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    assert sorted(out.strip() for out, _ in outputs) == ["other", "refreshed"]
    assert len(refresh_requests) == 1 and refresh_requests[0]["refresh_token"] == old.tokens.refresh_token
    final = saved(settings)["tokens"]["refresh_token"]
    assert final != old.tokens.refresh_token and issuer.token_active(final)  # the grant survived


# --- failures by kind -------------------------------------------------------------------------------


async def test_rejected_refresh_token_is_unusable_credentials(tmp_path):
    issuer = DevIssuer(access_token_lifetime=60)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_dev_issuer, issuer)
            settings = make_settings(tmp_path, url)
            store_tokens(settings, await issue(issuer))
            before = settings.auth_file.read_bytes()
            issuer.faults.refresh_error = "invalid_grant"
            with pytest.raises(RefreshRejected) as info:
                await refresh_credentials(settings)
            nursery.cancel_scope.cancel()
    assert info.value.kind == "rejected" and info.value.exit_code == ExitCode.CREDENTIALS_UNUSABLE
    assert "invalid_grant" in info.value.detail and "codex login" in info.value.detail
    assert settings.auth_file.read_bytes() == before  # nothing half-written


async def test_unreachable_issuer_is_a_network_error(tmp_path, refused_port):
    url = f"http://127.0.0.1:{refused_port()}"
    settings = make_settings(tmp_path, url)
    expiring = jwt_with_exp(int(time.time()) + 10)
    tokens = TokenData("id", expiring, "rt-x", oauth_provenance=provenance_of(url))
    save_auth(settings.auth_file, AuthDotJson("chatgpt", tokens=tokens, last_refresh=NINE_DAYS_AGO))
    with trio.fail_after(20), pytest.raises(RefreshUnreachable) as info:
        await refresh_credentials(settings)
    assert info.value.kind == "network" and info.value.exit_code == ExitCode.NETWORK_ERROR


def test_classify_failure_kinds():
    expired = classify_failure(IssuerRejected("token refresh", 400, "invalid_grant", "Refresh token expired", ""))
    assert isinstance(expired, CredentialsUnusable) and expired.kind == "expired"
    rejected = classify_failure(IssuerRejected("token refresh", 401, "invalid_client", None, ""))
    assert isinstance(rejected, CredentialsUnusable) and rejected.kind == "rejected"
    for status in (500, 503, 429):
        unavailable = classify_failure(IssuerRejected("token refresh", status, None, None, "<html>oops</html>"))
        assert isinstance(unavailable, NetworkError) and unavailable.kind == "unavailable"
    network = classify_failure(IssuerUnreachable("token refresh", "timeout", "no reply"))
    assert isinstance(network, NetworkError) and network.kind == "network"
    odd = IssuerRejected("token refresh", 200, "invalid_response", "reply lacks access_token", "")
    # An unreadable 2xx: exit 4, saying the refresh token was spent (the issuer may have rotated it).
    unusable = classify_failure(odd)
    assert isinstance(unusable, TokenExchangeFailed) and unusable.exit_code == ExitCode.TOKEN_EXCHANGE_FAILED
    assert str(unusable).startswith(str(odd)) and unusable.error_code == odd.error_code
    assert "the stored refresh token was sent, and the issuer may have replaced it" in unusable.detail


async def test_nothing_stored_and_no_refresh_token(tmp_path):
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(NotLoggedIn):
        await refresh_credentials(settings)
    save_auth(settings.auth_file, AuthDotJson("chatgpt", tokens=TokenData("id", jwt_with_exp(0), ""), last_refresh=NINE_DAYS_AGO))
    with pytest.raises(RefreshRejected):
        await refresh_credentials(settings)
    save_auth(settings.auth_file, AuthDotJson("apikey", openai_api_key="sk-abc"))
    result = await refresh_credentials(settings, force=True)
    assert not result.refreshed


async def test_lock_wait_is_bounded(tmp_path, mock_clock):
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    with trio.fail_after(100):
        async with hold_file_lock(refresh_lock_path(settings), timeout=1):
            with pytest.raises(TimedOut):
                async with hold_file_lock(refresh_lock_path(settings), timeout=5):
                    pass
        async with hold_file_lock(refresh_lock_path(settings), timeout=1) as waited:
            assert waited == 0


# --- nothing resurrected or overwritten by a refresh in flight -----------------------------------------


@pytest.mark.parametrize("meanwhile", ["removed", "replaced"])
async def test_a_refresh_never_writes_over_a_change_made_during_its_request(tmp_path, mock_clock, nursery, meanwhile):
    """Every writer takes auth.lock, so this needs a writer that does not (an older codex): it
    removes or replaces auth.json while the refresh reply is on its way. The refresh saves nothing
    and revokes the tokens it was just given, which are stored nowhere."""
    from held_reply import HeldTokenReply

    from codexlogin.credentials.files import delete_auth

    issuer = DevIssuer(access_token_lifetime=60)
    held = HeldTokenReply(issuer, hold=5)
    url = await nursery.start(serve_dev_issuer, held)
    settings = make_settings(tmp_path, url)
    new_login = AuthDotJson("apikey", openai_api_key="sk-proj-new-login-0123456789")
    with trio.fail_after(120):
        old = store_tokens(settings, await issue(issuer))
        held.armed = True
        outcome = []

        async def refresher():
            try:
                outcome.append(await refresh_credentials(settings))
            except NotLoggedIn as failure:
                outcome.append(failure)

        async with trio.open_nursery() as inner:
            inner.start_soon(refresher)
            await held.wait_holding()
            if meanwhile == "removed":
                delete_auth(settings.auth_file)
            else:
                save_auth(settings.auth_file, new_login)
    if meanwhile == "removed":
        assert not settings.auth_file.exists() and isinstance(outcome[0], NotLoggedIn)
    else:
        assert saved(settings) == new_login.to_json()
        assert not outcome[0].refreshed and outcome[0].by_other_process and outcome[0].auth.to_json() == new_login.to_json()
    rotated = [t for t in issuer._refresh if t != old.tokens.refresh_token]
    assert len(rotated) == 1 and not issuer.token_active(rotated[0])  # revoked: it is stored nowhere


async def test_a_login_save_waits_for_a_refresh_in_flight(tmp_path, mock_clock, nursery):
    """A new login saved while a refresh is in flight stays: the save waits for auth.lock, so the
    refresh's rotated tokens land first and the new login then replaces them."""
    from held_reply import HeldTokenReply

    from codexlogin.cli.console import ConsoleUI
    from codexlogin.flows.complete import save_locked

    issuer = DevIssuer(access_token_lifetime=60)
    held = HeldTokenReply(issuer, hold=5)
    url = await nursery.start(serve_dev_issuer, held)
    settings = make_settings(tmp_path, url)
    new_login = AuthDotJson("apikey", openai_api_key="sk-proj-new-login-0123456789")
    with trio.fail_after(120):
        store_tokens(settings, await issue(issuer))
        held.armed = True
        async with trio.open_nursery() as inner:
            inner.start_soon(refresh_credentials, settings)
            await held.wait_holding()
            assert await save_locked(settings, new_login, ConsoleUI(stderr=io.StringIO())) == "file"
    assert saved(settings) == new_login.to_json()
