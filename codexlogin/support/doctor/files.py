"""Doctor's filesystem checks: CODEX_HOME and the log directory can hold files, codex-login.log is
appendable, stored credentials are readable and auth.json has mode 0600.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from codexlogin.redact import scrub_text
from codexlogin.support.doctor.report import FAIL, OK, WARN, Result

if TYPE_CHECKING:
    from codexlogin.config import Settings


def probe_directory(path: Path, what: str, hint: str) -> Result:
    """Create and remove a temp file in `path`, or in its nearest existing ancestor if missing."""
    probe = path
    while not probe.is_dir():
        if probe.exists() or probe.is_symlink():
            return FAIL, f"{what} {path} cannot be created: {probe} is not a directory", hint
        if probe.parent == probe:
            return FAIL, f"{what} {path} has no existing parent directory", hint
        probe = probe.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".codex-doctor-", suffix=".tmp", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return FAIL, f"{what} {path}: cannot create a file in {probe}: {exc.strerror or exc}", hint
    if probe != path:
        return OK, f"{what} {path} does not exist yet; it can be created (in {probe})", None
    return OK, f"{what} {path} is writable", None


def check_codex_home(settings: Settings) -> Result:
    """Writable, and ours alone: a CODEX_HOME another user owns or may write is a fail (they could
    plant or swap the credentials and the lock); the login only warns about it."""
    from codexlogin.listener.prepare import codex_home_problem

    result = probe_directory(settings.codex_home, "CODEX_HOME", "set CODEX_HOME to a directory you can write (default ~/.codex)")
    if result[0] != OK:
        return result
    problem = codex_home_problem(settings.codex_home)
    if problem is not None:
        return FAIL, problem[0], problem[1]
    return result


def check_log_dir(settings: Settings) -> Result:
    hint = "pass --log-dir DIR or set CODEX_LOGIN_LOG_DIR to a writable directory (login works without a log, support does not)"
    status, detail, advice = probe_directory(settings.resolved_log_dir, "log directory", hint)
    log_file = settings.log_file
    if status != OK or not (log_file.exists() or log_file.is_symlink()):
        return status, detail, advice
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(log_file, flags)
    except OSError as exc:
        return FAIL, f"{log_file} cannot be appended to: {exc.strerror or exc}", hint
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return FAIL, f"{log_file} is not a regular file", hint
    finally:
        os.close(fd)
    return OK, f"{detail}; {log_file.name} can be appended to", None


def check_auth_json(settings: Settings) -> Result:
    from codexlogin.credentials.store import load_credentials
    from codexlogin.errors import StorageFailed

    path = settings.auth_file
    try:
        auth, backend = load_credentials(settings)
    except StorageFailed as failure:
        if settings.cli_auth_credentials_store in ("keyring", "auto") and not path.exists():
            hint = "fix the system keyring, or set cli_auth_credentials_store = file"
        else:
            hint = f"fix or remove {path} (`codex logout`), then run `codex login`"
        return FAIL, scrub_text(failure.detail), hint
    if auth is None:
        detail = f"no credentials stored yet ({backend}); not logged in"
    else:
        detail = f"{auth.auth_mode} credentials stored ({backend}: {path if backend == 'file' else 'system keyring'})"
    if backend == "file" and path.exists():
        from codexlogin.credentials.files import permission_problem

        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            return FAIL, f"cannot stat {path}: {exc.strerror or exc}", f"fix the permissions of {path}"
        unsafe = permission_problem(path)  # another owner or group/world bits: planted or readable
        if unsafe is not None:
            return (FAIL if unsafe[0] == "fail" else WARN), f"{detail}; {unsafe[1]}", unsafe[2]
        if mode != 0o600:
            return WARN, f"{detail}; mode {mode:04o}", f"chmod 600 {path}"
        detail += ", mode 0600"
    return OK, detail, None
