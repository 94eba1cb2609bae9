"""The terminal side of the pasted redirect (flows.paste): while the browser login waits, lines the
user pastes into this terminal, read with the terminal's echo off (the pasted address holds the
authorization code: it is never shown, not even as it is typed).

Offered only when stdin is a terminal this process may read (the foreground job): a background
`codex login &` would be stopped by the terminal for reading it (SIGTTIN) or changing its modes.
The echo is off (`echo_off`) from before the banner until the login ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator

POLL_SECONDS = 0.1  # how soon the reading thread notices that the login ended


def paste_accepted(fd: int | None = None) -> bool:
    """Whether a pasted redirect can be read here: stdin is a terminal and this is its foreground job."""
    try:
        fd = sys.stdin.fileno() if fd is None else fd
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def _read_when_ready(fd: int, stopped: threading.Event) -> bytes | None:
    """One read of what the terminal has (a line, in canonical mode); None once `stopped`."""
    import select

    while not stopped.is_set():
        ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        if ready:
            return os.read(fd, 65536)
    return None


@contextlib.contextmanager
def echo_off(fd: int | None = None) -> Iterator[None]:
    """The terminal `fd` (stdin) without echo for the block, still line-wise (ICANON) and with
    Ctrl-C still a signal (ISIG); its modes restored however the block ends. Turned off before the
    banner is shown, so even a paste typed at once is never echoed."""
    import termios

    fd = sys.stdin.fileno() if fd is None else fd
    try:
        saved = termios.tcgetattr(fd)
        quiet = list(saved)
        quiet[3] &= ~(termios.ECHO | termios.ECHONL)
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (OSError, termios.error):
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


async def terminal_lines(fd: int | None = None) -> AsyncIterator[str]:
    """The lines typed or pasted on the terminal `fd` (stdin), until end of input (`echo_off` keeps
    them from being shown)."""
    import trio

    fd = sys.stdin.fileno() if fd is None else fd
    stopped = threading.Event()
    try:
        buffered = b""
        while True:
            chunk = await trio.to_thread.run_sync(_read_when_ready, fd, stopped, abandon_on_cancel=True)
            if not chunk:  # Ctrl-D, or the terminal went away: the listener still waits
                return
            buffered += chunk
            while b"\n" in buffered or b"\r" in buffered:
                line, _, buffered = buffered.replace(b"\r", b"\n").partition(b"\n")
                yield line.decode("utf-8", "replace")
    except OSError:
        return
    finally:
        stopped.set()  # the reading thread returns within POLL_SECONDS
