"""`codex login --with-api-key`: the key from a pipe, a terminal (a real pty), empty input.

Real pipes and a real pseudo-terminal; real files under tmp_path; the run's log is checked for
the key.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import replace

import pytest

from codexlogin.cli.app import app
from codexlogin.config import load_settings
from codexlogin.errors import ExitCode, PolicyViolation, UsageError
from codexlogin.flows.apikey import PIPE_HINT, api_key_login, read_api_key
from codexlogin.flows.ui import SilentUI

KEY = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyzABCDE"


def make_settings(tmp_path, **changes):
    return replace(load_settings({}), log_dir=tmp_path / "log", **changes)


def run_api_key_login(settings, *, stdin, monkeypatch):
    """`codex login --with-api-key` through the CLI (its stdin the given stream); returns the exit code.
    `settings` must be make_settings(tmp_path, ...): its log dir and credentials store go in as flags."""
    monkeypatch.setattr(sys, "stdin", stdin)
    store = f"cli_auth_credentials_store={settings.cli_auth_credentials_store}"
    return app(["login", "--with-api-key", "--log-dir", str(settings.log_dir), "-c", store], result_action="return_value")


@contextmanager
def piped(data: bytes):
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    with os.fdopen(read_fd, "r", encoding="utf-8") as stream:
        yield stream


@contextmanager
def terminal():
    primary, secondary = os.openpty()
    try:
        with os.fdopen(secondary, "r", encoding="utf-8", closefd=True) as stream:
            yield stream
    finally:
        os.close(primary)


async def test_key_from_a_pipe_is_stripped_and_saved(tmp_path):
    settings = make_settings(tmp_path)
    with piped(f"  {KEY}\n\n".encode()) as stdin:
        auth, _backend = await api_key_login(settings, stdin, SilentUI())
    assert auth.openai_api_key == KEY
    saved = json.loads(settings.auth_file.read_text())
    assert saved == {"auth_mode": "apikey", "OPENAI_API_KEY": KEY}
    assert stat.S_IMODE(settings.auth_file.stat().st_mode) == 0o600


async def test_terminal_stdin_is_refused_with_the_pipe_hint(tmp_path):
    settings = make_settings(tmp_path)
    with terminal() as stdin, pytest.raises(UsageError) as info:
        await api_key_login(settings, stdin, SilentUI())
    assert PIPE_HINT in info.value.detail and "terminal" in info.value.detail
    assert not settings.auth_file.exists()


@pytest.mark.parametrize("data", [b"", b"   \n\t\n"])
async def test_empty_input_is_a_clear_usage_error(tmp_path, data):
    with piped(data) as stdin, pytest.raises(UsageError) as info:
        await read_api_key(stdin)
    assert "no API key on stdin" in info.value.detail and info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("data", [b"sk-one sk-two\n", b"sk-a\nsk-b\n", b"x" * 5000])
async def test_more_than_one_key_is_refused(data):
    with piped(data) as stdin, pytest.raises(UsageError):
        await read_api_key(stdin)


@pytest.mark.parametrize("data", [b"sk-\xff\xfeabcdefghijklmnop\n", b"sk-proj-\xe2\x82abcdefghij"])
async def test_bytes_that_are_not_utf8_are_refused_not_saved_mangled(data):
    with piped(data) as stdin, pytest.raises(UsageError) as info:
        await read_api_key(stdin)
    assert "not UTF-8" in info.value.detail and info.value.exit_code == ExitCode.USAGE


async def test_no_stdin_at_all():
    with pytest.raises(UsageError):
        await read_api_key(None)


async def test_forced_chatgpt_login_refuses_api_keys_before_reading(tmp_path):
    settings = make_settings(tmp_path, forced_login_method="chatgpt")
    stdin = io.StringIO(KEY)
    with pytest.raises(PolicyViolation):
        await api_key_login(settings, stdin, SilentUI())
    assert stdin.tell() == 0 and not settings.auth_file.exists()


def test_flow_prints_a_masked_key_and_logs_no_secret(tmp_path, capsys, monkeypatch):
    settings = make_settings(tmp_path)
    with piped(KEY.encode()) as stdin:
        code = run_api_key_login(settings, stdin=stdin, monkeypatch=monkeypatch)
    assert code == 0
    err = capsys.readouterr().err
    # Codex CLI 0.171's words (the key is checked when used), then where it went
    assert err.startswith("API key saved. Authentication is checked when you send a request.\n") and KEY not in err
    assert "(API key sk-proj-***ABCDE)" in err
    log = settings.log_file.read_text()
    assert KEY not in log and KEY[8:-5] not in log
    messages = [json.loads(line) for line in log.splitlines()]
    root = [m for m in messages if m.get("action_type") == "codex:command"]
    assert root[0]["flow"] == "api_key" and root[-1]["action_status"] == "succeeded"
    saves = [m for m in messages if m.get("action_type") == "codex:save_credentials"]
    assert saves[-1]["action_status"] == "succeeded" and saves[-1]["backend"] == "file"


def test_flow_failure_is_one_error_line_and_exit_code(tmp_path, capsys, monkeypatch):
    settings = make_settings(tmp_path)
    with piped(b"") as stdin:
        code = run_api_key_login(settings, stdin=stdin, monkeypatch=monkeypatch)
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: no API key on stdin") and err.count("\n") == 1


def test_a_real_pipe_into_a_process(tmp_path):
    """`printenv OPENAI_API_KEY | …` shape: a child process whose stdin is a pipe."""
    code = "from codexlogin.cli.app import main; main(['login', '--with-api-key'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        input=KEY + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "codex-home" / "auth.json").read_text())["OPENAI_API_KEY"] == KEY


async def test_the_save_takes_the_auth_lock(tmp_path):
    """A token refresh in flight holds $CODEX_HOME/auth.lock; the key is saved only under it, so
    the refresh cannot write its tokens over the key afterwards."""
    from codexlogin.credentials.lock import _try_lock, _unlock, refresh_lock_path
    from codexlogin.errors import StorageFailed

    settings = make_settings(tmp_path)
    lock = refresh_lock_path(settings)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)  # its own open file: flock conflicts with it
    try:
        assert _try_lock(fd)
        with piped(KEY.encode()) as stdin, pytest.raises(StorageFailed) as info:
            await api_key_login(settings, stdin, SilentUI(), lock_timeout=0)
        assert info.value.exit_code == ExitCode.STORAGE_FAILED and "auth.lock" in info.value.detail
        assert not settings.auth_file.exists()
        _unlock(fd)
        with piped(KEY.encode()) as stdin:
            await api_key_login(settings, stdin, SilentUI(), lock_timeout=0)
        assert json.loads(settings.auth_file.read_text())["OPENAI_API_KEY"] == KEY
    finally:
        os.close(fd)


def test_keyring_login_says_where_the_key_went(tmp_path, capsys, monkeypatch):
    import keyring
    import keyring.backends.fail
    from harness import MemoryKeyring

    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        settings = make_settings(tmp_path, cli_auth_credentials_store="keyring")
        with piped(KEY.encode()) as stdin:
            assert run_api_key_login(settings, stdin=stdin, monkeypatch=monkeypatch) == 0
    finally:
        keyring.set_keyring(keyring.backends.fail.Keyring())
    err = capsys.readouterr().err
    assert "Credentials saved to the system keyring (service Codex Auth)" in err
    assert "auth.json" not in err and not settings.auth_file.exists() and len(backend.entries) == 1


def test_file_login_says_where_the_key_went(tmp_path, capsys, monkeypatch):
    settings = make_settings(tmp_path)
    with piped(KEY.encode()) as stdin:
        assert run_api_key_login(settings, stdin=stdin, monkeypatch=monkeypatch) == 0
    assert f"Credentials saved to {settings.auth_file} (API key sk-proj-***ABCDE)\n" in capsys.readouterr().err
