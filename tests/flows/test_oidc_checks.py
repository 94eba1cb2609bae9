"""Issue 22 #5, OIDC and RFC 9207 checks that were skipped: an id_token without the nonce this
sign-in sent (OIDC Core §3.1.3.7), a callback without `iss` from an issuer that promised it
(RFC 9207 §2.4), plain-http endpoints in an https issuer's discovery, and the mix-up error's
advice. A real listener and the dev issuer over real HTTP (and HTTPS) on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shlex
import ssl
import sys
from functools import partial

import pytest
import trio
from harness import Run, approving_browser, make_settings

from codexlogin.devissuer import DevIssuer, serve_dev_issuer
from codexlogin.errors import LoginFailure
from codexlogin.flows.discover import discover
from codexlogin.oauth.discovery import parse_document
from codexlogin.oauth.issuer import configured_issuer


async def test_an_id_token_without_the_nonce_this_sign_in_sent_is_refused_and_nothing_saved(tmp_path, dev_issuer):
    dev_issuer.faults.id_token_without_nonce = True
    with trio.fail_after(15):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run(approving_browser)
    assert isinstance(failure, LoginFailure) and failure.exit_code == 4 and failure.error_code == "nonce_missing", failure
    assert "carries no nonce" in failure.summary
    (sent,) = dev_issuer.authorize_requests()
    assert sent["nonce"]  # one was sent
    assert not run.settings.auth_file.exists()
    assert run.pages[0].status_code == 502


async def test_a_callback_without_iss_is_refused_when_discovery_promises_it(tmp_path, dev_issuer):
    dev_issuer.faults.discovery_extra = {"authorization_response_iss_parameter_supported": True}
    assert dev_issuer.faults.callback_iss is None  # ... but the redirect back carries none
    started = trio.current_time()
    with trio.fail_after(15):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, timeout=600))
        failure = await run(approving_browser)
    assert trio.current_time() - started < 14  # ended at once, not at the 600 s timeout
    assert isinstance(failure, LoginFailure) and failure.exit_code == 4 and failure.error_code == "issuer_missing", failure
    assert dev_issuer.issuer_url in failure.summary and "RFC 9207" in failure.summary
    assert run.pages[0].status_code == 400 and "issuer_missing" in run.pages[0].text
    assert dev_issuer.token_requests("authorization_code") == [] and not run.settings.auth_file.exists()


async def test_a_callback_with_the_promised_iss_still_signs_in(tmp_path, dev_issuer):
    dev_issuer.faults.callback_iss = "self"  # discovery then says authorization_response_iss_parameter_supported
    with trio.fail_after(15):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth


async def test_the_mix_up_error_names_both_issuers_and_points_to_doctor_not_to_the_claimed_one(tmp_path, dev_issuer):
    """In a mix-up the issuer the callback claims is the attacker's: never advise switching to it."""
    claimed = "https://attacker.example"
    dev_issuer.faults.callback_iss = claimed
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
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert claimed in line and dev_issuer.issuer_url in line and "codex login doctor" in line
    assert "--issuer" not in line and "right issuer" not in line


# --- an https issuer's discovery may not send the code or tokens over plain http ------------------


def test_http_endpoints_are_kept_only_for_a_loopback_http_issuer():
    document = {
        "issuer": "https://login.example.com",
        "authorization_endpoint": "http://127.0.0.1:9/authorize",
        "token_endpoint": "http://localhost:9/token",
        "revocation_endpoint": "https://login.example.com/revoke",
    }
    found = dict(parse_document(json.dumps(document).encode(), "https://login.example.com"))
    assert found == {"issuer": "https://login.example.com", "revocation_endpoint": "https://login.example.com/revoke"}
    loopback = {"issuer": "http://127.0.0.1:8080", "token_endpoint": "http://127.0.0.1:8080/t"}
    assert dict(parse_document(json.dumps(loopback).encode(), "http://127.0.0.1:8080")) == loopback


@pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")
async def test_an_https_issuers_discovery_cannot_point_the_code_at_a_loopback_http_port(tmp_path, pki, nursery, dev_issuer):
    """Any local user can bind a loopback port: an https issuer's code, verifier and tokens must not
    be sent there in plain http (the dev issuer on plain http stands for that port)."""
    https_issuer = DevIssuer()
    await nursery.start(partial(serve_dev_issuer, https_issuer, certfile=str(pki["server"])))
    plain = dev_issuer.issuer_url
    https_issuer.faults.discovery_extra = {
        "token_endpoint": f"{plain}/oauth/token",
        "revocation_endpoint": f"{plain}/oauth/revoke",
        "authorization_endpoint": f"{plain}/oauth/authorize",
    }
    settings = make_settings(tmp_path, https_issuer.issuer_url)
    verify = ssl.create_default_context(cafile=str(pki["ca"]))
    with trio.fail_after(15):
        issuer = await discover(settings, configured_issuer(settings), verify=verify)
    assert issuer.looked_up and issuer.identifier.startswith("https://127.0.0.1:")
    for endpoint in (issuer.token_endpoint, issuer.revoke_endpoint, issuer.authorize_endpoint):
        assert endpoint.startswith(https_issuer.issuer_url + "/"), endpoint
