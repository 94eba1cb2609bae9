"""Opening the sign-in in the Windows browser from WSL: a Linux browser is rarely installed there,
and Python's webbrowser does not know the Windows side. Tried in order, the first that starts wins:
`wslview` (wslu), `powershell.exe Start-Process`, `cmd.exe /c start`. The flow says which was used.

WSL is told by WSL_DISTRO_NAME or "microsoft" in /proc/version. A BROWSER setting wins over all of
this (the user chose). Stdlib only; the commands run in a thread (flows.browser).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

PROC_VERSION = Path("/proc/version")
WINDOWS_OPENERS = ("wslview", "powershell.exe", "cmd.exe")
OPEN_TIMEOUT = 15.0  # seconds for one opener to hand the URL over


def running_under_wsl(environ: Mapping[str, str] | None = None, proc_version: Path = PROC_VERSION) -> bool:
    env = os.environ if environ is None else environ
    if env.get("WSL_DISTRO_NAME"):
        return True
    try:
        return "microsoft" in proc_version.read_text(errors="replace").lower()
    except OSError:
        return False


def opener_argv(name: str, program: str, url: str) -> list[str]:
    """The command line that makes `name` open `url` in the Windows default browser."""
    if name == "powershell.exe":
        quoted = url.replace("'", "''")  # a single-quoted PowerShell string
        return [program, "-NoProfile", "-NonInteractive", "-Command", f"Start-Process '{quoted}'"]
    if name == "cmd.exe":
        # `start`'s first quoted argument is the window title; `&` separates commands in cmd.
        return [program, "/c", "start", '""', url.replace("&", "^&")]
    return [program, url]


def open_in_windows_browser(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Open `url` with the first Windows opener found on PATH that succeeds; its name, or None."""
    env = dict(os.environ if environ is None else environ)
    windows_drive = Path("/mnt/c")
    cwd = str(windows_drive) if windows_drive.is_dir() else None  # Windows programs warn on a Linux cwd
    for name in WINDOWS_OPENERS:
        program = shutil.which(name, path=env.get("PATH"))
        if program is None:
            continue
        try:
            completed = subprocess.run(
                opener_argv(name, program, url),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                timeout=OPEN_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if completed.returncode == 0:
            return name
    return None
