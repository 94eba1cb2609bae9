"""Issue 13 (round two of the standard dialect), against the dev issuer over real HTTP on 127.0.0.1:
an honest `status --check`, `expires_in`, nonce, `iss` mismatches, discovery, loopback redirects.

Every test that claims an online answer asserts the dev issuer's request_log; timeouts run on
MockClock (no worker threads); every I/O test has a hard trio.fail_after bound.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import trio
from harness import (
    DEFAULT_CLIENT_ID,
    IssuerWrapper,
    issue_tokens,
    issue_tokens_async,
    issuer_in_thread,
    make_settings,
    run_cli,
    store_tokens,
)

from codexlogin import diagnostics
from codexlogin.config import load_settings
from codexlogin.oauth.issuer import configured_issuer
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import GRANT_REFRESH, DevIssuer
from codexlogin.errors import ExitCode, LoginFailure, NetworkError
from codexlogin.flows.check import check_credentials

WELL_KNOWN = "/.well-known/openid-configuration"
RFC8414 = "/.well-known/oauth-authorization-server"


def settings():
    return load_settings({})


def status_json(capsys, url, **options):
    """`status --check --json` after a login at `url`: no --issuer, the stored login names it."""
    code = run_cli("login", "status", check=True, json_=True, **options)
    out, err = capsys.readouterr()
    assert out.count("\n") == 1, out
    return code, json.loads(out), err


def status_text(capsys, url, **options):
    code = run_cli("login", "status", check=True, **options)
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
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
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
        store_tokens(settings(), issued, issuer=url)
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
        store_tokens(settings(), issued, issuer=url)
        issuer._revoked_access.add(issued["access_token"])  # the access token alone is refused
        code, data, _ = status_json(capsys, url)
        assert len(issuer.requests_to("/oauth/userinfo")) == 1 and len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 0 and data["check"] == {"refreshed": True, "reason": "rejected", "online": True, "proof": "refresh"}


def test_check_without_userinfo_uses_public_introspection(capsys):
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = False
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
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
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        code, data, _ = status_json(capsys, url)
        assert issuer.requests_to("/oauth/introspect") == []
        assert len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 0 and data["check"] == {"refreshed": True, "reason": "forced", "online": True, "proof": "refresh"}


def test_revoked_tokens_are_inactive_at_introspection(capsys):
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = False
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        store_tokens(settings(), issued, issuer=url)
        revoke_over_http(url, issued["refresh_token"])
        code, data, _ = status_json(capsys, url)
        assert len(issuer.requests_to("/oauth/introspect")) == 1 and len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 8 and "reports the access token inactive" in data["error"]["message"]


def test_without_discovery_the_default_paths_and_a_refresh_prove_it(capsys):
    issuer = DevIssuer()
    issuer.faults.discovery_status = 404
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        code, data, _ = status_json(capsys, url)
        assert issuer.requests_to(WELL_KNOWN) and issuer.requests_to(RFC8414)  # both documents were asked for
        assert len(issuer.token_requests(GRANT_REFRESH)) == 1 and issuer.requests_to("/oauth/userinfo") == []
    assert code == 0 and data["check"]["proof"] == "refresh"
    (found,) = [m for m in log_messages(settings().log_file) if m.get("message_type") == "codex:discovery"]
    assert found["source"] == "none" and "HTTP 404" in found["problem"]


def test_the_openai_dialect_proves_by_its_json_refresh(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url, dialect="openai")
        code, data, _ = status_json(capsys, url)
        (refresh,) = issuer.token_requests(GRANT_REFRESH, media_type="application/json")
        assert refresh["refresh_reason"] == "forced"
        assert issuer.requests_to(WELL_KNOWN) == [] and issuer.requests_to("/oauth/userinfo") == []  # 0.171 discovers nothing
    assert code == 0 and data["check"]["proof"] == "refresh" and data["check"]["online"] is True


def test_the_openai_dialect_names_a_revoked_refresh_token(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        store_tokens(settings(), issued, issuer=url, dialect="openai")
        revoke_over_http(url, issued["refresh_token"])
        code, data, _ = status_json(capsys, url)
        assert len(issuer.token_requests(GRANT_REFRESH, media_type="application/json")) == 1
    assert code == 8 and data["error"]["kind"] == "revoked" and "refresh_token_invalidated" in data["error"]["message"]


def test_no_refresh_token_and_no_proof_endpoint_is_not_claimed_online(capsys):
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = issuer.faults.introspection_enabled = False
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        provenance = {"issuer": url, "client_id": DEFAULT_CLIENT_ID, "dialect": "standard"}
        tokens = TokenData(issued["id_token"], issued["access_token"], None, oauth_provenance=provenance)
        save_auth(settings().auth_file, AuthDotJson("chatgpt", tokens=tokens, last_refresh=_now()))
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
    with trio.fail_after(run_settings.exchange_timeout + 10), diagnostics.open_log(run_settings.resolved_log_dir):
        with pytest.raises(NetworkError) as raised:
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
        found = await discover(run_settings, configured_issuer(run_settings))
    assert trio.current_time() - started == pytest.approx(DISCOVERY_BUDGET, abs=0.1)
    assert found.looked_up and found.metadata == () and found.token_endpoint == f"{dev_issuer.issuer_url}/oauth/token"
    assert not found.wants_discovery  # asked once per run
    assert dev_issuer.requests_to(WELL_KNOWN)
    (logged,) = [m for m in log_messages(run_settings.log_file) if m.get("message_type") == "codex:discovery"]
    assert logged["source"] == "none" and "no answer within 1.5s" in logged["problem"]


# --- 2. expires_in (RFC 6749 §5.1) ----------------------------------------------------------------


async def test_an_opaque_access_token_expiry_comes_from_expires_in(tmp_path, dev_issuer, capsys):
    from harness import Run, approving_browser

    from codexlogin import rfc3339
    from codexlogin.credentials.status import evaluate

    dev_issuer.faults.opaque_access_tokens = True
    dev_issuer.access_token_lifetime = 120  # within the 5-minute margin: a refresh is due
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(approving_browser)
    assert auth.tokens.access_token.startswith("opaque-") and dev_issuer.token_requests("authorization_code")
    stored = json.loads(run.settings.auth_file.read_text())["tokens"]["access_token_expires_at"]
    assert abs(rfc3339.to_epoch(stored) - (time.time() + 120)) < 10
    report = evaluate(run.settings, AuthDotJson.from_json(json.loads(run.settings.auth_file.read_text())), "file")
    assert report.expires_at is not None and report.refresh_due == "expiring"
    # the refresh rule uses it: a refresh is made, and its own expires_in replaces the old expiry
    from codexlogin.flows.refresh import refresh_credentials

    dev_issuer.access_token_lifetime = 7200
    with trio.fail_after(10), diagnostics.open_log(run.settings.resolved_log_dir):
        result = await refresh_credentials(run.settings)
    assert result.refreshed and result.reason == "expiring" and len(dev_issuer.token_requests(GRANT_REFRESH)) == 1
    renewed = rfc3339.to_epoch(result.auth.tokens.access_token_expires_at)
    assert abs(renewed - (time.time() + 7200)) < 10
    assert evaluate(run.settings, result.auth, "file").refresh_due is None


def test_a_jwt_exp_wins_over_the_stored_expiry():
    from harness import jwt_with_exp

    from codexlogin.credentials.status import refresh_due

    now = time.time()
    soon, later = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
    assert refresh_due(jwt_with_exp(int(now) + 3600), _now(), now, stored_expiry=soon) is None
    assert refresh_due("opaque", _now(), now, stored_expiry=soon) == "expiring"
    assert refresh_due("opaque", _now(), now, stored_expiry=later) is None
    assert refresh_due("opaque", "2020-01-01T00:00:00Z", now, stored_expiry=None) == "stale"  # 0.171's rule stays


@pytest.mark.parametrize(
    ("expires_in", "stored"),
    [(10**400, "clamped"), (-5, None), ("3600", None), (1.5e308, "clamped"), (float("nan"), None), (True, None), (3600.9, 3600)],
)
async def test_hostile_expires_in_is_ignored_or_clamped(tmp_path, dev_issuer, expires_in, stored):
    from harness import Run, approving_browser

    from codexlogin import rfc3339
    from codexlogin.errors import LoginFailure
    from codexlogin.oauth.client import MAX_EXPIRES_IN

    dev_issuer.faults.opaque_access_tokens = True
    dev_issuer.faults.expires_in = expires_in
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    tokens = json.loads(run.settings.auth_file.read_text())["tokens"]
    if stored is None:
        assert "access_token_expires_at" not in tokens
        return
    lifetime = MAX_EXPIRES_IN if stored == "clamped" else stored
    assert abs(rfc3339.to_epoch(tokens["access_token_expires_at"]) - (time.time() + lifetime)) < 10


def test_a_corrupt_stored_expiry_is_kept_but_not_used(capsys):
    raw = {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "last_refresh": _now(),
           "tokens": {"id_token": "e30.e30.bm9uZQ", "access_token": "opaque", "refresh_token": "rt",
                      "account_id": None, "access_token_expires_at": 10**40}}
    auth = AuthDotJson.from_json(raw)
    assert auth.tokens.access_token_expires_at is None and auth.tokens.to_json()["access_token_expires_at"] == 10**40
    settings().auth_file.parent.mkdir(parents=True, exist_ok=True)
    settings().auth_file.write_text(json.dumps(raw))
    code = run_cli("login", "status", json_=True)
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["expires_at"] is None and data["refresh_due"] is None


# --- 3. nonce ------------------------------------------------------------------------------------


async def test_the_standard_dialect_sends_a_nonce_and_an_issuer_that_requires_one_works(tmp_path, dev_issuer):
    from harness import Run, approving_browser, query_of

    from codexlogin.oauth import jwt

    dev_issuer.faults.require_nonce = True  # `invalid_request: nonce required` without one
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    (sent,) = dev_issuer.authorize_requests()
    nonce = sent["nonce"]
    assert len(nonce) >= 43 and query_of(run.url)["nonce"] == nonce
    assert jwt.jwt_claims(auth.tokens.id_token)["nonce"] == nonce  # the issuer put it in the id_token
    assert nonce not in run.log  # never logged


async def test_an_id_token_with_another_nonce_is_refused_and_nothing_saved(tmp_path, dev_issuer):
    from harness import Run, approving_browser

    dev_issuer.faults.id_token_nonce = "someone-elses-nonce"
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(approving_browser)
    assert isinstance(failure, LoginFailure) and failure.exit_code == 4 and failure.error_code == "nonce_mismatch"
    assert "nonce does not match this sign-in" in failure.summary
    assert len(dev_issuer.token_requests("authorization_code")) == 1 and not run.settings.auth_file.exists()
    assert run.pages[0].status_code == 502 and "nonce" in run.pages[0].text


async def test_the_openai_dialect_url_has_no_nonce(tmp_path, dev_issuer):
    from harness import Run, approving_browser, query_of

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, dialect="openai"))
        await run(approving_browser)
    # Codex CLI 0.171's parameters exactly (scripts/interop_codex.py drives the real one)
    assert sorted(query_of(run.url)) == sorted([
        "response_type", "client_id", "redirect_uri", "scope", "code_challenge", "code_challenge_method", "state",
        "id_token_add_organizations", "codex_cli_simplified_flow", "originator",
    ])
    assert query_of(run.url)["redirect_uri"].startswith("http://127.0.0.1:")
    assert dev_issuer.requests_to(WELL_KNOWN) == []  # and no discovery


# --- 4. iss (RFC 9207) and an issuer identifier other than the base URL ----------------------------


async def test_the_issuer_identifier_from_discovery_is_what_iss_must_match(tmp_path, dev_issuer):
    from harness import Run, approving_browser

    port = dev_issuer.issuer_url.rsplit(":", 1)[1]
    dev_issuer.identifier = f"http://localhost:{port}/"  # it calls itself by another loopback name
    dev_issuer.faults.callback_iss = "self"
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    assert dev_issuer.requests_to(WELL_KNOWN) and len(dev_issuer.token_requests("authorization_code")) == 1
    (found,) = [m for m in run.log_messages() if m.get("message_type") == "codex:discovery"]
    assert found["identifier"] == f"http://localhost:{port}/" and found["source"] == "openid-configuration"


async def test_an_iss_naming_another_issuer_ends_the_login_at_once(tmp_path, dev_issuer):
    from harness import Run, approving_browser

    dev_issuer.faults.callback_iss = "https://other-issuer.example"
    started = trio.current_time()
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, timeout=600))
        failure = await run(approving_browser)
    assert trio.current_time() - started < 9  # not the 600 s timeout
    assert isinstance(failure, LoginFailure) and failure.error_code == "issuer_mismatch"
    assert "https://other-issuer.example" in failure.summary and dev_issuer.issuer_url in failure.summary
    assert dev_issuer.token_requests("authorization_code") == [] and not run.settings.auth_file.exists()


# --- 8. discovery --------------------------------------------------------------------------------


async def test_discovered_endpoints_are_used(tmp_path, dev_issuer, nursery):
    """The document points the token endpoint elsewhere: the login follows it."""
    from harness import IssuerWrapper, Run, approving_browser

    class MovedToken(IssuerWrapper):
        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/v2/token":
                scope = {**scope, "path": "/oauth/token"}
            return await self.inner(scope, receive, send)

    from codexlogin.devissuer import serve_dev_issuer

    issuer = DevIssuer(auto_approve=True)
    url = await nursery.start(serve_dev_issuer, MovedToken(issuer))
    issuer.faults.discovery_extra = {"token_endpoint": f"{url}/v2/token"}
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, url))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    token_exchange = next(m for m in run.log_messages() if m.get("action_type") == "codex:token_exchange")
    assert token_exchange["token_endpoint"] == f"{url}/v2/token"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"issuer": "https://evil.example"}, "names the issuer https://evil.example"),
        ({"issuer": None}, "no issuer"),
        ([1, 2], "not a JSON object"),
    ],
)
def test_an_unusable_document_is_refused(document, problem):
    from codexlogin.oauth.discovery import DiscoveryProblem, parse_document

    with pytest.raises(DiscoveryProblem, match=problem):
        parse_document(json.dumps(document).encode(), "https://login.example.com")


def test_document_validation_keeps_only_safe_strings():
    from codexlogin.oauth.discovery import MAX_DOCUMENT_BYTES, DiscoveryProblem, parse_document

    document = {
        "issuer": "https://login.example.com/",
        "authorization_endpoint": "https://login.example.com/authorize",
        "token_endpoint": "http://login.example.com/token",  # plain http off loopback: dropped
        "revocation_endpoint": ["https://login.example.com/revoke"],  # not a string: dropped
        "userinfo_endpoint": "https://user:pw@login.example.com/userinfo",  # userinfo: dropped
        "introspection_endpoint": "https://login.example.com/" + "x" * 5000,  # too long: dropped
        "device_authorization_endpoint": "https://devices.example.net/code",  # another host is fine
        "introspection_endpoint_auth_methods_supported": ["none", 7],  # not all strings: dropped
    }
    metadata = dict(parse_document(json.dumps(document).encode(), "https://login.example.com"))
    assert metadata == {
        "issuer": "https://login.example.com/",
        "authorization_endpoint": "https://login.example.com/authorize",
        "device_authorization_endpoint": "https://devices.example.net/code",
    }
    with pytest.raises(DiscoveryProblem, match="larger than"):
        parse_document(b" " * (MAX_DOCUMENT_BYTES + 1), "https://login.example.com")
    loopback = dict(parse_document(json.dumps({"issuer": "http://localhost:8080", "token_endpoint": "http://127.0.0.1:8080/t"}).encode(), "http://127.0.0.1:8080"))
    assert loopback == {"issuer": "http://localhost:8080", "token_endpoint": "http://127.0.0.1:8080/t"}


def test_discovery_urls_follow_oidc_and_rfc8414():
    from codexlogin.oauth.discovery import discovery_urls

    assert discovery_urls("https://idp.example.com/realms/x") == [
        ("openid-configuration", "https://idp.example.com/realms/x/.well-known/openid-configuration"),
        ("oauth-authorization-server", "https://idp.example.com/.well-known/oauth-authorization-server/realms/x"),
    ]


async def test_the_rfc8414_document_is_read_when_there_is_no_oidc_one(tmp_path, dev_issuer, nursery):
    from harness import IssuerWrapper

    from codexlogin.devissuer import serve_dev_issuer
    from codexlogin.flows.discover import discover

    class NoOidc(IssuerWrapper):
        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == WELL_KNOWN:
                scope = {**scope, "path": "/nowhere"}
            return await self.inner(scope, receive, send)

    issuer = DevIssuer()
    url = await nursery.start(serve_dev_issuer, NoOidc(issuer))
    run_settings = make_settings(tmp_path, url)
    with trio.fail_after(5), diagnostics.open_log(run_settings.resolved_log_dir):
        found = await discover(run_settings, configured_issuer(run_settings))
    assert found.userinfo_endpoint == f"{url}/oauth/userinfo" and found.identifier == url
    assert [r.path for r in issuer.request_log] == ["/nowhere", RFC8414]


async def test_doctor_says_what_discovery_found(tmp_path, dev_issuer):
    from codexlogin.support.doctor import run_checks

    with trio.fail_after(20):
        report = await run_checks(make_settings(tmp_path, dev_issuer.issuer_url))
    issuer = next(c for c in report.checks if c.name == "issuer")
    assert "discovery: authorization, token, revocation, device_authorization, userinfo, introspection endpoints" in issuer.detail
    dev_issuer.faults.discovery_issuer = "https://elsewhere.example"
    with trio.fail_after(20):
        report = await run_checks(make_settings(tmp_path, dev_issuer.issuer_url))
    issuer = next(c for c in report.checks if c.name == "issuer")
    assert issuer.status == "warn" and "the default /oauth/* endpoints are used" in issuer.detail
    assert "names the issuer https://elsewhere.example" in issuer.detail


# --- 7. loopback redirect and the probe -------------------------------------------------------------


async def test_the_ip_literal_redirect_works_on_any_port_where_localhost_would_not(tmp_path, dev_issuer):
    from harness import Run, approving_browser, query_of

    dev_issuer.faults.registered_redirects = ("http://localhost:1455/auth/callback", "http://127.0.0.1:1455/auth/callback")
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))  # port 0: some other port
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    assert query_of(run.url)["redirect_uri"].startswith("http://127.0.0.1:")


async def _no_browser(run, url):
    await trio.sleep_forever()


async def test_an_error_page_at_the_issuer_is_said_after_a_while_and_named_by_the_timeout(tmp_path, mock_clock, dev_issuer):
    from harness import Run

    from codexlogin.errors import TimedOut
    from codexlogin.flows.browser import PROBE_AFTER

    dev_issuer.faults.registered_redirects = ("http://localhost:1455/auth/callback",)  # strict: only that one
    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, timeout=40))
        failure = await run(_no_browser)
    (probe,) = dev_issuer.authorize_requests()  # the probe: the issuer saw it and showed its error page
    assert probe["redirect_uri"].startswith("http://127.0.0.1:")
    shown = run.stderr.getvalue()
    assert "answers the sign-in URL with an error page (HTTP 400)" in shown and "codex login doctor" in shown
    assert isinstance(failure, TimedOut) and "the issuer showed an error page instead of redirecting back (HTTP 400)" in failure.summary
    (logged,) = [m for m in run.log_messages() if m.get("message_type") == "codex:browser:authorize_probe"]
    assert logged["verdict"] == "error_page" and PROBE_AFTER < 40


async def test_without_any_callback_the_timeout_says_so(tmp_path, mock_clock, dev_issuer):
    from harness import Run

    from codexlogin.errors import TimedOut

    dev_issuer.auto_approve = False  # the issuer shows its sign-in page: nothing to warn about
    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, timeout=40))
        failure = await run(_no_browser)
    assert len(dev_issuer.authorize_requests()) == 1  # probed once
    assert isinstance(failure, TimedOut) and "no callback ever arrived" in failure.summary
    assert "error page" not in run.stderr.getvalue()


async def test_an_unreachable_issuer_is_named_by_the_probe_and_the_timeout(tmp_path, mock_clock, refused_port):
    from harness import Run

    from codexlogin.errors import TimedOut

    url = f"http://127.0.0.1:{refused_port()}"
    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, url, timeout=40))
        failure = await run(_no_browser)
    assert "the issuer cannot be reached" in run.stderr.getvalue()
    assert isinstance(failure, TimedOut) and "the issuer could not be reached (ConnectError)" in failure.summary


# --- the real command ------------------------------------------------------------------------------


async def test_cli_iss_mismatch_is_one_terminal_line_naming_both_issuers(tmp_path, dev_issuer):
    import os
    import shlex
    import sys

    dev_issuer.faults.callback_iss = "https://other-issuer.example"
    env = {**os.environ, "CODEX_HOME": str(tmp_path / "codex-home"), "PYTHONUNBUFFERED": "1",
           "BROWSER": f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s"}
    with trio.fail_after(30):
        result = await trio.run_process(
            [sys.executable, "-m", "codexlogin", "login", "--issuer", dev_issuer.issuer_url, "--port", "0"],
            env=env, capture_stdout=True, capture_stderr=True, check=False,
        )
    err = result.stderr.decode()
    assert result.returncode == 4, err
    assert (f"error: sign-in refused: the response names the issuer https://other-issuer.example, but this sign-in uses"
            f" {dev_issuer.issuer_url}") in err
    (sent,) = dev_issuer.authorize_requests()
    assert sent["nonce"] and sent["redirect_uri"].startswith("http://127.0.0.1:")
    assert dev_issuer.requests_to(WELL_KNOWN) and dev_issuer.token_requests("authorization_code") == []
    logged = log_messages(tmp_path / "codex-home" / "log" / "codex-login.log")
    (found,) = [m for m in logged if m.get("message_type") == "codex:discovery"]  # looked up before the URL, logged in the run
    assert found["source"] == "openid-configuration" and "userinfo_endpoint" in found["endpoints"]


# --- properties ----------------------------------------------------------------------------------

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_NAMES = st.sampled_from([
    "issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "introspection_endpoint",
    "introspection_endpoint_auth_methods_supported", "revocation_endpoint",
])
_URLISH = st.sampled_from([
    "https://login.example.com", "https://login.example.com/", "http://login.example.com/x", "https://a@b/x",
    "http://127.0.0.1:9/t", "javascript:alert(1)", "https://login.example.com/#f", "", "https://evil.example",
])


@hsettings(max_examples=300, deadline=None)
@given(st.dictionaries(_NAMES, _URLISH | _JSON, max_size=7))
def test_any_document_gives_safe_metadata_or_a_problem(document):
    from codexlogin.oauth.discovery import ENDPOINT_NAMES, DiscoveryProblem, parse_document, same_issuer, usable_endpoint

    try:
        metadata = parse_document(json.dumps(document).encode(), "https://login.example.com")
    except DiscoveryProblem:
        return
    found = dict(metadata)
    assert same_issuer("https://login.example.com", found["issuer"])
    assert all(isinstance(value, str) for value in found.values())
    assert all(usable_endpoint(found[name]) for name in ENDPOINT_NAMES if name in found)


@given(_JSON | st.integers(min_value=-(10**500), max_value=10**500))
def test_expires_in_is_none_or_a_bounded_positive_int(value):
    from codexlogin.oauth.client import MAX_EXPIRES_IN, usable_expires_in

    result = usable_expires_in(value)
    assert result is None or (type(result) is int and 0 <= result <= MAX_EXPIRES_IN)


def test_introspection_refusing_the_client_is_not_taken_for_a_refused_token(capsys):
    """The issuer advertises public introspection but then wants client authentication (401
    invalid_client): that rules the proof out, it says nothing about the token; a refresh proves."""
    issuer = DevIssuer()
    issuer.faults.userinfo_enabled = False
    issuer.faults.discovery_extra = {"introspection_endpoint_auth_methods_supported": ["none"]}
    issuer.faults.introspection_public_client = False
    with issuer_in_thread(issuer) as url:
        store_tokens(settings(), issue_tokens(issuer, url), issuer=url)
        code, data, _ = status_json(capsys, url)
        assert len(issuer.requests_to("/oauth/introspect")) == 1 and len(issuer.token_requests(GRANT_REFRESH)) == 1
    assert code == 0 and data["check"]["proof"] == "refresh" and data["check"]["reason"] == "forced"


class _Moved(IssuerWrapper):
    """The dev issuer with some endpoints served under other paths (as discovery then says)."""

    def __init__(self, inner, moves: dict[str, str]):
        self.inner, self.moves = inner, moves

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] in self.moves:
            scope = {**scope, "path": self.moves[scope["path"]]}
        elif scope["type"] == "http" and scope["path"] in self.moves.values():
            scope = {**scope, "path": "/gone"}  # the default path is not served: only discovery finds it
        return await self.inner(scope, receive, send)


async def test_device_login_and_logout_use_the_discovered_endpoints(tmp_path, mock_clock, nursery):
    from codexlogin.devissuer import GRANT_DEVICE_CODE, serve_dev_issuer
    from codexlogin.flows.device import device_login
    from codexlogin.flows.logout import logout_flow
    from codexlogin.flows.ui import SilentUI

    issuer = DevIssuer(device_auto_approve_after=1)
    moves = {"/v2/device": "/oauth/device/code", "/v2/revoke": "/oauth/revoke"}
    url = await nursery.start(serve_dev_issuer, _Moved(issuer, moves))
    issuer.faults.discovery_extra = {"device_authorization_endpoint": f"{url}/v2/device", "revocation_endpoint": f"{url}/v2/revoke"}
    run_settings = make_settings(tmp_path, url)
    with trio.fail_after(60), diagnostics.open_log(run_settings.resolved_log_dir):
        auth, _backend = await device_login(run_settings, SilentUI())
        assert len(issuer.token_requests(GRANT_DEVICE_CODE)) == 1
        result = await logout_flow(run_settings)
    assert result.revoked is True and not issuer.token_active(auth.tokens.refresh_token)
    assert [r.path for r in issuer.request_log].count("/oauth/device/code") == 1  # reached through /v2/device only


@pytest.mark.parametrize("dialect", ["standard", "openai"])
def test_expired_credentials_exit_8_with_the_issuers_reason(capsys, dialect):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
        store_tokens(settings(), issued, issuer=url, dialect=dialect)  # the dialect is the stored login's
        issuer._revoked_access.add(issued["access_token"])  # the access token is refused at userinfo
        issuer.faults.refresh_error = "refresh_token_expired"
        code, data, err = status_json(capsys, url)
        assert len(issuer.token_requests(GRANT_REFRESH)) == 1
        assert len(issuer.requests_to("/oauth/userinfo")) == (dialect == "standard")
    assert code == 8 and data["error"]["kind"] == "expired" and "refresh_token_expired" in data["error"]["message"]
    assert "the stored refresh token has expired" in err


async def test_a_huge_userinfo_reply_keeps_only_the_bound_and_still_proves_the_token(tmp_path, nursery):
    """A 200 from userinfo is the proof; of its 10 MiB body only MAX_USERINFO_BYTES are kept (the
    rest is read and dropped within the request timeout: httpx leaks a half-read stream)."""
    from harness import IssuerWrapper

    from codexlogin.devissuer import serve_dev_issuer

    class Huge(IssuerWrapper):
        sent = 0

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/oauth/userinfo":
                self.inner.request_log.append(None)  # counted below
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
                chunk = b"x" * 65536
                for _ in range(160):  # 10 MiB, unless the client stops reading
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    self.sent += 1
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            return await self.inner(scope, receive, send)

    issuer = DevIssuer()
    wrapper = Huge(issuer)
    url = await nursery.start(serve_dev_issuer, wrapper)
    run_settings = make_settings(tmp_path, url)
    store_tokens(run_settings, await issue_tokens_async(issuer, url))
    with trio.fail_after(20), diagnostics.open_log(run_settings.resolved_log_dir):
        result = await check_credentials(run_settings)
    assert result.proof == "userinfo" and result.online and None in issuer.request_log
    assert wrapper.sent == 160  # the whole body went out and was drained, not kept


async def test_an_oversized_discovery_document_is_not_read(tmp_path, dev_issuer):
    from codexlogin.oauth.discovery import MAX_DOCUMENT_BYTES, fetch_discovery

    dev_issuer.faults.discovery_extra = {"padding": "a" * (MAX_DOCUMENT_BYTES + 10)}
    with trio.fail_after(10):
        run_settings = make_settings(tmp_path, dev_issuer.issuer_url)
        found = await fetch_discovery(run_settings, configured_issuer(run_settings))
    assert found.source == "none" and "larger than" in found.problem
    assert dev_issuer.requests_to(WELL_KNOWN) and dev_issuer.requests_to(RFC8414)
