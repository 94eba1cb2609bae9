"""diagnostics/rotation.py on real files: the log is capped, one compressed previous file is kept,
nothing is ever lost, and anything odd (symlinks, directories, unwritable dirs) is left alone."""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlogin.diagnostics.rotation import MAX_LOG_BYTES, ROTATED_SUFFIX, log_files_in_order, rotate_if_needed
from tests.harness import get, port_of

CAP = 1024


def rotated(log: Path) -> Path:
    return log.with_name(log.name + ROTATED_SUFFIX)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    os.chmod(path, 0o600)
    return path


def leftovers(directory: Path) -> list[str]:
    """Anything but the log, its rotated copy and the lock sidecar (temp files, `.rotating`)."""
    keep = {"codex-login.log", "codex-login.log.1.gz", "codex-login.log.rotate.lock"}
    return sorted(name for name in os.listdir(directory) if name not in keep)


@pytest.fixture
def logs(tmp_path):
    """A log dir of its own (conftest puts a home dir into tmp_path)."""
    directory = tmp_path / "logs"
    directory.mkdir(mode=0o700)
    return directory


def test_constants():
    assert MAX_LOG_BYTES == 8 * 1024 * 1024
    assert ROTATED_SUFFIX == ".1.gz"


@pytest.mark.parametrize("size", [0, 1, CAP - 1, CAP])
def test_at_or_under_the_cap_nothing_happens(logs, size):
    log = write(logs / "codex-login.log", os.urandom(size))
    before = log.read_bytes()
    assert rotate_if_needed(log, max_bytes=CAP) is False
    assert log.read_bytes() == before
    assert os.listdir(logs) == ["codex-login.log"]  # not even a lock file


def test_missing_log_is_not_an_error(logs):
    assert rotate_if_needed(logs / "codex-login.log", max_bytes=CAP) is False
    assert rotate_if_needed(logs / "absent" / "codex-login.log") is False
    assert os.listdir(logs) == []


def test_over_the_cap_content_moves_to_gz(logs):
    content = b"".join(b'{"n": %d}\n' % i for i in range(400))
    assert len(content) > CAP
    log = write(logs / "codex-login.log", content)
    assert rotate_if_needed(log, max_bytes=CAP) is True
    assert gzip.decompress(rotated(log).read_bytes()) == content
    assert stat.S_IMODE(os.lstat(rotated(log)).st_mode) == 0o600
    assert not log.exists()
    assert leftovers(logs) == []
    # The next run starts a fresh file; it is under the cap, so it stays.
    write(log, b"fresh\n")
    assert rotate_if_needed(log, max_bytes=CAP) is False
    assert log_files_in_order(log) == [rotated(log), log]


def test_default_cap(logs):
    log = write(logs / "codex-login.log", b"x" * MAX_LOG_BYTES)
    assert rotate_if_needed(log) is False
    with log.open("ab") as f:
        f.write(b"y")
    assert rotate_if_needed(log) is True
    assert gzip.decompress(rotated(log).read_bytes()) == b"x" * MAX_LOG_BYTES + b"y"


def test_second_rotation_replaces_the_first(logs):
    log = write(logs / "codex-login.log", b"first " * 500)
    assert rotate_if_needed(log, max_bytes=CAP) is True
    write(log, b"second " * 500)
    assert rotate_if_needed(log, max_bytes=CAP) is True
    assert gzip.decompress(rotated(log).read_bytes()) == b"second " * 500
    assert sorted(os.listdir(logs)) == ["codex-login.log.1.gz", "codex-login.log.rotate.lock"]


def test_appender_holding_the_log_open_writes_into_the_rotated_inode(logs):
    log = logs / "codex-login.log"
    with log.open("ab") as appender:
        appender.write(b"a" * (CAP + 1))
        appender.flush()
        assert rotate_if_needed(log, max_bytes=CAP) is True
    assert gzip.decompress(rotated(log).read_bytes()) == b"a" * (CAP + 1)


def test_symlink_is_left_alone(logs):
    target = write(logs / "elsewhere", b"z" * (CAP * 4))
    log = logs / "codex-login.log"
    log.symlink_to(target)
    assert rotate_if_needed(log, max_bytes=CAP) is False
    assert log.is_symlink() and target.read_bytes() == b"z" * (CAP * 4)
    assert not rotated(log).exists()
    assert log_files_in_order(log) == []


def test_directory_is_left_alone(logs):
    log = logs / "codex-login.log"
    log.mkdir()
    write(log / "inside", b"z" * (CAP * 4))
    assert rotate_if_needed(log, max_bytes=0) is False
    assert (log / "inside").read_bytes() == b"z" * (CAP * 4)
    assert not rotated(log).exists()


def test_symlinked_lock_file_is_not_followed(logs):
    victim = write(logs / "victim", b"keep")
    log = write(logs / "codex-login.log", b"x" * (CAP + 1))
    (logs / "codex-login.log.rotate.lock").symlink_to(victim)
    assert rotate_if_needed(log, max_bytes=CAP) is False
    assert log.read_bytes() == b"x" * (CAP + 1) and victim.read_bytes() == b"keep"


def _make_unwritable(directory: Path) -> None:
    os.chmod(directory, 0o500)
    if os.geteuid() == 0:  # root ignores modes; an immutable dir refuses root too
        os.chmod(directory, 0o700)
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode:
            pytest.skip("running as root without chattr +i: cannot make a directory unwritable")


def _make_writable(directory: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(directory)], capture_output=True)
    os.chmod(directory, 0o700)


@pytest.mark.parametrize("lock_exists", [False, True])
def test_unwritable_directory_returns_false_and_keeps_the_log(logs, lock_exists):
    directory = logs / "logs"
    directory.mkdir()
    log = write(directory / "codex-login.log", b"x" * (CAP * 3))
    if lock_exists:  # the lock opens, so the failure is the rename itself
        write(directory / "codex-login.log.rotate.lock", b"")
    _make_unwritable(directory)
    try:
        assert rotate_if_needed(log, max_bytes=CAP) is False
    finally:
        _make_writable(directory)
    assert log.read_bytes() == b"x" * (CAP * 3)
    assert not rotated(log).exists() and leftovers(directory) == []


def test_failed_compression_puts_the_log_back(logs):
    log = write(logs / "codex-login.log", b"x" * (CAP * 3))
    old = write(logs / "old.gz", gzip.compress(b"previous"))
    rotated(log).mkdir()  # os.replace onto a non-empty directory fails
    write(rotated(log) / "occupied", b"")
    assert rotate_if_needed(log, max_bytes=CAP) is False
    assert log.read_bytes() == b"x" * (CAP * 3)
    assert leftovers(logs) == ["old.gz"] and old.exists()


def test_leftover_rotating_file_from_a_crash_is_finished_first(logs):
    log = write(logs / "codex-login.log", b"current\n")
    write(logs / "codex-login.log.rotating", b"crashed mid-rotation\n")
    assert rotate_if_needed(log, max_bytes=CAP) is True
    assert gzip.decompress(rotated(log).read_bytes()) == b"crashed mid-rotation\n"
    assert log.read_bytes() == b"current\n"
    assert leftovers(logs) == []


def test_busy_lock_means_someone_else_rotates(logs):
    log = write(logs / "codex-login.log", b"x" * (CAP + 1))
    holder = os.open(logs / "codex-login.log.rotate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # a separate open file description: conflicts in-process
        assert rotate_if_needed(log, max_bytes=CAP) is False
        assert log.read_bytes() == b"x" * (CAP + 1)
    finally:
        os.close(holder)
    assert rotate_if_needed(log, max_bytes=CAP) is True


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_rotators_at_most_one_wins_and_nothing_is_lost(logs, round_):
    content = os.urandom(CAP * 64)
    log = write(logs / "codex-login.log", content)
    barrier = threading.Barrier(8)
    results: list[object] = []

    def rotate() -> None:
        barrier.wait()
        try:
            results.append(rotate_if_needed(log, max_bytes=CAP))
        except BaseException as exc:  # must never raise
            results.append(exc)

    threads = [threading.Thread(target=rotate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results, key=repr) == [False] * 7 + [True]
    assert gzip.decompress(rotated(log).read_bytes()) == content
    assert not log.exists() and leftovers(logs) == []


def test_log_files_in_order(logs):
    log = logs / "codex-login.log"
    assert log_files_in_order(log) == []
    write(log, b"now\n")
    assert log_files_in_order(log) == [log]
    write(rotated(log), gzip.compress(b"before\n"))
    assert log_files_in_order(log) == [rotated(log), log]
    log.unlink()
    assert log_files_in_order(log) == [rotated(log)]


def test_log_files_in_order_skips_non_regular_files(logs):
    log = logs / "codex-login.log"
    rotated(log).mkdir()
    log.symlink_to(write(logs / "target", b"x"))
    assert log_files_in_order(log) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(min_value=0, max_value=2 * CAP), seed=st.binary(min_size=1, max_size=64), previous=st.booleans())
def test_nothing_is_lost_around_the_cap(logs, size, seed, previous):
    directory = Path(tempfile.mkdtemp(dir=logs))
    content = (seed * (size // len(seed) + 1))[:size]
    log = write(directory / "codex-login.log", content)
    if previous:
        write(rotated(log), gzip.compress(b"older run\n"))
    did = rotate_if_needed(log, max_bytes=CAP)
    assert did is (size > CAP)
    if did:
        assert gzip.decompress(rotated(log).read_bytes()) == content
        assert not log.exists()
    else:
        assert log.read_bytes() == content
        assert not previous or gzip.decompress(rotated(log).read_bytes()) == b"older run\n"
    assert leftovers(directory) == []


# --- another run rotates while this one writes (issue 22, point 7) ---------------------------------


@pytest.mark.concurrency
async def test_a_run_that_writes_while_another_rotates_keeps_the_rest_of_its_log(tmp_path, dev_issuer):
    """A browser login waits (its log open); the log grows past the cap; a doctor run rotates it.
    The waiting login is then cancelled: its end (and its reference) must be in the new log, so
    `codex login log --grep REF` finds the whole run. Before, it went on writing into the removed
    file and its end was lost. Real subprocesses, events only (the URL on stderr, process exits)."""
    import json
    import signal
    import sys

    import trio

    home = tmp_path / "codex-home"
    env = {
        **os.environ,
        "CODEX_HOME": str(home),
        "CODEX_LOGIN_ISSUER": dev_issuer.issuer_url,
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
    }
    codex = [sys.executable, "-m", "codexlogin"]
    log = home / "log" / "codex-login.log"
    with trio.fail_after(60):
        login = await trio.lowlevel.open_process(
            [*codex, "login", "--port", "0", "--no-browser"], env=env, stderr=subprocess.PIPE
        )
        seen = b""
        while b"/oauth/authorize?" not in seen or not seen.endswith(b"\n"):
            chunk = await login.stderr.receive_some(4096)
            assert chunk, seen
            seen += chunk
        # The URL comes before the log is opened (issue 24: nothing the URL does not need runs
        # before it); the listener answers only inside the run, whose log is open by then.
        url = next(line for line in seen.decode().splitlines() if "/oauth/authorize?" in line).strip()
        await get(f"http://127.0.0.1:{port_of(url)}/")
        started = [json.loads(line) for line in log.read_text().splitlines()]
        (task,) = {m["task_uuid"] for m in started if m.get("action_type") == "codex:command"}
        with log.open("a") as handle:  # past the cap: the next run rotates it
            handle.write(("x" * 1023 + "\n") * (MAX_LOG_BYTES // 1024 + 1))
        doctor = await trio.run_process(
            [*codex, "login", "doctor"], env=env, capture_stdout=True, capture_stderr=True, check=False
        )
        assert rotated(log).exists() and log.stat().st_size < MAX_LOG_BYTES, doctor.stderr
        login.send_signal(signal.SIGINT)
        assert await login.wait() == 130
        while chunk := await login.stderr.receive_some(4096):
            seen += chunk
        await login.stderr.aclose()
    assert "(ref " not in seen.decode()  # the user's own Ctrl-C: no pointer to the log on the terminal
    (reference,) = {m["reference"] for m in started if m.get("action_type") == "codex:command"}
    after = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    ends = [m for m in after if m.get("task_uuid") == task and m.get("action_type") == "codex:command"]
    assert ends and ends[-1]["action_status"] == "failed" and ends[-1]["outcome"] == "cancelled"
    found = subprocess.run(
        [*codex, "login", "log", "--grep", reference, "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert found.returncode == 0, found.stderr
    (run,) = [json.loads(line) for line in found.stdout.splitlines()]  # one run, the whole of it: start and end
    assert run["task_uuid"] == task and run["status"] == "cancelled" and run["end_fields"]["outcome"] == "cancelled"
