"""The real `codex` command in a subprocess, against the dev issuer served by the test."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import sys
from contextlib import closing

import pytest
import trio
from harness import assert_no_listener

CODEX = [sys.executable, "-m", "codexlogin"]


def env_for(tmp_path, **extra):
    env = dict(os.environ)
    env.update(
        CODEX_HOME=str(tmp_path / "codex-home"),
        BROWSER=f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def codex(*args, env, stdin=b""):
    result = await trio.run_process([*CODEX, *args], env=env, stdin=stdin, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_login_end_to_end_through_the_cli(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    with trio.fail_after(30):
        code, out, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    assert "Successfully logged in" in err
    auth_file = tmp_path / "codex-home" / "auth.json"
    assert json.loads(auth_file.read_text())["auth_mode"] == "chatgpt"
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    log = (tmp_path / "codex-home" / "log" / "codex-login.log").read_text()
    assert '"codex:token_exchange"' in log
    tokens = json.loads(auth_file.read_text())["tokens"]
    for secret in tokens.values():
        if isinstance(secret, str) and secret and secret != "acct_dev":  # not oauth_provenance
            assert secret not in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["login", "--bogus"], "Unknown option"),
        (["login", "--port", "abc"], "--port"),
        (["login", "-c", "port=99999"], "port must be between 0 and 65535"),
        (["login", "--port", "70000"], "port must be between 0 and 65535"),
        (["login", "doctor", "--port", "-1"], "port must be between 0 and 65535"),
        (["login", "-c", "nonsense"], "-c expects key=value"),
        (["login", "--issuer", "http://example.com"], "must use https"),
        (["logn"], "Unknown command"),
        (["login", "--with-access-token", "at-secret0123456789"], "at-***"),  # never echoed back
        (["login", "--with-api-key", "sk-proj-secret0123456789"], "sk-***"),
    ],
)
async def test_usage_errors_are_one_line_exit_2(tmp_path, args, message):
    with trio.fail_after(30):
        code, out, err = await codex(*args, env=env_for(tmp_path))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err and "secret0123456789" not in err


async def test_bad_config_toml_is_usage_error(tmp_path):
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text("port = [")
    with trio.fail_after(30):
        code, _, err = await codex("login", env=env_for(tmp_path))
    assert code == 2 and "not valid TOML" in err and "Traceback" not in err


async def test_unwritable_log_dir_warns_once_and_login_goes_on(tmp_path, dev_issuer):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with trio.fail_after(30):
        code, _, err = await codex(
            "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--log-dir", str(blocker / "log"), env=env_for(tmp_path)
        )
    assert code == 0, err
    assert err.count("warning: cannot write codex-login.log") == 1
    assert (tmp_path / "codex-home" / "auth.json").exists()


async def test_port_held_by_foreign_program_exits_6(tmp_path, dev_issuer):
    with closing(socket.socket()) as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen(1)
        foreign.settimeout(0)
        port = foreign.getsockname()[1]
        with trio.fail_after(30):
            code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", str(port), env=env_for(tmp_path))
    assert code == 6
    assert f"port {port}" in err and "--port" in err and "Traceback" not in err


async def test_save_failure_exits_7_and_keeps_nothing_half_written(tmp_path, dev_issuer):
    home = tmp_path / "codex-home"
    (home / "auth.json").mkdir(parents=True)  # replacing a directory fails, like a read-only home
    with trio.fail_after(30):
        code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(tmp_path))
    # found before the URL is printed (issue 22 #6): nothing was signed in for nothing
    assert code == 7 and "cannot save credentials: " in err and "auth.json is a directory" in err and "Traceback" not in err
    assert "http://localhost" not in err and dev_issuer.token_requests() == []
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".auth.json")) == []


async def test_timeout_exits_5(tmp_path, dev_issuer):
    with trio.fail_after(30):
        code, _, err = await codex(
            "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--no-browser", "--timeout", "0.5", env=env_for(tmp_path)
        )
    assert code == 5 and "no sign-in completed within 0.5s" in err


async def test_sigterm_while_waiting_exits_143_and_frees_the_port(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--no-browser"],
            env=env,
            stderr=subprocess.PIPE,
        )
        seen = b""
        while b"On a remote" not in seen:
            chunk = await process.stderr.receive_some(4096)
            assert chunk, seen
            seen += chunk
        port = int(seen.split(b"http://localhost:")[1].split(b".")[0])
        process.send_signal(15)
        code = await process.wait()
        await process.stderr.aclose()
    assert code == 143
    assert_no_listener(port)
    log = (tmp_path / "codex-home" / "log" / "codex-login.log").read_text().splitlines()
    root_end = [json.loads(line) for line in log if '"codex:command"' in line][-1]
    assert root_end["outcome"] == "cancelled" and root_end["exit_code"] == 143


def test_help_comes_from_docstrings():
    result = subprocess.run(
        [*CODEX, "login", "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"}, timeout=30
    )
    assert result.returncode == 0
    for flag in ("--issuer", "--client-id", "--port", "--no-browser", "--timeout", "--log-dir", "-c"):
        assert flag in result.stdout
    assert "Sign in" in result.stdout


async def test_login_dispatches_api_key_device_and_policy(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    with trio.fail_after(60):
        code, _, err = await codex("login", "--with-api-key", env=env, stdin=b"sk-proj-abcdefghijklmnop12345\n")
        assert code == 0 and "sk-proj-***12345" in err and "abcdefghijklmnop" not in err
        code, out, _ = await codex("login", "status", "--json", env=env)
        assert code == 0 and json.loads(out)["mode"] == "apikey"
        code, _, err = await codex("login", "--with-api-key", "--device-auth", env=env)
        assert code == 2 and "Choose one login credential source" in err
        code, _, err = await codex(
            "login", "-c", "forced_login_method=api", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env
        )
        assert code == 9 and "Traceback" not in err
        dev_issuer.faults.device_code_enabled = False
        code, _, err = await codex("login", "--device-auth", "--issuer", dev_issuer.issuer_url, env=env)
        assert code == 2 and "device login is not enabled" in err
        code, _, err = await codex("logout", env=env)
        assert code == 0
        code, out, err = await codex("login", "status", env=env)
        assert code == 1 and out == "" and err.startswith("Not logged in")


async def test_two_logins_on_one_port_newer_takes_over(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    with trio.fail_after(60):
        older = await trio.lowlevel.open_process(
            [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--no-browser"], env=env, stderr=subprocess.PIPE
        )
        seen = b""
        while b"On a remote" not in seen:
            chunk = await older.stderr.receive_some(4096)
            assert chunk, seen
            seen += chunk
        port = seen.split(b"http://localhost:")[1].split(b".")[0].decode()  # where the older one listens
        code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", port, env=env)
        older_code = await older.wait()
        rest = b""
        while chunk := await older.stderr.receive_some(4096):
            rest += chunk
        await older.stderr.aclose()
    assert code == 0, err
    assert older_code == 130
    assert b"a newer `codex login` took over the port" in rest


async def test_doctor_and_bundle_are_wired(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    with trio.fail_after(60):
        code, out, err = await codex(
            "login", "doctor", "--json", "-c", f"issuer={dev_issuer.issuer_url}", "-c", "port=0", env=env
        )
        report = json.loads(out)
        assert code == 0, report
        assert {check["name"] for check in report["checks"]} >= {"codex_home", "callback_port", "issuer", "clock"}
        target = tmp_path / "support.tar.gz"
        code, out, err = await codex("login", "bundle", "-o", str(target), env=env)
    assert code == 0 and str(target) in out + err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


async def test_malformed_browser_variable_still_prints_the_url_and_waits(tmp_path, dev_issuer):
    env = env_for(tmp_path, BROWSER='"unclosed %s')
    with trio.fail_after(30):
        code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--timeout", "1", env=env)
    assert code == 5, err
    assert "Could not open a browser" in err and "/oauth/authorize?" in err and "Traceback" not in err


async def test_issuer_text_cannot_drive_the_terminal(tmp_path, dev_issuer):
    dev_issuer.faults.token_status = 502
    dev_issuer.faults.token_body = b"\x1b]0;pwned\x07\x1b[2Jbad\ngateway\r\n"
    dev_issuer.faults.token_content_type = "text/plain"
    with trio.fail_after(30):
        code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(tmp_path))
    assert code == 10  # an issuer answering 5xx is unavailable: NETWORK_ERROR, as in `status --check`
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "\\x1b]0;pwned\\x07\\x1b[2Jbad gateway" in error_lines[0]
    assert "\x1b" not in error_lines[0] and "\x07" not in err


async def test_codex_home_is_created_private(tmp_path, dev_issuer):
    with trio.fail_after(30):
        code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(tmp_path))
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "codex-home").stat().st_mode) == 0o700
