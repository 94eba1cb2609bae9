"""How a flow talks to a person: a small protocol the CLI implements (cli.console.ConsoleUI).

Flows never print. They say what happened (the URL to open, a browser that did not start, a
device code, a warning) and how long they wait; the implementation decides what a person sees and
makes it terminal-safe in one place. `SilentUI` is for library callers that want no output.

`remote_session` tells an SSH session from a local one (stdlib only: the banner is shown before
trio loads): a browser on the user's own computer cannot reach this machine's localhost there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time
    from typing import Protocol

    from codexlogin.config import Settings
    from codexlogin.listener.prepare import PreparedLogin
    from codexlogin.oauth.client import DeviceAuthorization  # oauth.client loads ssl: not before the URL
else:
    from codexlogin.record import record  # dataclass(frozen=True) without its start-up cost

    Protocol = object  # LoginUI is a protocol for the type checker; at run time a plain class


@record(frozen=True)
class RemoteSession:
    """An SSH session: who and where, for the `ssh -L` line the banner offers."""

    user: str
    host: str  # the address the SSH client connected to, else this machine's name
    ssh_port: str | None = None  # the SSH server's port, when it is not 22

    def forward_command(self, port: int) -> str:
        """`ssh -L PORT:127.0.0.1:PORT user@host`: the callback port of this login, forwarded."""
        extra = f" -p {self.ssh_port}" if self.ssh_port else ""
        return f"ssh -L {port}:127.0.0.1:{port}{extra} {self.user}@{self.host}"


def remote_session(environ: Mapping[str, str] | None = None) -> RemoteSession | None:
    """The SSH session this runs in (SSH_CONNECTION or SSH_TTY set), else None."""
    env = os.environ if environ is None else environ
    connection, tty = env.get("SSH_CONNECTION", "").split(), env.get("SSH_TTY", "")
    if not connection and not tty:
        return None
    import socket  # only over SSH

    user = env.get("USER") or env.get("LOGNAME") or "you"
    host = connection[2] if len(connection) == 4 else socket.gethostname()
    ssh_port = connection[3] if len(connection) == 4 and connection[3] != "22" else None
    return RemoteSession(user=user, host=host, ssh_port=ssh_port)


class LoginUI(Protocol):
    def sign_in_url(self, url: str, port: int, *, opening_browser: bool, short_url: str | None = None) -> None:
        """The browser login listens on `port`; the user signs in at `url`, or at `short_url`,
        the listener's short address that redirects there."""

    def browser_not_opened(self, reason: str | None = None) -> None:
        """The browser was not started (`reason`, e.g. only a text-mode browser was found, or it
        could not be started); the user opens the URL themselves."""

    def browser_opened(self, how: str) -> None:
        """The browser was started in a way worth saying (`how`: e.g. the Windows browser from WSL, with wslview)."""

    def waiting(self, message: str, *, timeout: float | None = None) -> AbstractContextManager[object]:
        """Held while the flow waits for the user (a spinner on a terminal); `timeout`: seconds
        until the flow gives up (the spinner shows the time left), None for no limit."""

    def status(self, message: str) -> None:
        """What the flow does now, while still waiting (e.g. exchanging the code): the spinner's
        new text. Not shown without a spinner."""

    def device_code(self, device: DeviceAuthorization) -> None:
        """Where to enter which one-time code (issuer-supplied text)."""

    def warning(self, message: str) -> None:
        """Something the user should know that does not stop the flow."""


class SilentUI:
    """A LoginUI that shows nothing."""

    def sign_in_url(self, url: str, port: int, *, opening_browser: bool, short_url: str | None = None) -> None:
        pass

    def browser_not_opened(self, reason: str | None = None) -> None:
        pass

    def browser_opened(self, how: str) -> None:
        pass

    @contextlib.contextmanager
    def waiting(self, message: str, *, timeout: float | None = None) -> Iterator[None]:
        yield

    def status(self, message: str) -> None:
        pass

    def device_code(self, device: DeviceAuthorization) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


def announce(settings: Settings, ui: LoginUI, prepared: PreparedLogin) -> None:
    """Show where to sign in, once, before the browser login waits (no event loop needed: the CLI
    shows it before trio loads when it can). What the checks before it found unsafe (a CODEX_HOME
    others can write) is said first."""
    for warning in prepared.warnings:
        ui.warning(warning)
    ui.sign_in_url(prepared.sign_in_url, prepared.port, opening_browser=not settings.no_browser, short_url=prepared.short_url)
