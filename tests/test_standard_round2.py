"""Issue 13 (round two of the standard dialect), against the dev issuer over real HTTP on 127.0.0.1:
an honest `status --check`, `expires_in`, nonce, `iss` mismatches, discovery, loopback redirects.

Every test that claims an online answer asserts the dev issuer's request_log; timeouts run on
MockClock (no worker threads); every I/O test has a hard trio.fail_after bound.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import httpx
import pytest
import trio
from harness import (
    DEFAULT_CLIENT_ID,
    issue_tokens,
    issue_tokens_async,
    issuer_in_thread,
    make_settings,
    run_cli,
    store_tokens,
)

from codexlogin import diagnostics
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import GRANT_REFRESH, DevIssuer
from codexlogin.errors import ExitCode, NetworkError
from codexlogin.flows.check import check_credentials

WELL_KNOWN = "/.well-known/openid-configuration"
RFC8414 = "/.well-known/oauth-authorization-server"


def settings():
    return load_settings({})


def status_json(capsys, url, **options):
    code = run_cli("login", "status", check=True, json_=True, issuer=url, **options)
    out, err = capsys.readouterr()
    assert out.count("\n") == 1, out
    return code, json.loads(out), err


def status_text(capsys, url, **options):
    code = run_cli("login", "status", check=True, issuer=url, **options)
    out, err = capsys.readouterr()
    return code, out, err


def revoke_over_http(url: str, token: str) -> None:
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        assert client.post("/oauth/revoke", data={"token": token, "client_id": DEFAULT_CLIENT_ID}).status_code == 200


def log_messages(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- 1. status --check proves the credentials online ---------------------------------------------


def test_check_proves_with_userinfo_and_says_so(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url))
        code, out, _ = status_text(capsys, url)
        userinfo = issuer.requests_to("/oauth/userinfo")
        assert len(userinfo) == 1 and userinfo[0].headers["authorization"].startswith("Bearer ")
        assert issuer.requests_to(WELL_KNOWN) and issuer.token_requests(GRANT_REFRESH) == []
    assert code == 0
    assert "Credentials checked online (userinfo): the issuer's userinfo endpoint accepted the access token (valid until" in out
    proofs = [m for m in log_messages(settings().log_file) if m.get("message_type") == "codex:check:proof"]
    assert [(p["proof"], p["online"]) for p in proofs] == [("userinfo", True)]


def test_check_after_the_issuer_revoked_the_tokens_exits_8_with_its_reason(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        store_tokens(settings(), issued)
        revoke_over_http(url, issued["refresh_token"])  # RFC 7009 §2.1: the whole grant ends
        assert not issuer.token_active(issued["access_token"])
        code, data, err = status_json(capsys, url)
        assert len(issuer.requests_to("/oauth/userinfo")) == 1  # refused: invalid_token
        assert len(issuer.token_requests(GRANT_REFRESH)) == 1  # then the refresh token: refused too
    assert code == ExitCode.CREDENTIALS_UNUSABLE == 8 and data["status"] == "check_failed"
    assert data["error"]["kind"] == "rejected"
    message = data["error"]["message"]
    assert "refresh token is invalid or revoked" in message  # the token endpoint's words
    assert "the access token is revoked or expired" in message  # the userinfo endpoint's words
    assert err.startswith("error: the issuer rejected the stored refresh token")


def test_check_with_an_expired_access_token_renews_it_by_refresh(capsys):
    issuer = DevIssuer(access_token_lifetime=3600)
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        store_tokens(settings(), issued)
        issuer._revoked_access.add(issued["access_token"])  # the access token alone is refused
        code, data, _ = status_json(capsys, url)
        assert len(issuer.requests_to("/oauth/userinfo")) == 1 and len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 0 and data["check"] == {"refreshed": True, "reason": "rejected", "online": True, "proof": "refresh"}


def test_check_without_userinfo_uses_public_introspection(capsys):
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = False
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url))
        code, data, _ = status_json(capsys, url)
        (request,) = issuer.requests_to("/oauth/introspect")
        assert request.params["token_type_hint"] == "access_token" and request.params["client_id"] == DEFAULT_CLIENT_ID
        assert issuer.requests_to("/oauth/userinfo") == [] and issuer.token_requests(GRANT_REFRESH) == []
    assert code == 0 and data["check"]["proof"] == "introspection" and data["check"]["online"] is True


def test_introspection_that_needs_client_authentication_is_not_used_a_refresh_proves_instead(capsys):
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = False
    issuer.faults.introspection_public_client = False
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url))
        code, data, _ = status_json(capsys, url)
        assert issuer.requests_to("/oauth/introspect") == []
        assert len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 0 and data["check"] == {"refreshed": True, "reason": "forced", "online": True, "proof": "refresh"}


def test_revoked_tokens_are_inactive_at_introspection(capsys):
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = False
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        store_tokens(settings(), issued)
        revoke_over_http(url, issued["refresh_token"])
        code, data, _ = status_json(capsys, url)
        assert len(issuer.requests_to("/oauth/introspect")) == 1 and len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 8 and "reports the access token inactive" in data["error"]["message"]


def test_without_discovery_the_default_paths_and_a_refresh_prove_it(capsys):
    issuer = DevIssuer()
    issuer.faults.discovery_status = 404
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url))
        code, data, _ = status_json(capsys, url)
        assert issuer.requests_to(WELL_KNOWN) and issuer.requests_to(RFC8414)  # both documents were asked for
        assert len(issuer.token_requests(GRANT_REFRESH)) == 1 and issuer.requests_to("/oauth/userinfo") == []
    assert code == 0 and data["check"]["proof"] == "refresh"
    (found,) = [m for m in log_messages(settings().log_file) if m.get("message_type") == "codex:discovery"]
    assert found["source"] == "none" and "HTTP 404" in found["problem"]


def test_the_openai_dialect_proves_by_its_json_refresh(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url))
        code, data, _ = status_json(capsys, url, config=("dialect=openai",))
        (refresh,) = issuer.token_requests(GRANT_REFRESH, media_type="application/json")
        assert refresh["refresh_reason"] == "forced"
        assert issuer.requests_to(WELL_KNOWN) == [] and issuer.requests_to("/oauth/userinfo") == []  # 0.171 discovers nothing
    assert code == 0 and data["check"]["proof"] == "refresh" and data["check"]["online"] is True


def test_the_openai_dialect_names_a_revoked_refresh_token(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        store_tokens(settings(), issued)
        revoke_over_http(url, issued["refresh_token"])
        code, data, _ = status_json(capsys, url, config=("dialect=openai",))
        assert len(issuer.token_requests(GRANT_REFRESH, media_type="application/json")) == 1
    assert code == 8 and data["error"]["kind"] == "revoked" and "refresh_token_invalidated" in data["error"]["message"]


def test_no_refresh_token_and_no_proof_endpoint_is_not_claimed_online(capsys):
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = issuer.faults.introspection_enabled = False
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        save_auth(settings().auth_file, AuthDotJson(
            "chatgpt", tokens=TokenData(issued["id_token"], issued["access_token"], None), last_refresh=_now()))
        code, data, _ = status_json(capsys, url)
        assert issuer.requests_to(WELL_KNOWN)  # discovery was asked; it offers no proof
    assert code == 0 and data["check"] == {"refreshed": False, "reason": None, "online": False, "proof": None}


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@pytest.mark.parametrize("hanging", ["/oauth/userinfo", "/oauth/token"])
async def test_an_issuer_that_never_answers_is_exit_10(tmp_path, mock_clock, dev_issuer, hanging):
    run_settings = make_settings(tmp_path, dev_issuer.issuer_url)
    issued = await issue_tokens_async(dev_issuer, dev_issuer.issuer_url)
    store_tokens(run_settings, issued)
    if hanging == "/oauth/token":
        dev_issuer.faults.userinfo_enabled = dev_issuer.faults.introspection_enabled = False
    dev_issuer.faults.hang_paths = frozenset({hanging})
    started = trio.current_time()
    with trio.fail_after(run_settings.exchange_timeout + 10), pytest.raises(NetworkError) as raised:
        await check_credentials(run_settings)
    assert raised.value.exit_code == ExitCode.NETWORK_ERROR == 10 and raised.value.kind == "network"
    assert "within 30s" in raised.value.summary
    assert trio.current_time() - started >= run_settings.exchange_timeout  # it waited exchange_timeout, no longer
    assert dev_issuer.requests_to(hanging)  # the issuer saw the request and never answered


async def test_discovery_that_never_answers_is_bounded_and_the_defaults_are_used(tmp_path, mock_clock, dev_issuer):
    from codexlogin.flows.discover import discover
    from codexlogin.oauth.discovery import DISCOVERY_BUDGET

    run_settings = make_settings(tmp_path, dev_issuer.issuer_url)
    dev_issuer.faults.hang_paths = frozenset({WELL_KNOWN})
    started = trio.current_time()
    with trio.fail_after(5), diagnostics.open_log(run_settings.resolved_log_dir):
        found = await discover(run_settings)
    assert trio.current_time() - started == pytest.approx(DISCOVERY_BUDGET, abs=0.1)
    assert found.discovered == () and found.token_endpoint == f"{dev_issuer.issuer_url}/oauth/token"
    assert dev_issuer.requests_to(WELL_KNOWN)
    (logged,) = [m for m in log_messages(run_settings.log_file) if m.get("message_type") == "codex:discovery"]
    assert logged["source"] == "none" and "no answer within 1.5s" in logged["problem"]
