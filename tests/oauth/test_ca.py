"""Custom CA bundles: CODEX_CA_CERTIFICATE, then SSL_CERT_FILE, against an HTTPS dev issuer.

A trustme CA signs a certificate for 127.0.0.1; hypercorn serves the dev issuer with it on
127.0.0.1:0 (the `pki` and `https_issuer` fixtures, tests/conftest.py). Good CA → the device login
completes; another CA → a TLS error; a malformed PEM → a usage error naming both variables. Device polling runs on the autojump MockClock.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
import trio

from codexlogin.cli.console import ConsoleUI
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.errors import ExitCode, NetworkError, UsageError
from codexlogin.flows.device import device_login
from codexlogin.flows.refresh import RefreshUnreachable, refresh_credentials

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


def make_settings(tmp_path, url):
    return replace(load_settings({"issuer": url}), log_dir=tmp_path / "log", exchange_timeout=10)


async def test_good_ca_from_codex_ca_certificate(tmp_path, mock_clock, monkeypatch, pki, https_issuer):
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(pki["ca"]))
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["other_ca"]))  # CODEX_CA_CERTIFICATE wins
    settings = make_settings(tmp_path, https_issuer.issuer_url)
    with trio.fail_after(30):
        auth, _backend = await device_login(settings, ConsoleUI(stderr=io.StringIO()))
    assert auth.auth_mode == "chatgpt" and settings.auth_file.exists()


async def test_good_ca_from_ssl_cert_file(tmp_path, mock_clock, monkeypatch, pki, https_issuer):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["ca"]))
    settings = make_settings(tmp_path, https_issuer.issuer_url)
    with trio.fail_after(30):
        auth, _backend = await device_login(settings, ConsoleUI(stderr=io.StringIO()))
    assert auth.tokens.account_id == "acct_dev"


async def test_wrong_ca_is_a_tls_error(tmp_path, monkeypatch, pki, https_issuer):
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(pki["other_ca"]))
    settings = make_settings(tmp_path, https_issuer.issuer_url)
    with trio.fail_after(30), pytest.raises(NetworkError) as info:  # the issuer unreachable: exit 10, as in status
        await device_login(settings, ConsoleUI(stderr=io.StringIO()))
    assert info.value.fields["kind"] == "tls" and "(tls)" in info.value.detail
    assert info.value.exit_code == ExitCode.NETWORK_ERROR
    assert not settings.auth_file.exists() and https_issuer.requests == []

    tokens = TokenData(
        "id", "opaque", "rt", oauth_provenance={"issuer": https_issuer.issuer_url.rstrip("/"), "client_id": settings.client_id}
    )
    save_auth(settings.auth_file, AuthDotJson("chatgpt", tokens=tokens, last_refresh="2020-01-01T00:00:00Z"))
    with trio.fail_after(30), pytest.raises(RefreshUnreachable) as refresh_info:
        await refresh_credentials(settings)
    assert refresh_info.value.kind == "network" and "tls" in refresh_info.value.detail
    assert refresh_info.value.exit_code == ExitCode.NETWORK_ERROR


@pytest.mark.parametrize("variable", ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"])
@pytest.mark.parametrize("which", ["malformed", "missing"])
async def test_malformed_or_missing_pem_names_both_variables(tmp_path, monkeypatch, pki, variable, which):
    path = pki["malformed"] if which == "malformed" else tmp_path / "nope.pem"
    monkeypatch.setenv(variable, str(path))
    settings = make_settings(tmp_path, "https://127.0.0.1:9")
    with trio.fail_after(10), pytest.raises(UsageError) as info:
        await device_login(settings, ConsoleUI(stderr=io.StringIO()))
    detail = info.value.detail
    assert str(path) in detail and "CODEX_CA_CERTIFICATE" in detail and "SSL_CERT_FILE" in detail
    assert f"from {variable}" in detail and info.value.exit_code == ExitCode.USAGE
