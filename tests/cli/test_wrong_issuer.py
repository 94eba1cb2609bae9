"""A wrong or unreachable issuer is said early (issue 23, point 1), through the real command: an
issuer that cannot be reached ends `codex login` before any URL with exit 10, at once (not after the
whole --timeout); an issuer without a discovery document is said before the URL."""

from __future__ import annotations

import os
import sys
import time

import trio

from tests.oauth.test_ca import https_issuer  # noqa: F401 - the fixture

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


async def test_an_https_issuer_is_discovered_before_the_url_with_the_custom_ca(tmp_path, pki, https_issuer):
    """Issue 24: the look-up before the URL (http.client, before trio loads) trusts what the run
    trusts: CODEX_CA_CERTIFICATE added to the system store; its endpoints are in the URL."""
    https_issuer.faults.discovery_extra = {"authorization_endpoint": f"{https_issuer.issuer_url}/v2/authorize"}
    env = dict(env_for(tmp_path), CODEX_CA_CERTIFICATE=str(pki["ca"]))
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    argv = [*CODEX, "login", "--issuer", https_issuer.issuer_url, "--port", "0", "--no-browser", "--timeout", "1"]
    with trio.fail_after(60):
        result = await trio.run_process(argv, env=env, capture_stdout=True, capture_stderr=True, check=False)
    err = result.stderr.decode()
    assert result.returncode == 5, err  # the URL shown, nothing came back within the second
    assert f"{https_issuer.issuer_url}/v2/authorize?" in err and "discovery" not in err
    assert [r.path for r in https_issuer.request_log].count("/.well-known/openid-configuration") == 1
