"""One credential writer at a time across processes: an advisory lock on $CODEX_HOME/auth.lock.

Issuers rotate refresh tokens and treat a replayed one as theft (the whole grant is revoked), so
two `codex` processes must never refresh with the same token. Every other writer of the stored
credentials takes the same lock too (a login's save, `--with-api-key`, `codex logout`): a refresh
holds it across its network call, so a logout or login that did not wait for it would be undone
when the refresh saves the rotated tokens. The lock is `flock` (POSIX) or
`msvcrt.locking` (Windows) on a file that is never deleted (deleting lock files reopens the race);
the kernel drops it when the holder exits, so a crashed holder cannot wedge later runs.

Waiting polls with a non-blocking attempt and `trio.sleep`, so it is cancellable and runs on
trio's MockClock in tests; no thread is ever left blocked in the kernel holding an fd. Every
writer runs under trio (`--with-api-key` too), so there is no synchronous variant.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from codexlogin.config import Settings
from codexlogin.errors import StorageFailed, TimedOut

LOCK_FILE_NAME = "auth.lock"
POLL_INTERVAL = 0.05  # first retry; doubles up to MAX_POLL_INTERVAL
MAX_POLL_INTERVAL = 0.5
MIN_LOCK_WAIT = 60.0  # a holder may be a refresh inside a network call of up to exchange_timeout

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
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
    """Open (creating it 0600) the lock file; a symlink there is refused, never followed: O_CREAT
    through a planted link would create or truncate a file of the attacker's choosing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise StorageFailed(f"refusing to open lock file {path}: it is a symbolic link; remove it and try again") from None
        raise StorageFailed(f"cannot open lock file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or device planted there
        os.close(fd)
        raise StorageFailed(f"refusing to use lock file {path}: it is not a regular file; remove it and try again")
    return fd


def _held_too_long(path: Path, timeout: float) -> TimedOut:
    return TimedOut(f"another codex process held {path} for more than {timeout:.3g}s; if none is running, try again")


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


def refresh_lock_path(settings: Settings) -> Path:
    return settings.codex_home / LOCK_FILE_NAME


def lock_wait(settings: Settings) -> float:
    """How long a writer waits for the lock: longer than a refresh may hold it (its network call)."""
    return max(MIN_LOCK_WAIT, 2 * float(settings.exchange_timeout))
