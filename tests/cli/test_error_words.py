"""Errors name their cause in words, and the same network failure has the same exit code everywhere.

Rules: loopback only, port 0; the dev issuer over real HTTP, a real CONNECT-refusing proxy on
127.0.0.1 (the issuer host it is asked for is never looked up or contacted), the real `codex`
command in a subprocess; a hard `trio.fail_after` on every I/O test. A DNS failure is made at the
transport boundary (no name is ever looked up: the machine has no network).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
from dataclasses import replace

import httpx
import pytest
import trio
from harness import without_reference
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlogin import DEFAULT_CLIENT_ID, redact
from codexlogin.cli import verbose
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.errors import ExitCode
from codexlogin.flows.access_token import whoami
from codexlogin.oauth import errors
from codexlogin.oauth.errors import (
    IssuerRejected,
    IssuerUnreachable,
    classify_transport_error,
    looks_like_html,
    page_summary,
    transport_words,
)
from codexlogin.oauth.issuer import configured_issuer

CODEX = [sys.executable, "-m", "codexlogin"]

CLOUDFLARE_502 = b"""<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html lang="en-US">
<head>
<title>Bad gateway</title>
<meta charset="UTF-8" />
<style>body { font-family: sans-serif }</style>
<script>window.cf = {"ray": "8a1b2c3d4e5f6789"};</script>
</head>
<body>
  <div id="cf-wrapper">
    <h1>Bad gateway</h1>
    <p>Cloudflare was unable to reach the origin web server &mdash; Error code 502</p>
    <p>Ray ID: 8a1b2c3d4e5f6789 PLANTEDPAGEMARKER</p>
  </div>
</body>
</html>
"""


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        CODEX_HOME=str(tmp_path / "codex-home"),
        BROWSER=f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
    )
    env.update(extra)
    return env


async def codex(*args, env, stdin=b""):
    result = await trio.run_process([*CODEX, *args], env=env, stdin=stdin, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def log_text(tmp_path) -> str:
    return (tmp_path / "codex-home" / "log" / "codex-login.log").read_text()


# --- an HTML page in words ------------------------------------------------------------------------


def test_an_html_error_page_is_its_status_title_and_first_line():
    failure = IssuerRejected("token endpoint", 502, None, None, CLOUDFLARE_502.decode())
    assert failure.detail == (
        'token endpoint returned HTTP 502 Bad Gateway: "Bad gateway"'
        " — Cloudflare was unable to reach the origin web server — Error code 502"
    )
    assert "<" not in failure.detail and "font-family" not in failure.detail and "window.cf" not in failure.detail
    # The log's summary and fields say what came back, never what the page said.
    assert failure.summary == "token endpoint returned HTTP 502 Bad Gateway with an HTML page (not an OAuth error)"
    assert "Cloudflare" not in json.dumps(failure.log_fields())


def test_plain_text_and_oauth_bodies_keep_their_words():
    text = IssuerRejected("revocation endpoint", 503, None, None, "upstream connect error\n")
    assert text.detail == "revocation endpoint returned HTTP 503 Service Unavailable: upstream connect error"
    oauth = IssuerRejected("token endpoint", 400, "invalid_grant", "code expired", '{"error":"invalid_grant"}')
    assert oauth.detail == "token endpoint returned HTTP 400: invalid_grant: code expired"
    empty = IssuerRejected("token endpoint", 599, None, None, "")
    assert empty.detail == "token endpoint returned HTTP 599: (empty body)"


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("<html><body>x</body></html>", True),
        ("  <!doctype html><p>x", True),
        ("<!-- a comment --><HTML>", True),
        ("<?xml version='1.0'?><html>", True),
        ("<h1>502 Bad Gateway</h1>", True),
        ('{"error": "<html>"}', False),
        ("bad gateway <html>", False),
        ("<error>xml</error>", False),
    ],
)
def test_what_counts_as_an_html_page(body, html):
    assert looks_like_html(body) is html


def test_a_page_without_a_title_or_text_is_still_named():
    assert page_summary("<html><body><h1>Oops</h1><p>Try later</p></body></html>") == (None, "Oops")
    failure = IssuerRejected("whoami endpoint", 500, None, None, "<html><head><script>x()</script></head><body></body></html>")
    assert failure.detail == "whoami endpoint returned HTTP 500 Internal Server Error: an HTML page without text"


_words = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="<>&\x00\r"), min_size=1, max_size=60).filter(str.strip)


@settings(max_examples=200, deadline=None)
@given(title=_words, first=_words, junk=st.lists(_words, max_size=3))
def test_any_page_is_shown_as_words_never_as_markup(title, first, junk):
    scripts = "".join(f"<script>{item}</script><style>{item}</style>" for item in junk)
    body = f"<html><head><title>{title}</title>{scripts}</head><body><p>{first}</p><div>more</div></body></html>"
    failure = IssuerRejected("token endpoint", 502, None, None, body)
    shown_title = " ".join(title.split())
    lines = [" ".join(line.split()) for line in first.splitlines()] + ["more"]
    expected = next(line for line in lines if line and line.casefold() != shown_title.casefold())
    assert "<" not in failure.detail and "\n" not in failure.detail
    assert f'"{shown_title[:150]}' in failure.detail
    assert f"— {expected[:150]}" in failure.detail


@settings(max_examples=50, deadline=None)
@given(secret=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=16, max_size=40))
def test_the_runs_secrets_in_a_page_are_masked_on_the_line_and_for_verbose(secret):
    secret = "PLANTED" + secret
    errors.forget_raw_replies()
    with redact.run_secrets():
        redact.register_secrets(secret)
        failure = IssuerRejected(
            "token endpoint", 502, None, None, f"<html><title>bad {secret}</title><p>code {secret}</p></html>"
        )
    assert secret not in failure.detail and "[REDACTED]" in failure.detail
    ((_what, raw, summarised),) = errors.raw_replies()
    assert summarised and secret not in raw and "<title>bad [REDACTED]</title>" in raw


def test_only_the_newest_replies_are_kept_for_verbose():
    errors.forget_raw_replies()
    for index in range(errors.MAX_RAW_REPLIES + 2):
        IssuerRejected("token endpoint", 500, None, None, f"reply {index}")
    assert [body for _w, body, _s in errors.raw_replies()] == [f"reply {i}" for i in range(2, errors.MAX_RAW_REPLIES + 2)]


async def test_login_shows_the_page_in_words_and_verbose_shows_it_whole_never_the_log(tmp_path, dev_issuer):
    dev_issuer.faults.token_status, dev_issuer.faults.token_body = 502, CLOUDFLARE_502
    dev_issuer.faults.token_content_type = "text/html"
    env = env_for(tmp_path)
    with trio.fail_after(60):
        code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
        verbose_code, _, verbose_err = await codex(
            "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--verbose", env=env
        )
    assert code == verbose_code == ExitCode.NETWORK_ERROR, err
    errors_ = [without_reference(line) for line in err.splitlines() if line.startswith("error:")]
    assert errors_ == [
        'error: token endpoint returned HTTP 502 Bad Gateway: "Bad gateway" — Cloudflare was unable to reach the origin'
        " web server — Error code 502; the issuer is unavailable, try again later"
    ]
    assert err.splitlines()[-1] == verbose.VERBOSE_NOTE
    assert "<html" not in err and "PLANTEDPAGEMARKER" not in err
    # --verbose: the whole page after the error line, on the terminal only.
    verbose_error = next(line for line in verbose_err.splitlines() if line.startswith("error:"))
    assert without_reference(verbose_error) == errors_[0]
    tail = verbose_err.split(verbose_error + "\n", 1)[1]
    assert tail.startswith("--verbose: the token endpoint's whole reply (the run's secrets masked):\n<!DOCTYPE html>")
    assert "PLANTEDPAGEMARKER" in tail and verbose.VERBOSE_NOTE not in verbose_err
    log = log_text(tmp_path)
    assert log.count('"codex:command"') >= 2 and "PLANTEDPAGEMARKER" not in log and "Cloudflare" not in log


async def test_status_and_logout_take_verbose_too(tmp_path):
    env = env_for(tmp_path)
    with trio.fail_after(60):
        for args, exit_code in ((("login", "status", "--verbose"), 1), (("logout", "--verbose"), 0)):
            code, out, err = await codex(*args, env=env)
            assert code == exit_code and err.startswith("Not logged in") and out == "", (args, err)


# --- DNS and proxies in words -------------------------------------------------------------------


class UnresolvableTransport(httpx.AsyncBaseTransport):
    """What httpx raises when the name lookup fails (httpcore maps the gaierror to ConnectError)."""

    def __init__(self, error: int = socket.EAI_NONAME, words: str = "Name or service not known"):
        self.error, self.words = error, words

    async def handle_async_request(self, request):
        cause = socket.gaierror(self.error, self.words)
        try:
            raise cause
        except socket.gaierror as exc:
            raise httpx.ConnectError(f"[Errno {self.error}] {self.words}", request=request) from exc


@pytest.mark.parametrize(
    ("error", "words"),
    [(socket.EAI_NONAME, "Name or service not known"), (socket.EAI_AGAIN, "Temporary failure in name resolution")],
)
async def test_a_dns_failure_names_the_host_and_is_exit_10(tmp_path, error, words):
    settings_ = replace(load_settings({"issuer": "https://auth.example.com"}), log_dir=tmp_path / "log")
    with trio.fail_after(10), pytest.raises(IssuerUnreachable) as info:
        await whoami(
            settings_, configured_issuer(settings_), "at-0123456789abcdef", transport=UnresolvableTransport(error, words)
        )
    assert info.value.kind == "dns"
    assert info.value.detail == (
        f"could not reach whoami endpoint (dns): cannot resolve auth.example.com ([Errno {error}] {words});"
        " check the issuer URL, DNS and the network"
    )
    from codexlogin.flows.access_token import login_failed

    assert login_failed(info.value).exit_code == ExitCode.NETWORK_ERROR


def test_a_dns_failure_through_a_proxy_names_the_proxy_host():
    env = {"HTTPS_PROXY": "http://alice:s3cret-pw@proxy.corp.example:3128"}
    text = transport_words("dns", "https://auth.example.com/oauth/token", "[Errno -2] Name or service not known", env)
    assert text.startswith(
        "cannot resolve proxy.corp.example, the host of the proxy from HTTPS_PROXY at http://proxy.corp.example:3128: [Errno -2]"
    )
    assert "s3cret" not in text and "alice" not in text
    bypassed = transport_words("dns", "https://auth.example.com/", "x", {**env, "NO_PROXY": ".example.com"})
    assert bypassed.startswith("cannot resolve auth.example.com")


def test_classification_of_proxy_and_dns_errors():
    assert classify_transport_error(httpx.ProxyError("407 Proxy Authentication Required")) == "proxy"
    error = httpx.ConnectError("boom")
    error.__cause__ = socket.gaierror(-3, "Temporary failure in name resolution")
    assert classify_transport_error(error) == "dns"


async def refusing_proxy(task_status=trio.TASK_STATUS_IGNORED, *, seen: list[bytes], status=b"407 Proxy Authentication Required"):
    """A proxy on 127.0.0.1:0 that refuses every CONNECT; records the request heads it got."""

    async def handle(stream):
        head = b""
        with trio.move_on_after(10):
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                head += chunk
        seen.append(head)
        await stream.send_all(
            b"HTTP/1.1 "
            + status
            + b'\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
        )
        await stream.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
async def test_a_proxy_refusing_connect_is_a_proxy_error_naming_the_variable(tmp_path, nursery, variable):
    seen: list[bytes] = []
    port = await nursery.start(lambda task_status: refusing_proxy(task_status, seen=seen))
    env = env_for(tmp_path, **{variable: f"http://alice:s3cret-pw@127.0.0.1:{port}"})
    with trio.fail_after(30):
        code, _, err = await codex("login", "--device-auth", "--issuer", "https://auth.example.com", env=env)
    assert code == ExitCode.NETWORK_ERROR, err
    assert without_reference(err.splitlines()[-1]) == (
        f"error: could not reach device authorization endpoint (proxy): the proxy from {variable} at http://127.0.0.1:{port}"
        " refused to connect to auth.example.com:443: 407 Proxy Authentication Required;"
        " check the proxy's user name and password (percent-encoded) or NO_PROXY"
    )
    assert seen and seen[0].startswith(b"CONNECT auth.example.com:443 HTTP/1.1")
    assert "s3cret" not in err and "alice" not in err
    log = log_text(tmp_path)
    assert '"kind":"proxy"' in log and "s3cret" not in log and "alice" not in log


async def test_a_proxy_forbidding_connect_is_named_too(tmp_path, nursery):
    seen: list[bytes] = []
    port = await nursery.start(lambda task_status: refusing_proxy(task_status, seen=seen, status=b"403 Forbidden"))
    env = env_for(tmp_path, HTTPS_PROXY=f"127.0.0.1:{port}")  # no scheme: httpx reads http://
    with trio.fail_after(30):
        code, _, err = await codex(
            "login", "--with-access-token", "--issuer", "https://auth.example.com", env=env, stdin=b"at-0123456789abcdef\n"
        )
    assert code == ExitCode.NETWORK_ERROR, err
    assert (
        f"(proxy): the proxy from HTTPS_PROXY at http://127.0.0.1:{port} refused to connect to auth.example.com:443: 403 Forbidden"
        in err
    )


# --- one network failure, one exit code ---------------------------------------------------------


async def test_an_unreachable_issuer_is_exit_10_in_every_command(tmp_path, refused_port):
    issuer = f"http://127.0.0.1:{refused_port()}"
    env = env_for(tmp_path)
    with trio.fail_after(60):
        device = await codex("login", "--device-auth", "--issuer", issuer, env=env)
        token = await codex("login", "--with-access-token", "--issuer", issuer, env=env, stdin=b"at-0123456789abcdef\n")
        home = tmp_path / "codex-home"
        # Stored by a login at that issuer: the next commands need no --issuer to go there.
        provenance = {"issuer": issuer, "client_id": DEFAULT_CLIENT_ID}
        tokens = TokenData("id", "opaque", "rt", oauth_provenance=provenance)
        save_auth(home / "auth.json", AuthDotJson("chatgpt", tokens=tokens, last_refresh="2020-01-01T00:00:00Z"))
        status = await codex("login", "status", "--check", env=env)
        logout = await codex("logout", env=env)
        pat = AuthDotJson("personal_access_token", personal_access_token="at-0123456789abcdef", oauth_provenance=provenance)
        save_auth(home / "auth.json", pat)
        pat_status = await codex("login", "status", "--check", env=env)
    for name, (code, _out, err) in {"device": device, "access token": token, "status": status, "pat status": pat_status}.items():
        assert code == ExitCode.NETWORK_ERROR, (name, err)
        assert "(connect)" in err, (name, err)
    assert logout[0] == 0 and "warning: could not revoke" in logout[2]  # logout only warns: the login is gone anyway


async def test_an_issuer_answering_503_is_exit_10_in_login_as_in_status(tmp_path, dev_issuer):
    dev_issuer.faults.token_status, dev_issuer.faults.token_body = 503, b"maintenance"
    dev_issuer.faults.token_content_type = "text/plain"
    with trio.fail_after(30):
        code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(tmp_path))
    assert code == ExitCode.NETWORK_ERROR
    assert "returned HTTP 503 Service Unavailable: maintenance; the issuer is unavailable, try again later" in err


# --- the demo explains every line it prints ----------------------------------------------------

LOGIN_LINES = (
    "Starting local login server on http://localhost:",
    "If your browser did not open, navigate to http://localhost:",
    "http://127.0.0.1:",
    "On a remote or headless machine, use `codex login --device-auth` instead.",
    "Successfully logged in. Credentials saved to ",
    "Logged in as ",
    "auth.json:        ",
    "codex-login.log:  ",
    "demo: ",
)


async def test_the_demo_prints_nothing_unexplained(tmp_path):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k != "BROWSER"}
    with trio.fail_after(90):
        result = await trio.run_process(
            [sys.executable, str(demo), "--home", str(tmp_path / "home")],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    unexplained = [line for line in err.splitlines() if line.strip() and not line.startswith(LOGIN_LINES)]
    assert unexplained == []
    assert "HTTP/1.1 200 OK" not in out, "the scripted browser's status line goes to stderr, explained"
    assert (
        "demo: the scripted browser (standing in for yours) approved the sign-in and loaded the callback page: HTTP/1.1 200 OK"
        in err
    )
    assert err.rstrip().endswith("demo: the run's log tree, as `codex login log --last 1` renders it for support:")
    lines = out.splitlines()
    assert lines[1].startswith("+-- codex:command/1 => succeeded"), out


def test_replies_that_mean_not_yet_are_not_kept_for_verbose():
    errors.forget_raw_replies()
    IssuerRejected("token endpoint", 400, "authorization_pending", None, '{"error": "authorization_pending"}')
    IssuerRejected("token endpoint", 400, "slow_down", None, '{"error": "slow_down"}')
    assert errors.raw_replies() == []
    not_yet = IssuerRejected("device token endpoint", 403, None, None, '{"detail": "not yet"}')
    denied = IssuerRejected("token endpoint", 400, "access_denied", None, '{"error": "access_denied"}')
    not_yet.expected()
    assert [what for what, _body, _s in errors.raw_replies()] == ["token endpoint"] and denied.status == 400


async def test_doctor_names_the_refusing_proxy_too(tmp_path, nursery):
    seen: list[bytes] = []
    port = await nursery.start(lambda task_status: refusing_proxy(task_status, seen=seen))
    env = env_for(tmp_path, HTTPS_PROXY=f"http://alice:s3cret-pw@127.0.0.1:{port}")
    with trio.fail_after(60):
        code, out, err = await codex("login", "doctor", "--json", "--issuer", "https://auth.example.com", env=env)
    assert code == 1, err
    issuer = next(check for check in json.loads(out)["checks"] if check["name"] == "issuer")
    assert issuer["status"] == "fail"
    assert (
        "proxy after" in issuer["detail"]
        and f"the proxy from HTTPS_PROXY at http://127.0.0.1:{port} refused to connect to auth.example.com:443: 407"
        in issuer["detail"]
    )
    assert "NO_PROXY" in issuer["hint"] and "s3cret" not in out + err
