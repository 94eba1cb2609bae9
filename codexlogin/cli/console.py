"""What a person sees: the CLI's LoginUI, every line made terminal-safe here (terminal.py)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

from codexlogin.oauth.client import DeviceAuthorization
from codexlogin.terminal import minutes, one_line

PHISHING_WARNING = "Device codes are a common phishing target. Never share this code."
DEVICE_AUTH_HINT = "On a remote or headless machine, use `codex login --device-auth` instead."
SPINNER_REFRESH_PER_SECOND = 5


def sign_in_banner(url: str, port: int, *, opening_browser: bool) -> str:
    lines = [f"Starting local login server on http://localhost:{port}."]
    if opening_browser:
        lines.append("If your browser did not open, navigate to this URL to authenticate:")
    else:
        lines.append("Open this URL in a browser to authenticate:")
    lines += ["", one_line(url), "", DEVICE_AUTH_HINT]
    return "\n".join(lines)


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
        lines += ["", "   Or open this link, which fills in the code for you:", f"   {one_line(device.verification_uri_complete)}"]
    lines += ["", PHISHING_WARNING, ""]
    return "\n".join(lines)


class ConsoleUI:
    """flows.ui.LoginUI on stderr (stdout stays for machine-readable output)."""

    def __init__(self, stderr: TextIO | None = None):
        self.stderr = stderr or sys.stderr

    def _say(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def sign_in_url(self, url: str, port: int, *, opening_browser: bool) -> None:
        self._say(sign_in_banner(url, port, opening_browser=opening_browser))

    def browser_not_opened(self) -> None:
        self._say("Could not open a browser; open the URL above yourself.")

    @contextlib.contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        if not self.stderr.isatty():
            yield
            return
        from rich.console import Console  # only for a terminal: rich is slow to import

        # 5 redraws a second rather than rich's 12.5: a login waits for the browser for tens of
        # seconds, and each redraw costs CPU the browser could use (about half the CPU, issue 11).
        with Console(file=self.stderr).status(one_line(message), refresh_per_second=SPINNER_REFRESH_PER_SECOND):
            yield

    def device_code(self, device: DeviceAuthorization) -> None:
        self._say(device_instructions(device))

    def warning(self, message: str) -> None:
        self._say(f"warning: {one_line(message)}")
