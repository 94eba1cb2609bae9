"""Planted secrets never reach codex-login.log, through a real login and the real file destination.

Hypothesis generates the secrets; each example runs a whole login against the dev issuer (served
inside the example, since every example is its own trio run) and then reads the file back.
"""

from __future__ import annotations

import string

import httpx
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlogin.dev_issuer import DevIssuer, serve_dev_issuer
from codexlogin.outcomes import Denied, LoginFailure, TokenExchangeFailed
from harness import Run, approve, callback_url, make_settings, query_of

secrets_ = st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=10, max_size=40).map(lambda s: "PLANTED" + s)

SCENARIOS = ("auth_code", "state", "error_body_html", "error_body_json", "extra_query", "error_uri_userinfo", "headers", "error_description_url")


async def plant(scenario: str, secret: str, issuer: DevIssuer, run: Run, url: str) -> None:
    state = query_of(url)["state"]
    async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
        if scenario == "auth_code":
            run.pages.append(await client.get(callback_url(url, code=secret, state=state)))
        elif scenario == "state":
            run.pages.append(await client.get(callback_url(url, code="c", state=secret)))
            run.pages.append(await approve(url))
        elif scenario in ("error_body_html", "error_body_json"):
            issuer.faults.token_status = 500 if scenario == "error_body_html" else 400
            issuer.faults.token_body = (
                f"<html><body>stack trace {secret}</body></html>".encode()
                if scenario == "error_body_html"
                else f'{{"detail": "{secret}", "token": "{secret}"}}'.encode()
            )
            run.pages.append(await approve(url))
        elif scenario == "extra_query":
            location = (await client.get(url)).headers["location"]
            run.pages.append(await client.get(f"{location}&access_token={secret}&api_key={secret}&password={secret}"))
        elif scenario == "error_uri_userinfo":
            run.pages.append(await client.get(callback_url(
                url, error="access_denied", state=state, error_uri=f"https://user:{secret}@issuer.example/e?token={secret}")))
        elif scenario == "headers":
            location = (await client.get(url)).headers["location"]
            headers = {"Cookie": f"session={secret}", "Authorization": f"Bearer {secret}"}
            run.pages.append(await client.get(location, headers=headers))
        elif scenario == "error_description_url":
            run.pages.append(await client.get(callback_url(
                url, error="access_denied", state=state, error_description=f"see https://x.example/?code={secret}")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(secret=secrets_, scenario=st.sampled_from(SCENARIOS))
async def test_planted_secrets_never_reach_the_log(tmp_path_factory, secret, scenario):
    issuer = DevIssuer(auto_approve=True)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_dev_issuer, issuer)
            run = Run(make_settings(tmp_path_factory.mktemp("redact"), issuer.issuer_url))
            result = await run(lambda run, url: plant(scenario, secret, issuer, run, url))
            nursery.cancel_scope.cancel()

    log = run.log
    assert log, "the run was logged"
    assert secret not in log
    assert secret[len("PLANTED"):] not in log
    # The log is still useful: the tree and its outcome are there.
    assert '"codex:command"' in log and '"codex:listener"' in log

    if scenario in ("error_body_html", "error_body_json"):
        assert isinstance(result, TokenExchangeFailed)
        assert secret in result.detail, "the terminal keeps the backend's body"
        assert secret in run.pages[0].text, "so does the browser page (escaped)"
    elif scenario == "auth_code":
        assert isinstance(result, TokenExchangeFailed) and result.error_code == "invalid_grant"
    elif scenario in ("error_uri_userinfo", "error_description_url"):
        assert isinstance(result, Denied)
    else:
        assert not isinstance(result, LoginFailure), result
