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
5. the trust store (issue 24): with the dev issuer on HTTPS, its certificate from a trustme test CA
   that is only in the system bundle of a private mount namespace (`unshare -m`, a temp file bind-
   mounted over /etc/ssl/certs/ca-certificates.crt; the machine's store is untouched) and no CA
   variable set, the real binary's device login verifies it and completes, and so does ours; outside
   that namespace (the control) both fail.

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
        nursery.cancel_scope.cancel()
    await system_store_checks(checks, codex)
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1].strip())
    in_private_network()
    sys.exit(trio.run(main, str(Path(sys.argv[1]).resolve())))
