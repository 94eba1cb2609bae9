"""What a person sees: the CLI's LoginUI, every line made terminal-safe here (terminal.py).

The waiting spinner is our own (a daemon thread redrawing one line ten times a second), not
rich's: it shows the time left and the flow's current step, and it costs no import. Whatever
ends the wait (success, a failure, Ctrl-C), the spinner's line is erased and the cursor is left at
the start of an empty line, so the next line (`error: …`) is never glued to half a spinner.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator

from codexlogin.flows.ui import RemoteSession, remote_session
from codexlogin.terminal import as_invoked, inline, minutes, one_line

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike

if TYPE_CHECKING:
    from typing import TextIO

    from codexlogin.oauth.client import DeviceAuthorization  # oauth.client loads ssl: not before the URL

#: Codex CLI 0.171's closing line of the device prompt.
PHISHING_WARNING = "Continue only if you started this login in Codex. If a website or another person gave you this code, cancel."
DEVICE_AUTH_HINT = "On a remote or headless machine, use `codex login --device-auth` instead."
ERASE_LINE = "\r\x1b[2K"


PASTE_LINES = (
    "If the browser runs on another machine, the sign-in ends on a page that",
    "cannot load: copy that page's address, paste it here and press Enter",
    "(it is not shown).",
)


def remote_paste_banner(url: str, port: int, remote: RemoteSession, short: str | None) -> list[str]:
    """The SSH banner when a pasted redirect address is read (cli.paste): the paste first, then
    the port forward, then the device login."""
    return [
        "",
        "This is an SSH session: a browser on your own computer cannot reach this",
        "machine's localhost, so the sign-in cannot come back here by itself.",
        "Open the URL below in your computer's browser; the sign-in then ends on a page",
        "that cannot load: copy that page's address, paste it here and press Enter",
        "(it is not shown).",
        "",
        "Or forward the callback port from your computer (in a new terminal there):",
        "",
        f"    {one_line(remote.forward_command(port))}",
        "",
        f"and open {short} there instead." if short else "and open the URL below there instead.",
        "Or sign in with a code: `codex login --device-auth`.",
        "",
        one_line(url),
    ]


def sign_in_banner(
    url: str,
    port: int,
    *,
    opening_browser: bool,
    remote: RemoteSession | None = None,
    short_url: str | None = None,
    paste: bool = False,
) -> str:
    """`short_url`: the listener's short address that redirects to `url` (listener.decide.start_url);
    `paste`: a pasted redirect address is read from this terminal (cli.paste, flows.paste)."""
    lines = [f"Starting local login server on http://localhost:{port}."]
    short = one_line(short_url) if short_url else None
    if remote is not None and paste:
        return "\n".join(lines + remote_paste_banner(url, port, remote, short))
    if remote is not None:
        lines += [
            "",
            "This is an SSH session: a browser on your own computer cannot reach this machine's localhost,",
            "so the sign-in cannot come back here by itself. Either sign in with a code instead:",
            "",
            "    codex login --device-auth",
            "",
            "or forward the callback port from your computer (in a new terminal there) and keep it open:",
            "",
            f"    {one_line(remote.forward_command(port))}",
            "",
            f"then open {short} (or the URL below) in your computer's browser:"
            if short
            else "then open the URL below in your computer's browser:",
            "",
            one_line(url),
        ]
        return "\n".join(lines)
    if opening_browser:
        lines.append(
            f"If your browser did not open, navigate to {short} or to this URL to authenticate:"
            if short
            else "If your browser did not open, navigate to this URL to authenticate:"
        )
    else:
        lines.append(
            f"Open {short} or this URL in a browser to authenticate:" if short else "Open this URL in a browser to authenticate:"
        )
    lines += ["", one_line(url), ""]
    if paste:
        lines += [*PASTE_LINES, ""]
    lines.append(DEVICE_AUTH_HINT)
    return "\n".join(lines)


def terminal_width(stream: TextIO) -> int | None:
    """The width to lay text out in on a terminal ($COLUMNS overrides the terminal's own); None
    off a terminal: piped output keeps its lines whole, for scripts and logs (as `log` does)."""
    import os

    try:
        if not stream.isatty():
            return None
        columns = os.environ.get("COLUMNS", "")
        return int(columns) if columns.isdigit() and int(columns) > 0 else os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def wrap_prose(text: str, width: int | None) -> str:
    """`text`'s prose lines wrapped to `width` at spaces (a word, a URL, never cut); indented lines
    (commands to copy) and lines without a space (a URL) stay whole."""
    if not width:
        return text
    import textwrap

    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width or line.startswith(" ") or " " not in line:
            lines.append(line)
        else:
            lines += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)


def say_line(text: str, stream: TextIO | None = None) -> None:
    """Print `text` as exactly one line (terminal.inline): for a line that holds values from outside
    (an id_token's email, plan or account, the name of the login it replaced, logout's who)."""
    print(inline(text), file=stream or sys.stdout, flush=True)


def device_instructions(device: DeviceAuthorization) -> str:
    """Issuer-supplied text (links, the code): every value made terminal-safe."""
    lines = [
        "Follow these steps to sign in with ChatGPT using device code authorization:",
        "",
        "1. Open this link in your browser and sign in to your account",
        f"   {one_line(device.verification_uri)}",
        "",
        f"2. Enter this one-time code (expires in {minutes(device.expires_in)})",
        f"   {one_line(device.user_code)}",
    ]
    if device.verification_uri_complete:
        lines += [
            "",
            "   Or open this link, which fills in the code for you:",
            f"   {one_line(device.verification_uri_complete)}",
        ]
    lines += ["", PHISHING_WARNING, ""]
    return "\n".join(lines)


def time_left(seconds: float) -> str:
    """ "4:32 left", "1:02:03 left": whole seconds, rounded up (never "0:00" while time remains)."""
    whole = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(whole, 3600)
    mins, secs = divmod(rest, 60)
    return (f"{hours}:{mins:02d}:{secs:02d}" if hours else f"{mins}:{secs:02d}") + " left"


class Spinner:
    """One redrawn line: a frame, the current step, the time left. `line(now)` is pure (tests);
    `start()` redraws it from a daemon thread until `stop()`."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    ASCII_FRAMES = "|/-\\"
    # 5 redraws a second: a login waits for the browser for tens of seconds, and each redraw costs
    # CPU the browser could use (issue 11 measured rich's 12.5/s at twice the CPU).
    INTERVAL = 0.2
    HINT = "(Ctrl-C to cancel)"
    ECHO_ROOM = 3  # columns left free at the end: the `^C` the terminal echoes, and no pending wrap

    def __init__(
        self,
        stream: TextIO,
        message: str,
        *,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ):
        self.stream = stream
        self.message = one_line(message)
        self.clock = clock
        self.started = clock()
        self.deadline = self.started + timeout if timeout and timeout > 0 else None
        self.width = width
        self.lock = threading.Lock()  # the line is drawn by the thread, erased by others
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        self.frames = self.FRAMES if encoding.startswith("utf") else self.ASCII_FRAMES

    def line(self, now: float) -> str:
        frame = self.frames[int((now - self.started) / self.INTERVAL) % len(self.frames)]
        parts = [frame, self.message]
        if self.deadline is not None:
            parts.append(time_left(self.deadline - now))
        parts.append(self.HINT)
        text = " ".join(parts)
        width = self.width or terminal_width(self.stream) or 80
        # Never wraps, not even with the terminal's `^C` echo after it: one row to erase.
        room = max(width - self.ECHO_ROOM, 2)
        return text if len(text) <= room else text[: room - 1] + "…"

    def update(self, message: str) -> None:
        with self.lock:
            self.message = one_line(message)
        self.draw()

    def draw(self) -> None:
        with self.lock:
            if self._stop.is_set():
                return
            self.stream.write(ERASE_LINE + self.line(self.clock()))
            self.stream.flush()
            self._drawn = True

    def erase(self) -> None:
        """Clear the line (the caller holds `lock`)."""
        if self._drawn:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
            self._drawn = False

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            try:
                self.draw()
            except (OSError, ValueError):  # the terminal went away: stop drawing, never raise
                return

    def start(self) -> None:
        self.draw()
        self._thread = threading.Thread(target=self._run, name="codex-login-spinner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self.lock:
            self._stop.set()
            with contextlib.suppress(OSError, ValueError):
                self.erase()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


class ConsoleUI:
    """flows.ui.LoginUI on stderr (stdout stays for machine-readable output), except the device
    prompt, which goes to stdout as Codex CLI 0.171 prints it (wrappers read the code there)."""

    def __init__(self, stderr: TextIO | None = None, stdout: TextIO | None = None, *, accepts_paste: bool = False):
        self.stderr = stderr or sys.stderr
        self.stdout = stdout or sys.stdout
        self.spinner: Spinner | None = None
        self.accepts_paste = accepts_paste  # the banner offers the pasted redirect (cli.paste)

    def _say(self, text: str, stream: TextIO | None = None) -> None:
        text = as_invoked(text)
        stream = stream or self.stderr
        spinner = self.spinner
        if spinner is None:
            print(text, file=stream, flush=True)
            return
        with spinner.lock:  # a line said while the spinner runs: erase it, say, redraw it below
            spinner.erase()
            print(text, file=stream, flush=True)
        spinner.draw()

    def sign_in_url(self, url: str, port: int, *, opening_browser: bool, short_url: str | None = None) -> None:
        banner = sign_in_banner(
            url,
            port,
            opening_browser=opening_browser,
            remote=remote_session(),
            short_url=short_url,
            paste=self.accepts_paste,
        )
        self._say(wrap_prose(as_invoked(banner), terminal_width(self.stderr)))

    def browser_not_opened(self, reason: str | None = None) -> None:
        if reason:
            self._say(f"{one_line(reason)}; open the URL above in a browser yourself.")
        else:
            self._say("Could not open a browser; open the URL above yourself.")

    def browser_opened(self, how: str) -> None:
        self._say(one_line(how))

    @contextlib.contextmanager
    def waiting(self, message: str, *, timeout: float | None = None) -> Iterator[None]:
        if not self.stderr.isatty() or self.spinner is not None:
            yield
            return
        spinner = self.spinner = Spinner(self.stderr, message, timeout=timeout)
        spinner.start()
        try:
            yield
        finally:
            self.spinner = None
            spinner.stop()  # on Ctrl-C too: the line is erased, the cursor at its start

    def status(self, message: str) -> None:
        if self.spinner is not None:
            self.spinner.update(message)

    def device_code(self, device: DeviceAuthorization) -> None:
        self._say(device_instructions(device), self.stdout)

    def warning(self, message: str) -> None:
        self._say(f"warning: {one_line(message)}")
