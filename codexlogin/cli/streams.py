"""The standard streams, made safe before anything else runs (issue 10, streams); cheap enough
for the fast lane (three fstat calls and two reconfigures).

- fds 0–2 closed at start are reopened on /dev/null, so no file or socket we open later (the
  callback listener above all) becomes our stdout and is inherited by a child (the browser).
- stdout and stderr write unencodable text as backslash escapes: `PYTHONIOENCODING=ascii` or a
  latin-1 locale shows `caf\\xe9` rather than failing the command with exit 70.
- A reader that goes away (`codex login status | head -0`, a closed terminal) ends the command
  quietly with 141 (128 + SIGPIPE, what a shell shows for a writer killed by a broken pipe), never
  an `error:` line or a traceback.
"""

from __future__ import annotations

import os
import sys


def prepare_streams() -> None:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            _reopen_devnull(fd)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) != "backslashreplace":
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream that cannot change now keeps its own rule
                pass


def _reopen_devnull(fd: int) -> None:
    new = os.open(os.devnull, os.O_RDWR)
    if new != fd:
        os.dup2(new, fd)
        os.close(new)
    name = ("stdin", "stdout", "stderr")[fd]
    if getattr(sys, name) is None:  # the interpreter found the fd closed and left the stream unset
        stream = open(fd, "r" if fd == 0 else "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def output_broken(exc: BaseException) -> bool:
    """Whether `exc` is EPIPE from our own stdout or stderr (its reader went away)."""
    if not isinstance(exc, BrokenPipeError):
        return False
    import select

    for fd in (1, 2):
        try:
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            if any(events & select.POLLERR for _fd, events in poller.poll(0)):
                return True
        except (OSError, ValueError):
            continue
    return False


def end_quietly() -> int:
    """After EPIPE on our output: point stdout and stderr at /dev/null so that nothing more
    (the interpreter's last flush included) fails, and return the exit code."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass
    from codexlogin.errors import ExitCode

    return int(ExitCode.OUTPUT_CLOSED)
