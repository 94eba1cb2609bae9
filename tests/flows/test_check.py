"""`codex login status --check` proves the stored credentials online (flows.check), and the
access token's expiry from `expires_in` (RFC 6749 §5.1), against the dev issuer over real HTTP on
127.0.0.1.

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
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import GRANT_REFRESH, DevIssuer
from codexlogin.errors import ExitCode, LoginFailure, NetworkError
from codexlogin.flows.check import check_credentials
from codexlogin.oauth.issuer import configured_issuer

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
        code, _, out = status_text(capsys, url)  # the status text: stderr, as Codex CLI 0.171
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
    raw = {
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": None,
        "last_refresh": _now(),
        "tokens": {
            "id_token": "e30.e30.bm9uZQ",
            "access_token": "opaque",
            "refresh_token": "rt",
            "account_id": None,
            "access_token_expires_at": 10**40,
        },
    }
    auth = AuthDotJson.from_json(raw)
    assert auth.tokens.access_token_expires_at is None and auth.tokens.to_json()["access_token_expires_at"] == 10**40
    settings().auth_file.parent.mkdir(parents=True, exist_ok=True)
    settings().auth_file.write_text(json.dumps(raw))
    code = run_cli("login", "status", json_=True)
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["expires_at"] is None and data["refresh_due"] is None


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
