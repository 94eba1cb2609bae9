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
6. round two (`round_two`): what scripts, wrappers and the issuer see. Both CLIs run the same
   command on the same CODEX_HOME and must agree on the stream, the first words and the exit code
   (or differ as the README's "differences on purpose" table says): status/logout/--with-api-key
   words on stderr, the device prompt on stdout, `-c` before the subcommand and as TOML, the
   ephemeral store, `--api-key`, a callback without code, a personal access token's status; and
   the dev issuer's request log shows the same originator, User-Agent and refresh_reason.
7. the trust store (issue 24): with the dev issuer on HTTPS, its certificate from a trustme test CA
   that is only in the system bundle of a private mount namespace (`unshare -m`, a temp file bind-
   mounted over /etc/ssl/certs/ca-certificates.crt; the machine's store is untouched) and no CA
   variable set, the real binary's device login verifies it and completes, and so does ours; outside
   that namespace (the control) both fail.
8. the org-setup step (`org_setup_checks`, issue 21 point 6): a stand-in https://auth.openai.com
   (tests/standin_openai.py: the dev issuer on 127.0.0.1:443, named in a private /etc/hosts, its
   trustme CA the private system bundle, both bind-mounted under `unshare -m`), so both CLIs run their
   default browser login with no issuer setting; a scripted browser approves, follows to the
   callback and reads the success page. For a new API organisation owner (`needs_setup`) both pages
   send the browser to the same platform org-setup URL (path, query keys and values, each with its
   own id_token as `t`); for a user already set up, and for one who owns no organisation, neither
   does; both exit 0 and write auth.json.

Prints one line per check and a closing `N passed, N failed` line; exits 1 when any failed.
"""

from __future__ import annotations

import json
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


# --- round two: what scripts, wrappers and the issuer see -------------------------------------------

#: 0.171 says this on stderr when CODEX_HOME is under a temp dir; it is not part of any answer.
_PATH_ALIAS_WARNING = "WARNING: proceeding, even though we could not create PATH aliases"
API_KEY_CHECKED = "Authentication is checked when you send a request."
WHOAMI = "/api/accounts/v1/user-auth-credential/whoami"


def lines_of(stream: bytes) -> list[str]:
    return [line for line in stream.decode(errors="replace").splitlines() if line and not line.startswith(_PATH_ALIAS_WARNING)]


def first_words(stream: bytes, words: str) -> bool:
    shown = lines_of(stream)
    return bool(shown) and shown[0].startswith(words)


async def run_for(argv: list[str], env: dict[str, str], seconds: float, stdin: bytes = b"") -> None:
    """Run a command that does not end by itself (`codex exec`, `app-server`) for `seconds`."""
    with trio.move_on_after(seconds):
        await trio.run_process(argv, env=env, stdin=stdin, capture_stdout=True, capture_stderr=True, check=False)


async def both(
    checks: Checks, name: str, codex: str, args: list[str], codex_home: Path, expect: dict[str, object], **kw: object
) -> dict[str, subprocess.CompletedProcess[bytes]]:
    """Run `args` with both CLIs on the same CODEX_HOME (theirs first); `expect` per CLI: (exit code,
    stream name, first words), or for ours a different exit code the README lists."""
    results: dict[str, subprocess.CompletedProcess[bytes]] = {}
    for who, argv in (("real", [codex, *args]), ("ours", ours(*args))):
        result = await run(argv, env_for(codex_home), **kw)  # type: ignore[arg-type]
        code, stream, words = expect[who]  # type: ignore[misc]
        other = "stdout" if stream == "stderr" else "stderr"
        ok = result.returncode == code and first_words(getattr(result, stream), words) and not lines_of(getattr(result, other))
        results[who] = result
        checks.check(f"{name} ({who}: exit {code}, {stream}: {words!r})", ok, text(result))
    return results


async def _callback_without_code(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Start a browser login, send its callback our state without code or error: (exit, page, stderr)."""
    import re

    import httpx

    with trio.fail_after(RUN_TIMEOUT):
        process = await trio.lowlevel.open_process(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = b""
        async with trio.open_nursery() as nursery:

            async def read(stream: trio.abc.ReceiveStream) -> None:
                nonlocal seen
                while chunk := await stream.receive_some(4096):
                    seen += chunk

            assert process.stdout is not None and process.stderr is not None
            nursery.start_soon(read, process.stdout)
            nursery.start_soon(read, process.stderr)
            while not re.search(rb"state=[^&\s]+", seen) or b"redirect_uri=" not in seen:
                await trio.sleep(0.05)
            shown = seen.decode(errors="replace")
            state = re.search(r"[?&]state=([^&\s]+)", shown)[1]  # type: ignore[index]
            port = re.search(r"redirect_uri=http%3A%2F%2F(?:localhost|127\.0\.0\.1)%3A(\d+)", shown)[1]  # type: ignore[index]
            async with httpx.AsyncClient(trust_env=False) as client:
                page = await client.get(f"http://127.0.0.1:{port}/auth/callback?state={state}")
            code = await process.wait()
        return code, page.text, seen.decode(errors="replace")


async def round_two(checks: Checks, codex: str, nursery: trio.Nursery) -> None:
    """Issue "drop-in, round two": each point, the same command by both CLIs on the same CODEX_HOME."""
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    issuer = DevIssuer(auto_approve=True, access_token_lifetime=60)  # every access token is due at once
    url = await nursery.start(serve_dev_issuer, issuer)
    overrides = {
        "CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"{url}/oauth/token",
        "CODEX_REVOKE_TOKEN_URL_OVERRIDE": f"{url}/oauth/revoke",
    }

    # 1. streams and first words (an API key nothing checks; the device prompt on stdout)
    shared = home()
    await both(
        checks,
        "status, nothing stored",
        codex,
        ["login", "status"],
        shared,
        {"real": (1, "stderr", "Not logged in"), "ours": (1, "stderr", "Not logged in")},
    )
    saved = await both(
        checks,
        "--with-api-key garbage",
        codex,
        ["login", "--with-api-key"],
        shared,
        {"real": (0, "stderr", "Reading API key from stdin..."), "ours": (0, "stderr", f"API key saved. {API_KEY_CHECKED}")},
        stdin=b"garbage\n",
    )
    for who, result in saved.items():  # 0.171 says first that it reads stdin; then the same words
        checks.check(
            f"--with-api-key: saved, checked when used ({who})",
            f"API key saved. {API_KEY_CHECKED}" in lines_of(result.stderr),
            text(result),
        )
    await both(
        checks,
        "status, an API key",
        codex,
        ["login", "status"],
        shared,
        {"real": (0, "stderr", "API key configured - ***"), "ours": (0, "stderr", "API key configured - ***")},
    )
    for who, argv in (("real", [codex, "login", "status"]), ("ours", ours("login", "status"))):
        shown = lines_of((await run(argv, env_for(shared))).stderr)
        checks.check(f"status, an API key, second line ({who})", shown[1:2] == [API_KEY_CHECKED], "\n".join(shown))
    result = await run(ours("login", "status", "--json"), env_for(shared))
    checks.check(
        "our status --json stays on stdout",
        result.returncode == 0 and result.stdout.startswith(b"{") and not result.stderr,
        text(result),
    )
    for who, argv in (("real", [codex, "logout"]), ("ours", ours("logout"))):  # each logs out a stored key
        await run([codex, "login", "--with-api-key"], env_for(shared), stdin=b"sk-proj-interop0123456789abcdef\n")
        result = await run(argv, env_for(shared))
        ok = result.returncode == 0 and first_words(result.stderr, "Successfully logged out") and not result.stdout
        checks.check(f"logout of an API key ({who}: exit 0, stderr: 'Successfully logged out')", ok, text(result))
    await both(
        checks,
        "logout, nothing stored",
        codex,
        ["logout"],
        shared,
        {"real": (0, "stderr", "Not logged in"), "ours": (0, "stderr", "Not logged in")},
    )
    for who, argv in (
        ("real", [codex, "login", "--device-auth", "--experimental_issuer", url]),
        ("ours", ours("login", "--device-auth", "--experimental_issuer", url)),  # 7: 0.171's name for the issuer
    ):
        start = len(issuer.request_log)
        result = await run(argv, env_for(home()))
        prompt = result.stdout.decode(errors="replace")
        checks.check(
            f"device prompt with the code on stdout, outcome on stderr ({who})",
            result.returncode == 0 and "one-time code" in prompt and first_words(result.stderr, "Successfully logged in"),
            text(result),
        )
        login = issuer.request_log[start:]
        checks.check(
            f"device login requests carry no originator or User-Agent ({who})",
            bool(login) and all("originator" not in r.headers and "user-agent" not in r.headers for r in login),
            "\n".join(f"{r.path} {r.headers}" for r in login),
        )

    # 3. headers and refresh reasons: a due refresh (theirs: `codex exec`; ours: `status --check`),
    # a forced one (theirs: app-server `account/read {refreshToken: true}`), revocation at logout.
    seen: dict[str, dict[str, object]] = {}
    for who in ("real", "ours"):
        mine = home()
        login = (
            [codex, "login", "--device-auth", "--experimental_issuer", url]
            if who == "real"
            else ours("login", "--device-auth", "--experimental_issuer", url)
        )
        await run(login, env_for(mine))
        start = len(issuer.request_log)
        if who == "real":
            await run_for([codex, "exec", "--skip-git-repo-check", "hi"], env_for(mine, **overrides), 8)
        else:
            await run(ours("login", "status", "--check"), env_for(mine))
        refreshes = [r for r in issuer.request_log[start:] if r.params.get("grant_type") == "refresh_token"]
        start = len(issuer.request_log)
        await run([codex, "logout"] if who == "real" else ours("logout"), env_for(mine, **overrides))
        revokes = [r for r in issuer.request_log[start:] if r.path == "/oauth/revoke"]
        seen[who] = {
            "reason": refreshes[0].params.get("refresh_reason") if refreshes else None,
            "revoke": {k: revokes[0].headers.get(k) for k in ("originator", "user-agent")} if revokes else None,
        }
    checks.check(
        "a due refresh says refresh_reason proactive_expiry (both)",
        seen["real"]["reason"] == seen["ours"]["reason"] == "proactive_expiry",
        str(seen),
    )
    checks.check(
        "revocation carries 0.171's originator and User-Agent (both)",
        seen["real"]["revoke"] is not None and seen["real"]["revoke"] == seen["ours"]["revoke"],
        str(seen),
    )
    fresh = DevIssuer(auto_approve=True)
    fresh_url = await nursery.start(serve_dev_issuer, fresh)
    reasons = {}
    for who in ("real", "ours"):
        mine = home()
        login = (
            [codex, "login", "--device-auth", "--experimental_issuer", fresh_url]
            if who == "real"
            else ours("login", "--device-auth", "--experimental_issuer", fresh_url)
        )
        await run(login, env_for(mine))
        start = len(fresh.request_log)
        if who == "real":
            rpc = (
                b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"codex_cli_rs","version":"0.171.0"}}}\n'
                b'{"jsonrpc":"2.0","method":"initialized"}\n'
                b'{"jsonrpc":"2.0","id":2,"method":"account/read","params":{"refreshToken":true}}\n'
            )
            env = env_for(mine, CODEX_REFRESH_TOKEN_URL_OVERRIDE=f"{fresh_url}/oauth/token")
            await run_for(["sh", "-c", f"(cat; sleep 5) | {shlex.quote(codex)} app-server"], env, 8, stdin=rpc)
        else:
            await run(ours("login", "status", "--check"), env_for(mine))
        reasons[who] = [
            r.params.get("refresh_reason") for r in fresh.request_log[start:] if r.params.get("grant_type") == "refresh_token"
        ][:1]
    checks.check(
        "a forced refresh says refresh_reason forced (both)", reasons["real"] == reasons["ours"] == ["forced"], str(reasons)
    )

    # 2. -c before the subcommand, TOML values with a literal fallback, other global options
    shared = home()
    await run(
        [codex, "login", "--with-api-key"], env_for(shared), stdin=b"sk-proj-interop0123456789abcdefghijklmnopqrstuvwxyzABCD\n"
    )
    for args in (
        ["-c", "model=o3", "login", "status"],
        ["-m", "o3", "login", "status"],
        ["login", "status", "-c", 'forced_chatgpt_workspace_id=["a","b"]'],
    ):
        await both(
            checks,
            " ".join(args),
            codex,
            args,
            shared,
            {
                "real": (0, "stderr", "API key configured"),
                "ours": (0, "stderr", "warning: -c" if any("o3" in arg for arg in args) else "API key configured"),
            },
        )
    # a login setting as TOML: 0.171 answers "Not logged in" (exit 1); ours too, with exit 9 (README)
    await both(
        checks,
        'status -c forced_login_method="chatgpt" with an API key',
        codex,
        ["login", "status", "-c", 'forced_login_method="chatgpt"'],
        shared,
        {"real": (1, "stderr", "Not logged in"), "ours": (9, "stderr", "Not logged in")},
    )

    # 4. the ephemeral store: nothing written, a later command finds nothing
    shared = home()
    ephemeral = ["-c", 'cli_auth_credentials_store="ephemeral"']
    await both(
        checks,
        "ephemeral --with-api-key",
        codex,
        ["login", "--with-api-key", *ephemeral],
        shared,
        {"real": (0, "stderr", "Reading API key from stdin..."), "ours": (0, "stderr", "API key saved.")},
        stdin=b"sk-proj-interop0123456789abcdef\n",
    )
    checks.check("ephemeral: no auth.json from either", not (shared / "auth.json").exists(), str(list(shared.iterdir())))
    await both(
        checks,
        "ephemeral status",
        codex,
        ["login", "status", *ephemeral],
        shared,
        {"real": (1, "stderr", "Not logged in"), "ours": (1, "stderr", "Not logged in")},
    )
    await both(
        checks,
        "ephemeral logout",
        codex,
        ["logout", *ephemeral],
        shared,
        {"real": (0, "stderr", "Not logged in"), "ours": (0, "stderr", "Not logged in")},
    )

    # 7. the removed --api-key flag
    await both(
        checks,
        "--api-key X",
        codex,
        ["login", "--api-key", "sk-proj-interop0123456789abcdef"],
        home(),
        {
            "real": (1, "stderr", "The --api-key flag is no longer supported."),
            "ours": (1, "stderr", "error: The --api-key flag is no longer supported."),
        },
    )

    # 5. a callback with the login's own state but neither code nor error ends the login at once
    for who, argv in (
        ("real", [codex, "login", "--experimental_issuer", url]),
        ("ours", ours("login", "--experimental_issuer", url, "--port", "0", "--no-browser")),
    ):
        started = time.monotonic()
        code, page, shown = await _callback_without_code(argv, env_for(home()))
        expected = 1 if who == "real" else 4  # ours: the issuer's reply was not usable (README)
        checks.check(
            f"a callback without code ends the login at once ({who}: exit {expected})",
            code == expected
            and "missing_authorization_code" in page
            and "Missing authorization code. Sign-in could not be completed." in shown
            and time.monotonic() - started < 30,
            shown,
        )
        # 0.171's browser login ignores --experimental_issuer (it moves the device login only);
        # ours signs in where the flag says (README, "differences on purpose")
        where = "https://auth.openai.com/oauth/authorize?" if who == "real" else f"{url}/oauth/authorize?"
        checks.check(f"--experimental_issuer and the browser login ({who}: the URL at {where[:-1]})", where in shown, shown)

    # 8. a personal access token's status asks whoami; unreachable: 0.171 fails, ours answers offline
    token = issuer.issue_personal_access_token()
    mine = home()
    await run(ours("login", "--with-access-token", "--experimental_issuer", url), env_for(mine), stdin=f"{token}\n".encode())
    start = len(issuer.request_log)
    result = await run(ours("login", "status"), env_for(mine))
    asked = [r for r in issuer.request_log[start:] if r.path == WHOAMI]
    checks.check(
        "our status asks whoami for a personal access token, with 0.171's headers",
        result.returncode == 0
        and first_words(result.stderr, "Logged in using personal access token")
        and len(asked) == 1
        and asked[0].headers.get("originator") == "codex_cli_rs",
        text(result),
    )
    issuer.revoke_personal_access_token(token)
    result = await run(ours("login", "status"), env_for(mine))
    checks.check("our status shows a revoked personal access token (exit 8)", result.returncode == 8, text(result))
    shared = home()  # a 0.171 file: the default issuer's, which this namespace cannot reach
    (shared / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": None, "personal_access_token": "at-" + "x" * 43}))
    (shared / "auth.json").chmod(0o600)
    await both(
        checks,
        "status of a personal access token, issuer unreachable",
        codex,
        ["login", "status"],
        shared,
        {"real": (1, "stderr", "Error checking login status"), "ours": (0, "stderr", "warning: could not check")},
    )

    # 9. a browser login whose issuer is not there (a refused port): 0.171 waits for its callback;
    #    ours shows its URL, then ends at once with exit 10 (README: differences on purpose)
    with closing(socket.socket()) as refused:  # bound, never listening: every connection is refused
        refused.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{refused.getsockname()[1]}"
        real_waiting = True
        with trio.move_on_after(5):  # the process is killed when the wait is over
            await trio.run_process(
                [codex, "login", "--experimental_issuer", nowhere],
                env=env_for(home()),
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            real_waiting = False
        checks.check("a refused issuer: 0.171 is still waiting after 5 s", real_waiting, "")
        started = time.monotonic()
        result = await run(ours("login", "--experimental_issuer", nowhere, "--port", "0", "--no-browser"), env_for(home()))
        checks.check(
            "a refused issuer: ours ends at once after its URL (exit 10)",
            result.returncode == 10
            and b"/oauth/authorize?" in result.stderr
            and b"cannot be reached (connect)" in result.stderr
            and time.monotonic() - started < 15,
            text(result),
        )


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
        await our_status(checks, "the real --with-api-key auth.json", theirs, "API key configured")

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
        await round_two(checks, codex, nursery)
        nursery.cancel_scope.cancel()
    await system_store_checks(checks, codex)
    await org_setup_checks(checks, codex)
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


SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def with_system_bundle(bundle: Path, argv: list[str]) -> list[str]:
    """`argv` in a private mount namespace whose system bundle is `bundle` (bind-mounted)."""
    script = f'mount --bind "$1" {SYSTEM_BUNDLE} && shift && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(bundle), *argv]


async def system_store_checks(checks: Checks, codex: str) -> None:
    """5. Both CLIs trust the operating system's store, with no CA variable set."""
    from functools import partial

    from hypercorn.config import Config
    from hypercorn.trio import serve

    from codexlogin.devissuer import DevIssuer

    try:
        import trustme
    except ImportError:
        print("skip  trust-store checks: trustme is not installed (pip install .[test])", flush=True)
        return
    if not Path(SYSTEM_BUNDLE).is_file():
        print(f"skip  trust-store checks: no {SYSTEM_BUNDLE} on this machine", flush=True)
        return
    work = home()
    ca = trustme.CA(organization_name="codexlogin interop test CA")
    ca.cert_pem.write_to_path(str(work / "ca.pem"))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(work / "server.pem"))
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.certfile = config.keyfile = str(work / "server.pem")
    config.errorlog = config.accesslog = None
    issuer = DevIssuer(auto_approve=True)

    def clean_env(codex_home: Path) -> dict[str, str]:
        env = env_for(codex_home)
        return {k: v for k, v in env.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, issuer, config, shutdown_trigger=trio.sleep_forever))
        url = binds[0]
        issuer.issuer_url = url
        real = [codex, "login", "--device-auth", "--experimental_issuer", url]
        mine = ours("login", "--device-auth", "-c", f"issuer={url}", "-c", "dialect=openai")
        for name, argv in (("the real binary", real), ("our", mine)):
            inside, outside = home(), home()
            result = await run(with_system_bundle(work / "ca.pem", argv), clean_env(inside))
            wrote = (inside / "auth.json").exists()
            checks.check(
                f"{name} device login trusts the OS store's test CA (https, no CA variable)",
                result.returncode == 0 and wrote,
                text(result),
            )
            result = await run(argv, clean_env(outside))
            checks.check(
                f"{name} device login fails without it (control)",
                result.returncode != 0 and not (outside / "auth.json").exists(),
                text(result),
            )
            if name == "our":
                shown = text(result)
                checks.check(
                    "our control failure is a TLS error naming a TLS-inspecting proxy",
                    result.returncode == 10 and "(tls)" in shown and "TLS-inspecting proxy" in shown,
                    shown,
                )
        nursery.cancel_scope.cancel()


# --- 8. the org-setup step, against a stand-in https://auth.openai.com -------------------------------


async def org_setup_checks(checks: Checks, codex: str) -> None:
    """Both CLIs' default browser login (no issuer setting) against the stand-in auth.openai.com:
    where each success page sends a new organisation owner's browser, and that a user without
    `needs_setup` is sent nowhere."""
    from urllib.parse import urlsplit

    sys.path.insert(0, str(ROOT / "tests"))
    from standin_openai import browser_target, driver_argv, in_standin_namespace, query_of, read_run, standin_files

    from codexlogin.devissuer import ORG_OWNER_NEEDS_SETUP

    try:
        import trustme  # noqa: F401
    except ImportError:
        print("skip  org-setup checks: trustme is not installed (pip install .[test])", flush=True)
        return
    files = standin_files(home())
    users = {
        "a new organisation owner (needs_setup)": ORG_OWNER_NEEDS_SETUP,
        "an owner whose setup is finished": {**ORG_OWNER_NEEDS_SETUP, "completed_platform_onboarding": True},
        "a user who owns no organisation": {},
    }
    for user, claims in users.items():
        targets: dict[str, tuple[str | None, str]] = {}
        for who, login in (("real", [codex, "login"]), ("ours", ours("login", "--no-browser", "--port", "0"))):
            codex_home = home()
            env = {k: v for k, v in env_for(codex_home).items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
            result = await run(in_standin_namespace(files, driver_argv(files, claims, login)), env)
            try:
                report = read_run(result.stdout)
            except (ValueError, IndexError):
                checks.check(f"default browser login at the stand-in auth.openai.com, {user} ({who})", False, text(result))
                continue
            shown = f"exit {report.get('exit')}\n{report.get('stdout')}{report.get('stderr')}\nhops: {report['hops']}"
            checks.check(
                f"default browser login at the stand-in auth.openai.com, {user} ({who}: exit 0, auth.json)",
                report.get("exit") == 0 and report["auth_json"] and report["status"] == 200,
                shown,
            )
            saved = json.loads((codex_home / "auth.json").read_text()) if report["auth_json"] else {}
            targets[who] = (browser_target(report), (saved.get("tokens") or {}).get("id_token", ""))
            success_page = (
                urlsplit(report["page_url"] or "").path == "/success" and 'params.get("needs_setup")' in report["page"]
                if who == "real"  # 0.171's callback redirects to its page, whose script decides
                else "Signed in to Codex" in (report["page"] or "")
            )
            if not success_page:
                checks.check(f"the browser reached the success page, {user} ({who})", False, shown)
        if len(targets) < 2:
            continue
        (real, real_id), (mine, mine_id) = targets["real"], targets["ours"]
        if claims is ORG_OWNER_NEEDS_SETUP:
            same = (
                real is not None
                and mine is not None
                and urlsplit(real)[:3] == urlsplit(mine)[:3] == ("https", "platform.openai.com", "/org-setup")
                and {k: v for k, v in query_of(real).items() if k != "t"} == {k: v for k, v in query_of(mine).items() if k != "t"}
                and sorted(query_of(real)) == sorted(query_of(mine)) == ["p", "project_id", "t", "with_org"]
                and query_of(real)["t"] == real_id
                and query_of(mine)["t"] == mine_id
            )
            checks.check(f"the success page sends {user} to the same org-setup URL (both)", same, f"real: {real}\nours: {mine}")
        else:
            checks.check(
                f"the success page sends {user} nowhere (both)", real is None and mine is None, f"real: {real}\nours: {mine}"
            )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1].strip())
    in_private_network()
    sys.exit(trio.run(main, str(Path(sys.argv[1]).resolve())))
