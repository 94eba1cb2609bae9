"""Hostile inputs to the round-two commands (a review's findings): each is one `error:` line and a
documented exit code, never a traceback, a hang or a leak; and the authorize endpoint keeps its
own query (RFC 6749 §3.1). Real files and FIFOs in tmp dirs; the CLI runs in-process."""

from __future__ import annotations

import os

import pytest
from harness import run_cli

from codexlogin.errors import ExitCode
from codexlogin.oauth.client import with_query


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "home"))
    for name in list(os.environ):
        if name.startswith("CODEX_LOGIN_"):
            monkeypatch.delenv(name)
    return tmp_path


def error_lines(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_a_har_nested_too_deeply_is_a_usage_error(home, capsys):
    (home / "deep.har").write_text("[" * 200_000)
    (home / "codex-login.log").write_text("")
    assert run_cli("login", "log", str(home / "codex-login.log"), har=home / "deep.har") == ExitCode.USAGE
    assert error_lines(capsys) == [f"error: {home / 'deep.har'}: not a HAR file: nested too deeply"]


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_har_that_is_not_a_regular_file_is_refused_without_waiting(home, capsys, kind):
    target = home / "x.har"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    (home / "codex-login.log").write_text("")
    assert run_cli("login", "log", str(home / "codex-login.log"), har=target) == ExitCode.NOT_LOGGED_IN
    [line] = error_lines(capsys)
    assert line.startswith(f"error: cannot read {target}: ") and ("FIFO" in line or "directory" in line)


@pytest.mark.parametrize("kind", ["fifo", "directory", "under_a_file"])
def test_follow_refuses_what_it_cannot_follow(home, capsys, kind):
    if kind == "fifo":
        os.mkfifo(home / "log")
        target, code = home / "log", ExitCode.USAGE
    elif kind == "directory":
        target, code = home, ExitCode.USAGE
    else:
        (home / "file").write_text("x")
        target, code = home / "file" / "codex-login.log", ExitCode.NOT_LOGGED_IN
    assert run_cli("login", "log", str(target), follow=True) == code
    [line] = error_lines(capsys)
    assert str(target) in line


def test_the_authorize_endpoint_keeps_its_own_query_and_each_parameter_once():
    url = with_query("https://id.example/authorize?p=B2C_1_signin&state=planted&x=", {"state": "S", "nonce": "N"})
    assert url == "https://id.example/authorize?p=B2C_1_signin&x=&state=S&nonce=N"
    assert with_query("https://id.example/authorize", {"state": "S"}) == "https://id.example/authorize?state=S"
    assert with_query("https://id.example/authorize#frag", {"state": "S"}) == "https://id.example/authorize?state=S"


def test_codex_login_config_shows_outside_values_inert(home, monkeypatch, capsys):
    monkeypatch.setenv("CODEX_LOGIN_CLIENT_ID", "ab\x1b[2J\u202ecd\x07")
    assert run_cli("login", "config") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "ab\\x1b[2J\\u202ecd\\x07" in out


@pytest.mark.parametrize(
    ("issuer", "line"),
    [
        ("https://u:pw@h.example/?token=abc", "error: issuer URL must not contain a user name or password"),
        (
            "https://h.example/x?token=abc#f",
            "error: issuer must be an http(s) URL without query or fragment, got 'https://h.example/x?…#…'",
        ),
    ],
)
def test_a_bad_issuer_url_is_named_without_its_secrets(home, capsys, issuer, line):
    assert run_cli("login", "status", issuer=issuer) == ExitCode.USAGE
    assert error_lines(capsys) == [line]
