"""The pasted redirect (issue 23): `codex login` under a real pty reads the redirect address the
browser ended on (its page could not load: the browser runs on another machine) with the terminal's
echo off, and finishes the login as the listener would; an error redirect ends it as the listener
would; the banner (and the SSH banner, before its `ssh -L` advice) says so. The pasted address
never appears on the screen or in codex-login.log.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import termios
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from harness import query_of

from codexlogin.flows.paste import NotARedirect, pasted_request
from codexlogin.listener.decide import CALLBACK_PATH

CODEX = [sys.executable, "-m", "codexlogin"]
SIGN_IN_URL = re.compile(rb"(http://\S+/authorize\?\S+)")


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "SSH_", "BROWSER"))}
    env.update(CODEX_HOME=str(tmp_path / "codex-home"), PYTHONUNBUFFERED="1", TERM="xterm", COLUMNS="200")
    env.update(extra)
    return env


class Terminal:
    """`codex login` on a real pty: what it wrote so far, and a way to type into it."""

    def __init__(self, stream: trio.lowlevel.FdStream):
        self.stream = stream
        self.output = b""
        self.changed = trio.Event()

    async def read_all(self) -> None:
        while True:
            try:
                chunk = await self.stream.receive_some(4096)
            except (OSError, trio.BrokenResourceError):
                chunk = b""  # EIO: the child closed the terminal
            self.output += chunk
            self.changed.set()
            self.changed = trio.Event()
            if not chunk:
                return

    async def wait_for(self, pattern: bytes | re.Pattern[bytes], after: int = 0) -> re.Match[bytes]:
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        while (found := regex.search(self.output, after)) is None:
            await self.changed.wait()
        return found

    async def type(self, text: str) -> None:
        await self.stream.send_all(text.encode() + b"\r")  # Enter: the line discipline makes it \n


async def login_on_a_pty(tmp_path, issuer_url, user, **env_extra) -> tuple[int, str]:
    """Run `codex login` on a pty; `user(terminal)` plays the person at it. (exit code, output)."""
    master, slave = os.openpty()
    env = env_for(tmp_path, **env_extra)

    def controlling_tty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    argv = [*CODEX, "login", "--issuer", issuer_url, "--port", "0", "--no-browser", "--timeout", "60"]
    try:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                process = await nursery.start(run_process(argv, env, slave, controlling_tty))
                os.close(slave)
                slave = -1
                terminal = Terminal(trio.lowlevel.FdStream(master))
                master = -1  # the FdStream owns it now
                nursery.start_soon(terminal.read_all)
                await user(terminal)
                await process.wait()  # the reader ends when the child closes the terminal (EIO)
            await terminal.stream.aclose()
    finally:
        for fd in (master, slave):
            if fd != -1:
                os.close(fd)
    return process.returncode, terminal.output.decode("utf-8", "replace")


def run_process(argv, env, slave, preexec):
    async def run(task_status=trio.TASK_STATUS_IGNORED):
        await trio.run_process(
            argv, env=env, stdin=slave, stdout=slave, stderr=slave, preexec_fn=preexec, check=False, task_status=task_status
        )

    return run


async def redirect_of(sign_in_url: str) -> str:
    """Where the (auto-approving) issuer sends the browser: the address a remote browser cannot load."""
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        answer = await client.get(sign_in_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def log_text(tmp_path) -> str:
    return (tmp_path / "codex-home" / "log" / "codex-login.log").read_text()


@pytest.mark.concurrency
async def test_a_pasted_redirect_finishes_the_login_and_is_never_shown(tmp_path, dev_issuer):
    seen: dict[str, str] = {}

    async def user(terminal: Terminal) -> None:
        url = (await terminal.wait_for(SIGN_IN_URL)).group(1).decode()
        await terminal.wait_for(b"(it is not shown)")
        redirect = await redirect_of(url)
        seen["code"] = query_of(redirect)["code"]
        seen["redirect"] = redirect
        await terminal.type(redirect)

    code, output = await login_on_a_pty(tmp_path, dev_issuer.issuer_url, user)
    assert code == 0, output
    assert "Successfully logged in" in output
    assert "paste it here and press Enter" in output  # the banner says so
    assert seen["code"] not in output and "auth/callback?" not in output  # never echoed
    log = log_text(tmp_path)
    assert seen["code"] not in log and seen["redirect"] not in log
    assert '"codex:callback"' in log  # the same log tree as the listener's callback
    assert '"codex:callback:pasted"' in log  # and where it came from
    exchange = [json.loads(line) for line in log.splitlines() if '"codex:token_exchange"' in line][0]
    assert exchange["redirect_uri"].endswith("/auth/callback")  # only the secret part of the paste is redacted
    assert (tmp_path / "codex-home" / "auth.json").exists()


@pytest.mark.concurrency
async def test_over_ssh_the_banner_offers_the_paste_before_the_port_forward(tmp_path, dev_issuer):
    async def user(terminal: Terminal) -> None:
        url = (await terminal.wait_for(SIGN_IN_URL)).group(1).decode()
        redirect = urlsplit(await redirect_of(url))
        await terminal.type(f"{redirect.hostname}:{redirect.port}?{redirect.query}")  # without scheme and path

    code, output = await login_on_a_pty(
        tmp_path, dev_issuer.issuer_url, user, SSH_CONNECTION="198.51.100.4 51234 203.0.113.7 22", USER="alice"
    )
    assert code == 0, output
    assert "This is an SSH session" in output
    assert output.index("paste it here and press Enter") < output.index("ssh -L ")
    assert "codex login --device-auth" in output


@pytest.mark.concurrency
async def test_a_pasted_error_redirect_ends_the_login_as_the_listener_would(tmp_path, dev_issuer):
    async def user(terminal: Terminal) -> None:
        url = (await terminal.wait_for(SIGN_IN_URL)).group(1).decode()
        query = query_of(url)
        redirect_uri, state = query["redirect_uri"], query["state"]
        await terminal.type("hello")  # not an address: said, and the login keeps waiting
        mark = (await terminal.wait_for(b"the pasted text was not used")).end()
        await terminal.type(f"{redirect_uri}?code=OTHERSIGNINCODE1&state=someoneelsesstate")
        mark = (await terminal.wait_for(b"belongs to another sign-in", mark)).end()
        await terminal.type(f"{redirect_uri}?error=access_denied&error_description=User+declined&state={state}")

    code, output = await login_on_a_pty(tmp_path, dev_issuer.issuer_url, user)
    assert code == 3, output  # Denied, as for the listener's callback
    assert "sign-in was not completed: access_denied" in output
    assert "OTHERSIGNINCODE1" not in output and "hello" not in output  # nothing pasted is echoed
    assert "OTHERSIGNINCODE1" not in log_text(tmp_path)
    assert not (tmp_path / "codex-home" / "auth.json").exists()


def test_pasted_addresses_are_read_as_the_listener_would_receive_them():
    full = pasted_request("http://localhost:1455/auth/callback?code=c&state=s\n", 1455)
    assert (full.path, full.host, full.params) == (CALLBACK_PATH, "localhost:1455", {"code": "c", "state": "s"})
    bare = pasted_request("127.0.0.1:1455?code=c&state=s", 1455)
    assert (bare.path, bare.host) == (CALLBACK_PATH, "127.0.0.1:1455")
    other_port = pasted_request("http://127.0.0.1:9999/auth/callback?code=c&state=s", 1455)
    assert other_port.host == "127.0.0.1:9999"  # decide() refuses it as the listener refuses the Host
    assert pasted_request("?code=c&state=s", 1455).host == "localhost:1455"
    not_redirects = (
        "",
        "hello",
        "https://evil.example/auth/callback?code=c&state=s",
        "http://localhost:1455/auth/callback",
        "http://localhost:1455/abcdefghijkl?x=1",  # the one-shot short address is never used up by a paste
    )
    for junk in not_redirects:
        with pytest.raises(NotARedirect):
            pasted_request(junk, 1455)
