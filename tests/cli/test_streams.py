"""The standard streams at the entry point (issue 10, streams), with real processes:
closed fds 0–2 are reopened on /dev/null (the listener never becomes fd 1), EPIPE on our output
ends quietly (141, nothing on stderr), and an ASCII or latin-1 stdout never turns text into exit 70."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import issue_tokens, issuer_in_thread, store_tokens

from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson
from codexlogin.devissuer import DevIssuer
from codexlogin.errors import ExitCode

CODEX = [sys.executable, "-m", "codexlogin"]
NOWHERE = "http://127.0.0.1:9"  # nothing listens: refused at once


@pytest.mark.parametrize("closed", ["<&-", ">&-", "2>&-", "<&- >&- 2>&-"])
def test_status_with_closed_standard_fds(closed, tmp_path):
    """The shell closes the fds; its exit status goes to a file."""
    rc = tmp_path / "rc"
    command = f"{' '.join(map(shlex.quote, CODEX))} login status {closed}; echo rc=$? > {shlex.quote(str(rc))}"
    proc = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60, check=False)
    assert rc.read_text().strip() == "rc=1"
    assert proc.stdout == ""
    if "2>&-" not in closed:  # the status text goes to stderr, as Codex CLI 0.171 prints it
        assert proc.stderr == "Not logged in — run `codex login`\n"


@pytest.mark.concurrency
def test_listener_never_becomes_stdout_when_it_is_closed(tmp_path, silent_port):
    """`codex login >&-`: fd 1 is /dev/null, not the listening socket (a child would inherit it)."""
    # An issuer that takes connections (its reachability probe passes) and never answers.
    issuer = f"http://127.0.0.1:{silent_port()}"
    proc = subprocess.Popen(
        ["sh", "-c", 'exec "$@" >&-', "sh", *CODEX, "login", "--no-browser", "--port", "0", "--issuer", issuer],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, CODEX_LOGIN_DIALECT="openai"),  # nothing to discover: the URL, not exit 10
    )
    try:
        deadline = time.monotonic() + 30
        for line in proc.stderr:
            if "/oauth/authorize?" in line:
                break
            assert time.monotonic() < deadline
        else:
            pytest.fail(f"no URL; exit {proc.wait(10)}")
        fd1 = os.readlink(f"/proc/{proc.pid}/fd/1")
        sockets = []
        for fd in os.listdir(f"/proc/{proc.pid}/fd"):
            try:
                sockets.append(os.readlink(f"/proc/{proc.pid}/fd/{fd}"))
            except FileNotFoundError:  # an fd the login closed between the listing and this read
                pass
        assert fd1 == "/dev/null"
        assert any(target.startswith("socket:") for target in sockets)  # the listener is elsewhere
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


def _closed_reader(*args: str) -> tuple[int, str]:
    """Run with stdout a pipe whose reader is already gone: its first write gets EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [*CODEX, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["login", "status", "--json"],  # the fast lane
        ["login", "status", "--json", "-c", "cli_auth_credentials_store=file"],  # cyclopts
        ["login", "doctor", "--issuer", NOWHERE],  # output inside a logged run
    ],
)
def test_epipe_on_stdout_ends_quietly(args):
    code, err = _closed_reader(*args)
    assert (code, err) == (ExitCode.OUTPUT_CLOSED, "")


def test_epipe_on_stderr_ends_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [*CODEX, "login", "--no-browser", "--port", "0", "--issuer", NOWHERE],
            stdout=subprocess.PIPE,
            stderr=write_end,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stdout) == (ExitCode.OUTPUT_CLOSED, b"")


@pytest.mark.parametrize(("encoding", "shown"), [("ascii", "j\\xfcrgen\\u20ac@"), ("latin-1", "jürgen\\u20ac@")])
def test_non_ascii_text_on_a_narrow_stdout_is_escaped_not_exit_70(encoding, shown):
    issuer = DevIssuer(email="jürgen€@example.com", plan="plus")
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
    store_tokens(load_settings({}), issued)
    env = dict(os.environ, PYTHONIOENCODING=encoding)
    for entry in (CODEX, [sys.executable, "-c", "import sys; from codexlogin.cli.app import main; main(sys.argv[1:])"]):
        proc = subprocess.run([*entry, "login", "status"], capture_output=True, timeout=60, env=env, check=False)
        assert proc.returncode == 0, proc.stderr
        assert shown in proc.stderr.decode(encoding)  # the status text: stderr, as Codex CLI 0.171


def test_non_ascii_error_on_an_ascii_stderr(tmp_path):
    save_auth(load_settings({}).auth_file, AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcdef"))
    bad = Path(os.environ["CODEX_HOME"], "config.toml")
    bad.write_text("port = 'vièle€'\n", encoding="utf-8")
    proc = subprocess.run(
        [*CODEX, "login", "status"], capture_output=True, timeout=60, env=dict(os.environ, PYTHONIOENCODING="ascii"), check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.decode("ascii").startswith("error: ") and "Traceback" not in proc.stderr.decode("ascii")
