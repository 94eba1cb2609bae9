"""The browser login in the openai dialect (Codex CLI 0.171's protocol), against the dev issuer
over real HTTP on 127.0.0.1 with `dialect=openai`; the standard dialect's side of each rule too.

Rules: loopback only, port 0 (or OS-chosen free ports); a hard trio.fail_after on every test;
MockClock for the port take-over waits, with no worker threads.
"""

from __future__ import annotations

import json
import socket
from contextlib import closing
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import trio
from harness import Run, approving_browser, make_settings, query_of, to_loopback_ip

from codexlogin.errors import LoginFailure, PortUnavailable, TokenExchangeFailed
from codexlogin.oauth.dialects import ONBOARDING_SUFFIX


def openai_settings(tmp_path, issuer_url, **changes):
    return replace(make_settings(tmp_path, issuer_url), dialect="openai", **changes)


def callbacks(run: Run) -> list[dict]:
    return [m for m in run.log_messages() if m.get("action_type") == "codex:callback"]


async def test_the_redirect_is_the_loopback_ip_and_the_login_completes(tmp_path, dev_issuer):
    with trio.fail_after(10):
        run = Run(openai_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    redirect = query_of(run.url)["redirect_uri"]
    assert redirect.startswith("http://127.0.0.1:") and redirect.endswith("/auth/callback")
    assert "Starting local login server on http://localhost:" in run.stderr.getvalue()  # the banner keeps localhost
    saved = json.loads(run.settings.auth_file.read_text())["tokens"]
    assert all(saved[name] for name in ("id_token", "access_token", "refresh_token"))


def suffixed_browser(suffix: str):
    async def browser(run, url):
        async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
            redirect = await client.get(url)
            location = urlsplit(redirect.headers["location"])
            params = dict(parse_qsl(location.query))
            params["state"] += suffix
            target, host = to_loopback_ip(location._replace(query=urlencode(params)).geturl())
            run.pages.append(await client.get(target, headers=host))

    return browser


async def test_the_onboarding_state_suffix_is_stripped_and_recorded(tmp_path, dev_issuer):
    with trio.fail_after(10):
        run = Run(openai_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(suffixed_browser(ONBOARDING_SUFFIX + "life_sciences"))
    assert not isinstance(auth, LoginFailure), auth
    assert run.pages[0].status_code == 200
    done = [m for m in callbacks(run) if m["action_status"] == "succeeded"][-1]
    assert done["onboarding_entrypoint"] == "life_sciences" and done["decision"] == "exchange"


async def test_a_standard_issuer_must_return_the_state_unchanged(tmp_path, dev_issuer, mock_clock):
    with trio.fail_after(700):
        run = Run(replace(make_settings(tmp_path, dev_issuer.issuer_url), timeout=30))
        outcome = await run(suffixed_browser(ONBOARDING_SUFFIX + "life_sciences"))
    assert run.pages[0].status_code == 400 and getattr(outcome, "outcome", None) == "timed_out"


async def test_a_reply_without_a_refresh_token_is_refused_as_0171_does(tmp_path, dev_issuer):
    dev_issuer.faults.token_status = 200
    dev_issuer.faults.token_body = b'{"access_token": "at-only-0123456789", "id_token": "a.b.c", "token_type": "Bearer"}'
    with trio.fail_after(10):
        run = Run(openai_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(approving_browser)
    assert isinstance(failure, TokenExchangeFailed) and "reply lacks refresh_token" in failure.detail
    assert not run.settings.auth_file.exists()  # never a file 0.171 cannot read


def hold() -> socket.socket:
    """A foreign program on a port of its own: accepts connections into the backlog, never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    return sock


@pytest.mark.concurrency
async def test_a_busy_port_falls_back_to_the_next_allowed_one(tmp_path, dev_issuer, mock_clock, reserved_port):
    fallback = reserved_port()
    with closing(hold()) as foreign, trio.fail_after(60):
        port = foreign.getsockname()[1]
        run = Run(openai_settings(tmp_path, dev_issuer.issuer_url, port=port, fallback_port=fallback))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    assert query_of(run.url)["redirect_uri"] == f"http://127.0.0.1:{fallback}/auth/callback"
    moved = [m for m in run.log_messages() if m.get("message_type") == "codex:listener:fallback_port"]
    assert [(m["busy_port"], m["port"]) for m in moved] == [(port, fallback)]


@pytest.mark.concurrency
async def test_both_allowed_ports_busy_is_exit_6_without_advising_another_port(tmp_path, dev_issuer, mock_clock):
    with closing(hold()) as foreign, closing(hold()) as other, trio.fail_after(60):
        port, fallback = foreign.getsockname()[1], other.getsockname()[1]
        run = Run(openai_settings(tmp_path, dev_issuer.issuer_url, port=port, fallback_port=fallback))
        failure = await run(approving_browser)
    assert isinstance(failure, PortUnavailable) and failure.exit_code == 6
    assert f"{port} and {fallback}" in failure.detail and "--port" not in failure.detail


def test_the_openai_dialect_falls_back_from_1455_to_1457():
    from codexlogin.config import load_settings
    from codexlogin.oauth.dialects import any_port_allowed, callback_ports
    from codexlogin.oauth.issuer import configured_issuer

    def ports(flags):
        settings = load_settings(flags, environ={"CODEX_HOME": "/nonexistent"})
        dialect = configured_issuer(settings).dialect
        return callback_ports(settings, dialect), any_port_allowed(dialect)

    assert ports({}) == ((1455, 1457), False)
    assert ports({"issuer": "https://login.example.com"}) == ((1455,), True)
    assert ports({"port": 4000}) == ((4000,), False)


async def test_a_forbidden_workspace_gets_no_api_key_minted(tmp_path, dev_issuer):
    with trio.fail_after(10):
        run = Run(openai_settings(tmp_path, dev_issuer.issuer_url, forced_chatgpt_workspace_id=("acct_other",)))
        failure = await run(approving_browser)
    assert getattr(failure, "outcome", None) == "policy_violation" and failure.exit_code == 9
    assert dev_issuer.token_requests("urn:ietf:params:oauth:grant-type:token-exchange") == []
    assert not run.settings.auth_file.exists()


async def test_missing_entitlement_says_what_to_do(tmp_path, dev_issuer):
    async def denied(run, url):
        state = query_of(url)["state"]
        redirect = query_of(url)["redirect_uri"]
        error = {"error": "access_denied", "error_description": "missing_codex_entitlement", "state": state}
        target, host = to_loopback_ip(f"{redirect}?{urlencode(error)}")
        async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
            run.pages.append(await client.get(target, headers=host))

    with trio.fail_after(10):
        run = Run(openai_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(denied)
    assert failure.exit_code == 3
    assert "Codex is not enabled for your workspace. Contact your workspace administrator" in failure.detail


def test_a_custom_ca_bundle_adds_to_the_system_roots(pki):
    from codexlogin.oauth.tls import bundle_certificate_count, ssl_verify_setting

    context = ssl_verify_setting({"CODEX_CA_CERTIFICATE": str(pki["ca"])})
    assert bundle_certificate_count(str(pki["ca"])) == 1
    assert len(context.get_ca_certs()) > 1  # the system's roots are still trusted
