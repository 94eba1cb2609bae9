"""Issue 22 #1, login CSRF through the browser's argv: every local user can read a process's
command line (/proc/PID/cmdline). The browser is started with the one-shot short address, never
the sign-in URL (state, PKCE challenge, nonce), and a second use of that address ends the login.

The second-uid test runs the real `codex login` with a BROWSER that holds its arguments, reads them
as uid 65534 (nobody), opens the address as that user (loopback only), then lets the victim's
browser open it: the login stops (exit 4) instead of finishing a sign-in the attacker now holds.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
from urllib.parse import urlsplit

import pytest
import trio
from harness import Run, approve, get, make_settings, query_of

from codexlogin.errors import LoginFailure
from codexlogin.listener.decide import start_path

CODEX = [sys.executable, "-m", "codexlogin"]
NOBODY = 65534
#: A browser that says its pid (on codex's stdout, which it inherits) and keeps its arguments.
HOLDING_BROWSER = f"{shlex.quote(sys.executable)} -c 'import os,time; print(os.getpid(), flush=True); time.sleep(60)' %s"


async def _as_nobody(*argv: str) -> str:
    with trio.fail_after(15):
        result = await trio.run_process(
            list(argv), user=NOBODY, group=NOBODY, extra_groups=[], capture_stdout=True, capture_stderr=True, check=False
        )
    return result.stdout.decode("utf-8", "replace")


@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another uid needs root to switch to it")
async def test_another_user_finds_no_sign_in_secret_in_the_browsers_argv_and_a_second_use_ends_the_login(tmp_path, dev_issuer):
    env = {
        **os.environ,
        "CODEX_HOME": str(tmp_path / "codex-home"),
        "BROWSER": HOLDING_BROWSER,
        "PYTHONUNBUFFERED": "1",
        "NO_PROXY": "*",
    }
    stderr = bytearray()
    browser_pid = None
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            process = await trio.lowlevel.open_process(
                [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--timeout", "40"],
                env=env,
                stdout=-1,  # subprocess.PIPE
                stderr=-1,
            )

            async def collect_stderr():
                async for chunk in process.stderr:
                    stderr.extend(chunk)

            nursery.start_soon(collect_stderr)
            line = bytearray()
            async for chunk in process.stdout:  # the browser's pid: it is running with its arguments
                line.extend(chunk)
                if b"\n" in line:
                    break
            browser_pid = int(line.split(b"\n")[0])
            try:
                cmdline = await _as_nobody("cat", f"/proc/{browser_pid}/cmdline")
                argv = cmdline.split("\0")
                (address,) = [arg for arg in argv if arg.startswith("http")]
                sign_in_url = next(w for w in stderr.decode().split() if "state=" in w)
                secrets = [query_of(sign_in_url)[name] for name in ("state", "code_challenge", "nonce")]
                for secret in secrets:
                    assert secret not in cmdline, "a value that completes the sign-in is in the browser's argv"
                assert re.fullmatch(r"http://localhost:\d+/[a-z2-7]+", address)
                assert urlsplit(address).path == start_path(secrets[0])

                # The attacker opens it first (as nobody, loopback only): it is the first use ...
                answer = await _as_nobody(
                    "curl",
                    "-s",
                    "--noproxy",
                    "*",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    address.replace("localhost", "127.0.0.1"),
                )
                assert answer == "302"
                # ... so the victim's browser, second, is refused, and the login ends at once.
                page = await get(address)
                assert page.status_code == 409 and "sign_in_address_reused" in page.text
                code = await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                os.kill(browser_pid, signal.SIGKILL)
            nursery.cancel_scope.cancel()
    err = stderr.decode()
    assert code == 4, err
    assert "opened a second time" in err and "Traceback" not in err
    assert not (tmp_path / "codex-home" / "auth.json").exists()
    assert dev_issuer.token_requests() == []


async def test_a_second_use_of_the_short_address_ends_a_real_listeners_login_and_the_code_is_never_exchanged(
    tmp_path, dev_issuer
):
    async def attacker_first(run, url):
        short = re.search(r"(http://localhost:\d+/\w+) or this URL", run.stderr.getvalue()).group(1)
        first = await get(short, follow_redirects=False)
        assert first.status_code == 302 and first.headers["location"] == url
        second = await get(short, follow_redirects=False, headers={"Sec-Fetch-Site": "none"})
        run.pages.append(second)

    with trio.fail_after(20):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, timeout=600))
        failure = await run(attacker_first)
    assert isinstance(failure, LoginFailure) and failure.exit_code == 4, failure
    assert failure.error_code == "sign_in_address_reused"
    (reused,) = run.pages
    assert reused.status_code == 409 and "someone else" in reused.text and "location" not in reused.headers
    assert dev_issuer.token_requests("authorization_code") == [] and not run.settings.auth_file.exists()
    decisions = [m.get("decision") for m in run.log_messages() if m.get("action_type") == "codex:callback"]
    assert "reused" in decisions


async def test_the_browser_is_given_the_short_address(tmp_path, dev_issuer, monkeypatch):
    """What `webbrowser` is handed (in-process, for the fast path and the discovery path alike)."""
    import webbrowser

    opened: list[str] = []
    browser_started = trio.Event()

    class Recorder(webbrowser.BaseBrowser):
        def open(self, url, new=0, autoraise=True):  # in the flow's worker thread
            opened.append(url)
            trio.from_thread.run_sync(browser_started.set)
            return True

    monkeypatch.setattr(webbrowser, "_tryorder", ["recorder"])
    monkeypatch.setattr(webbrowser, "_browsers", {"recorder": [None, Recorder("recorder")]})

    async def browser(run, url):
        await browser_started.wait()
        run.pages.append(await approve(url))

    with trio.fail_after(20):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, no_browser=False))
        await run(browser)
    (address,) = opened
    state = query_of(run.url)["state"]
    assert state not in address and address.endswith(start_path(state))
