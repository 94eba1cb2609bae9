"""The development issuer's openai dialect (the Codex CLI's protocol with auth.openai.com), served for
real by hypercorn on 127.0.0.1:0 and spoken to with httpx. The standard dialect is tested in
test_dev_issuer.py, whose helpers these tests share."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import trio
from test_dev_issuer import (  # noqa: F401  (realtime_mock_clock is a fixture)
    CLIENT,
    REDIRECT,
    assert_oauth_error,
    authorize_params,
    claims_of,
    exchange,
    jump,
    login,
    realtime_mock_clock,
    served,
)

from codexlogin.devissuer import (
    AUTH_CLAIMS,
    GRANT_DEVICE_CODE,
    MISSING_ENTITLEMENT_DESCRIPTION,
    ONBOARDING_STATE_SUFFIX,
    ORG_OWNER_NEEDS_SETUP,
    DevIssuer,
)
from codexlogin.oauth.pkce import generate_pkce

NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)  # every request on a fresh connection (MockClock jumps)


async def usercode(client, client_id=CLIENT) -> dict:
    response = await client.post("/api/accounts/deviceauth/usercode", json={"client_id": client_id})
    assert response.status_code == 200, response.text
    return response.json()


async def deviceauth_poll(client, device) -> httpx.Response:
    return await client.post(
        "/api/accounts/deviceauth/token", json={"device_auth_id": device["device_auth_id"], "user_code": device["user_code"]}
    )


def assert_api_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


async def device_exchange(client, issuer, granted, **overrides) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": granted["authorization_code"],
        "redirect_uri": f"{issuer.issuer_url}/deviceauth/callback",
        "client_id": CLIENT,
        "code_verifier": granted["code_verifier"],
        **overrides,
    }
    return await client.post("/oauth/token", data=form)


async def json_refresh(client, token, reason="expired", **overrides) -> httpx.Response:
    body = {"client_id": CLIENT, "grant_type": "refresh_token", "refresh_reason": reason, "refresh_token": token, **overrides}
    return await client.post("/oauth/token", json=body)


async def test_device_flow_usercode_pending_approve_exchange():
    with trio.fail_after(10):
        issuer = DevIssuer(client_ids={CLIENT}, email="a@b.test", account_id="acct_9")
        async with served(issuer) as client:
            device = await usercode(client)
            # never both user_code and usercode: the real CLI refuses that as a duplicate field
            assert set(device) == {"device_auth_id", "user_code", "interval"} and device["interval"] == "5"
            assert len(device["user_code"]) == 9 and device["user_code"][4] == "-"
            issuer.faults.usercode_field = "usercode"
            aliased = await usercode(client)
            assert set(aliased) == {"device_auth_id", "usercode", "interval"}

            assert_api_error(await deviceauth_poll(client, device), 403, "deviceauth_authorization_pending")
            issuer.faults.deviceauth_pending_status = 404
            assert_api_error(await deviceauth_poll(client, device), 404, "deviceauth_authorization_pending")
            assert_api_error(await deviceauth_poll(client, {**device, "user_code": "BBBB-BBBB"}), 404, "deviceauth_not_found")
            # the RFC poll does not know openai devices
            rfc = await client.post(
                "/oauth/token",
                data={"grant_type": GRANT_DEVICE_CODE, "device_code": device["device_auth_id"], "client_id": CLIENT},
            )
            assert_oauth_error(rfc, "invalid_grant")

            issuer.approve_device(device["user_code"])
            granted = await deviceauth_poll(client, device)
            assert granted.status_code == 200, granted.text
            granted = granted.json()
            assert set(granted) == {"authorization_code", "code_challenge", "code_verifier"}
            digest = hashlib.sha256(granted["code_verifier"].encode("ascii")).digest()
            assert granted["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            assert_api_error(await deviceauth_poll(client, device), 400, "deviceauth_already_used")

            # refused without burning the code: another verifier, the browser flow's redirect, another client
            assert_oauth_error(
                await device_exchange(client, issuer, granted, code_verifier=generate_pkce().verifier), "invalid_grant"
            )
            assert_oauth_error(await device_exchange(client, issuer, granted, redirect_uri=REDIRECT), "invalid_grant")
            assert_oauth_error(await device_exchange(client, issuer, granted, client_id="intruder"), "invalid_client", status=401)
            response = await device_exchange(client, issuer, granted)
            assert response.status_code == 200, response.text
            tokens = response.json()
            assert_oauth_error(await device_exchange(client, issuer, granted), "invalid_grant")  # single use

            unknown = await client.post("/api/accounts/deviceauth/usercode", json={"client_id": "intruder"})
            assert_api_error(unknown, 401, "invalid_client")
    claims = issuer.verify_jwt(tokens["id_token"])
    assert claims["aud"] == CLIENT and claims["email"] == "a@b.test"
    assert claims[AUTH_CLAIMS]["chatgpt_account_id"] == "acct_9"
    assert tokens["refresh_token"] and not issuer.token_active(tokens["refresh_token"])  # the replay revoked it
    [usercode_request, *_] = [r for r in issuer.request_log if r.path == "/api/accounts/deviceauth/usercode"]
    assert usercode_request.is_json and usercode_request.params == {"client_id": CLIENT}


async def test_device_page_approves_and_denies_and_localhost_callback():
    with trio.fail_after(10):
        issuer = DevIssuer()
        async with served(issuer) as client:
            page = await client.get("/codex/device", params={"user_code": '"><b>'})
            assert page.status_code == 200 and "<b>" not in page.text
            assert 'action="/codex/device"' in page.text and 'name="user_code"' in page.text

            device = await usercode(client)
            done = await client.post("/codex/device", data={"user_code": device["user_code"].lower()})
            assert done.status_code == 200
            again = await client.post("/codex/device", data={"user_code": device["user_code"]})
            assert again.status_code == 400
            granted = (await deviceauth_poll(client, device)).json()
            port = urlsplit(issuer.issuer_url).port
            localhost = f"http://localhost:{port}/deviceauth/callback"
            assert (await device_exchange(client, issuer, granted, redirect_uri=localhost)).status_code == 200

            denied = await usercode(client)
            done = await client.post("/codex/device", data={"user_code": denied["user_code"], "decision": "deny"})
            assert done.status_code == 200
            error = assert_api_error(await deviceauth_poll(client, denied), 400, "access_denied")
            assert "missing_codex_entitlement" not in error["message"]


async def test_device_denial_entitlement_expiry_and_auto_approve(realtime_mock_clock):
    with trio.fail_after(10) as guard:
        issuer = DevIssuer(device_auto_approve_after=2)
        async with served(issuer, limits=NO_KEEPALIVE) as client:
            denied = await usercode(client)
            issuer.deny_device(denied["user_code"])
            assert_api_error(await deviceauth_poll(client, denied), 400, "access_denied")

            auto = await usercode(client)
            assert_api_error(await deviceauth_poll(client, auto), 403, "deviceauth_authorization_pending")
            assert (await deviceauth_poll(client, auto)).status_code == 200

            issuer.faults.missing_codex_entitlement = True
            unentitled = await usercode(client)
            issuer.approve_device(unentitled["user_code"])
            error = assert_api_error(await deviceauth_poll(client, unentitled), 400, "access_denied")
            assert "missing_codex_entitlement" in error["message"]
            issuer.faults.missing_codex_entitlement = False

            expiring = await usercode(client)
            jump(realtime_mock_clock, guard, 899)
            assert_api_error(await deviceauth_poll(client, expiring), 403, "deviceauth_authorization_pending")
            jump(realtime_mock_clock, guard, 2)
            assert_api_error(await deviceauth_poll(client, expiring), 410, "expired")
            with pytest.raises(KeyError):
                issuer.approve_device("ZZZZ-ZZZZ")

            issuer.faults.device_code_enabled = False
            response = await client.post("/api/accounts/deviceauth/usercode", json={"client_id": CLIENT})
            assert_api_error(response, 404, "not_found")

        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            granted = await deviceauth_poll(client, await usercode(client))
            assert granted.status_code == 200
            assert (await device_exchange(client, issuer, granted.json())).status_code == 200


async def test_json_refresh_rotation_reuse_and_reason():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            first = await login(client)
            response = await json_refresh(client, first["refresh_token"], reason="expired")
            assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
            second = response.json()
            assert second["refresh_token"] != first["refresh_token"] and second["id_token"]
            assert issuer.verify_jwt(second["access_token"])["scope"] == "openid profile email offline_access"
            assert not issuer.token_active(first["refresh_token"]) and issuer.token_active(second["refresh_token"])

            assert_oauth_error(await json_refresh(client, second["refresh_token"], client_id="other"), "invalid_grant")
            assert_oauth_error(await json_refresh(client, "unknown"), "invalid_grant")
            assert_oauth_error(await json_refresh(client, ""), "invalid_request")

            reused = await json_refresh(client, first["refresh_token"], reason="unauthorized")
            assert_oauth_error(reused, "refresh_token_reused", status=401)
            assert reused.json()["error_description"]
            assert not issuer.token_active(second["refresh_token"])  # the reuse revoked the whole grant
            assert_oauth_error(await json_refresh(client, second["refresh_token"]), "refresh_token_invalidated", 401)
            # the form refresh keeps its RFC answers
            form = await client.post(
                "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": CLIENT}
            )
            assert_oauth_error(form, "invalid_grant")

            issuer.faults.refresh_error = "temporarily_unavailable"
            assert (await json_refresh(client, "x")).json() == {"error": "temporarily_unavailable"}
    json_refreshes = issuer.token_requests("refresh_token", media_type="application/json")
    assert [r.get("refresh_reason") for r in json_refreshes][:1] == ["expired"]
    assert json_refreshes[4]["refresh_reason"] == "unauthorized" and "scope" not in json_refreshes[0]
    assert len(issuer.token_requests("refresh_token", media_type="application/x-www-form-urlencoded")) == 1


async def test_json_revoke():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            first, second = await login(client), await login(client)
            response = await client.post(
                "/oauth/revoke", json={"token": first["refresh_token"], "token_type_hint": "refresh_token", "client_id": CLIENT}
            )
            assert response.status_code == 200
            assert not issuer.token_active(first["refresh_token"]) and not issuer.token_active(first["access_token"])
            assert issuer.token_active(second["refresh_token"])
            assert_oauth_error(await json_refresh(client, first["refresh_token"]), "refresh_token_invalidated", 401)
            never = await client.post("/oauth/revoke", json={"token": "never-issued", "client_id": CLIENT})
            assert never.status_code == 200
            assert_oauth_error(await client.post("/oauth/revoke", json={"client_id": CLIENT}), "invalid_request")
            issuer.faults.revoke_status = 503
            response = await client.post("/oauth/revoke", json={"token": second["refresh_token"]})
            assert response.status_code == 503 and issuer.token_active(second["refresh_token"])
    [revoke, *_] = [r for r in issuer.request_log if r.path == "/oauth/revoke"]
    assert revoke.is_json and revoke.params["token_type_hint"] == "refresh_token"


async def test_whoami_with_personal_access_tokens():
    with trio.fail_after(10):
        issuer = DevIssuer(email="pat@example.com", plan="plus")
        async with served(issuer) as client:
            good = issuer.issue_personal_access_token()
            other = issuer.issue_personal_access_token(email="b@example.com", account_id="acct_b", plan="team")
            revoked = issuer.issue_personal_access_token()
            issuer.revoke_personal_access_token(revoked)
            assert good.startswith("at-") and issuer.token_active(good) and not issuer.token_active(revoked)

            async def whoami(token: str | None) -> httpx.Response:
                headers = {"authorization": f"Bearer {token}"} if token is not None else {}
                return await client.get("/api/accounts/v1/user-auth-credential/whoami", headers=headers)

            response = await whoami(good)
            assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
            assert response.json() == {
                "email": "pat@example.com",
                "chatgpt_user_id": "user_dev",
                "chatgpt_account_id": "acct_dev",
                "chatgpt_plan_type": "plus",
                "chatgpt_account_is_fedramp": False,
            }
            assert (await whoami(other)).json()["chatgpt_account_id"] == "acct_b"
            assert_api_error(await whoami(revoked), 401, "token_revoked")
            unknown = await whoami("at-unknown")
            assert_api_error(unknown, 401, "invalid_token")
            assert unknown.headers["www-authenticate"].startswith("Bearer")
            assert_api_error(await whoami(None), 401, "invalid_token")
            assert_api_error(
                await client.get("/api/accounts/v1/user-auth-credential/whoami", headers={"authorization": f"Basic {good}"}),
                401,
                "invalid_token",
            )

            # /oauth/revoke ends a personal access token too
            assert (await client.post("/oauth/revoke", json={"token": other, "client_id": CLIENT})).status_code == 200
            assert_api_error(await whoami(other), 401, "token_revoked")
            assert (await whoami(good)).status_code == 200


async def test_authorize_accepts_and_records_codex_parameters():
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            pkce = generate_pkce()
            redirect = "http://127.0.0.1:1455/auth/callback"
            scope = "openid profile email offline_access api.connectors.read api.connectors.invoke"
            params = authorize_params(
                pkce,
                redirect_uri=redirect,
                scope=scope,
                allowed_workspace_id="ws_a,ws_b",
                id_token_add_organizations="true",
                codex_cli_simplified_flow="true",
                originator="codex_cli_rs",
            )
            response = await client.get("/oauth/authorize", params=params)
            assert response.status_code == 302 and response.headers["location"].startswith(redirect + "?")
            query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}
            assert query["state"] == "st-123"
            tokens = (await exchange(client, query["code"], pkce, redirect_uri=redirect)).json()
    assert tokens["scope"] == scope and issuer.verify_jwt(tokens["access_token"])["scope"] == scope
    [recorded] = issuer.authorize_requests()
    assert recorded["allowed_workspace_id"] == "ws_a,ws_b" and recorded["scope"] == scope
    assert recorded["originator"] == "codex_cli_rs"


async def test_id_token_auth_claims_go_into_the_id_token_only():
    """A new API organisation owner (0.171's `needs_setup`); the plan stays the access token's."""
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True, id_token_auth_claims={**ORG_OWNER_NEEDS_SETUP, "chatgpt_plan_type": "team"})
        async with served(issuer) as client:
            owner = await login(client)
            issuer.id_token_auth_claims = {}  # changed between logins: the default user again
            default = await login(client)
    auth = claims_of(owner["id_token"])[AUTH_CLAIMS]
    assert auth == {
        "chatgpt_account_id": "acct_dev",
        "chatgpt_user_id": "user_dev",
        **ORG_OWNER_NEEDS_SETUP,
        "chatgpt_plan_type": "team",
    }
    assert claims_of(owner["access_token"])[AUTH_CLAIMS]["chatgpt_plan_type"] == "pro"
    assert "is_org_owner" not in claims_of(owner["access_token"])[AUTH_CLAIMS]
    assert claims_of(default["id_token"])[AUTH_CLAIMS] == {
        "chatgpt_account_id": "acct_dev",
        "chatgpt_plan_type": "pro",
        "chatgpt_user_id": "user_dev",
    }


async def test_state_suffix_and_missing_entitlement_knobs():
    def redirect_query(response: httpx.Response) -> dict[str, str]:
        assert response.status_code == 302, response.text
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}

    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            issuer.faults.state_suffix = ONBOARDING_STATE_SUFFIX
            pkce = generate_pkce()
            query = redirect_query(await client.get("/oauth/authorize", params=authorize_params(pkce)))
            assert query["state"] == "st-123.onboarding_entrypoint=life_sciences" and query["code"]
            assert (await exchange(client, query["code"], pkce)).status_code == 200
            bad = authorize_params(pkce, code_challenge_method="plain")
            assert redirect_query(await client.get("/oauth/authorize", params=bad))["state"].endswith(ONBOARDING_STATE_SUFFIX)
            issuer.faults.state_suffix = None

            issuer.faults.missing_codex_entitlement = True
            query = redirect_query(await client.get("/oauth/authorize", params=authorize_params(pkce)))
            assert query["error"] == "access_denied" and "code" not in query
            assert "missing_codex_entitlement" in query["error_description"] and query["state"] == "st-123"
    assert MISSING_ENTITLEMENT_DESCRIPTION == query["error_description"]


async def test_request_id_knob_marks_token_error_replies():
    ids = ("x-request-id", "x-openai-request-id", "cf-ray")
    with trio.fail_after(10):
        issuer = DevIssuer(auto_approve=True)
        async with served(issuer) as client:
            tokens = await login(client)
            assert not set(ids) & set((await json_refresh(client, "unknown")).headers)

            issuer.faults.request_id = "req_dev_123"
            failed = await json_refresh(client, "unknown")
            assert failed.status_code == 400
            assert failed.headers["x-request-id"] == failed.headers["x-openai-request-id"] == "req_dev_123"
            assert failed.headers["cf-ray"] == "req_dev_123-DEV"
            form_failed = await exchange(client, "nope", generate_pkce())
            assert form_failed.status_code == 400 and form_failed.headers["x-request-id"] == "req_dev_123"
            ok = await json_refresh(client, tokens["refresh_token"])
            assert ok.status_code == 200 and not set(ids) & set(ok.headers)

            issuer.faults.token_status, issuer.faults.token_body = 502, b"bad gateway"
            gateway = await exchange(client, "c", generate_pkce())
            assert gateway.status_code == 502 and gateway.headers["cf-ray"] == "req_dev_123-DEV"
