"""The development issuer, served for real by hypercorn on 127.0.0.1:0 and spoken to with httpx."""

from __future__ import annotations

import base64
import io
import json
from contextlib import asynccontextmanager
from functools import partial
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import trio
import trio.testing

from codexlogin.devissuer import (
    AUTH_CLAIMS,
    GRANT_DEVICE_CODE,
    GRANT_TOKEN_EXCHANGE,
    ID_TOKEN_TYPE,
    DevIssuer,
    browse,
    is_loopback_redirect,
    serve_dev_issuer,
)
from codexlogin.oauth.pkce import generate_pkce

CLIENT = "app_test"
REDIRECT = "http://localhost:1455/auth/callback"


@asynccontextmanager
async def served(issuer: DevIssuer, **client_kwargs):
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_dev_issuer, issuer)
        async with httpx.AsyncClient(base_url=url, trust_env=False, **client_kwargs) as client:
            yield client
        nursery.cancel_scope.cancel()


def authorize_params(pkce, *, state="st-123", **extra) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email offline_access",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    params.update(extra)
    return params


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def get_code(client, pkce, **extra) -> str:
    query = query_of(await client.get("/oauth/authorize", params=authorize_params(pkce, **extra)))
    assert query["state"] == extra.get("state", "st-123")
    return query["code"]


async def exchange(client, code, pkce, **overrides) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT,
        "code_verifier": pkce.verifier,
        **overrides,
    }
    return await client.post("/oauth/token", data=form)


async def login(client) -> dict:
    pkce = generate_pkce()
    response = await exchange(client, await get_code(client, pkce), pkce)
    assert response.status_code == 200, response.text
    return response.json()


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def realtime_mock_clock():
    """Time runs as usual (so fail_after still bounds the test) and tests can jump it forward."""
    return trio.testing.MockClock(rate=1.0)


def jump(clock: trio.testing.MockClock, guard: trio.CancelScope, seconds: float) -> None:
    """Move virtual time forward without eating into the test's fail_after budget."""
    guard.deadline += seconds
    clock.jump(seconds)


def assert_oauth_error(response: httpx.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_discovery():
    with trio.fail_after(10):
        issuer = DevIssuer()
        async with served(issuer) as client:
            assert issuer.issuer_url.startswith("http://127.0.0.1:")
            doc = (await client.get("/.well-known/openid-configuration")).json()
    base = issuer.issuer_url
    assert doc["issuer"] == base
    assert doc["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert doc["token_endpoint"] == f"{base}/oauth/token"
    assert doc["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert doc["device_authorization_endpoint"] == f"{base}/oauth/device/code"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert GRANT_DEVICE_CODE in doc["grant_types_supported"]


async def test_auth_code_pkce_flow_with_auto_approve():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True, client_ids={CLIENT}, email="a@b.test", plan="team", account_id="acct_9")
        async with served(issuer) as client:
            pkce = generate_pkce()
            response = await client.get("/oauth/authorize", params=authorize_params(pkce))
            location = response.headers["location"]
            assert location.startswith(REDIRECT + "?")
            code = query_of(response)["code"]
            response = await exchange(client, code, pkce)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["refresh_token"] and "." not in tokens["refresh_token"]
    for jwt in (tokens["id_token"], tokens["access_token"]):
        claims = issuer.verify_jwt(jwt)
        assert claims == claims_of(jwt)
        assert claims["iss"] == issuer.issuer_url and claims["aud"] == CLIENT
        assert claims["email"] == "a@b.test" and claims["exp"] - claims["iat"] == 3600
        assert claims[AUTH_CLAIMS] == {"chatgpt_account_id": "acct_9", "chatgpt_plan_type": "team", "chatgpt_user_id": "user_dev"}
    assert issuer.verify_jwt(tokens["id_token"][:-2] + "AA") is None
    [form] = issuer.token_requests("authorization_code")
    assert form["code_verifier"] == pkce.verifier and issuer.token_requests("refresh_token") == []


async def test_wrong_verifier_redirect_mismatch_and_code_reuse_are_invalid_grant():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            pkce = generate_pkce()
            code = await get_code(client, pkce)
            assert_oauth_error(await exchange(client, code, pkce, code_verifier=generate_pkce().verifier), "invalid_grant")
            assert_oauth_error(await exchange(client, code, pkce, redirect_uri="http://localhost:1/x"), "invalid_grant")
            assert_oauth_error(await exchange(client, code, pkce, code_verifier=""), "invalid_request")
            first = await exchange(client, code, pkce)
            assert first.status_code == 200
            assert issuer.token_active(first.json()["refresh_token"])
            assert_oauth_error(await exchange(client, code, pkce), "invalid_grant")
            # the replay revokes everything the code bought
            assert not issuer.token_active(first.json()["refresh_token"])
            assert not issuer.token_active(first.json()["access_token"])
            assert_oauth_error(await exchange(client, "nope", pkce), "invalid_grant")


async def test_code_expires_after_60_seconds(realtime_mock_clock):
    with trio.fail_after(10) as guard:
        async with served(DevIssuer(auto_approve=True), limits=httpx.Limits(max_keepalive_connections=0)) as client:
            pkce = generate_pkce()
            code = await get_code(client, pkce)
            jump(realtime_mock_clock, guard, 61)
            assert_oauth_error(await exchange(client, code, pkce), "invalid_grant")


async def test_authorize_rejects_bad_client_and_redirect_with_a_page():
    with trio.fail_after(10):
        async with served(DevIssuer(client_ids={CLIENT})) as client:
            pkce = generate_pkce()
            for extra in (
                {"client_id": "someone-else"},
                {"redirect_uri": "http://evil.example:1455/auth/callback"},
                {"redirect_uri": "https://localhost:1455/auth/callback"},
                {"redirect_uri": "http://localhost/auth/callback"},
                {"redirect_uri": "http://localhost:1455@evil.example/cb"},
            ):
                response = await client.get("/oauth/authorize", params=authorize_params(pkce, **extra))
                assert response.status_code == 400
                assert "location" not in response.headers
                assert response.headers["content-type"].startswith("text/html")
    assert is_loopback_redirect("http://127.0.0.1:8080/cb?x=1")
    assert not is_loopback_redirect("http://localhost:99999/cb")


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_authorize_errors_redirect_with_state(extra, error):
    with trio.fail_after(10):
        async with served(DevIssuer(auto_approve=True)) as client:
            params = authorize_params(generate_pkce(), state="s&t=1", **extra)
            query = query_of(await client.get("/oauth/authorize", params=params))
    assert query["error"] == error and query["error_description"] and query["state"] == "s&t=1"
    assert "code" not in query


async def test_approval_page_approve_deny_and_escaping():
    hostile = '"><script>alert(1)</script>'
    with trio.fail_after(10):
        issuer = DevIssuer()
        async with served(issuer) as client:
            pkce = generate_pkce()
            page = await client.get("/oauth/authorize", params=authorize_params(pkce, state=hostile))
            assert page.status_code == 200
            assert "<script>" not in page.text and "&lt;script&gt;" in page.text
            assert 'action="/oauth/authorize/decision"' in page.text
            pending = page.text.split('name="pending_id" value="')[1].split('"')[0]
            response = await client.post("/oauth/authorize/decision", data={"pending_id": pending, "decision": "approve"})
            query = query_of(response)
            assert query["state"] == hostile
            assert (await exchange(client, query["code"], pkce)).status_code == 200
            # the pending request is single-use
            again = await client.post("/oauth/authorize/decision", data={"pending_id": pending, "decision": "approve"})
            assert again.status_code == 400

            page = await client.get("/oauth/authorize", params=authorize_params(pkce))
            pending = page.text.split('name="pending_id" value="')[1].split('"')[0]
            query = query_of(await client.post("/oauth/authorize/decision", data={"pending_id": pending, "decision": "deny"}))
    assert query["error"] == "access_denied" and query["error_description"] and query["state"] == "st-123"


async def test_refresh_rotation_and_replay_revokes_the_grant():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            first = await login(client)

            async def refresh(token):
                return await client.post(
                    "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token, "client_id": CLIENT}
                )

            second = await refresh(first["refresh_token"])
            assert second.status_code == 200
            second = second.json()
            assert second["refresh_token"] != first["refresh_token"]
            assert second["access_token"] != first["access_token"] and second["id_token"]
            assert issuer.token_active(second["refresh_token"])
            assert not issuer.token_active(first["refresh_token"])
            third = (await refresh(second["refresh_token"])).json()

            assert_oauth_error(await refresh(first["refresh_token"]), "invalid_grant")  # replay
            assert not issuer.token_active(third["refresh_token"])
            assert not issuer.token_active(third["access_token"])
            assert_oauth_error(await refresh(third["refresh_token"]), "invalid_grant")
            assert_oauth_error(await refresh("unknown"), "invalid_grant")
            assert len(issuer.token_requests("refresh_token")) == 5


async def test_token_exchange_for_an_api_key():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            tokens = await login(client)

            async def exchange_key(subject, **extra):
                return await client.post(
                    "/oauth/token",
                    data={
                        "grant_type": GRANT_TOKEN_EXCHANGE,
                        "client_id": CLIENT,
                        "requested_token": "openai-api-key",
                        "subject_token": subject,
                        "subject_token_type": ID_TOKEN_TYPE,
                        **extra,
                    },
                )

            response = await exchange_key(tokens["id_token"])
            assert response.status_code == 200
            assert response.json()["access_token"].startswith("sk-dev-")
            assert_oauth_error(await exchange_key("not-a-jwt"), "invalid_grant")
            assert_oauth_error(await exchange_key(tokens["access_token"]), "invalid_grant")
            assert_oauth_error(await exchange_key(tokens["id_token"], client_id="other"), "invalid_grant")
            assert_oauth_error(await exchange_key(tokens["id_token"], subject_token_type="x"), "invalid_request")
            [first, *_] = issuer.token_requests(GRANT_TOKEN_EXCHANGE)
            assert first["subject_token"] == tokens["id_token"]


async def start_device(client) -> dict:
    response = await client.post("/oauth/device/code", data={"client_id": CLIENT, "scope": "openid"})
    assert response.status_code == 200
    return response.json()


async def poll(client, device_code):
    return await client.post(
        "/oauth/token", data={"grant_type": GRANT_DEVICE_CODE, "device_code": device_code, "client_id": CLIENT}
    )


async def test_device_flow_pending_slow_down_approve(realtime_mock_clock):
    clock = realtime_mock_clock
    with trio.fail_after(10) as guard:
        issuer = DevIssuer()
        async with served(issuer, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            device = await start_device(client)
            assert len(device["user_code"]) == 9 and device["user_code"][4] == "-"
            assert device["verification_uri"] == f"{issuer.issuer_url}/device"
            assert device["verification_uri_complete"] == f"{device['verification_uri']}?user_code={device['user_code']}"
            assert device["expires_in"] == 900 and device["interval"] == 5

            assert_oauth_error(await poll(client, device["device_code"]), "authorization_pending")
            assert_oauth_error(await poll(client, device["device_code"]), "slow_down")  # at once: too fast
            jump(clock, guard, 6)
            assert_oauth_error(await poll(client, device["device_code"]), "slow_down")  # interval is now 10
            jump(clock, guard, 16)  # ...and now 15
            assert_oauth_error(await poll(client, device["device_code"]), "authorization_pending")

            issuer.approve_device(device["user_code"].lower().replace("-", ""))
            jump(clock, guard, 16)
            tokens = (await poll(client, device["device_code"])).json()
            assert issuer.verify_jwt(tokens["id_token"])["aud"] == CLIENT and tokens["refresh_token"]
            jump(clock, guard, 16)
            assert_oauth_error(await poll(client, device["device_code"]), "invalid_grant")  # single use


async def test_device_flow_deny_expiry_page_and_auto_approve(realtime_mock_clock):
    clock = realtime_mock_clock
    with trio.fail_after(10) as guard:
        issuer = DevIssuer(device_auto_approve_after=2)
        async with served(issuer, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            denied = await start_device(client)
            issuer.deny_device(denied["user_code"])
            assert_oauth_error(await poll(client, denied["device_code"]), "access_denied")

            auto = await start_device(client)
            assert_oauth_error(await poll(client, auto["device_code"]), "authorization_pending")
            jump(clock, guard, 5)
            assert (await poll(client, auto["device_code"])).status_code == 200

            via_page = await start_device(client)
            page = await client.get("/device", params={"user_code": '"><b>'})
            assert page.status_code == 200 and "<b>" not in page.text
            done = await client.post("/device", data={"user_code": via_page["user_code"], "decision": "approve"})
            assert done.status_code == 200
            again = await client.post("/device", data={"user_code": via_page["user_code"], "decision": "approve"})
            assert again.status_code == 400
            assert (await poll(client, via_page["device_code"])).status_code == 200

            expiring = await start_device(client)
            jump(clock, guard, 901)
            assert_oauth_error(await poll(client, expiring["device_code"]), "expired_token")
            assert_oauth_error(await poll(client, "unknown"), "invalid_grant")
    with pytest.raises(KeyError):
        issuer.approve_device("ZZZZ-ZZZZ")


async def test_revoke():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            first, second = await login(client), await login(client)
            response = await client.post(
                "/oauth/revoke", data={"token": first["refresh_token"], "token_type_hint": "refresh_token"}
            )
            assert response.status_code == 200 and response.content == b""
            assert not issuer.token_active(first["refresh_token"]) and not issuer.token_active(first["access_token"])
            assert issuer.token_active(second["refresh_token"])
            refreshed = await client.post(
                "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
            )
            assert_oauth_error(refreshed, "invalid_grant")

            assert (await client.post("/oauth/revoke", data={"token": second["access_token"]})).status_code == 200
            assert not issuer.token_active(second["access_token"]) and issuer.token_active(second["refresh_token"])
            assert (await client.post("/oauth/revoke", data={"token": "never-issued"})).status_code == 200
            assert_oauth_error(await client.post("/oauth/revoke", data={}), "invalid_request")


async def test_faults():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            tokens = await login(client)
            pkce = generate_pkce()
            code = await get_code(client, pkce)

            issuer.faults.token_status, issuer.faults.token_body = 502, b"<html>bad gateway</html>"
            issuer.faults.token_content_type = "text/html"
            response = await exchange(client, code, pkce)
            assert response.status_code == 502 and response.content == b"<html>bad gateway</html>"
            assert response.headers["content-type"] == "text/html"
            issuer.faults.token_status = None
            assert (await exchange(client, code, pkce)).status_code == 200  # the fault did not burn the code

            issuer.faults.refresh_error = "invalid_grant_custom"
            response = await client.post(
                "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            )
            assert response.status_code == 400 and response.json() == {"error": "invalid_grant_custom"}

            issuer.faults.api_key_exchange_error = "unauthorized_client"
            response = await client.post(
                "/oauth/token",
                data={
                    "grant_type": GRANT_TOKEN_EXCHANGE,
                    "requested_token": "openai-api-key",
                    "subject_token": tokens["id_token"],
                    "subject_token_type": ID_TOKEN_TYPE,
                },
            )
            assert response.status_code == 400 and response.json() == {"error": "unauthorized_client"}

            issuer.faults.device_code_enabled = False
            assert (await client.post("/oauth/device/code", data={"client_id": CLIENT})).status_code == 404

            issuer.faults.revoke_status = 503
            assert (await client.post("/oauth/revoke", data={"token": tokens["access_token"]})).status_code == 503
            assert issuer.token_active(tokens["access_token"])


async def test_token_delay_simulates_a_hang(autojump_clock):
    with trio.fail_after(10_000):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            issuer.faults.token_delay = 3.0
            start = trio.current_time()
            await login(client)
            assert trio.current_time() - start >= 3.0
            issuer.faults.token_delay = 1e6
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/oauth/token", data={"grant_type": "refresh_token"}, timeout=30)


async def test_routing_and_client_errors():
    with trio.fail_after(10):
        issuer = DevIssuer(client_ids={CLIENT})
        async with served(issuer) as client:
            assert (await client.get("/nope")).status_code == 404
            response = await client.get("/oauth/token")
            assert response.status_code == 405 and response.headers["allow"] == "POST"
            assert (await client.post("/.well-known/openid-configuration")).status_code == 405
            assert_oauth_error(await client.post("/oauth/token", data={"grant_type": "password"}), "unsupported_grant_type")
            assert_oauth_error(await client.post("/oauth/token", data={}), "invalid_request")
            pkce = generate_pkce()
            response = await exchange(client, "c", pkce, client_id="intruder")
            assert_oauth_error(response, "invalid_client", status=401)
            response = await client.post("/oauth/device/code", data={"client_id": "intruder"})
            assert_oauth_error(response, "invalid_client", status=401)
            # JSON bodies are accepted as well as forms
            response = await client.post("/oauth/token", json={"grant_type": "refresh_token", "refresh_token": "x"})
            assert_oauth_error(response, "invalid_grant")
    assert [path for _, path, _ in issuer.requests][:2] == ["/nope", "/oauth/token"]


class CallbackRecorder:
    """A stand-in for the CLI's loopback listener: records /auth/callback and answers 200."""

    def __init__(self):
        self.calls: list[tuple[str, dict[str, str], str]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                reply = {"lifespan.startup": "lifespan.startup.complete", "lifespan.shutdown": "lifespan.shutdown.complete"}
                await send({"type": reply[message["type"]]})
                if message["type"] == "lifespan.shutdown":
                    return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        host = dict(scope["headers"]).get(b"host", b"").decode()
        self.calls.append((scope["path"], query, host))
        status = 200 if scope["path"] == "/auth/callback" and "code" in query else 400
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"signed in" if status == 200 else b"no"})


async def serve_callback(app, *, task_status=trio.TASK_STATUS_IGNORED):
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind, config.errorlog, config.accesslog = ["127.0.0.1:0"], None, None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, app, config, shutdown_trigger=trio.sleep_forever))
        task_status.started(int(binds[0].rsplit(":", 1)[1]))


@pytest.mark.parametrize("auto_approve, deny, expected_rc", [(True, False, 0), (False, False, 0), (False, True, 1)])
async def test_browse_helper_reaches_the_loopback_callback(auto_approve, deny, expected_rc):
    with trio.fail_after(10):
        issuer, recorder = DevIssuer(auto_approve=auto_approve), CallbackRecorder()
        async with trio.open_nursery() as nursery:
            port = await nursery.start(serve_callback, recorder)
            await nursery.start(serve_dev_issuer, issuer)
            pkce = generate_pkce()
            redirect = f"http://localhost:{port}/auth/callback"
            url = httpx.URL(f"{issuer.issuer_url}/oauth/authorize", params=authorize_params(pkce, redirect_uri=redirect))
            out = io.StringIO()
            rc = await trio.to_thread.run_sync(partial(browse, str(url), deny=deny, out=out))
            nursery.cancel_scope.cancel()
    assert rc == expected_rc, out.getvalue()
    assert out.getvalue().startswith("HTTP/1.1 200 OK" if expected_rc == 0 else "HTTP/1.1 400"), out.getvalue()
    [(path, query, host)] = recorder.calls
    assert path == "/auth/callback" and query["state"] == "st-123" and host == f"localhost:{port}"
    assert ("code" in query) == (not deny) and (query.get("error") == "access_denied") == deny
