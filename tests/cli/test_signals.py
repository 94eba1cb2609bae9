"""Signals end a login run cleanly: real `codex login` subprocesses, real signals, real dev issuer.

SIGINT cancels (130); SIGTERM, SIGHUP and SIGQUIT terminate (143). Either way the listener's port
is freed, no `.auth.json.*.tmp` is left, and codex-login.log holds the run's finished tree (root
`codex:command` ended with outcome `cancelled`) — also for a signal sent the moment the URL is
printed, before trio (and its signal receiver) has even been imported.

Rules: 127.0.0.1 only, port 0, a hard trio.fail_after around every subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from harness import assert_no_listener

from codexlogin.cli import signals as cli_signals
from codexlogin.cli.signals import failure_for
from codexlogin.errors import Cancelled, Terminated

CODEX = [sys.executable, "-m", "codexlogin"]
ENDING = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT]
EXPECTED_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 143, signal.SIGQUIT: 143}


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CODEX_HOME=str(tmp_path / "codex-home"),
        BROWSER=f"{sys.executable} -m codexlogin.devissuer browse %s",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture
async def pending_issuer(nursery):
    """The dev issuer without auto-approval: a device code stays pending until the test ends."""
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    issuer = DevIssuer()
    await nursery.start(serve_dev_issuer, issuer)
    return issuer


async def read_until(process: trio.Process, marker: bytes, stream=None) -> bytes:
    seen = b""
    stream = stream or process.stderr
    while marker not in seen:
        chunk = await stream.receive_some(4096)
        assert chunk, f"exited before {marker!r}: {seen!r}"
        seen += chunk
    return seen


async def drain(process: trio.Process) -> bytes:
    rest = b""
    while chunk := await process.stderr.receive_some(4096):
        rest += chunk
    return rest


def root_ends(tmp_path: Path) -> list[dict]:
    log = tmp_path / "codex-home" / "log" / "codex-login.log"
    messages = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [m for m in messages if m.get("action_type") == "codex:command" and m.get("action_status") != "started"]


def leftover_temp_files(tmp_path: Path) -> list[str]:
    home = tmp_path / "codex-home"
    return sorted(p.name for p in home.glob(".*.tmp")) if home.exists() else []


def assert_cancelled_tree(tmp_path: Path, exit_code: int) -> None:
    ends = root_ends(tmp_path)
    assert len(ends) == 1, ends
    assert ends[0]["action_status"] == "failed"
    assert ends[0]["outcome"] == "cancelled" and ends[0]["exit_code"] == exit_code


@pytest.mark.concurrency
@pytest.mark.parametrize("signum", ENDING, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("delay", [0.0, 0.4], ids=["at-once", "waiting"])
async def test_browser_login_ends_on_signal_with_its_log_tree(tmp_path, dev_issuer, signum, delay):
    """delay 0: sent the moment the URL is out (before trio loads); 0.4 s: while waiting."""
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--no-browser"],
            env=env_for(tmp_path),
            stderr=subprocess.PIPE,
        )
        seen = await read_until(process, b"/oauth/authorize?")
        if delay:
            await trio.sleep(delay)
        process.send_signal(signum)
        code = await process.wait()
        seen += await drain(process)
        await process.stderr.aclose()
    name = signal.Signals(signum).name
    assert code == EXPECTED_EXIT[signum], seen
    err = seen.decode()
    assert ("login cancelled (Ctrl-C)" if signum == signal.SIGINT else f"login terminated ({name})") in err
    assert "Traceback" not in err
    port = int(seen.split(b"http://localhost:")[1].split(b".")[0])
    assert_no_listener(port)
    assert_cancelled_tree(tmp_path, EXPECTED_EXIT[signum])
    assert leftover_temp_files(tmp_path) == []


@pytest.mark.concurrency
@pytest.mark.parametrize("signum", ENDING, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("delay", [0.0, 0.4], ids=["at-once", "polling"])
async def test_device_login_ends_on_signal_with_its_log_tree(tmp_path, pending_issuer, signum, delay):
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [*CODEX, "login", "--device-auth", "--issuer", pending_issuer.issuer_url],
            env=env_for(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        seen = await read_until(process, b"http", process.stdout)  # the device prompt: stdout, as Codex CLI 0.171
        if delay:
            await trio.sleep(delay)
        process.send_signal(signum)
        code = await process.wait()
        seen += await drain(process)
        await process.stderr.aclose()
        await process.stdout.aclose()
    assert code == EXPECTED_EXIT[signum], seen
    assert b"Traceback" not in seen
    assert_cancelled_tree(tmp_path, EXPECTED_EXIT[signum])
    assert not (tmp_path / "codex-home" / "auth.json").exists()


@pytest.mark.concurrency
async def test_a_signal_at_any_moment_of_a_completing_login_leaves_a_consistent_home(tmp_path, dev_issuer):
    """The browser signs in at once (auto-approve); a SIGTERM/SIGHUP lands somewhere between the URL
    and the save. Whatever it hits: exit 0 or 143, a finished log tree, no temp file with tokens,
    and auth.json either absent or complete. (A signal after the run was logged and reported meets
    its default action, as in any program that has finished its work.)"""
    outcomes = []
    for index, delay in enumerate([0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6]):
        run_dir = tmp_path / str(index)
        signum = (signal.SIGTERM, signal.SIGHUP)[index % 2]
        with trio.fail_after(30):
            process = await trio.lowlevel.open_process(
                [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0"],
                env=env_for(run_dir),
                stderr=subprocess.PIPE,
            )
            seen = await read_until(process, b"/oauth/authorize?")
            await trio.sleep(delay)
            if process.returncode is None:
                process.send_signal(signum)
            code = await process.wait()
            seen += await drain(process)
            await process.stderr.aclose()
        assert b"Traceback" not in seen
        ends = root_ends(run_dir)
        assert len(ends) == 1, ends
        if code < 0:  # after the run was logged and reported the signal's default action applies
            assert code == -signum and b"Successfully logged in" in seen and ends[0]["outcome"] == "success"
        else:
            assert code in (0, 143), seen
            assert ends[0]["exit_code" if code else "outcome"] == (143 if code else "success")
        assert leftover_temp_files(run_dir) == []
        auth_file = run_dir / "codex-home" / "auth.json"
        if auth_file.exists():
            assert json.loads(auth_file.read_text())["tokens"]["access_token"]
        outcomes.append(code)
    assert 143 in outcomes  # at least the early signals hit the run before it was done


# --- the early-signal hold, in-process (SIGHUP is held, so it never reaches the test runner) ---


def test_held_signals_are_remembered_taken_once_and_released():
    before = {signum: signal.getsignal(signum) for signum in ENDING}
    cli_signals.hold_early_signals()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)
        assert cli_signals.take_early_signal() == signal.SIGHUP  # the first one decides
        assert cli_signals.take_early_signal() is None
        os.kill(os.getpid(), signal.SIGINT)  # a first Ctrl-C is held too...
        assert cli_signals.take_early_signal() == signal.SIGINT
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):  # ...a second one interrupts a start-up that hangs
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        cli_signals.release_early_signals()
    assert {signum: signal.getsignal(signum) for signum in ENDING} == before
    assert cli_signals.take_early_signal() is None


def test_each_ending_signal_maps_to_one_outcome():
    assert type(failure_for(signal.SIGINT)) is Cancelled and failure_for(signal.SIGINT).exit_code == 130
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        failure = failure_for(signum)
        assert type(failure) is Terminated and failure.exit_code == 143
        assert signal.Signals(signum).name in failure.summary


# --- the other logged runs: API-key and access-token logins, logout, status --check, doctor -------


def log_messages(tmp_path: Path) -> list[dict]:
    log = tmp_path / "codex-home" / "log" / "codex-login.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


async def run_started(tmp_path: Path, process: trio.Process) -> None:
    """Until the run's root action has started: from then on an ending signal is held for the flow.

    A poll of the child's log file (bounded by the caller's fail_after): the child says nothing on
    stdout or stderr when its run starts (an API-key login waits on stdin in silence), so there is
    no line to wait for, and the log file is the only sign."""
    while not any(m.get("action_type") == "codex:command" for m in log_messages(tmp_path)):
        assert process.returncode is None, "exited before its run started"
        await trio.sleep(0.02)


async def signal_run(tmp_path: Path, argv: list[str], signum: int, *, delay: float = 0.0, ready=None) -> tuple[int, str]:
    """Start `codex …argv`, wait until its run has started (and `await ready()` has returned), send
    `signum`; (exit code, stderr). Its stdin is a pipe the test keeps open until the process has ended."""
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [*CODEX, *argv],
            env=env_for(tmp_path),
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        await run_started(tmp_path, process)
        if ready is not None:
            async with trio.open_nursery() as nursery:

                async def exited_first():
                    await process.wait()
                    raise AssertionError("exited before it was ready")

                nursery.start_soon(exited_first)
                await ready()
                nursery.cancel_scope.cancel()
        await trio.sleep(delay)
        process.send_signal(signum)
        code = await process.wait()
        err = await drain(process)
        await process.stderr.aclose()
        await process.stdin.aclose()
    return code, err.decode()


def assert_ended_by(signum: int, what: str, code: int, err: str, tmp_path: Path) -> None:
    name = signal.Signals(signum).name
    assert code == EXPECTED_EXIT[signum], err
    assert (f"{what} cancelled (Ctrl-C)" if signum == signal.SIGINT else f"{what} terminated ({name})") in err, err
    assert "Traceback" not in err
    assert_cancelled_tree(tmp_path, EXPECTED_EXIT[signum])
    assert leftover_temp_files(tmp_path) == []


@pytest.mark.concurrency
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("delay", [0.0, 0.5], ids=["at-once", "reading"])
async def test_an_api_key_login_waiting_on_an_open_stdin_ends_on_signal(tmp_path, signum, delay):
    """`… | codex login --with-api-key` whose writer never closes the pipe: the read is abandoned."""
    code, err = await signal_run(tmp_path, ["login", "--with-api-key"], signum, delay=delay)
    assert_ended_by(signum, "login", code, err, tmp_path)
    assert not (tmp_path / "codex-home" / "auth.json").exists()


@pytest.mark.concurrency
async def test_an_access_token_login_waiting_on_an_open_stdin_ends_on_sigterm(tmp_path):
    code, err = await signal_run(tmp_path, ["login", "--with-access-token"], signal.SIGTERM, delay=0.5)
    assert_ended_by(signal.SIGTERM, "login", code, err, tmp_path)


@pytest.mark.concurrency
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: signal.Signals(s).name)
async def test_a_logout_waiting_on_revocation_ends_on_signal_with_the_credentials_removed(tmp_path, dev_issuer, nursery, signum):
    from harness import HangingPath, issue_tokens_async, make_settings, store_tokens

    from codexlogin.devissuer import serve_dev_issuer

    unanswered = HangingPath(dev_issuer, "/oauth/revoke")
    url = await nursery.start(serve_dev_issuer, unanswered)
    auth_file = make_settings(tmp_path, url).auth_file
    store_tokens(make_settings(tmp_path, url), await issue_tokens_async(dev_issuer, url))
    # ready once the revocation has reached the issuer (removed, discovery done; never answered)
    code, err = await signal_run(tmp_path, ["logout", "--issuer", url], signum, delay=0.2, ready=unanswered.reached.wait)
    assert_ended_by(signum, "logout", code, err, tmp_path)
    assert not auth_file.exists()  # removed before the revocation, as asked
    revoke = [m for m in log_messages(tmp_path) if m.get("action_type") == "codex:revoke" and m["action_status"] != "started"]
    assert [m["action_status"] for m in revoke] == ["failed"]  # cancelled while it waited


@pytest.mark.concurrency
async def test_a_status_check_waiting_on_the_issuer_ends_on_sigterm(tmp_path, dev_issuer, nursery):
    from harness import HangingPath, make_settings, provenance_of

    from codexlogin.credentials.files import save_auth
    from codexlogin.credentials.model import PERSONAL_ACCESS_TOKEN, AuthDotJson
    from codexlogin.devissuer import serve_dev_issuer
    from codexlogin.oauth.issuer import WHOAMI_PATH

    url = await nursery.start(serve_dev_issuer, HangingPath(dev_issuer, WHOAMI_PATH))
    token = dev_issuer.issue_personal_access_token()
    stored = AuthDotJson(PERSONAL_ACCESS_TOKEN, personal_access_token=token, oauth_provenance=provenance_of(url))
    save_auth(make_settings(tmp_path, url).auth_file, stored)
    code, err = await signal_run(tmp_path, ["login", "status", "--check"], signal.SIGTERM, delay=0.5)
    assert_ended_by(signal.SIGTERM, "status check", code, err, tmp_path)
    assert json.loads((tmp_path / "codex-home" / "auth.json").read_text())["personal_access_token"] == token


@pytest.mark.concurrency
async def test_a_signal_during_a_refresh_waits_for_the_rotated_tokens_and_saves_them(tmp_path, nursery):
    """The issuer has rotated the refresh token and its reply is on the way when SIGTERM comes: the
    run waits for the reply (shielded, at most exchange_timeout) and saves the new tokens. Cancelled
    at once, the old (now dead) refresh token would stay and the login be lost. The check then ends
    143 at its next checkpoint, or 0 if it had none left (its outcome stands, as for any flow whose
    work was done); either way the log's root action says which."""
    from harness import issue_tokens_async, make_settings, store_tokens
    from held_reply import HeldTokenReply

    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    issuer = DevIssuer(auto_approve=True, access_token_lifetime=60)  # due for a refresh at once
    held = HeldTokenReply(issuer, hold=1.0)
    url = await nursery.start(serve_dev_issuer, held)
    old = store_tokens(make_settings(tmp_path, url), await issue_tokens_async(issuer, url))
    held.armed = True
    code, err = await signal_run(
        tmp_path, ["login", "status", "--check", "--issuer", url], signal.SIGTERM, ready=held.wait_holding
    )
    if code == 0:
        assert [end["outcome"] for end in root_ends(tmp_path)] == ["success"] and "Traceback" not in err
    else:
        assert_ended_by(signal.SIGTERM, "status check", code, err, tmp_path)
    stored = json.loads((tmp_path / "codex-home" / "auth.json").read_text())["tokens"]["refresh_token"]
    assert stored != old.tokens.refresh_token and issuer.token_active(stored)
    assert not issuer.token_active(old.tokens.refresh_token)  # rotated: only the saved one works


@pytest.mark.concurrency
async def test_a_doctor_run_ends_on_sigterm_with_its_log_tree(tmp_path, dev_issuer, nursery):
    from harness import HangingPath

    from codexlogin.devissuer import serve_dev_issuer

    url = await nursery.start(serve_dev_issuer, HangingPath(dev_issuer, "/.well-known/openid-configuration"))
    code, err = await signal_run(tmp_path, ["login", "doctor", "--issuer", url], signal.SIGTERM, delay=0.5)
    assert_ended_by(signal.SIGTERM, "doctor", code, err, tmp_path)


def test_a_second_hold_keeps_what_the_first_remembered():
    """logged_run holds too; inside a login that already holds, the first signal must survive it."""
    before = {signum: signal.getsignal(signum) for signum in ENDING}
    assert cli_signals.hold_early_signals() is True
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert cli_signals.hold_early_signals() is False
        assert cli_signals.take_early_signal() == signal.SIGTERM
    finally:
        cli_signals.release_early_signals()
    assert {signum: signal.getsignal(signum) for signum in ENDING} == before


@pytest.mark.parametrize(
    ("command_name", "flow", "what"), [("logout", "logout", "logout"), ("login status", "check", "status check")]
)
def test_a_ctrl_c_that_interrupts_a_logged_run_names_the_run(tmp_path, command_name, flow, what):
    """A second Ctrl-C while held (or one before any hold) interrupts at once: Cancelled, named."""
    from harness import make_settings

    from codexlogin.cli.boundary import logged_run

    with pytest.raises(Cancelled) as info:
        with logged_run(command_name, flow, make_settings(tmp_path, "http://127.0.0.1:9")):
            raise KeyboardInterrupt
    assert info.value.summary == f"{what} cancelled (Ctrl-C)" and info.value.exit_code == 130


# --- a flow called from someone else's trio program: its signal handlers stay its own ---------


@pytest.mark.concurrency
def test_a_flow_called_from_a_library_leaves_the_callers_signal_handlers_alone(tmp_path, mock_clock, monkeypatch):
    """The browser and device logins run in the caller's own trio.run: no handler is installed
    (signal.signal is never called), and SIGINT … SIGQUIT keep the caller's handlers during and
    after. Taking signals is the command line's job (cli.signals)."""
    import io

    from harness import Run, approve, make_settings

    from codexlogin import diagnostics
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.credentials.model import AuthDotJson
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer
    from codexlogin.flows.device import device_login

    def callers_handler(signum, frame):  # pragma: no cover - no signal is sent
        raise AssertionError("no signal is sent in this test")

    def handlers() -> dict[int, object]:
        return {signum: signal.getsignal(signum) for signum in ENDING}

    installed: list[int] = []
    real_signal = signal.signal

    def recording_signal(signum, handler):
        installed.append(signum)
        return real_signal(signum, handler)

    seen: dict[str, dict[int, object]] = {}

    class DeviceUI(ConsoleUI):
        def device_code(self, device):
            seen["device login"] = handlers()  # the code is shown: polling is about to start
            issuer.approve_device(device.user_code)
            super().device_code(device)

    async def browser(run, url):
        seen["browser login"] = handlers()  # listening, the URL is out
        run.pages.append(await approve(url))

    async def caller() -> None:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                url = await nursery.start(serve_dev_issuer, issuer)
                monkeypatch.setattr(signal, "signal", recording_signal)
                browser_run = Run(make_settings(tmp_path / "browser", url))
                assert isinstance(await browser_run(browser), AuthDotJson), browser_run.result
                settings = make_settings(tmp_path / "device", url)
                with diagnostics.open_log(settings.resolved_log_dir), diagnostics.command_action("login", "device"):
                    auth, _backend = await device_login(settings, DeviceUI(io.StringIO()))
                assert isinstance(auth, AuthDotJson)
                seen["after both"] = handlers()
                monkeypatch.setattr(signal, "signal", real_signal)
                nursery.cancel_scope.cancel()

    issuer = DevIssuer(auto_approve=True)
    before = handlers()
    for signum in ENDING:
        real_signal(signum, callers_handler)
    try:
        theirs = handlers()
        trio.run(caller, clock=mock_clock)
        after = handlers()
    finally:
        monkeypatch.setattr(signal, "signal", real_signal)
        for signum, handler in before.items():
            real_signal(signum, handler)
    assert installed == []
    assert set(seen) == {"browser login", "device login", "after both"}
    assert all(during == theirs for during in seen.values()), seen
    assert after == theirs
