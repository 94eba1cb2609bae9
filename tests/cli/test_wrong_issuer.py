"""A wrong or unreachable issuer is said early (issue 23, point 1), through the real command: an
issuer that cannot be reached ends `codex login` before any URL with exit 10, at once (not after the
whole --timeout); an issuer without a discovery document is said before the URL."""

from __future__ import annotations

import os
import sys
import time

import trio

CODEX = [sys.executable, "-m", "codexlogin"]


def env_for(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "SSH_"))}
    env.update(CODEX_HOME=str(tmp_path / "codex-home"), BROWSER="true")
    return env


async def test_an_unreachable_issuer_ends_the_login_at_once_with_exit_10(tmp_path, refused_port):
    argv = [*CODEX, "login", "--issuer", f"http://127.0.0.1:{refused_port()}", "--port", "0", "--timeout", "300"]
    started = time.monotonic()
    with trio.fail_after(60):
        result = await trio.run_process(argv, env=env_for(tmp_path), capture_stdout=True, capture_stderr=True, check=False)
    elapsed = time.monotonic() - started
    err = result.stderr.decode()
    assert result.returncode == 10, err
    assert elapsed < 10, f"said at once, not after the timeout ({elapsed:.1f} s)"
    assert "cannot be reached (connect)" in err and "check the issuer URL" in err
    assert "authorize?" not in err and "Starting local login server" not in err  # before any URL


async def test_a_missing_discovery_document_is_said_before_the_url(tmp_path, dev_issuer):
    argv = [*CODEX, "login", "--issuer", dev_issuer.issuer_url + "/wrong", "--port", "0", "--no-browser", "--timeout", "1"]
    with trio.fail_after(60):
        result = await trio.run_process(argv, env=env_for(tmp_path), capture_stdout=True, capture_stderr=True, check=False)
    err = result.stderr.decode()
    assert result.returncode == 5, err  # nothing came back within the second
    assert "has no usable discovery document" in err and "HTTP 404" in err and "check the issuer URL" in err
    assert err.index("has no usable discovery document") < err.index("Starting local login server")
