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

from codexlogin.errors import Cancelled, Terminated
from codexlogin.flows.signals import failure_for
from codexlogin.listener import prepare
from harness import assert_no_listener

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


async def read_until(process: trio.Process, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = await process.stderr.receive_some(4096)
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
            env=env_for(tmp_path), stderr=subprocess.PIPE,
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
            env=env_for(tmp_path), stderr=subprocess.PIPE,
        )
        seen = await read_until(process, b"http")
        if delay:
            await trio.sleep(delay)
        process.send_signal(signum)
        code = await process.wait()
        seen += await drain(process)
        await process.stderr.aclose()
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
                env=env_for(run_dir), stderr=subprocess.PIPE,
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
    prepare.hold_early_signals()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)
        assert prepare.take_early_signal() == signal.SIGHUP  # the first one decides
        assert prepare.take_early_signal() is None
        os.kill(os.getpid(), signal.SIGINT)  # a first Ctrl-C is held too...
        assert prepare.take_early_signal() == signal.SIGINT
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):  # ...a second one interrupts a start-up that hangs
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        prepare.release_early_signals()
    assert {signum: signal.getsignal(signum) for signum in ENDING} == before
    assert prepare.take_early_signal() is None


def test_each_ending_signal_maps_to_one_outcome():
    assert type(failure_for(signal.SIGINT)) is Cancelled and failure_for(signal.SIGINT).exit_code == 130
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        failure = failure_for(signum)
        assert type(failure) is Terminated and failure.exit_code == 143
        assert signal.Signals(signum).name in failure.summary
