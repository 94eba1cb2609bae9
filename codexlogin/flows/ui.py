"""How a flow talks to a person: a small protocol the CLI implements (cli.console.ConsoleUI).

Flows never print. They say what happened (the URL to open, a browser that did not start, a
device code, a warning) and how long they wait; the implementation decides what a person sees and
makes it terminal-safe in one place. `SilentUI` is for library callers that want no output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from codexlogin.oauth.client import DeviceAuthorization


class LoginUI(Protocol):
    def sign_in_url(self, url: str, port: int, *, opening_browser: bool) -> None:
        """The browser login listens on `port`; the user signs in at `url`."""

    def browser_not_opened(self) -> None:
        """The browser could not be started; the user opens the URL themselves."""

    def waiting(self, message: str) -> AbstractContextManager[object]:
        """Held while the flow waits for the user (a spinner on a terminal)."""

    def device_code(self, device: DeviceAuthorization) -> None:
        """Where to enter which one-time code (issuer-supplied text)."""

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the flow."""


class SilentUI:
    """A LoginUI that shows nothing."""

    def sign_in_url(self, url: str, port: int, *, opening_browser: bool) -> None:
        pass

    def browser_not_opened(self) -> None:
        pass

    @contextlib.contextmanager
    def waiting(self, message: str) -> Iterator[None]:
        yield

    def device_code(self, device: DeviceAuthorization) -> None:
        pass

    def warning(self, message: str) -> None:
        pass
