"""Keep codex-login.log bounded: past MAX_LOG_BYTES it moves to `<log>.1.gz` and a fresh log starts.

Why: every run appends to the log, so unbounded it would fill the disk. Exactly one previous file
is kept, gzip-compressed (each rotation replaces it), so disk use stays near the cap plus one
compressed copy; readers that want every run read `log_files_in_order(log)`, oldest first.
Rotation never raises: on any failure the log stays as it was (logging must never break a login).

Under a non-blocking lock on `<log>.rotate.lock` (a second rotator just gives up), the log is
renamed to `<log>.rotating` (an appender holding it open notices before its next write and opens
the new log: destination.ReopeningLogFile; a line it wrote just before is in `.rotating`), streamed
into a 0600 temp file in the same dir, fsynced and os.replace'd over `.1.gz`, then `.rotating` is
removed. A crash leaves the old or the new `.1.gz`, never half of one; a failed compression puts
the log back, and a leftover `.rotating` is finished by the next call before anything else moves.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from contextlib import suppress
from pathlib import Path
from typing import IO

if sys.platform == "win32":  # pragma: no cover - Windows only
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


MAX_LOG_BYTES = 8 * 1024 * 1024
ROTATED_SUFFIX = ".1.gz"
_CHUNK = 64 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _is_regular(path: Path, larger_than: int = -1) -> bool:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size > larger_than


def _compress(src: Path, dst: Path) -> None:
    with open(os.open(src, os.O_RDONLY | _NOFOLLOW), "rb") as source:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise OSError(f"{src} is not a regular file")
        import gzip  # only when rotating or reading a rotated file: start-up stays light
        import shutil
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=dst.name + ".", suffix=".tmp")  # 0600
        try:
            with open(fd, "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw) as out:
                    shutil.copyfileobj(source, out, _CHUNK)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, dst)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise


def rotate_if_needed(log_file: Path, *, max_bytes: int = MAX_LOG_BYTES) -> bool:
    """Move `log_file` (a regular file over `max_bytes`) to `<log>.1.gz`; True when it rotated."""
    aside = log_file.with_name(log_file.name + ".rotating")
    try:
        if not (_is_regular(log_file, max_bytes) or os.path.lexists(aside)):
            return False
        lock_fd = os.open(log_file.with_name(log_file.name + ".rotate.lock"), os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
        try:  # closing the fd releases the lock
            _try_lock(lock_fd)
            if not os.path.lexists(aside):  # else finish a crashed rotation first
                if not _is_regular(log_file, max_bytes):
                    return False  # another process rotated it since our first look
                os.replace(log_file, aside)
            try:
                _compress(aside, log_file.with_name(log_file.name + ROTATED_SUFFIX))
            except OSError:  # e.g. disk full: put the log back unless a new one was started
                with suppress(OSError):
                    os.link(aside, log_file)
                    os.unlink(aside)
                raise
            os.unlink(aside)
        finally:
            os.close(lock_fd)
        return True
    except (OSError, ValueError):
        return False


def log_files_in_order(log_file: Path) -> list[Path]:
    """The files holding every logged run, oldest first: `[<log>.1.gz, <log>]`, those that exist."""
    rotated = log_file.with_name(log_file.name + ROTATED_SUFFIX)
    return [path for path in (rotated, log_file) if _is_regular(path)]


#: A log line longer than this (in characters) is skipped whole and counted as malformed: our own
#: lines are a few KB (every field is capped), so only a foreign or broken file has longer ones.
MAX_LINE_CHARS = 1024 * 1024
#: What a skipped over-long line reads as: not JSON, so the renderer counts it as a skipped line.
OVERLONG_LINE = "\x00<over-long line skipped>\n"


class BoundedLines(io.TextIOWrapper):
    """UTF-8 text (undecodable bytes replaced) whose lines are at most `max_chars` long, read in
    bounded memory.

    Iterating reads with `readline(limit)`, so a line without end (`/dev/zero`, a 4 GB line) is
    read and thrown away piece by piece and yields OVERLONG_LINE once (counted in `overlong`).
    `close()` also closes `raw`, the file under a gzip reader (GzipFile leaves it open).
    """

    def __init__(self, buffer: IO[bytes], *, max_chars: int = MAX_LINE_CHARS, raw: IO[bytes] | None = None) -> None:
        super().__init__(buffer, encoding="utf-8", errors="replace")
        self._raw = raw
        self.max_chars = max_chars
        self.overlong = 0

    def __next__(self) -> str:  # type: ignore[override]
        limit = self.max_chars + 1  # the line and its newline
        line = self.readline(limit)
        if not line:
            raise StopIteration
        if len(line) == limit and line[-1] != "\n":
            while (rest := self.readline(_CHUNK)) and rest[-1] != "\n":
                pass
            self.overlong += 1
            return OVERLONG_LINE
        return line

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._raw is not None:
                self._raw.close()


def _not_regular(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_text(path: Path, *, max_line_chars: int = MAX_LINE_CHARS) -> BoundedLines:
    """One log file as text lines for a reader (UTF-8, undecodable bytes replaced; `.gz`
    gunzipped; lines capped at `max_line_chars`). Regular files only: a FIFO (opened without
    blocking), a device such as /dev/zero or a socket raises OSError(EINVAL) saying so — a
    stream belongs on stdin (`codex login log -`); a directory raises IsADirectoryError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{_not_regular(mode)}, not a regular file (pipe a stream to `codex login log -`)")
        os.set_blocking(fd, True)
        raw = open(fd, "rb")  # noqa: SIM115 - BoundedLines closes it
    except BaseException:
        os.close(fd)
        raise
    if path.name.endswith(".gz"):
        import gzip

        gunzipped = gzip.GzipFile(filename="", mode="rb", fileobj=raw)
        return BoundedLines(gunzipped, max_chars=max_line_chars, raw=raw)  # type: ignore[arg-type]
    return BoundedLines(raw, max_chars=max_line_chars)
