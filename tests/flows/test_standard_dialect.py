"""The standard dialect's sign-in against the dev issuer over real HTTP on 127.0.0.1: the OIDC
nonce, `iss` (RFC 9207) and the issuer identifier, discovery (OIDC Discovery, RFC 8414), loopback
redirects and the sign-in URL probe.

Every test that claims an online answer asserts the dev issuer's request_log; timeouts run on
MockClock (no worker threads); every I/O test has a hard trio.fail_after bound.
"""

from __future__ import annotations

import json

import pytest
import trio
from harness import (
    IssuerWrapper,
    make_settings,
)

from codexlogin import diagnostics
from codexlogin.devissuer import DevIssuer
from codexlogin.errors import LoginFailure
from codexlogin.oauth.issuer import configured_issuer

WELL_KNOWN = "/.well-known/openid-configuration"
RFC8414 = "/.well-known/oauth-authorization-server"


def log_messages(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


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
    assert sorted(query_of(run.url)) == sorted(
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "state",
            "id_token_add_organizations",
            "codex_cli_simplified_flow",
            "originator",
        ]
    )
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
    loopback = dict(
        parse_document(
            json.dumps({"issuer": "http://localhost:8080", "token_endpoint": "http://127.0.0.1:8080/t"}).encode(),
            "http://127.0.0.1:8080",
        )
    )
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
    assert (
        isinstance(failure, TimedOut)
        and "the issuer showed an error page instead of redirecting back (HTTP 400)" in failure.summary
    )
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


async def test_an_unreachable_issuer_ends_the_login_at_once_with_exit_10(tmp_path, mock_clock, refused_port):
    """Issue 23: not after the whole --timeout (exit 5), but before the URL is shown (exit 10)."""
    from harness import Run

    from codexlogin.errors import NetworkError

    url = f"http://127.0.0.1:{refused_port()}"
    with trio.fail_after(60):
        started = trio.current_time()
        run = Run(make_settings(tmp_path, url, timeout=40))
        failure = await run(_no_browser)
    assert trio.current_time() - started < 3, "said at once, not after the timeout"
    assert run.url is None and "Starting local login server" not in run.stderr.getvalue()
    assert isinstance(failure, NetworkError) and failure.exit_code == 10
    assert "cannot be reached (connect)" in failure.summary and "check the issuer URL" in failure.summary


# --- the real command ------------------------------------------------------------------------------


async def test_cli_iss_mismatch_is_one_terminal_line_naming_both_issuers(tmp_path, dev_issuer):
    import os
    import shlex
    import sys

    dev_issuer.faults.callback_iss = "https://other-issuer.example"
    env = {
        **os.environ,
        "CODEX_HOME": str(tmp_path / "codex-home"),
        "PYTHONUNBUFFERED": "1",
        "BROWSER": f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
    }
    with trio.fail_after(30):
        result = await trio.run_process(
            [sys.executable, "-m", "codexlogin", "login", "--issuer", dev_issuer.issuer_url, "--port", "0"],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    err = result.stderr.decode()
    assert result.returncode == 4, err
    assert (
        f"error: sign-in refused: the response names the issuer https://other-issuer.example, but this sign-in uses"
        f" {dev_issuer.issuer_url}"
    ) in err
    (sent,) = dev_issuer.authorize_requests()
    assert sent["nonce"] and sent["redirect_uri"].startswith("http://127.0.0.1:")
    assert dev_issuer.requests_to(WELL_KNOWN) and dev_issuer.token_requests("authorization_code") == []
    logged = log_messages(tmp_path / "codex-home" / "log" / "codex-login.log")
    (found,) = [m for m in logged if m.get("message_type") == "codex:discovery"]  # looked up before the URL, logged in the run
    assert found["source"] == "openid-configuration" and "userinfo_endpoint" in found["endpoints"]


# --- properties ----------------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_NAMES = st.sampled_from(
    [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "introspection_endpoint",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint",
    ]
)
_URLISH = st.sampled_from(
    [
        "https://login.example.com",
        "https://login.example.com/",
        "http://login.example.com/x",
        "https://a@b/x",
        "http://127.0.0.1:9/t",
        "javascript:alert(1)",
        "https://login.example.com/#f",
        "",
        "https://evil.example",
    ]
)


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
    issuer.faults.discovery_extra = {
        "device_authorization_endpoint": f"{url}/v2/device",
        "revocation_endpoint": f"{url}/v2/revoke",
    }
    run_settings = make_settings(tmp_path, url)
    with trio.fail_after(60), diagnostics.open_log(run_settings.resolved_log_dir):
        auth, _backend = await device_login(run_settings, SilentUI())
        assert len(issuer.token_requests(GRANT_DEVICE_CODE)) == 1
        result = await logout_flow(run_settings)
    assert result.revoked is True and not issuer.token_active(auth.tokens.refresh_token)
    assert [r.path for r in issuer.request_log].count("/oauth/device/code") == 1  # reached through /v2/device only


async def test_an_oversized_discovery_document_is_not_read(tmp_path, dev_issuer):
    from codexlogin.oauth.discovery import MAX_DOCUMENT_BYTES, fetch_discovery

    dev_issuer.faults.discovery_extra = {"padding": "a" * (MAX_DOCUMENT_BYTES + 10)}
    with trio.fail_after(10):
        run_settings = make_settings(tmp_path, dev_issuer.issuer_url)
        found = await fetch_discovery(run_settings, configured_issuer(run_settings))
    assert found.source == "none" and "larger than" in found.problem
    assert dev_issuer.requests_to(WELL_KNOWN) and dev_issuer.requests_to(RFC8414)


async def test_a_wrong_issuer_path_is_said_before_the_url_and_its_404_names_the_issuer_url(tmp_path, mock_clock, dev_issuer):
    """Issue 23: discovery that fails is said before the URL; a 404 on the sign-in URL is blamed on
    the issuer URL (not on the client's registration)."""
    from harness import Run

    from codexlogin.errors import TimedOut

    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url + "/wrong/path", timeout=40))
        failure = await run(_no_browser)
    shown = run.stderr.getvalue()
    assert "has no usable discovery document" in shown
    assert shown.index("has no usable discovery document") < shown.index("Starting local login server")
    assert "answers the sign-in URL with an error page (HTTP 404)" in shown and "check the issuer URL" in shown
    assert "does not know this redirect URI" not in shown
    assert isinstance(failure, TimedOut) and "check the issuer URL" in failure.summary
