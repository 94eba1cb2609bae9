"""`codex logout`: revoke at the dev issuer (OK, 500, hanging, unreachable), remove, nothing stored.

The command runs trio.run inside, so these tests are sync and serve the issuer from a thread;
real files under tmp_path; the run's log is read back.
"""

from __future__ import annotations

import json

import keyring
import keyring.backends.fail
import pytest
import trio
from harness import MemoryKeyring, issue_tokens, issue_tokens_async, issuer_in_thread, provenance_of, run_cli, store_tokens

from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import DevIssuer
from codexlogin.errors import ExitCode
from codexlogin.flows.logout import REVOKE_TIMEOUT, logout_flow

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def logout(**options):
    return run_cli("logout", **options)


def settings():
    return load_settings({})


def log_messages():
    path = settings().log_file
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_nothing_stored_says_not_logged_in(capsys):
    assert logout(issuer="http://127.0.0.1:9") == 0
    assert capsys.readouterr() == ("", "Not logged in — nothing to remove\n")  # stderr, as Codex CLI 0.171


def test_revokes_the_refresh_token_then_removes(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        auth = store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        assert logout() == 0  # no --issuer: the stored login names it
        revokes = [form for method, path, form in issuer.requests if path == "/oauth/revoke"]
        assert not issuer.token_active(auth.tokens.refresh_token)
        assert not issuer.token_active(auth.tokens.access_token)  # revoking the refresh token ends the grant
    out, err = capsys.readouterr()
    assert (out, err) == ("", "Successfully logged out: removed the login of dev@example.com\n")
    assert len(revokes) == 1 and revokes[0]["token_type_hint"] == "refresh_token"
    assert revokes[0]["token"] == auth.tokens.refresh_token
    assert not settings().auth_file.exists()
    log = settings().log_file.read_text()
    assert auth.tokens.refresh_token not in log
    revoke = [m for m in log_messages() if m.get("action_type") == "codex:revoke"]
    assert [m["action_status"] for m in revoke] == ["started", "succeeded"] and revoke[-1]["status"] == 200


def test_access_token_is_revoked_when_there_is_no_refresh_token(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        save_auth(
            settings().auth_file,
            AuthDotJson(
                "chatgpt", tokens=TokenData(issued["id_token"], issued["access_token"], "", oauth_provenance=provenance_of(url))
            ),
        )
        assert logout() == 0  # no --issuer: the stored login names it
        revokes = [form for method, path, form in issuer.requests if path == "/oauth/revoke"]
        assert not issuer.token_active(issued["access_token"])
    assert revokes[0]["token_type_hint"] == "access_token"


def test_revocation_failure_warns_and_still_removes(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        issuer.faults.revoke_status = 500
        assert logout() == 0  # no --issuer: the stored login names it
    out, err = capsys.readouterr()
    assert err.endswith("Successfully logged out: removed the login of dev@example.com\n") and out == ""
    assert err.startswith("warning: could not revoke the refresh token at the issuer") and "HTTP 500" in err
    assert "removed anyway" in err and err.count("\n") == 2
    assert not settings().auth_file.exists()
    revoke = [m for m in log_messages() if m.get("action_type") == "codex:revoke"]
    assert revoke[-1]["action_status"] == "failed" and revoke[-1]["status"] == 500
    root = [m for m in log_messages() if m.get("action_type") == "codex:command"]
    assert root[0]["command"] == "logout" and root[-1]["action_status"] == "succeeded"


def test_unreachable_issuer_warns_and_still_removes(capsys, refused_port):
    url = f"http://127.0.0.1:{refused_port()}"
    save_auth(
        settings().auth_file, AuthDotJson("chatgpt", tokens=TokenData("id", "acc", "rt", oauth_provenance=provenance_of(url)))
    )
    assert logout() == 0  # no --issuer: the stored login names it
    out, err = capsys.readouterr()
    assert err.endswith("Successfully logged out: removed a ChatGPT login\n") and "could not revoke" in err and "connect" in err
    assert not settings().auth_file.exists()


async def test_a_hanging_revocation_endpoint_is_bounded(mock_clock, dev_issuer):
    """The revoke request gets REVOKE_TIMEOUT seconds (virtual here), then the removal goes on."""
    s = load_settings({"issuer": dev_issuer.issuer_url})
    save_auth(
        s.auth_file,
        AuthDotJson("chatgpt", tokens=TokenData("id", "acc", "rt", oauth_provenance=provenance_of(dev_issuer.issuer_url))),
    )

    async def hang(form):
        await trio.sleep(3600)

    dev_issuer._routes["/oauth/revoke"]["POST"] = hang  # no revoke_delay fault (yet)
    with trio.fail_after(REVOKE_TIMEOUT + 5):
        started = trio.current_time()
        result = await logout_flow(s)
        elapsed = trio.current_time() - started
    assert result.removed and result.revoked is False and "timeout" in result.warning
    assert REVOKE_TIMEOUT <= elapsed < REVOKE_TIMEOUT + 1
    assert not s.auth_file.exists()


async def test_api_key_logout_makes_no_request(dev_issuer):
    s = load_settings({"issuer": dev_issuer.issuer_url})
    save_auth(s.auth_file, AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcde"))
    with trio.fail_after(10):
        result = await logout_flow(s)
    assert result.removed and result.revoked is None and result.warning is None
    assert dev_issuer.requests == [] and not s.auth_file.exists()


def test_corrupt_credentials_are_removed(capsys):
    path = settings().auth_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{oops")
    assert logout(issuer="http://127.0.0.1:9") == 0
    assert capsys.readouterr().err == "Successfully logged out\n" and not path.exists()


def test_keyring_credentials_are_removed(capsys):
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        backend.set_password("Codex Auth", "someone-else", "{}")
        from codexlogin.credentials.store import save_credentials

        keyring_settings = load_settings({}, ("cli_auth_credentials_store=keyring",))
        save_credentials(
            keyring_settings, AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcde"), on_fallback=lambda message: None
        )
        assert logout(config=("cli_auth_credentials_store=keyring",)) == 0
        assert list(backend.entries) == [("Codex Auth", "someone-else")]
        assert logout(config=("cli_auth_credentials_store=keyring",)) == 0
    finally:
        keyring.set_keyring(keyring.backends.fail.Keyring())
    # a short key (16 characters after the tag) shows none of its secret
    assert (
        capsys.readouterr().err == "Successfully logged out: removed the API key sk-proj-***\nNot logged in — nothing to remove\n"
    )


def test_keyring_store_without_a_keyring_is_a_storage_failure(capsys):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    assert logout(config=("cli_auth_credentials_store=keyring",)) == ExitCode.STORAGE_FAILED
    assert capsys.readouterr().err.startswith("error: cli_auth_credentials_store = keyring")


# --- logout vs a refresh in flight (every writer takes $CODEX_HOME/auth.lock) --------------------


async def test_logout_during_a_refresh_in_flight_stays_logged_out(mock_clock, nursery):
    """The refresh holds auth.lock across its request; logout waits for it, then removes and
    revokes the rotated tokens. Before: logout revoked the old token and deleted auth.json, and the
    refresh then saved the rotated tokens back (a resurrected login)."""
    from dataclasses import replace

    from held_reply import HeldTokenReply

    from codexlogin.devissuer import serve_dev_issuer
    from codexlogin.flows.refresh import refresh_credentials

    issuer = DevIssuer(access_token_lifetime=60)  # expiring: the refresh is due
    held = HeldTokenReply(issuer, hold=5)
    url = await nursery.start(serve_dev_issuer, held)
    s = replace(load_settings({"issuer": url}), exchange_timeout=10)
    with trio.fail_after(120):
        old = store_tokens(s, await issue_tokens_async(issuer, url))
        held.armed = True
        refreshed = []

        async def refresher():
            refreshed.append(await refresh_credentials(s))

        async with trio.open_nursery() as inner:
            inner.start_soon(refresher)
            await held.wait_holding()  # the issuer has rotated; its reply is on the way
            result = await logout_flow(s)
    assert result.removed and result.revoked is True and result.warning is None
    assert not s.auth_file.exists()  # not written back by the refresh
    rotated = refreshed[0].auth.tokens.refresh_token
    assert refreshed[0].refreshed and rotated != old.tokens.refresh_token
    revokes = [form for _method, path, form in issuer.requests if path == "/oauth/revoke"]
    assert [form["token"] for form in revokes] == [rotated]  # the tokens the refresh rotated to
    assert not issuer.token_active(rotated)


async def test_logout_that_cannot_get_the_lock_changes_nothing(mock_clock, dev_issuer):
    from codexlogin.credentials.lock import hold_file_lock, refresh_lock_path
    from codexlogin.errors import StorageFailed

    s = load_settings({"issuer": dev_issuer.issuer_url})
    save_auth(
        s.auth_file,
        AuthDotJson("chatgpt", tokens=TokenData("id", "acc", "rt", oauth_provenance=provenance_of(dev_issuer.issuer_url))),
    )
    with trio.fail_after(100):
        async with hold_file_lock(refresh_lock_path(s), timeout=1):
            with pytest.raises(StorageFailed) as info:
                await logout_flow(s, lock_timeout=10)
    assert info.value.exit_code == ExitCode.STORAGE_FAILED and "auth.lock" in info.value.detail
    assert s.auth_file.exists() and dev_issuer.requests == []


@pytest.mark.concurrency
def test_cli_logout_while_status_check_refreshes(capsys):
    """The reviewer's repro with two real processes: `codex login status --check` refreshing in a
    child process (the issuer holds its reply back), `codex logout` here meanwhile."""
    import os
    import subprocess
    import sys

    from held_reply import HeldTokenReply

    issuer = DevIssuer(access_token_lifetime=60)
    held = HeldTokenReply(issuer, hold=1.5)
    with issuer_in_thread(held) as url:
        old = store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        held.armed = True
        env = dict(os.environ)  # no issuer setting: the stored login names it
        check = subprocess.Popen(
            [sys.executable, "-m", "codexlogin", "login", "status", "--check"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert held.holding.wait(30), "the refresh never reached the issuer"
            assert logout() == 0  # no --issuer: the stored login names it
        finally:
            out, err = check.communicate(timeout=60)
        revoked = [form["token"] for _m, path, form in issuer.requests if path == "/oauth/revoke"]
    assert check.returncode == 0, err
    assert "issued new tokens" in err  # status text: stderr, as Codex CLI 0.171
    assert capsys.readouterr().err == "Successfully logged out: removed the login of dev@example.com\n"
    assert not settings().auth_file.exists()
    assert len(revoked) == 1 and revoked[0] != old.tokens.refresh_token  # the rotated token
    assert not issuer.token_active(revoked[0])
