"""`codex login token`: the stored access token for scripts, as real subprocesses against the dev
issuer over real HTTP (served from a thread: the subprocesses reach it on 127.0.0.1).

Rules: 127.0.0.1 only, port 0; subprocess timeouts bound every run; CODEX_HOME under tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from harness import issue_tokens, issuer_in_thread, make_settings, store_tokens

from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson
from codexlogin.devissuer import GRANT_REFRESH, DevIssuer

CODEX = [sys.executable, "-m", "codexlogin"]


def start_token(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CODEX, "login", "token", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def codex_token(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = start_token(*args, env=env)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def saved(settings) -> dict:
    return json.loads(settings.auth_file.read_text())


def log_of(settings) -> str:
    """The subprocesses' log: the default place under CODEX_HOME."""
    path = settings.codex_home / "log" / "codex-login.log"
    return path.read_text() if path.exists() else ""


def token_run_outcomes(settings) -> list[str]:
    """How each `login token` run's root action ended."""
    records = [json.loads(line) for line in log_of(settings).splitlines()]
    commands = [r for r in records if r.get("action_type") == "codex:command"]
    ours = {r["task_uuid"] for r in commands if r.get("command") == "login token"}
    return [r["action_status"] for r in commands if r["task_uuid"] in ours and r["action_status"] != "started"]


def test_fresh_token_is_printed_without_a_refresh(tmp_path):
    issuer = DevIssuer()  # an hour's access token: not due
    with issuer_in_thread(issuer) as url:
        settings = make_settings(tmp_path, url)
        stored = store_tokens(settings, issue_tokens(issuer, url))
        code, out, err = codex_token()
        code_json, out_json, _ = codex_token("--json")
        refreshes = issuer.token_requests(GRANT_REFRESH)
    assert (code, err) == (0, "") and out == stored.tokens.access_token + "\n"
    assert code_json == 0
    data = json.loads(out_json)
    assert set(data) == {"access_token", "expires_at", "account_id", "issuer"}
    assert data["access_token"] == stored.tokens.access_token and data["account_id"] == "acct_dev"
    assert data["issuer"] == url.rstrip("/") and data["expires_at"].endswith("Z")
    assert refreshes == []
    log = log_of(settings)
    for secret in (stored.tokens.access_token, stored.tokens.refresh_token, stored.tokens.id_token):
        assert secret not in log
    assert token_run_outcomes(settings) == ["succeeded", "succeeded"]


@pytest.mark.concurrency
def test_two_concurrent_callers_refresh_a_due_token_once(tmp_path):
    issuer = DevIssuer(access_token_lifetime=60)  # under 5 minutes left: due at once
    issuer.faults.token_delay = 0.5  # the winner holds auth.lock while the other waits on it
    with issuer_in_thread(issuer) as url:
        settings = make_settings(tmp_path, url)
        old = store_tokens(settings, issue_tokens(issuer, url))
        procs = [start_token(), start_token("--json")]
        (out_plain, err_plain), (out_json, err_json) = (proc.communicate(timeout=60) for proc in procs)
        refreshes = issuer.token_requests(GRANT_REFRESH)
    assert [proc.returncode for proc in procs] == [0, 0], (err_plain, err_json)
    assert len(refreshes) == 1 and refreshes[0]["refresh_token"] == old.tokens.refresh_token
    new = saved(settings)["tokens"]
    assert new["access_token"] != old.tokens.access_token and issuer.token_active(new["refresh_token"])
    assert out_plain.strip() == new["access_token"] == json.loads(out_json)["access_token"]
    log = log_of(settings)
    for secret in (old.tokens.access_token, old.tokens.refresh_token, new["access_token"], new["refresh_token"]):
        assert secret not in log


def test_not_logged_in_exits_1(tmp_path):
    code, out, err = codex_token()
    assert (code, out) == (1, "") and err.startswith("error: not logged in")


def test_api_key_is_not_an_access_token(tmp_path):
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    save_auth(settings.auth_file, AuthDotJson("apikey", openai_api_key="sk-proj-abcdefghijklmnop"))
    code, out, err = codex_token()
    assert (code, out) == (8, "") and "API key" in err and "sk-proj-abcdefghijklmnop" not in err


def test_personal_access_token_is_the_bearer_token(tmp_path):
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    save_auth(settings.auth_file, AuthDotJson("personal_access_token", personal_access_token="at-personal-0123456789"))
    code, out, _ = codex_token("--json")
    assert code == 0 and json.loads(out) == {
        "access_token": "at-personal-0123456789",
        "expires_at": None,
        "account_id": None,
        "issuer": "https://auth.openai.com",
    }


def test_due_token_with_an_unreachable_issuer_exits_10(tmp_path):
    issuer = DevIssuer(access_token_lifetime=60)
    with issuer_in_thread(issuer) as url:
        settings = make_settings(tmp_path, url)
        store_tokens(settings, issue_tokens(issuer, url))
        before = settings.auth_file.read_bytes()
    # The thread's issuer has stopped: its port refuses.
    code, out, err = codex_token()
    assert (code, out) == (10, "") and "token refresh failed" in err
    assert settings.auth_file.read_bytes() == before


def test_refused_refresh_exits_8(tmp_path):
    issuer = DevIssuer(access_token_lifetime=60)
    issuer.faults.refresh_error = "invalid_grant"
    with issuer_in_thread(issuer) as url:
        settings = make_settings(tmp_path, url)
        store_tokens(settings, issue_tokens(issuer, url))
        code, out, err = codex_token()
    assert (code, out) == (8, "") and "invalid_grant" in err


def test_another_issuer_named_by_a_setting_is_refused(tmp_path):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        settings = make_settings(tmp_path, url)
        store_tokens(settings, issue_tokens(issuer, url))
        code, out, err = codex_token("--issuer", "http://127.0.0.1:9")
    assert (code, out) == (2, "") and "login token refused" in err


def test_expired_without_refresh_token_is_unusable(tmp_path):
    from harness import jwt_with_exp

    from codexlogin.credentials.model import TokenData

    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    tokens = TokenData("e30.e30.sig", jwt_with_exp(int(time.time()) - 10), "")
    save_auth(settings.auth_file, AuthDotJson("chatgpt", tokens=tokens, last_refresh="2020-01-01T00:00:00Z"))
    code, out, err = codex_token()
    assert (code, out) == (8, "") and "no refresh token" in err
