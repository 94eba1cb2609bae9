"""Planted secrets never reach codex-login.log, through a real login and the real file destination.

Hypothesis generates the secrets; each example runs a whole login against the dev issuer (served
inside the example, since every example is its own trio run) and then reads the file back.
"""

from __future__ import annotations

import json
import string

import httpx
import trio
from harness import Run, approve, callback_url, get, make_settings, query_of, read_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlogin.devissuer import DevIssuer, serve_dev_issuer
from codexlogin.errors import Denied, LoginFailure, NetworkError, TokenExchangeFailed

# "PLANTED…Q9" : the prefix and the tail make even the part after the prefix unlike anything the
# log says on its own (a bare "action_sta" would be found in "action_status").
secrets_ = st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=10, max_size=40).map(
    lambda s: "PLANTED" + s + "Q9"
)

SCENARIOS = (
    "auth_code",
    "state",
    "error_body_html",
    "error_body_json",
    "extra_query",
    "error_uri_userinfo",
    "headers",
    "error_description_url",
)


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
            run.pages.append(
                await client.get(
                    callback_url(
                        url,
                        error="access_denied",
                        state=state,
                        error_uri=f"https://user:{secret}@issuer.example/e?token={secret}",
                    )
                )
            )
        elif scenario == "headers":
            location = (await client.get(url)).headers["location"]
            headers = {"Cookie": f"session={secret}", "Authorization": f"Bearer {secret}"}
            run.pages.append(await client.get(location, headers=headers))
        elif scenario == "error_description_url":
            run.pages.append(
                await client.get(
                    callback_url(
                        url, error="access_denied", state=state, error_description=f"see https://x.example/?code={secret}"
                    )
                )
            )


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
    assert secret[len("PLANTED") :] not in log
    # The log is still useful: the tree and its outcome are there.
    assert '"codex:command"' in log and '"codex:listener"' in log

    if scenario in ("error_body_html", "error_body_json"):
        assert isinstance(result, NetworkError if scenario == "error_body_html" else TokenExchangeFailed)  # 500: exit 10
        assert secret in result.detail, "the terminal keeps the backend's body"
        assert secret in run.pages[0].text, "so does the browser page (escaped)"
    elif scenario == "auth_code":
        assert isinstance(result, TokenExchangeFailed) and result.error_code == "invalid_grant"
    elif scenario in ("error_uri_userinfo", "error_description_url"):
        assert isinstance(result, Denied)
    else:
        assert not isinstance(result, LoginFailure), result


ECHOED_FORMS: list[dict] = []


async def echoing_token_endpoint(scope, receive, send):
    """An issuer that echoes the code and verifier back in error_description, as some do."""
    from urllib.parse import parse_qsl

    from codexlogin._asgi import answer_lifespan

    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    body = await read_body(receive)
    form = dict(parse_qsl(body.decode()))
    ECHOED_FORMS.append(form)
    reply = json.dumps(
        {"error": "invalid_grant", "error_description": f"code {form.get('code')} rejected; verifier {form.get('code_verifier')}"}
    )
    await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": reply.encode()})


async def test_secrets_echoed_by_the_issuer_are_redacted_by_value(tmp_path, nursery):
    from functools import partial

    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.errorlog = config.accesslog = None
    binds = await nursery.start(partial(serve, echoing_token_endpoint, config, shutdown_trigger=trio.sleep_forever))
    opaque_code = "OPAQUECODE123xyz"

    async def send_code(run, url):
        run.pages.append(await get(callback_url(url, code=opaque_code, state=query_of(url)["state"])))

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, binds[0]))
        failure = await run(send_code)
    assert isinstance(failure, TokenExchangeFailed)
    verifier = ECHOED_FORMS[-1]["code_verifier"]
    assert ECHOED_FORMS[-1]["code"] == opaque_code and len(verifier) >= 43
    # The terminal keeps the issuer's words, with the run's own secrets masked as Codex CLI 0.171 does.
    assert failure.detail.endswith("invalid_grant: code [REDACTED] rejected; verifier [REDACTED]")
    assert opaque_code not in run.log and verifier not in run.log
    exchange_end = [m for m in run.log_messages() if m.get("action_type") == "codex:token_exchange"][-1]
    assert exchange_end["error_message"] == "code <redacted> rejected; verifier <redacted>"


async def reversing_token_endpoint(scope, receive, send):
    """An issuer that echoes the code as it is and the verifier reversed (issue 22, point 7)."""
    from urllib.parse import parse_qsl

    from codexlogin._asgi import answer_lifespan

    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    form = dict(parse_qsl((await read_body(receive)).decode()))
    ECHOED_FORMS.append(form)
    description = f"code {form.get('code')} rejected; verifier {form.get('code_verifier', '')[::-1]} reversed"
    reply = json.dumps({"error": "invalid_grant", "error_description": description})
    await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": reply.encode()})


async def test_a_reversed_echo_and_a_four_character_code_are_redacted(tmp_path, nursery):
    from functools import partial

    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.errorlog = config.accesslog = None
    binds = await nursery.start(partial(serve, reversing_token_endpoint, config, shutdown_trigger=trio.sleep_forever))
    short_code = "Q7zK"

    async def send_code(run, url):
        run.pages.append(await get(callback_url(url, code=short_code, state=query_of(url)["state"])))

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, binds[0]))
        failure = await run(send_code)
    assert isinstance(failure, TokenExchangeFailed)
    reversed_verifier = ECHOED_FORMS[-1]["code_verifier"][::-1]
    assert short_code not in run.log and reversed_verifier not in run.log
    exchange_end = [m for m in run.log_messages() if m.get("action_type") == "codex:token_exchange"][-1]
    assert exchange_end["error_message"] == "code <redacted> rejected; verifier <redacted> reversed"
