"""Doctor's browser check: a browser can be launched (BROWSER, else webbrowser), with hints for SSH,
WSL and machines without a display; a warning, not a failure, where the device login works.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from codexlogin.support.doctor.report import DEVICE_AUTH_HINT, FAIL, OK, WARN, Result

if TYPE_CHECKING:
    from codexlogin.config import Settings

PROC_VERSION = Path("/proc/version")


def remote_context(environ: Mapping[str, str], platform: str, proc_version: str) -> list[tuple[str, str]]:
    """(reason, hint) pairs for sessions where a local browser cannot finish the login."""
    found: list[tuple[str, str]] = []
    if environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"):
        found.append(
            (
                "this is an SSH session: a browser on your own computer cannot reach this machine's localhost callback",
                f"{DEVICE_AUTH_HINT}, or forward the callback port (ssh -L PORT:localhost:PORT)",
            )
        )
    wsl = platform.startswith("linux") and "microsoft" in proc_version.lower()
    if wsl:
        found.append(
            (
                "this is WSL: the Windows browser is opened through wslview, powershell.exe or cmd.exe, or BROWSER",
                f"if no browser opens, install wslu (wslview) or set BROWSER, or {DEVICE_AUTH_HINT}",
            )
        )
    elif platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        found.append(("no graphical display (DISPLAY and WAYLAND_DISPLAY are unset)", DEVICE_AUTH_HINT))
    return found


def find_browser(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(browser found, problem): BROWSER entries as webbrowser uses them, else webbrowser.get()."""
    entries = [entry for entry in environ.get("BROWSER", "").split(os.pathsep) if entry.strip()]
    if entries:
        for entry in entries:
            try:
                command = shlex.split(entry)[0]
            except (ValueError, IndexError):
                continue
            if shutil.which(command):
                return f"BROWSER={entry}", None
        return None, f"BROWSER={environ['BROWSER']} names no executable command"
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return None, "no browser found (webbrowser could not locate a runnable browser)"
    return str(getattr(browser, "name", "") or type(browser).__name__), None


def _read_proc_version() -> str:
    try:
        return PROC_VERSION.read_text(errors="replace")
    except OSError:
        return ""


def without_browser(result: Result) -> Result:
    """A browser failure where the device login works: a warning, advising the device login."""
    status, detail, hint = result
    if status != FAIL:
        return result
    advice = f"{DEVICE_AUTH_HINT}; or set BROWSER to your browser's command, or open the printed URL yourself"
    if hint and hint.startswith(DEVICE_AUTH_HINT):  # e.g. the SSH advice: device login or a port forward
        advice = hint
    return WARN, f"{detail}; the device login works with this issuer", advice


def browser_result(settings: Settings, environ: Mapping[str, str], platform: str, proc_version: str) -> Result:
    remote = remote_context(environ, platform, proc_version)
    if settings.no_browser:
        detail = "no_browser is set: codex login prints the URL for you to open"
        if remote:
            return WARN, f"{detail}; {remote[0][0]}", remote[0][1]
        return OK, detail, None
    found, problem = find_browser(environ)
    wsl = platform.startswith("linux") and ("microsoft" in proc_version.lower() or bool(environ.get("WSL_DISTRO_NAME")))
    if wsl and not environ.get("BROWSER"):  # the login opens the Windows browser (codexlogin.wsl)
        from codexlogin.wsl import WINDOWS_OPENERS

        opener = next((name for name in WINDOWS_OPENERS if shutil.which(name, path=environ.get("PATH"))), None)
        if opener is not None:
            return OK, f"the Windows browser, through {opener} (WSL)", None
    if found is None:
        hint = (
            remote[0][1]
            if remote
            else f"set BROWSER to your browser's command, open the printed URL yourself, or {DEVICE_AUTH_HINT}"
        )
        reason = f"{problem}; {remote[0][0]}" if remote else str(problem)
        return FAIL, reason, hint
    if remote:
        return WARN, f"{found}, but {remote[0][0]}", remote[0][1]
    return OK, f"{found}", None


async def check_browser(settings: Settings, timeout: float, device_login: Callable[[], Awaitable[bool]] | None = None) -> Result:
    """browser_result in a thread, bounded; a failure is a warning when `device_login()` says the
    device login works with this issuer."""
    import trio

    environ = dict(os.environ)
    result: Result = (WARN, f"looking for a browser took longer than {timeout:g} s", "set BROWSER to your browser's command")
    with trio.move_on_after(timeout):
        result = await trio.to_thread.run_sync(
            browser_result, settings, environ, sys.platform, _read_proc_version(), abandon_on_cancel=True
        )
    if device_login is None or DEVICE_AUTH_HINT not in (result[2] or ""):
        return result
    if await device_login():
        return without_browser(result) if result[0] == FAIL else result
    return without_device_login(result)


PASTE_HINT = "open the printed URL in any browser and paste the address it ends on into the waiting `codex login`"


def without_device_login(result: Result) -> Result:
    """A browser result whose advice is the device login, where the device login cannot work (a
    standard issuer without a device endpoint): the pasted redirect is advised instead."""
    status, detail, hint = result
    return status, f"{detail}; this issuer offers no device login", (hint or "").replace(DEVICE_AUTH_HINT, PASTE_HINT)
