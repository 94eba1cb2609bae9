"""Stored credentials belong to the issuer that issued them: no token ever goes to another server.

Three servers on loopback: two dev issuers (A, B) on their own ports, and a tripwire that records
whatever reaches it (as a server, and as the HTTPS proxy every run is given, so a request meant for
the default issuer https://auth.openai.com lands there as a CONNECT and nothing leaves the
machine). The real CLI runs as a subprocess; after a login, the next commands run without
repeating its flags, as people use a CLI.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field

import pytest
import trio
from harness import issue_tokens_async, provenance_of, store_tokens

from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import DevIssuer, serve_dev_issuer
from codexlogin.errors import ExitCode

CODEX = [sys.executable, "-m", "codexlogin"]


@dataclass
class Tripwire:
    """A loopback server that answers every request with 503 and keeps the raw bytes it got."""

    received: list[bytes] = field(default_factory=list)
    url: str = ""

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        task_status.started(self.url)
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, stream: trio.SocketStream) -> None:
        data = b""
        with trio.move_on_after(5):
            while b"\r\n\r\n" not in data and len(data) < 1 << 20:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
            )
            while len(body) < length:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                body += chunk
            data = head + b"\r\n\r\n" + body
        self.received.append(data)
        with trio.move_on_after(5):
            try:
                await stream.send_all(b"HTTP/1.1 503 tripwire\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                await stream.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    def assert_no_token(self, *tokens: str) -> None:
        for raw in self.received:
            for token in tokens:
                assert token.encode() not in raw, f"a stored token reached the tripwire: {raw[:200]!r}"


@pytest.fixture
async def tripwire(nursery):
    wire = Tripwire()
    await nursery.start(wire.serve)
    return wire


@pytest.fixture
async def issuer_b(nursery):
    issuer = DevIssuer(auto_approve=True)
    await nursery.start(serve_dev_issuer, issuer)
    return issuer


def env_for(tmp_path, tripwire: Tripwire, **extra: str) -> dict[str, str]:
    """A user's environment: the scripted browser, and every https request routed to the tripwire."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "SSH_"))}
    env.update(
        CODEX_HOME=str(tmp_path / "codex-home"),
        BROWSER=f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        HTTPS_PROXY=tripwire.url,
        NO_PROXY="",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def codex(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    with trio.fail_after(60):
        result = await trio.run_process([*CODEX, *args], env=env, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def stored(tmp_path) -> dict:
    return json.loads((tmp_path / "codex-home" / "auth.json").read_text())


def revocations(issuer: DevIssuer) -> list[dict]:
    return [form for _method, path, form in issuer.requests if path == "/oauth/revoke"]


def requests_with(issuer: DevIssuer, token: str) -> list[str]:
    """The paths of requests to `issuer` that carried `token` (in a form, JSON body or header)."""
    found = []
    for request in issuer.request_log:
        if request is None:
            continue
        if token in json.dumps(request.params) or any(token in value for value in request.headers.values()):
            found.append(request.path)
    return found


# --- after a login at a non-default issuer, the next commands go there without flags ----------------


async def test_status_check_and_logout_after_a_login_go_to_the_issuer_of_the_login(tmp_path, dev_issuer, issuer_b, tripwire):
    env = env_for(tmp_path, tripwire)
    code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    tokens = stored(tmp_path)["tokens"]
    assert tokens["oauth_provenance"] == provenance_of(dev_issuer.issuer_url)

    code, out, _ = await codex("login", "status", "--json", env=env)
    assert code == 0 and json.loads(out)["issuer"] == dev_issuer.issuer_url.rstrip("/")
    code, _, out = await codex("login", "status", "--check", env=env)
    assert code == 0, out
    assert f"issuer {dev_issuer.issuer_url.rstrip('/')}" in out and "Credentials checked online" in out
    assert requests_with(dev_issuer, tokens["access_token"]), "the proof went to the login's issuer"

    refresh_token = stored(tmp_path)["tokens"]["refresh_token"]
    code, out, err = await codex("logout", env=env)
    assert (code, out, err) == (0, "", "Successfully logged out: removed the login of dev@example.com\n")
    assert not dev_issuer.token_active(refresh_token)  # revoked where it was issued
    assert issuer_b.request_log == [] and tripwire.received == []
    # The log names the issuer the runs talked to, not the default from the settings.
    log = (tmp_path / "codex-home" / "log" / "codex-login.log").read_text().splitlines()
    roots = [m for m in map(json.loads, log) if m.get("action_type") == "codex:command" and m.get("action_status") == "started"]
    assert {m["command"]: m["issuer"] for m in roots if m["command"] in ("login status", "logout")} == {
        "login status": dev_issuer.issuer_url.rstrip("/"),
        "logout": dev_issuer.issuer_url.rstrip("/"),
    }


# --- a setting naming another issuer: status --check refuses, logout revokes at the stored one ------


HOW = ["flag", "env", "-c", "config.toml"]


def naming(how: str, url: str, tmp_path) -> tuple[list[str], dict[str, str]]:
    """The extra argv and environment that set the issuer to `url` the way `how` says."""
    if how == "flag":
        return ["--issuer", url], {}
    if how == "env":
        return [], {"CODEX_LOGIN_ISSUER": url}
    if how == "-c":
        return ["-c", f"issuer={url}"], {}
    home = tmp_path / "codex-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'model = "o3"\nissuer = "{url}"\n')
    return [], {}


SOURCE = {"flag": "--issuer", "env": "env CODEX_LOGIN_ISSUER", "-c": "-c issuer", "config.toml": "config.toml"}


@pytest.mark.parametrize("how", HOW)
async def test_a_setting_naming_another_issuer_sends_no_token_there(tmp_path, dev_issuer, tripwire, how):
    env = env_for(tmp_path, tripwire)
    settings = load_settings({}, environ={"CODEX_HOME": env["CODEX_HOME"]})
    with trio.fail_after(20):
        auth = store_tokens(settings, await issue_tokens_async(dev_issuer, dev_issuer.issuer_url), issuer=dev_issuer.issuer_url)
    tokens = auth.tokens
    argv, extra = naming(how, tripwire.url, tmp_path)
    env.update(extra)
    ours, theirs = dev_issuer.issuer_url.rstrip("/"), tripwire.url

    code, out, err = await codex("login", "status", "--check", *argv, env=env)
    assert code == ExitCode.USAGE and out == "", err
    first = err.splitlines()[0]
    assert first.startswith("error: status --check refused") and ours in first and theirs in first and SOURCE[how] in first
    code, out, err = await codex("login", "status", "--check", "--json", *argv, env=env)
    data = json.loads(out)
    assert code == ExitCode.USAGE and data["status"] == "check_failed" and data["error"]["exit_code"] == 2
    assert data["issuer"] == ours

    code, _, out = await codex("login", "status", *argv, env=env)  # offline: says whose login it is
    assert code == 0 and f"issuer {ours}" in out and f"{SOURCE[how]} names the issuer {theirs}" in out

    code, out, err = await codex("logout", *argv, env=env)
    assert code == 0 and out == "" and err.endswith("Successfully logged out: removed the login of dev@example.com\n"), err
    assert err.startswith(
        f"warning: Revoked at {ours}: the stored login was issued by {ours}, but {SOURCE[how]} names the issuer {theirs}"
    )
    assert err.count("\n") == 2  # the warning, then the logout line
    assert not dev_issuer.token_active(tokens.refresh_token)  # revoked at its own issuer
    assert tripwire.received == [] and not (tmp_path / "codex-home" / "auth.json").exists()


async def test_another_client_id_is_refused_too(tmp_path, dev_issuer, tripwire):
    env = env_for(tmp_path, tripwire)
    settings = load_settings({}, environ={"CODEX_HOME": env["CODEX_HOME"]})
    with trio.fail_after(20):
        store_tokens(settings, await issue_tokens_async(dev_issuer, dev_issuer.issuer_url), issuer=dev_issuer.issuer_url)
    before = len(dev_issuer.request_log)
    code, _, err = await codex("login", "status", "--check", "--client-id", "someone-else", env=env)
    assert code == ExitCode.USAGE and "--client-id names the client id someone-else" in err
    assert len(dev_issuer.request_log) == before


# --- a file without provenance (Codex CLI 0.171's older files) belongs to the default issuer ------


async def test_a_file_without_provenance_is_the_default_issuers(tmp_path, dev_issuer, tripwire):
    env = env_for(tmp_path, tripwire)
    with trio.fail_after(20):
        issued = await issue_tokens_async(dev_issuer, dev_issuer.issuer_url)
    old = AuthDotJson(
        "chatgpt",
        tokens=TokenData(issued["id_token"], issued["access_token"], issued["refresh_token"]),
        last_refresh="2026-12-01T20:33:32.445329355Z",
    )
    save_auth(tmp_path / "codex-home" / "auth.json", old)
    before = len(dev_issuer.request_log)

    code, out, err = await codex("login", "status", "--check", "--issuer", dev_issuer.issuer_url, env=env)
    assert code == ExitCode.USAGE and "issued by https://auth.openai.com" in err, err
    assert len(dev_issuer.request_log) == before  # nothing went to A

    # A new login at A replaces it, and does not send the replaced refresh token to A.
    code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    assert [form for form in revocations(dev_issuer) if form.get("token") == issued["refresh_token"]] == []
    assert dev_issuer.token_active(issued["refresh_token"])

    # The 0.171 file again: logout revokes at the default issuer, whatever --issuer says. Here that
    # request meets the tripwire proxy (a CONNECT to auth.openai.com), and no token crosses it.
    save_auth(tmp_path / "codex-home" / "auth.json", old)
    code, out, err = await codex("logout", "--issuer", dev_issuer.issuer_url, env=env)
    assert code == 0 and "could not revoke" in err and "Revocation was tried at https://auth.openai.com" in err, err
    assert [form for form in revocations(dev_issuer) if form.get("token") == issued["refresh_token"]] == []
    assert tripwire.received and all(raw.startswith(b"CONNECT auth.openai.com:443 ") for raw in tripwire.received)
    tripwire.assert_no_token(issued["refresh_token"], issued["access_token"])
    assert not (tmp_path / "codex-home" / "auth.json").exists()


# --- a new login at another issuer never revokes the replaced tokens there ---------------------------


async def test_a_login_at_b_does_not_send_as_tokens_to_b(tmp_path, dev_issuer, issuer_b, tripwire):
    env = env_for(tmp_path, tripwire)
    assert (await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env))[0] == 0
    first = stored(tmp_path)["tokens"]
    code, _, err = await codex("login", "--issuer", issuer_b.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    assert requests_with(issuer_b, first["refresh_token"]) == [] and requests_with(issuer_b, first["access_token"]) == []
    assert revocations(issuer_b) == [] and dev_issuer.token_active(first["refresh_token"])
    second = stored(tmp_path)["tokens"]
    assert second["oauth_provenance"] == provenance_of(issuer_b.issuer_url)
    # Again at B: the superseded B grant is revoked at B, as before.
    assert (await codex("login", "--issuer", issuer_b.issuer_url, "--port", "0", env=env))[0] == 0
    assert [form["token"] for form in revocations(issuer_b)] == [second["refresh_token"]]
    assert tripwire.received == []


# --- a personal access token goes to the issuer that checked it ------------------------------------


async def test_a_personal_access_token_is_checked_where_it_was_stored(tmp_path, dev_issuer, tripwire):
    env = env_for(tmp_path, tripwire)
    token = dev_issuer.issue_personal_access_token()
    with trio.fail_after(60):
        result = await trio.run_process(
            [*CODEX, "login", "--with-access-token", "--issuer", dev_issuer.issuer_url],
            env=env,
            stdin=token.encode() + b"\n",
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert stored(tmp_path)["oauth_provenance"] == provenance_of(dev_issuer.issuer_url)
    code, _, err = await codex("login", "status", "--check", env=env)
    assert code == 0 and "whoami" in err, err
    code, _, err = await codex("login", "status", "--check", "--issuer", tripwire.url, env=env)
    assert code == ExitCode.USAGE and tripwire.received == []
