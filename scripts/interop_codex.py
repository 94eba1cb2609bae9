"""Interop with the real Codex CLI 0.171 (the oracle for the openai dialect), both directions.

    python scripts/interop_codex.py CODEX_BINARY

Runs inside a fresh network namespace with only loopback up (it re-executes itself under
`unshare -n`, so neither CLI can reach anything but 127.0.0.1), serves the dev issuer (both
dialects) over HTTP on 127.0.0.1, and checks:

1. the real binary's device login (`--experimental_issuer`) completes against the dev issuer's
   openai endpoints — the emulation is faithful — and `codexlogin login status` reads its auth.json;
2. the real binary's `--with-api-key` file is read by ours;
3. the real `codex login status` accepts every auth.json we write: ChatGPT tokens from our browser
   login (openai dialect, through a scripted browser) and our device login, a standard issuer's
   reply without id or refresh token, an API key; a file we rewrote keeps 0.171's fields;
4. our browser login falls back from a busy 1455 to 1457 as 0.171 does;
5. `codex login app-server`: every message it sends (api key, browser and device logins, cancel,
   logout, an unknown method) validates against the schemas the real binary generates
   (`codex app-server generate-json-schema`), and for the same CODEX_HOME our `account/read`
   answers what the real `codex app-server` answers (`account`, `requiresOpenaiAuth`, `userId`).

Prints one line per check and a closing `N passed, N failed` line; exits 1 when any failed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RUN_TIMEOUT = 60


def in_private_network() -> None:
    """Re-exec under `unshare -n` with loopback up: nothing here can leave the machine."""
    if os.environ.get("CODEXLOGIN_INTEROP_NETNS") == "1":
        return
    if not shutil.which("unshare") or not shutil.which("ip"):
        sys.exit("interop_codex: needs unshare (util-linux) and ip (iproute2)")
    script = 'ip link set lo up && exec "$@"'
    env = {**os.environ, "CODEXLOGIN_INTEROP_NETNS": "1"}
    os.execvpe("unshare", ["unshare", "-n", "sh", "-c", script, "sh", PY, *sys.argv], env)


class Checks:
    def __init__(self) -> None:
        self.passed = self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok    {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {name}\n      {detail.strip()[-1500:]}", flush=True)


def home() -> Path:
    path = Path(tempfile.mkdtemp(prefix="codex-interop-"))
    path.chmod(0o700)
    return path


def env_for(codex_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
    return {**env, "HOME": str(codex_home), "CODEX_HOME": str(codex_home), "BROWSER": "true", "NO_COLOR": "1", **extra}


async def run(argv: list[str], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(RUN_TIMEOUT):
        return await trio.run_process(argv, env=env, stdin=stdin, capture_stdout=True, capture_stderr=True, check=False)


def text(result: subprocess.CompletedProcess[bytes]) -> str:
    return f"exit {result.returncode}\n{result.stdout.decode(errors='replace')}{result.stderr.decode(errors='replace')}"


def ours(*args: str) -> list[str]:
    return [PY, "-m", "codexlogin", *args]


async def real_status(checks: Checks, codex: str, name: str, codex_home: Path) -> None:
    result = await run([codex, "login", "status"], env_for(codex_home))
    shown = text(result)
    accepted = "Logged in" in shown or "API key configured" in shown  # 0.171's words for the two modes
    checks.check(f"real `codex login status` reads {name}", result.returncode == 0 and accepted, shown)


async def our_status(checks: Checks, name: str, codex_home: Path, expect: str) -> None:
    result = await run(ours("login", "status"), env_for(codex_home))
    shown = text(result)
    checks.check(f"our `codex login status` reads {name}", result.returncode == 0 and expect in shown, shown)


async def main(codex: str) -> int:
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    checks = Checks()
    version = (await run([codex, "--version"], env_for(home()))).stdout.decode().strip()
    print(f"real binary: {version}", flush=True)
    issuer = DevIssuer(auto_approve=True)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(serve_dev_issuer, issuer)
        openai = ["-c", f"issuer={url}", "-c", "dialect=openai"]

        # 1. the real binary's device login against our emulation of the openai issuer
        theirs = home()
        result = await run([codex, "login", "--device-auth", "--experimental_issuer", url], env_for(theirs))
        wrote = (theirs / "auth.json").exists()
        checks.check("real device login completes against the dev issuer", result.returncode == 0 and wrote, text(result))
        seen = [f"{r.method} {r.path}" for r in issuer.request_log]
        checks.check(
            "real device login used the openai device endpoints",
            "POST /api/accounts/deviceauth/usercode" in seen and "POST /api/accounts/deviceauth/token" in seen,
            "\n".join(seen),
        )
        if wrote:
            await our_status(checks, "the real device login's auth.json", theirs, "Logged in using ChatGPT")

        # 2. the real binary's API-key file
        theirs = home()
        result = await run([codex, "login", "--with-api-key"], env_for(theirs), stdin=b"sk-proj-interop0123456789abcdef\n")
        checks.check("real --with-api-key", result.returncode == 0, text(result))
        await our_status(checks, "the real --with-api-key auth.json", theirs, "Logged in using an API key")

        # 3. what we write, read by the real binary
        mine = home()
        browse = f"{shlex.quote(PY)} -m codexlogin.devissuer browse %s"
        result = await run(ours("login", "--port", "0", "--timeout", "30", *openai), env_for(mine, BROWSER=browse))
        checks.check("our browser login (openai dialect)", result.returncode == 0, text(result))
        await real_status(checks, codex, "our browser login's auth.json", mine)

        mine = home()
        result = await run(ours("login", "--device-auth", *openai), env_for(mine))
        checks.check("our device login (openai dialect)", result.returncode == 0, text(result))
        await real_status(checks, codex, "our device login's auth.json", mine)

        mine = home()
        issuer.faults.token_status = 200  # a standard issuer's reply: no id_token, no refresh_token
        issuer.faults.token_body = b'{"access_token": "plain-access-token-0123456789", "token_type": "Bearer"}'
        result = await run(
            ours("login", "--port", "0", "--timeout", "30", "-c", f"issuer={url}", "-c", "dialect=standard"),
            env_for(mine, BROWSER=browse),
        )
        issuer.faults.token_status = issuer.faults.token_body = None
        checks.check("our browser login (standard dialect, no refresh token)", result.returncode == 0, text(result))
        await real_status(checks, codex, "our auth.json without id and refresh tokens", mine)

        mine = home()
        result = await run(ours("login", "--with-api-key"), env_for(mine), stdin=b"sk-proj-interop0123456789abcdef\n")
        checks.check("our --with-api-key", result.returncode == 0, text(result))
        await real_status(checks, codex, "our --with-api-key auth.json", mine)

        # 4. a busy 1455: ours falls back to 1457 as 0.171 does (this namespace's ports are ours)
        mine = home()
        with closing(socket.socket()) as foreign:
            foreign.bind(("127.0.0.1", 1455))
            foreign.listen(1)  # a program that never answers /cancel
            started = time.monotonic()
            result = await run(ours("login", "--timeout", "30", *openai), env_for(mine, BROWSER=browse))
        shown = text(result)
        checks.check(
            "our login falls back from a busy 1455 to 1457",
            result.returncode == 0 and "http://localhost:1457" in shown and "127.0.0.1%3A1457" in shown,
            shown,
        )
        print(f"      (fallback took {time.monotonic() - started:.1f} s)", flush=True)
        await app_server_checks(checks, codex, url, issuer)
        nursery.cancel_scope.cancel()
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


# --- 5. `codex login app-server` against the real binary's protocol ----------------------------------


class _Unchecked:
    """The real server's messages are the oracle, not checked (it sends notifications we do not)."""

    checked = 0

    def validate(self, message: object, method: object) -> None:
        pass


async def _app_server_session(argv: list[str], codex_home: Path, schemas: Any, **extra: str) -> Any:
    from appserver import AppServerClient  # tests/appserver.py: the scripted client and the schema check

    process = await trio.lowlevel.open_process(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env_for(codex_home, **extra)
    )
    return AppServerClient(process, schemas)


async def _account_read(argv: list[str], codex_home: Path, schemas: Any, **extra: str) -> dict[str, Any]:
    client = await _app_server_session(argv, codex_home, schemas, **extra)
    try:
        with trio.fail_after(RUN_TIMEOUT):
            await client.initialize("interop")
            answer = await client.request("account/read", {})
    finally:
        client.process.kill()
        await client.process.wait()
    result = answer.get("result") or {}
    return {key: result.get(key) for key in ("account", "requiresOpenaiAuth", "userId")} | {"error": answer.get("error")}


ROUTING_REPLY = b'{"accounts": [{"id": "acct_dev", "workspace_backend_origin": "https://chatgpt.com", "account_routing_override": "NO_CONSTRAINT"}]}'


async def serve_routing_backend(*, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """The ChatGPT backend's workspace-routing discovery (`…/accounts/check`), which 0.171's app-server
    asks before it answers account/read for a ChatGPT login: one fixed reply for the dev account."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}")

    async def answer(stream: trio.SocketStream) -> None:
        with trio.move_on_after(10):
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                request += chunk
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            await stream.send_all(head + b"Content-Length: %d\r\n\r\n" % len(ROUTING_REPLY) + ROUTING_REPLY)
        await stream.aclose()

    await trio.serve_listeners(answer, listeners)


async def app_server_checks(checks: Checks, codex: str, url: str, issuer: Any) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import httpx
    from appserver import SchemaCheck

    schema_dir = home() / "schemas"
    result = await run([codex, "app-server", "generate-json-schema", "--out", str(schema_dir)], env_for(home()))
    checks.check(
        "real binary generates the app-server schemas", result.returncode == 0 and (schema_dir / "v2").is_dir(), text(result)
    )
    if result.returncode != 0:
        return
    schemas = SchemaCheck(schema_dir)
    ours_argv = ours("login", "app-server")
    mine = home()
    problems: list[str] = []
    client = await _app_server_session(ours_argv, mine, schemas, CODEX_LOGIN_ISSUER=url, CODEX_LOGIN_PORT="0")
    try:
        with trio.fail_after(RUN_TIMEOUT):
            await client.initialize("interop")
            await client.request("account/read", {})
            await client.request("thread/start", {})
            await client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-proj-interop0123456789abcdef"})
            await client.notification("account/updated")
            await client.request("account/logout")
            await client.notification("account/updated")
            started = (await client.request("account/login/start", {"type": "chatgpt"}))["result"]
            async with httpx.AsyncClient(trust_env=False, follow_redirects=True, timeout=30) as browser:
                await browser.get(started["authUrl"])  # the dev issuer approves and redirects to our listener
            done = await client.notification("account/login/completed")
            if not done["params"]["success"]:
                problems.append(f"browser login: {done}")
            await client.notification("account/updated")
            await client.request("account/read", {"refreshToken": True})
            device = (await client.request("account/login/start", {"type": "chatgptDeviceCode"}))["result"]
            issuer.approve_device(device["userCode"])
            done = await client.notification("account/login/completed")
            if not done["params"]["success"]:
                problems.append(f"device login: {done}")
            cancelled = (await client.request("account/login/start", {"type": "chatgpt"}))["result"]
            await client.request("account/login/cancel", {"loginId": cancelled["loginId"]})
            await client.notification("account/login/completed")
            await client.request("account/login/cancel", {"loginId": cancelled["loginId"]})
            await client.close()
    except Exception as exc:  # a schema violation or a broken exchange: one failed check, with what
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        with trio.move_on_after(5):
            await client.process.wait()
        if client.process.returncode is None:
            client.process.kill()
    checks.check(
        f"our app-server's messages validate against the real binary's schemas ({schemas.checked} checked)",
        not problems and schemas.checked == len(client.received) >= 15,
        "\n".join(problems),
    )

    # The same CODEX_HOME read by both servers: nobody, an API key, a ChatGPT login (openai dialect).
    homes = {"no login": home(), "an API key": home(), "a ChatGPT login": home()}
    await run(ours("login", "--with-api-key"), env_for(homes["an API key"]), stdin=b"sk-proj-interop0123456789abcdef\n")
    browse = f"{shlex.quote(PY)} -m codexlogin.devissuer browse %s"
    await run(
        ours("login", "--port", "0", "--timeout", "30", "-c", f"issuer={url}", "-c", "dialect=openai"),
        env_for(homes["a ChatGPT login"], BROWSER=browse),
    )
    async with trio.open_nursery() as backend_nursery:
        backend = await backend_nursery.start(serve_routing_backend)
        for name, codex_home in homes.items():
            real = await _account_read([codex, "app-server", "-c", f'chatgpt_base_url="{backend}"'], codex_home, _Unchecked())
            mine_read = await _account_read(ours_argv, codex_home, schemas)
            checks.check(
                f"our account/read answers as the real app-server for {name}",
                real == mine_read and real["error"] is None,
                f"real: {real}\nours: {mine_read}",
            )
        backend_nursery.cancel_scope.cancel()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1].strip())
    in_private_network()
    sys.exit(trio.run(main, str(Path(sys.argv[1]).resolve())))
