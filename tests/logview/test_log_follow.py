"""`codex login log --follow` (codexlogin.logview.follow).

Rules for this module: the poller's `sleep` is the test's hook, so writes, rotations and
truncations happen between two polls deterministically (no threads, no real waiting); the live
test runs a real login (dev issuer on 127.0.0.1:0, real listener) in this trio run while the real
command follows its log in a subprocess, under a hard trio.fail_after.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from harness import Run, approve, make_settings
from test_render import lines, run_denied, run_success

from codexlogin.cli import log as logcmd
from codexlogin.logview.follow import Follower, follow

ROOT = Path(__file__).resolve().parents[2]


def script(path: Path, steps: list) -> tuple[list[str], callable]:
    """A follower writing into `out`, and a sleep() that runs the next step (or stops)."""
    out: list[str] = []
    pending = list(steps)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if pending:
            pending.pop(0)()

    sleep.slept = slept  # type: ignore[attr-defined]
    sleep.pending = pending  # type: ignore[attr-defined]
    return out, sleep


def append(path: Path, text_lines: list[str]):
    def step() -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("".join(text_lines))

    return step


def test_last_run_replays_its_start_then_follows_it_to_its_end(tmp_path):
    path = tmp_path / "codex-login.log"
    ok, denied = lines(run_success()), lines(run_denied())
    path.write_text("".join(ok + denied[:3]))
    out, sleep = script(path, [append(path, denied[3:5]), lambda: None, append(path, denied[5:] + ok)])
    follower = Follower(out.append, last_run=True)
    follow(path, follower, sleep=sleep, should_stop=lambda: not sleep.pending and len(sleep.slept) > 10)
    text = "".join(out)
    assert follower.done
    assert "11111111" not in text  # the older, finished run is not shown
    assert text.splitlines()[0].startswith("22222222 +-- codex:command/1 started 2026-09-21T14:15:00.000Z")
    assert "\n22222222 |   +-- codex:callback/3/1 started 2026-09-21T14:15:00.750Z\n" in text
    assert "\n22222222 |   |   * codex:callback:oauth_error/3/2 2026-09-21T14:15:01.000Z\n" in text
    assert "\n22222222 |   |         error_code: access_denied\n" in text
    assert "\n22222222 <-- codex:command/4 [FAILED] 2026-09-21T14:15:01.500Z 1.500s\n" in text
    assert text.endswith("22222222       error_code: access_denied\n")
    assert text.count("codex:command") == 2  # its start and its end, then following stopped


def test_a_finished_last_run_is_shown_and_following_stops_at_once(tmp_path):
    path = tmp_path / "codex-login.log"
    path.write_text("".join(lines(run_success())))
    out, sleep = script(path, [])
    follower = Follower(out.append, last_run=True)
    follow(path, follower, sleep=sleep)
    assert follower.done and sleep.slept == []
    assert "<-- codex:command/6 succeeded" in "".join(out)


def test_without_a_target_only_new_messages_are_shown_across_rotation_and_truncation(tmp_path):
    path = tmp_path / "codex-login.log"
    ok, denied = lines(run_success()), lines(run_denied())
    path.write_text("".join(ok))  # already there: not shown

    def rotate() -> None:
        with path.open("a") as handle:
            handle.write(denied[0])  # written just before the rotation: still read from the old file
        path.rename(tmp_path / "codex-login.log.1")
        path.write_text(denied[1])

    def truncate() -> None:
        path.write_text("")  # same file, shorter than what was read: read again from its start

    steps = [
        rotate,
        lambda: None,
        truncate,
        append(path, [denied[2]]),
        append(path, [denied[3][:20]]),
        append(path, [denied[3][20:]]),
        lambda: None,
    ]
    out, sleep = script(path, steps)
    follower = Follower(out.append)
    follow(path, follower, sleep=sleep, should_stop=lambda: not sleep.pending)
    text = "".join(out)
    assert "11111111" not in text
    heads = re.findall(r"(?:\+--|<--) (\S+)", text)
    # denied[0] from the old file after its rotation, [1] from the new one, [2] after a truncation,
    # [3] written in two halves across polls:
    assert heads == ["codex:command/1", "codex:listener/2/1", "codex:listener/2/2", "codex:callback/3/1"]


def test_poll_interval_is_bounded_and_resets_when_data_arrives(tmp_path):
    path = tmp_path / "missing.log"  # not there yet: polled until it appears
    steps = [lambda: None] * 8 + [lambda: path.write_text("".join(lines(run_success())))]
    out, sleep = script(path, steps)
    follower = Follower(out.append, last_run=True)
    follow(path, follower, sleep=sleep, min_interval=0.05, max_interval=0.5)
    assert max(sleep.slept) == 0.5 and sleep.slept[:4] == [0.1, 0.2, 0.4, 0.5]
    assert follower.done


def test_follow_scrubs_and_json_and_text_modes(tmp_path):
    from codexlogin.logview.text import format_line, live_lines

    secret = {
        "task_uuid": "s-1",
        "task_level": [1],
        "timestamp": 1.0,
        "action_type": "codex:command",
        "action_status": "started",
        "code": "SECRETCODE123",
        "url": "http://x/cb?state=SECRETSTATE789",
    }
    end = {"task_uuid": "s-1", "task_level": [2], "timestamp": 2.0, "action_type": "codex:command", "action_status": "succeeded"}
    path = tmp_path / "a.log"
    path.write_text(json.dumps(secret) + "\n" + json.dumps(end) + "\n")
    for mode in ("tree", "json", "text"):
        out: list[str] = []
        text_lines = (lambda node: [format_line(line) for line in live_lines(node)]) if mode == "text" else None
        follow(path, Follower(out.append, mode=mode, task="s-1", text_lines=text_lines), sleep=lambda s: None)
        text = "".join(out)
        assert "SECRETCODE123" not in text and "SECRETSTATE789" not in text and "redacted" in text, mode
    assert "INFO codex_cli::login: login flow finished" in text


@pytest.mark.parametrize("kwargs", [{"last": 2}, {"grep": "x"}, {"failed": True}, {"summary": True}])
def test_follow_usage_errors(tmp_path, capsys, kwargs):
    assert logcmd.log([str(tmp_path / "a.log")], follow=True, **kwargs) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --follow ") and err.count("\n") == 1


def test_follow_and_har_usage_errors(tmp_path, capsys):
    assert logcmd.log(["-"], follow=True) == 2
    assert logcmd.log([str(tmp_path / "a.log")], follow=True, har=tmp_path / "x.har") == 2
    assert logcmd.log([str(tmp_path / "a.log")], summary=True, format="json") == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)


@pytest.mark.concurrency
async def test_follow_shows_a_real_login_live_and_stops_when_it_ends(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    log_file = settings.log_file
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    with trio.fail_after(60):
        follower = await trio.lowlevel.open_process(
            [sys.executable, "-m", "codexlogin", "login", "log", "--follow", "--last", "1", str(log_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        seen = bytearray()

        async def read_until(needle: bytes) -> None:
            while not re.search(needle, seen):
                chunk = await follower.stdout.receive_some(65536)
                if not chunk:
                    raise AssertionError(f"follower ended early: {bytes(seen)!r}")
                seen.extend(chunk)

        async def browser(run, url):
            # The follower has shown the listener while the login still waits for the browser: live.
            await read_until(rb"codex:listener/\d+/1 started")  # after discovery's message, if any
            assert b"<-- codex:command" not in seen
            run.pages.append(await approve(url))

        try:
            run = Run(settings)
            await run(browser)
            assert run.pages and run.pages[0].status_code == 200
            await read_until(rb"<-- codex:command/")
            assert await follower.wait() == 0  # the run's root action ended: following stopped by itself
        finally:
            if follower.returncode is None:
                follower.kill()
                await follower.wait()
            stderr = await follower.stderr.receive_some(65536) if follower.stderr else b""
            await follower.stdout.aclose()
            await follower.stderr.aclose()
    text = seen.decode()
    order = [
        text.index(s)
        for s in (
            "codex:command/1 started",
            "codex:listener/",
            "codex:callback",
            "codex:token_exchange",
            "codex:save_credentials",
            "<-- codex:command/",
        )
    ]
    assert order == sorted(order), text
    assert not stderr, stderr


# `python -m codexlogin ARGS` as from a terminal: Ctrl-C raises KeyboardInterrupt even when this test
# runs as a background job of a script (scripts/stress_concurrency.sh), which starts with SIGINT
# ignored, and a child inherits that; Python then installs no KeyboardInterrupt handler at all.
WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'codex'; runpy.run_module('codexlogin', run_name='__main__', alter_sys=True)"
)


@pytest.mark.concurrency
async def test_ctrl_c_ends_a_follow_without_a_target_quietly(tmp_path):
    import signal

    path = tmp_path / "codex-login.log"
    path.write_text("".join(lines(run_success())))
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", WITH_CTRL_C, "login", "log", "--follow", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            seen = bytearray()
            for _ in range(200):  # until it shows a line appended after it started (so it is polling)
                with path.open("a") as handle:
                    handle.write("".join(lines(run_denied())))
                with trio.move_on_after(0.2):
                    seen.extend(await process.stdout.receive_some(65536))
                if b"22222222" in seen:
                    break
            assert b"22222222" in seen and b"11111111" not in seen  # only what was written after it started
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0
            err = b""
            while chunk := await process.stderr.receive_some(65536):
                err += chunk
            assert b"Traceback" not in err and err == b"", err
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await process.stdout.aclose()
            await process.stderr.aclose()


# --- hostile logs (issue 22, point 7) ---------------------------------------------------------------

TASK = "7e570000-0000-4000-8000-000000000001"


def _hostile_run(levels: list) -> list[str]:
    """A finished run whose middle messages carry `levels` as their task_level."""
    messages = [
        {"task_uuid": TASK, "task_level": [1], "timestamp": 1.0, "action_type": "codex:command", "action_status": "started"}
    ]
    messages += [{"task_uuid": TASK, "task_level": level, "timestamp": 2.0, "message_type": "codex:note"} for level in levels]
    messages.append(
        {"task_uuid": TASK, "task_level": [9], "timestamp": 3.0, "action_type": "codex:command", "action_status": "succeeded"}
    )
    return [json.dumps(m) + "\n" for m in messages]


def _codex_follow(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "codexlogin", "login", "log", "--follow", "--task", TASK[:8], *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_follow_tree_escapes_task_level_items(tmp_path):
    log = tmp_path / "codex-login.log"
    log.write_text(
        "".join(_hostile_run([["\x1b]0;pwned\x07", 2], ["\nforged <-- codex:command/9 succeeded", 3], [{"\x1b[2J": 1}]]))
    )
    result = _codex_follow(str(log))
    assert result.returncode == 0, result.stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", result.stdout)
    lines_out = result.stdout.splitlines()
    assert len(lines_out) == 5  # start, three notes, end: the newline forged no line
    assert "\\x1b]0;pwned\\x07/2" in lines_out[1] and lines_out[2].startswith(TASK[:8] + " ")


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="needs O_NOFOLLOW")
def test_follow_refuses_a_symlink_planted_at_the_log_path(tmp_path):
    elsewhere = tmp_path / "someone-elses.log"
    elsewhere.write_text("".join(_hostile_run([[2]])))
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "codex-login.log").symlink_to(elsewhere)
    result = _codex_follow("--log-dir", str(log_dir))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: --follow does not follow a symbolic link: {log_dir / 'codex-login.log'} is one (it may point anywhere);"
        " pass the file itself\n"
    )


def test_a_symlink_planted_after_a_rotation_is_never_opened(tmp_path):
    path = tmp_path / "codex-login.log"
    elsewhere = tmp_path / "planted.log"
    elsewhere.write_text("".join(_hostile_run([[2]])))
    path.write_text("")
    out: list[str] = []
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:  # rotated away, and a link planted in its place
            path.rename(tmp_path / "codex-login.log.1")
            path.symlink_to(elsewhere)

    follower = Follower(out.append, task=TASK[:8])
    follow(path, follower, sleep=sleep, should_stop=lambda: len(polls) >= 5)
    assert out == [] and not follower.done


@pytest.mark.parametrize(
    ("start", "end"),
    [(1, int("1" + "0" * 400)), (-int("1" + "0" * 400), 1.5), (-1.7e308, 1.7e308)],
    ids=["int-end", "int-start", "floats"],
)
def test_follow_shows_a_run_whose_duration_is_no_float(tmp_path, start, end):
    """A hostile log's times: a 400-digit integer (int - float, or formatted as a float, raised
    OverflowError: exit 70) or the ends of the float range (infinity) give no duration, "-"."""
    log = tmp_path / "codex-login.log"
    envelope = {"task_uuid": TASK, "action_type": "codex:command"}
    log.write_text(
        json.dumps({**envelope, "task_level": [1], "action_status": "started", "timestamp": start})
        + "\n"
        + json.dumps({**envelope, "task_level": [2], "action_status": "succeeded", "timestamp": end})
        + "\n"
    )
    result = _codex_follow(str(log))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].endswith(" -")
