"""One credential writer at a time across processes: an advisory lock on $CODEX_HOME/auth.lock.

Issuers rotate refresh tokens and treat a replayed one as theft (the whole grant is revoked), so
two `codex` processes must never refresh with the same token. Every other writer of the stored
credentials takes the same lock too (a login's save, `--with-api-key`, `codex logout`): a refresh
holds it across its network call, so a logout or login that did not wait for it would be undone
when the refresh saves the rotated tokens. The lock is `flock` (POSIX) or
`msvcrt.locking` (Windows) on a file that is never deleted (deleting lock files reopens the race);
the kernel drops it when the holder exits, so a crashed holder cannot wedge later runs.

Waiting polls with a non-blocking attempt and `trio.sleep`, so it is cancellable and runs on
trio's MockClock in tests; no thread is ever left blocked in the kernel holding an fd. The
synchronous variant (for the sync `--with-api-key` path) polls with `time.sleep`, which Ctrl-C
interrupts.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import trio

from codexlogin.errors import StorageFailed, TimedOut

LOCK_FILE_NAME = "auth.lock"
POLL_INTERVAL = 0.05  # first retry; doubles up to MAX_POLL_INTERVAL
MAX_POLL_INTERVAL = 0.5
MIN_LOCK_WAIT = 60.0  # a holder may be a refresh inside a network call of up to exchange_timeout

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageFailed(f"cannot open lock file {path}: {exc.strerror or exc}") from None


def _held_too_long(path: Path, timeout: float) -> TimedOut:
    return TimedOut(
        f"another codex process held {path} for more than {timeout:g}s;"
        " if none is running, try again"
    )


@asynccontextmanager
async def hold_file_lock(path: Path, *, timeout: float) -> AsyncIterator[float]:
    """Hold an exclusive lock on `path` for the block; yields the seconds spent waiting."""
    fd = _open(path)
    try:
        started = trio.current_time()
        delay = POLL_INTERVAL
        with trio.move_on_after(timeout) as waiting:
            while not _try_lock(fd):
                await trio.sleep(delay)
                delay = min(delay * 2, MAX_POLL_INTERVAL)
        if waiting.cancelled_caught:
            raise _held_too_long(path, timeout)
        try:
            yield trio.current_time() - started
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


@contextmanager
def hold_file_lock_sync(path: Path, *, timeout: float) -> Iterator[float]:
    """`hold_file_lock` for synchronous callers (no trio loop): polls with time.sleep."""
    fd = _open(path)
    try:
        started = time.monotonic()
        deadline = started + timeout
        delay = POLL_INTERVAL
        while not _try_lock(fd):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _held_too_long(path, timeout)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_POLL_INTERVAL)
        try:
            yield time.monotonic() - started
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def refresh_lock_path(settings: object) -> Path:
    return settings.codex_home / LOCK_FILE_NAME  # type: ignore[attr-defined]


def lock_wait(settings: object) -> float:
    """How long a writer waits for the lock: longer than a refresh may hold it (its network call)."""
    return max(MIN_LOCK_WAIT, 2 * float(settings.exchange_timeout))  # type: ignore[attr-defined]
