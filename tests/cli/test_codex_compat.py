"""What scripts, IDE wrappers and the issuer see, as Codex CLI 0.171 shows it (issue: drop-in, round two).

Each test runs the real CLI as a subprocess against the dev issuer over real HTTP; the words,
streams, headers and reasons pinned here are the ones the real 0.171 binary was observed to use
(scripts/interop_codex.py compares both binaries on the same CODEX_HOME).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys

import pytest
import trio

from codexlogin.devissuer import DevIssuer, serve_dev_issuer

CODEX = [sys.executable, "-m", "codexlogin"]
API_KEY_CHECKED = "Authentication is checked when you send a request."
USER_AGENT = re.compile(r"^codex_cli_rs/0\.171\.0 \([^;()]+ [^;()]+; [^;()]+\) xterm$")


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "TERM"))}
    env.update(
        CODEX_HOME=str(tmp_path / "codex-home"),
        BROWSER=f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        TERM="xterm",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


async def codex(*args, env, stdin=b""):
    with trio.fail_after(60):
        result = await trio.run_process(
            [*CODEX, *args], env=env, stdin=stdin, capture_stdout=True, capture_stderr=True, check=False
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


@pytest.fixture
async def openai_issuer(nursery):
    """The dev issuer, auto-approving, whose access tokens are due for a refresh at once (60 s)."""
    issuer = DevIssuer(auto_approve=True, access_token_lifetime=60)
    await nursery.start(serve_dev_issuer, issuer)
    return issuer


def openai_flags(issuer):
    return ["--issuer", issuer.issuer_url, "-c", "dialect=openai"]


# --- 1. streams and first words ----------------------------------------------------------------------


async def test_status_logout_and_api_key_login_speak_on_stderr_in_0171s_words(tmp_path, openai_issuer):
    env = env_for(tmp_path)
    assert await codex("login", "status", env=env) == (1, "", "Not logged in — run `codex login`\n")
    code, out, err = await codex("login", "--with-api-key", env=env, stdin=b"garbage\n")
    assert (code, out) == (0, "") and err.startswith(f"API key saved. {API_KEY_CHECKED}\n"), err
    assert "Successfully logged in" not in err  # nothing checked the key
    assert await codex("login", "status", env=env) == (0, "", f"API key configured - ***\n{API_KEY_CHECKED}\n")
    code, out, err = await codex("login", "status", "--json", env=env)  # the machine-readable form stays on stdout
    assert code == 0 and err == "" and json.loads(out)["mode"] == "apikey"
    code, out, err = await codex("logout", env=env)
    assert (code, out, err) == (0, "", "Successfully logged out: removed the API key ***\n")
    assert await codex("logout", env=env) == (0, "", "Not logged in — nothing to remove\n")


async def test_the_device_prompt_goes_to_stdout_and_the_outcome_to_stderr(tmp_path, openai_issuer):
    code, out, err = await codex("login", "--device-auth", *openai_flags(openai_issuer), env=env_for(tmp_path))
    assert code == 0, err
    user_code = re.search(r"\n   ([A-Z0-9]{4}-[A-Z0-9]{4,5})\n", out)
    assert user_code and out.startswith("Follow these steps to sign in with ChatGPT using device code authorization:")
    assert user_code[1] not in err and err.startswith("Successfully logged in"), err


# --- 3. request headers and refresh reasons -----------------------------------------------------------


async def test_headers_and_refresh_reason_as_0171_sends_them(tmp_path, openai_issuer):
    env = env_for(tmp_path)
    assert (await codex("login", "--device-auth", *openai_flags(openai_issuer), env=env))[0] == 0
    login_requests = list(openai_issuer.request_log)
    assert [r.path for r in login_requests] == [
        "/api/accounts/deviceauth/usercode",
        "/api/accounts/deviceauth/token",
        "/oauth/token",
    ]
    for request in login_requests:  # 0.171's login requests carry neither header
        assert "originator" not in request.headers and "user-agent" not in request.headers, request.headers

    code, _, err = await codex("login", "status", "--check", env=env)  # the 60-second token is due
    assert code == 0, err
    (refresh,) = [r for r in openai_issuer.request_log if r.params.get("grant_type") == "refresh_token"]
    assert refresh.params["refresh_reason"] == "proactive_expiry" and refresh.media_type == "application/json"
    assert refresh.headers["originator"] == "codex_cli_rs" and USER_AGENT.match(refresh.headers["user-agent"]), refresh.headers

    assert (await codex("logout", env=env))[0] == 0
    (revoke,) = openai_issuer.requests_to("/oauth/revoke")
    assert revoke.headers["originator"] == "codex_cli_rs" and USER_AGENT.match(revoke.headers["user-agent"]), revoke.headers


async def test_a_check_of_fresh_tokens_forces_the_refresh_as_0171s_account_read_does(tmp_path, nursery):
    issuer = DevIssuer(auto_approve=True)  # an hour-long access token: not due
    await nursery.start(serve_dev_issuer, issuer)
    env = env_for(tmp_path)
    assert (await codex("login", "--device-auth", *openai_flags(issuer), env=env))[0] == 0
    assert (await codex("login", "status", "--check", env=env))[0] == 0
    assert [form["refresh_reason"] for form in issuer.token_requests("refresh_token")] == ["forced"]


async def test_a_standard_issuer_is_told_who_we_are_without_codexs_originator(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    assert (await codex("logout", env=env))[0] == 0
    (revoke,) = dev_issuer.requests_to("/oauth/revoke")
    assert revoke.headers["user-agent"] == "codexlogin" and "originator" not in revoke.headers


# --- 5. a callback with our state but neither code nor error ------------------------------------------


async def test_a_callback_without_code_or_error_ends_the_login_at_once(tmp_path, dev_issuer):
    import subprocess

    import httpx

    with trio.fail_after(30):  # the login's own timeout is the default 600 s: it must not be waited out
        process = await trio.lowlevel.open_process(
            [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--no-browser"],
            env=env_for(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        seen = b""
        while not re.search(rb"state=[^&\s]+.*\n", seen):
            chunk = await process.stderr.receive_some(4096)
            assert chunk, seen
            seen += chunk
        text = seen.decode()
        state = re.search(r"[?&]state=([^&\s]+)", text)[1]
        port = re.search(r"http://localhost:(\d+)", text)[1]
        async with httpx.AsyncClient(trust_env=False) as client:
            page = await client.get(f"http://localhost:{port}/auth/callback?state={state}")
        code = await process.wait()
        while chunk := await process.stderr.receive_some(4096):
            seen += chunk
        await process.stderr.aclose()
    err = seen.decode()
    assert page.status_code == 200 and "missing_authorization_code" in page.text
    assert "Missing authorization code. Sign-in could not be completed." in page.text
    assert code == 4 and "error: Missing authorization code. Sign-in could not be completed." in err, err
    assert not (tmp_path / "codex-home" / "auth.json").exists()


# --- 7. old and hidden flags ----------------------------------------------------------------------------


async def test_the_removed_api_key_flag_points_to_the_pipe_as_0171_does(tmp_path):
    secret = "sk-proj-NEVERSHOWNNEVERSHOWN12345"
    code, out, err = await codex("login", "--api-key", secret, env=env_for(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        "error: The --api-key flag is no longer supported. Pipe the key instead,"
        " e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.\n"
    )
    home = tmp_path / "codex-home"
    assert not (home / "auth.json").exists()
    assert all(secret not in path.read_text() for path in home.rglob("*") if path.is_file())


async def test_experimental_issuer_is_0171s_name_for_the_issuer(tmp_path, openai_issuer):
    env = env_for(tmp_path)
    code, out, err = await codex("login", "--device-auth", "--experimental_issuer", openai_issuer.issuer_url, env=env)
    assert code == 0 and "one-time code" in out, err
    assert [r.path for r in openai_issuer.request_log][:1] == ["/api/accounts/deviceauth/usercode"]  # 0.171's protocol
    code, _, err = await codex("login", "status", env=env)
    assert code == 0 and f"issuer {openai_issuer.issuer_url.rstrip('/')}" in err
    code, _, err = await codex(
        "login", "--experimental_issuer", openai_issuer.issuer_url, "--issuer", "http://127.0.0.1:9", env=env
    )
    assert code == 2 and "--experimental_issuer" in err


# --- 2. `-c` and the other global options, as Codex takes them -------------------------------------------


async def test_c_before_the_subcommand_and_other_global_options_get_one_note(tmp_path):
    env = env_for(tmp_path)
    code, out, err = await codex("-c", "model=o3", "login", "status", env=env)
    assert (code, out) == (1, "")
    assert err == "warning: -c model: not a login setting, left to the rest of Codex\nNot logged in — run `codex login`\n"
    code, out, err = await codex("--enable", "foo", "-m", "o3", "-p", "work", "login", "status", "--disable", "bar", env=env)
    assert (code, out) == (1, "") and err.count("warning:") == 1, err
    assert "features.foo, model, profile, features.bar: not a login setting" in err
    code, _, err = await codex("login", "status", "--profile", "work", env=env)  # after it, 0.171 refuses it too
    assert code == 2 and "--profile" in err


async def test_c_values_are_toml_with_a_literal_fallback(tmp_path):
    env = env_for(tmp_path)
    code, _, err = await codex(
        "login", "--with-api-key", env=env, stdin=b"sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\n"
    )
    assert code == 0, err
    # As 0.171: the quotes are TOML's, so the login setting applies: an API key is not a ChatGPT login.
    code, out, err = await codex("login", "status", "-c", 'forced_login_method="chatgpt"', env=env)
    assert (code, out) == (9, "") and err.startswith("Not logged in: the API key sk-proj-***FGHIJ is stored, but"), err
    code, _, err = await codex("-c", "forced_login_method=chatgpt", "login", "status", env=env)  # bare: the literal
    assert code == 9 and err.startswith("Not logged in"), err
    code, _, err = await codex("login", "status", "-c", 'forced_chatgpt_workspace_id=["a","b"]', env=env)
    assert code == 0 and err.startswith("API key configured - sk-proj-***FGHIJ"), err
    code, out, err = await codex(
        "login", "config", "--json", "-c", 'forced_chatgpt_workspace_id=["a","b"]', "-c", "port=1456", env=env
    )
    rows = {row["name"]: row["value"] for row in json.loads(out)["settings"]}
    assert code == 0 and rows["forced_chatgpt_workspace_id"] == "a, b" and rows["port"] == "1456", err


# --- 4. cli_auth_credentials_store = "ephemeral" --------------------------------------------------------


async def test_the_ephemeral_store_keeps_the_login_in_memory_only(tmp_path, openai_issuer):
    env = env_for(tmp_path)
    ephemeral = ["-c", 'cli_auth_credentials_store="ephemeral"']
    home = tmp_path / "codex-home"
    code, _, err = await codex("login", "--with-api-key", *ephemeral, env=env, stdin=b"sk-proj-abcdefghijklmnopqrstuvwxyz0123\n")
    assert code == 0 and err.startswith(f"API key saved. {API_KEY_CHECKED}\n") and "nothing was written" in err, err
    code, _, err = await codex("login", "--device-auth", *openai_flags(openai_issuer), *ephemeral, env=env)
    assert code == 0 and "Successfully logged in" in err, err
    assert not (home / "auth.json").exists()
    code, out, err = await codex("login", "status", *ephemeral, env=env)  # as 0.171: a later command finds none
    assert (code, out) == (1, "") and err.startswith("Not logged in") and "one-shot `codex login` keeps none" in err
    code, out, _ = await codex("login", "status", "--json", *ephemeral, env=env)
    assert code == 1 and json.loads(out)["storage"] == "ephemeral"
    assert await codex("logout", *ephemeral, env=env) == (0, "", "Not logged in — nothing to remove\n")
    assert not (home / "auth.json").exists()


# --- 8. a personal access token's status is asked online ------------------------------------------------


async def test_status_asks_whoami_for_a_personal_access_token_each_time(tmp_path, openai_issuer):
    env = env_for(tmp_path)
    token = openai_issuer.issue_personal_access_token()
    code, _, err = await codex("login", "--with-access-token", *openai_flags(openai_issuer), env=env, stdin=f"{token}\n".encode())
    assert code == 0, err
    before = len(openai_issuer.requests_to("/api/accounts/v1/user-auth-credential/whoami"))
    code, out, err = await codex("login", "status", env=env)  # no flags: the stored token names its issuer
    assert (code, out) == (0, "") and err.startswith("Logged in using personal access token - at-") and "dev@example.com" in err
    (whoami,) = openai_issuer.requests_to("/api/accounts/v1/user-auth-credential/whoami")[before:]
    assert whoami.headers["originator"] == "codex_cli_rs" and USER_AGENT.match(whoami.headers["user-agent"])
    openai_issuer.revoke_personal_access_token(token)
    code, out, err = await codex("login", "status", env=env)  # a revoked token shows, as in 0.171
    assert (code, out) == (8, "") and err.startswith("Credentials are stored but unusable: the issuer rejected"), err


async def test_status_of_a_personal_access_token_answers_offline_with_a_warning_when_the_issuer_is_away(tmp_path):
    home = tmp_path / "codex-home"
    home.mkdir()
    token = "at-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-vwxyz"
    provenance = {"issuer": "http://127.0.0.1:9", "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"}  # nothing listens
    (home / "auth.json").write_text(
        json.dumps({"OPENAI_API_KEY": None, "personal_access_token": token, "oauth_provenance": provenance})
    )
    (home / "auth.json").chmod(0o600)
    code, out, err = await codex("login", "status", env=env_for(tmp_path))
    assert (code, out) == (0, ""), err
    warning, shown = err.splitlines()
    assert warning.startswith("warning: could not check the personal access token online (") and token not in err
    assert shown.startswith("Logged in using personal access token - at-AbCdE***vwxyz")
