"""Doctor probes the token, revocation and device endpoints (issue 23, point 2): an issuer whose
discovery answers but whose token endpoint answers an HTML 502 is a FAIL, shown per endpoint, through
the real command against stand-in issuers over real HTTP; and the browser check does not advise the
device login where the issuer has none."""

from __future__ import annotations

import json
import os
import sys

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from codexlogin._asgi import answer_lifespan
from codexlogin.config import load_settings
from codexlogin.support.doctor import browser as doctor_browser
from codexlogin.support.doctor.endpoints import judge_reply


def stand_in_issuer(token_status: int, token_type: str, token_body: bytes, *, device: bool = False):
    """A standard issuer stand-in: discovery answers; the token endpoint answers as told; the
    revocation endpoint 200; the device endpoint (when discovery names it) a 400 OAuth error."""
    seen: list[tuple[str, str]] = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        base = app.issuer_url
        seen.append((scope["method"], scope["path"]))
        status, kind, body = 404, "text/html", b"<html>not found</html>"
        if scope["path"] == "/.well-known/openid-configuration":
            document = {
                "issuer": base,
                "authorization_endpoint": f"{base}/oauth/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "revocation_endpoint": f"{base}/oauth/revoke",
            }
            if device:
                document["device_authorization_endpoint"] = f"{base}/oauth/device"
            status, kind, body = 200, "application/json", json.dumps(document).encode()
        elif scope["path"] == "/oauth/token":
            status, kind, body = token_status, token_type, token_body
        elif scope["path"] == "/oauth/revoke":
            status, kind, body = 200, "application/json", b"{}"
        elif scope["path"] == "/oauth/device" and device:
            status, kind, body = 400, "application/json", b'{"error": "invalid_client"}'
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind.encode())]})
        await send({"type": "http.response.body", "body": body})

    app.seen = seen
    return app


async def serve_stand_in(app, *, task_status=trio.TASK_STATUS_IGNORED):
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.errorlog = config.accesslog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, app, config)
        app.issuer_url = binds[0]
        task_status.started(app.issuer_url)


async def doctor_json(tmp_path, issuer_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "SSH_"))}
    env.update(CODEX_HOME=str(tmp_path / "codex-home"), CODEX_LOGIN_PORT="0", BROWSER=sys.executable, DISPLAY=":0")
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "codexlogin", "login", "doctor", "--json", "--issuer", issuer_url],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    return result.returncode, {c["name"]: c for c in json.loads(result.stdout)["checks"]}


async def test_a_token_endpoint_answering_html_502_fails_doctor(tmp_path, nursery):
    app = stand_in_issuer(502, "text/html", b"<html><h1>502 Bad Gateway</h1></html>", device=True)
    url = await nursery.start(serve_stand_in, app)
    code, checks = await doctor_json(tmp_path, url)
    assert code == 1
    assert checks["issuer"]["status"] == "ok"  # discovery alone looks healthy
    endpoints = checks["endpoints"]
    assert endpoints["status"] == "fail", endpoints
    assert f"token {url}/oauth/token: HTTP 502 (text/html)" in endpoints["detail"]
    assert f"revocation {url}/oauth/revoke: HTTP 200" in endpoints["detail"]
    assert f"device {url}/oauth/device: HTTP 400 invalid_client" in endpoints["detail"]
    assert "token:" in endpoints["hint"]
    assert ("POST", "/oauth/token") in app.seen


async def test_a_healthy_token_endpoint_answers_the_probe_with_an_oauth_error(tmp_path, dev_issuer):
    code, checks = await doctor_json(tmp_path, dev_issuer.issuer_url)
    endpoints = checks["endpoints"]
    assert endpoints["status"] == "ok", endpoints
    assert "token " in endpoints["detail"] and "(the answer expected to a probe)" in endpoints["detail"]
    assert "revocation " in endpoints["detail"]


async def test_a_token_endpoint_that_is_not_there_names_the_issuer_url(tmp_path, nursery):
    url = await nursery.start(serve_stand_in, stand_in_issuer(404, "text/html", b"<html>no</html>"))
    code, checks = await doctor_json(tmp_path, url)
    assert code == 1 and checks["endpoints"]["status"] == "fail"
    assert "HTTP 404" in checks["endpoints"]["detail"] and "check the issuer URL" in checks["endpoints"]["hint"]


def test_judging_a_reply():
    assert judge_reply("token", 400, "application/json", b'{"error":"invalid_grant"}')[0] == "ok"
    assert judge_reply("token", 401, "application/json", b'{"error":"invalid_client"}')[0] == "ok"
    assert judge_reply("token", 502, "text/html", b"<html>Bad Gateway</html>")[0] == "fail"
    assert judge_reply("token", 400, "text/html", b"<html>Bad Request</html>")[0] == "fail"  # not an OAuth error
    assert judge_reply("token", 200, "application/json", b"{}")[0] == "warn"
    assert judge_reply("revocation", 200, "", b"", ok_statuses=(200,))[0] == "ok"


async def test_no_browser_and_no_device_login_advises_the_paste_not_the_device_login(tmp_path, monkeypatch):
    settings = load_settings({"issuer": "http://127.0.0.1:1", "port": 0})
    monkeypatch.setenv("BROWSER", "/nonexistent/browser %s")
    monkeypatch.setenv("DISPLAY", ":0")

    async def no_device_login():
        return False

    async def device_login():
        return True

    with trio.fail_after(30):
        status, detail, hint = await doctor_browser.check_browser(settings, 10, no_device_login)
    assert status == "fail" and "--device-auth" not in (hint or "")
    assert "offers no device login" in detail and "paste the address" in hint
    with trio.fail_after(30):
        status, detail, hint = await doctor_browser.check_browser(settings, 10, device_login)
    assert status == "warn" and "--device-auth" in hint  # where it works, it is the advice
