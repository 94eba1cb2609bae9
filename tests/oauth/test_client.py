from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from codexlogin.config import load_settings
from codexlogin.oauth.client import authorize_url
from codexlogin.oauth.errors import IssuerRejected, parse_oauth_error
from codexlogin.oauth.issuer import configured_issuer
from codexlogin.oauth.pkce import generate_pkce


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error": "invalid_grant", "error_description": "expired"}', ("invalid_grant", "expired")),
        (b'{"error": {"code": "token_expired", "message": "log in again"}}', ("token_expired", "log in again")),
        (b'{"error": {"type": "server_error"}}', ("server_error", None)),
        (b'{"error": "x", "error_description": "top", "other": 1}', ("x", "top")),
        (b"<html>502 Bad Gateway</html>", (None, None)),
        (b"[1, 2]", (None, None)),
        (b"\xff\xfe", (None, None)),
        (b"", (None, None)),
    ],
)
def test_parse_oauth_error(body, expected):
    assert parse_oauth_error(body) == expected


def test_rejected_keeps_body_for_terminal_only():
    failure = IssuerRejected("token endpoint", 500, None, None, "<h1>oops SECRETBODY</h1>")
    assert "SECRETBODY" in failure.detail
    assert "SECRETBODY" not in str(failure)
    assert "SECRETBODY" not in repr(failure.log_fields())
    assert failure.log_fields()["status"] == 500


def authorize_params(issuer, *overrides):
    settings = load_settings({"issuer": issuer}, overrides, environ={"CODEX_HOME": "/nonexistent"})
    url = authorize_url(settings, configured_issuer(settings), "http://127.0.0.1:1455/auth/callback", generate_pkce(), "st")
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_authorize_url_matches_the_reference_cli():
    params = authorize_params("https://auth.openai.com")
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "openid profile email offline_access api.connectors.read api.connectors.invoke"
    assert params["originator"] == "codex_cli_rs"
    assert params["id_token_add_organizations"] == params["codex_cli_simplified_flow"] == "true"
    assert "prompt" not in params


def test_every_forced_workspace_is_sent_joined_with_commas():
    params = authorize_params("https://auth.openai.com", "forced_chatgpt_workspace_id=ws_a, ws_b")
    assert params["allowed_workspace_id"] == "ws_a,ws_b"


def test_a_standard_issuer_gets_only_standard_parameters():
    params = authorize_params("https://login.example.com")
    assert params["scope"] == "openid profile email offline_access"
    assert not {"originator", "id_token_add_organizations", "codex_cli_simplified_flow"} & params.keys()


def test_the_dialect_setting_overrides_the_choice_from_the_issuer():
    assert authorize_params("http://127.0.0.1:9", "dialect=openai")["originator"] == "codex_cli_rs"
    assert authorize_params("https://auth.openai.com", "dialect=standard")["prompt"] == "consent"


def test_third_party_issuer_is_asked_for_consent_so_offline_access_is_granted():
    assert authorize_params("https://login.example.com")["prompt"] == "consent"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectTimeout("t"), "timeout"),
        (httpx.ReadTimeout("t"), "timeout"),
        (httpx.ConnectError("c"), "connect"),
        (httpx.RemoteProtocolError("p"), "other"),
        (httpx.ConnectError("to https://u:pw@h/?code=abc"), "connect"),
    ],
)
def test_transport_errors_are_classified_and_scrubbed_for_the_log(exc, kind):
    from codexlogin.oauth.errors import IssuerUnreachable, classify_transport_error

    assert classify_transport_error(exc) == kind
    failure = IssuerUnreachable("token endpoint", classify_transport_error(exc), str(exc))
    assert failure.log_fields()["kind"] == kind
    assert "abc" not in str(failure) and "pw" not in str(failure)
