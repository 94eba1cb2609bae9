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


# --- the openai dialect: its URL comes first (nothing to discover), then the reachability probe ---


def log_records(tmp_path) -> list[dict]:
    import json

    path = tmp_path / "codex-home" / "log" / "codex-login.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def openai_login(tmp_path, issuer_url, *, timeout=300, **env_extra):
    argv = [*CODEX, "login", "-c", "dialect=openai", "-c", f"issuer={issuer_url}", "--port", "0", "--no-browser"]
    env = env_for(tmp_path) | env_extra
    started = time.monotonic()
    with trio.fail_after(60):
        result = await trio.run_process(
            [*argv, "--timeout", str(timeout)], env=env, capture_stdout=True, capture_stderr=True, check=False
        )
    return result.returncode, result.stderr.decode(), time.monotonic() - started


def assert_said_once_after_the_url(err: str) -> str:
    """The URL first (start-up speed), then one `error:` line, no traceback; that line."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert 0 <= err.index("/oauth/authorize?") < err.index("error:"), err
    return errors[0]


async def test_openai_dialect_a_refused_issuer_ends_the_login_at_once_after_its_url(tmp_path, refused_port):
    code, err, elapsed = await openai_login(tmp_path, f"http://127.0.0.1:{refused_port()}")
    assert code == 10, err
    assert elapsed < 10, f"said at once, not after the timeout ({elapsed:.1f} s)"
    line = assert_said_once_after_the_url(err)
    assert "cannot be reached (connect)" in line and "Connection refused" in line and "check the issuer URL" in line
    # Logged once, in the probe's action; the listener and the command say a child failed.
    records = log_records(tmp_path)
    (probe_end,) = [r for r in records if r.get("action_type") == "codex:issuer_probe" and r["action_status"] != "started"]
    assert probe_end["action_status"] == "failed" and probe_end["kind"] == "connect" and probe_end["exit_code"] == 10
    parents = [
        r for r in records if r.get("action_type") in ("codex:listener", "codex:command") and r["action_status"] == "failed"
    ]
    assert {r["failed_in"] for r in parents} == {"codex:issuer_probe"} and len(parents) == 2
    assert sum("reason" in r for r in records) == 1


async def test_openai_dialect_an_unresolvable_issuer_ends_the_login_with_exit_10(tmp_path):
    code, err, elapsed = await openai_login(tmp_path, "https://login.example.invalid")  # RFC 6761: never resolves
    assert code == 10, err
    line = assert_said_once_after_the_url(err)
    assert "cannot be reached (dns)" in line and "cannot resolve login.example.invalid" in line
    assert elapsed < 20


async def test_openai_dialect_an_untrusted_certificate_ends_the_login_naming_tls(tmp_path, pki, nursery):
    import ssl
    from functools import partial

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(str(pki["server"]))

    async def handshake_only(stream):
        try:
            await stream.do_handshake()
        except trio.BrokenResourceError:  # the client refuses the certificate
            pass
        await trio.aclose_forcefully(stream)

    (listener,) = await nursery.start(partial(trio.serve_ssl_over_tcp, handshake_only, 0, server_context, host="127.0.0.1"))
    port = listener.transport_listener.socket.getsockname()[1]
    code, err, _ = await openai_login(tmp_path, f"https://127.0.0.1:{port}")  # the test CA is in no store we trust
    assert code == 10, err
    line = assert_said_once_after_the_url(err)
    assert "cannot be reached (tls)" in line and "certificate verify failed" in line and "TLS-inspecting proxy" in line


async def test_openai_dialect_through_a_proxy_the_proxy_is_probed_not_the_issuer(tmp_path, refused_port):
    # The issuer's name is never looked up here (the proxy would): a refused proxy is what is said.
    proxy = f"http://127.0.0.1:{refused_port()}"
    code, err, _ = await openai_login(tmp_path, "https://login.example.invalid", HTTPS_PROXY=proxy)
    assert code == 10, err
    line = assert_said_once_after_the_url(err)
    assert "cannot be reached (connect)" in line and "HTTPS_PROXY" in line and "cannot resolve" not in line


async def test_openai_dialect_a_reachable_issuer_is_probed_quietly(tmp_path, silent_port):
    # It takes the connection (and never answers): the login waits for the sign-in, as before.
    code, err, _ = await openai_login(tmp_path, f"http://127.0.0.1:{silent_port()}", timeout=2)
    assert code == 5, err  # the --timeout, no sign-in came back
    assert "cannot be reached" not in err and "warning:" not in err
    records = log_records(tmp_path)
    (probe_end,) = [r for r in records if r.get("action_type") == "codex:issuer_probe" and r["action_status"] != "started"]
    assert probe_end["action_status"] == "succeeded" and probe_end["result"] == "reachable"


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


async def test_an_issuer_name_that_cannot_be_encoded_ends_the_login_with_one_line(tmp_path):
    """A host label over 63 characters (IDNA refuses it before any DNS query): exit 10 and one line
    before any URL, as for a name that does not resolve; no thread's traceback on the terminal."""
    issuer = "https://" + "a" * 70 + ".example"
    argv = [*CODEX, "login", "--issuer", issuer, "--port", "0", "--no-browser", "--timeout", "300"]
    with trio.fail_after(60):
        result = await trio.run_process(argv, env=env_for(tmp_path), capture_stdout=True, capture_stderr=True, check=False)
    err = result.stderr.decode()
    assert result.returncode == 10, err
    assert "Traceback" not in err and "cannot be reached (dns)" in err
    assert "authorize?" not in err and "Starting local login server" not in err  # before any URL


async def test_openai_dialect_an_issuer_name_that_cannot_be_encoded_ends_the_login_with_exit_10(tmp_path):
    """The probe's name look-up: a label over 63 characters is a name that cannot resolve, as in
    the standard dialect's discovery (it ended the probe in an error, and the login waited)."""
    code, err, elapsed = await openai_login(tmp_path, "https://" + "a" * 70 + ".example", timeout=30)
    assert code == 10, err
    line = assert_said_once_after_the_url(err)
    assert "cannot be reached (dns)" in line
    assert elapsed < 20
