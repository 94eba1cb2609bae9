"""`codex login status`: every state, its text, JSON and exit code; --check against the dev issuer.

The command is called as the CLI calls it (a plain function returning the exit code); --check
runs trio.run inside, so those tests are sync and serve the issuer from a thread. Real files under
tmp_path; the cold path is checked in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from harness import (
    NINE_DAYS_AGO,
    issue_tokens,
    issuer_in_thread,
    jwt_with_exp,
    run_cli,
    store_tokens,
)

from codexlogin import DEFAULT_CLIENT_ID
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.credentials.status import mask_api_key
from codexlogin.devissuer import GRANT_REFRESH, DevIssuer
from codexlogin.errors import ExitCode

JSON_KEYS = {
    "status",
    "logged_in",
    "mode",
    "email",
    "plan",
    "account_id",
    "api_key",
    "personal_access_token",
    "expires_at",
    "last_refresh",
    "refresh_due",
    "issuer",
    "storage",
    "problem",
}


def run_status(capsys, *args, **kwargs):
    code = run_cli("login", "status", *args, **kwargs)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, **kwargs):
    code, out, err = run_status(capsys, json_=True, **kwargs)
    assert out.count("\n") == 1, out
    return code, json.loads(out), err


def settings():
    return load_settings({})


def store(auth):
    save_auth(settings().auth_file, auth)


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("sk-proj-0123456789abcde", "sk-proj-***"),  # 15 secret characters after the tag: none shown
        ("sk-0123456789abcdef", "sk-***cdef"),  # 19 characters: a quarter of the 16 after the tag
        ("sk-proj-" + "x" * 44, "sk-proj-***xxxxx"),  # 52 characters: 0.171's shape
        ("sk-123456789a", "sk-***"),  # 13 characters: only the tag
        ("short", "***"),
        ("", "***"),
        (None, "***"),
    ],
)
def test_mask_api_key(key, masked):
    assert mask_api_key(key) == masked


def test_not_logged_in(capsys):
    assert run_status(capsys) == (1, "", "Not logged in — run `codex login`\n")  # on stderr, as Codex CLI 0.171
    code, data, _ = run_json(capsys)
    assert code == ExitCode.NOT_LOGGED_IN and set(data) == JSON_KEYS
    assert data["status"] == "not_logged_in" and data["logged_in"] is False and data["mode"] is None
    assert data["storage"] == "file"


def test_api_key_is_masked_in_text_and_json(capsys):
    key = "sk-proj-SECRETSECRETSECRETabcde"
    store(AuthDotJson("apikey", openai_api_key=key))
    code, stdout, out = run_status(capsys)
    # Codex CLI 0.171's words, on stderr as it prints them
    assert (code, stdout, out) == (
        0,
        "",
        "API key configured - sk-proj-***abcde\nAuthentication is checked when you send a request.\n",
    )
    code, data, _ = run_json(capsys)
    assert code == 0 and data["mode"] == "apikey" and data["api_key"] == "sk-proj-***abcde"
    assert "SECRET" not in json.dumps(data)


def test_chatgpt_login_from_issued_tokens(capsys):
    issuer = DevIssuer(email="ci@example.com", plan="team", account_id="acct_ci")
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
    auth = store_tokens(settings(), issued)
    code, stdout, out = run_status(capsys)
    assert (code, out) == (0, "Logged in using ChatGPT as ci@example.com (team), account acct_dev\n")
    code, data, _ = run_json(capsys)
    assert code == 0 and set(data) == JSON_KEYS
    assert data["status"] == "logged_in" and data["logged_in"] is True and data["mode"] == "chatgpt"
    assert (data["email"], data["plan"]) == ("ci@example.com", "team")
    assert data["account_id"] == "acct_dev"  # the stored account id wins over the claim
    assert data["expires_at"].endswith("Z") and data["last_refresh"] == auth.last_refresh
    assert data["refresh_due"] is None and data["storage"] == "file" and data["problem"] is None
    text = json.dumps(data)
    for secret in (issued["access_token"], issued["refresh_token"], issued["id_token"]):
        assert secret not in text


def test_expiring_but_refreshable_is_still_logged_in(capsys):
    store(AuthDotJson("chatgpt", tokens=TokenData("id", jwt_with_exp(int(time.time()) - 60), "rt"), last_refresh=NINE_DAYS_AGO))
    code, data, _ = run_json(capsys)
    assert code == 0 and data["refresh_due"] == "expiring" and data["status"] == "logged_in"


@pytest.mark.parametrize(
    ("auth_json", "problem"),
    [
        ("{not json", "not valid auth.json"),
        (json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": ""}), "API key is empty"),
        (json.dumps({"auth_mode": "chatgpt", "tokens": {}}), "no tokens"),
        (
            json.dumps(
                {"auth_mode": "chatgpt", "tokens": {"id_token": "x", "access_token": jwt_with_exp(1), "refresh_token": ""}}
            ),
            "no refresh token",
        ),
        (json.dumps({"auth_mode": "martian"}), "unknown auth_mode"),
    ],
)
def test_unusable_credentials_have_their_own_exit_code(capsys, auth_json, problem):
    path = settings().auth_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(auth_json)
    code, stdout, out = run_status(capsys)
    assert code == ExitCode.CREDENTIALS_UNUSABLE == 8
    assert out.startswith("Credentials are stored but unusable:") and problem in out
    code, data, _ = run_json(capsys)
    assert code == 8 and data["status"] == "unusable" and problem in data["problem"] and data["logged_in"] is False


def test_policy_violations(capsys):
    store(AuthDotJson("chatgpt", tokens=TokenData("id", "acc", "rt", "acct_a"), last_refresh=NINE_DAYS_AGO))
    code, stdout, out = run_status(capsys, config=("forced_login_method=api",))
    assert code == ExitCode.POLICY_VIOLATION and "forced_login_method = api" in out
    code, data, _ = run_json(capsys, config=("forced_chatgpt_workspace_id=acct_b,acct_c",))
    assert code == 9 and data["status"] == "policy_violation" and "acct_a" in data["problem"] and "acct_b" in data["problem"]
    assert run_status(capsys, config=("forced_chatgpt_workspace_id=acct_a",))[0] == 0
    store(AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcde"))
    assert run_status(capsys, config=("forced_login_method=chatgpt",))[0] == 9


def test_bad_settings_are_a_usage_error(capsys):
    code, out, err = run_status(capsys, config=("port=abc",))
    assert code == ExitCode.USAGE and out == "" and err.startswith("error: invalid value for port")


def test_other_codex_settings_are_set_aside_with_a_warning(capsys):
    code, out, err = run_status(capsys, config=("model=o3",))
    assert code == ExitCode.NOT_LOGGED_IN and out == ""
    assert err == "warning: -c model: not a login setting, left to the rest of Codex\nNot logged in — run `codex login`\n"


def test_offline_status_imports_nothing_heavy_and_writes_no_log(tmp_path):
    store(AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcdefghijabcde"))
    probe = (
        "import sys; from codexlogin.cli.status import status; code = status();"
        " heavy = sorted(m for m in ('trio', 'httpx', 'hypercorn', 'eliot', 'rich', 'keyring') if m in sys.modules);"
        " print(heavy); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=60, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]"]
    assert result.stderr.splitlines() == [
        "API key configured - sk-proj-***abcde",
        "Authentication is checked when you send a request.",
    ]
    assert not settings().log_file.exists()


# --- --check ----------------------------------------------------------------------------------------


def test_check_fresh_tokens_without_a_refresh(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        code, data, _ = run_json(capsys, check=True)  # no --issuer: the stored login names it
        assert issuer.token_requests(GRANT_REFRESH) == []
        assert len(issuer.requests_to("/oauth/userinfo")) == 1  # proven online, without a refresh
    assert code == 0 and data["check"] == {"refreshed": False, "reason": None, "online": True, "proof": "userinfo"}
    assert settings().log_file.exists()  # --check is a logged flow


def test_check_refreshes_expiring_tokens(capsys):
    issuer = DevIssuer(access_token_lifetime=120)
    with issuer_in_thread(issuer) as url:
        old = store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        code, stdout, out = run_status(capsys, check=True)
        assert len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 0 and out.startswith(f"Logged in using ChatGPT as dev@example.com (pro), account acct_dev, issuer {url}\n")
    assert "Credentials checked online (refresh): the issuer accepted the refresh token and issued new tokens (expiring)." in out
    new = json.loads(settings().auth_file.read_text())["tokens"]["refresh_token"]
    assert new != old.tokens.refresh_token


def test_check_rejected_refresh_token(capsys):
    issuer = DevIssuer(access_token_lifetime=120)
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        issuer.faults.refresh_error = "invalid_grant"
        code, data, err = run_json(capsys, check=True)
    assert code == ExitCode.CREDENTIALS_UNUSABLE and data["status"] == "check_failed"
    assert data["error"]["kind"] == "rejected" and data["error"]["exit_code"] == 8
    assert "invalid_grant" in data["error"]["message"]
    assert err.startswith("error: the issuer rejected the stored refresh token")


def test_check_unreachable_issuer_is_a_network_error(capsys, refused_port):
    url = f"http://127.0.0.1:{refused_port()}"
    tokens = TokenData(
        "id", jwt_with_exp(int(time.time()) + 30), "rt", oauth_provenance={"issuer": url, "client_id": DEFAULT_CLIENT_ID}
    )
    store(AuthDotJson("chatgpt", tokens=tokens, last_refresh=NINE_DAYS_AGO))
    code, out, err = run_status(capsys, check=True)
    assert code == ExitCode.NETWORK_ERROR and out == "" and "could not reach" in err
    code, data, _ = run_json(capsys, check=True)
    assert code == 10 and data["error"]["kind"] == "network"


def test_check_with_nothing_stored_needs_no_network(capsys):
    assert run_status(capsys, check=True, issuer="http://127.0.0.1:9") == (1, "", "Not logged in — run `codex login`\n")


def test_check_api_key_is_offline(capsys):
    store(AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcde"))
    code, data, _ = run_json(capsys, check=True, issuer="http://127.0.0.1:9")
    assert code == 0 and data["check"] == {"refreshed": False, "reason": None, "online": False, "proof": None}


# --- unreadable (exit 7) vs unusable (exit 8) ---------------------------------------------------------


def test_auth_json_that_is_a_directory_is_a_storage_failure(capsys):
    settings().auth_file.mkdir(parents=True)
    code, stdout, out = run_status(capsys)
    assert code == ExitCode.STORAGE_FAILED == 7
    assert out.startswith("Cannot read the stored credentials: cannot read") and out.count("\n") == 1
    code, data, _ = run_json(capsys)
    assert code == 7 and data["status"] == "storage_error" and data["logged_in"] is False


@pytest.mark.parametrize("errno_name", ["EIO", "EACCES"])
def test_auth_json_read_errors_are_storage_failures(capsys, monkeypatch, errno_name):
    import errno
    from pathlib import Path

    store(AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcde"))
    auth_file = settings().auth_file
    real_read_bytes = Path.read_bytes

    def failing_read_bytes(path):
        if path == auth_file:
            code = getattr(errno, errno_name)
            raise OSError(code, os.strerror(code), str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", failing_read_bytes)
    code, data, _ = run_json(capsys)
    assert code == ExitCode.STORAGE_FAILED and data["status"] == "storage_error"
    assert os.strerror(getattr(errno, errno_name)) in data["problem"]


def test_deeply_nested_auth_json_is_unusable_in_one_line(capsys):
    path = settings().auth_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[" * 100_000)
    code, stdout, out = run_status(capsys)
    assert code == ExitCode.CREDENTIALS_UNUSABLE and stdout == ""
    assert out.startswith("Credentials are stored but unusable:") and out.count("\n") == 1 and "nested too deeply" in out


def test_cli_status_for_a_directory_auth_json_exits_7(tmp_path):
    """The reviewer's repro: `mkdir $CODEX_HOME/auth.json; codex login status`."""
    settings().auth_file.mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-m", "codexlogin", "login", "status"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert result.returncode == 7, (result.stdout, result.stderr)
