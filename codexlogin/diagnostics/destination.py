"""codex-login.log: the file, the scrubbing destination in front of it, and the run's secrets.

`open_log(log_dir)` appends to `log_dir/codex-login.log` (dir 0700 when created, file 0600) through
`ScrubbingDestination`, which runs `scrubbing.scrub_message` on every message (including eliot's own
`eliot:traceback`, `eliot:serialization_failure` and `eliot:destination_failure`) and never raises,
and opens the run's known-secret set (`redact.run_secrets`) for the block. When another run rotates
the log meanwhile (diagnostics/rotation.py), the file is opened again (`ReopeningLogFile`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import eliot
from eliot import FileDestination, register_exception_extractor

from codexlogin.diagnostics.failures import FAILURE_TOKEN, LoggedOnce, failure_token
from codexlogin.diagnostics.rotation import rotate_if_needed
from codexlogin.diagnostics.schema import LIBRARY_LOG, SCRUB_FAILURE
from codexlogin.diagnostics.scrubbing import scrub_message
from codexlogin.redact import run_secrets, scrub_clip, scrub_fields, scrub_text

LOG_FILE_NAME = "codex-login.log"
_MAX_TRACEBACK = 8192
_MAX_LIBRARY_MESSAGE = 2000

#: Library loggers that would otherwise print full URLs (httpx logs `HTTP Request: POST
#: https://…?…` at INFO; hypercorn's access log holds the callback query string).
LIBRARY_LOGGERS = ("httpx", "httpcore", "hpack", "hypercorn.error", "hypercorn.access")


# --------------------------------------------------------------------------------------------
# Exceptions → failed-action fields
# --------------------------------------------------------------------------------------------


def _exception_fields(exc: BaseException) -> dict[str, object]:
    """A failed action records the scrubbed facts of any exception that offers them (`log_fields()`):
    a LoginFailure's outcome and exit code, an issuer error's status and kind."""
    log_fields = getattr(exc, "log_fields", None)
    if not callable(log_fields):
        return {}
    fields = scrub_fields(log_fields())
    if not isinstance(fields, dict):
        return {}
    fields[FAILURE_TOKEN] = failure_token(exc)  # logged once: the destination keeps them where it happened
    return fields


register_exception_extractor(BaseException, _exception_fields)


# --------------------------------------------------------------------------------------------
# Library loggers
# --------------------------------------------------------------------------------------------


class _ForwardToEliot(logging.Handler):
    """WARNING+ records of chatty libraries become scrubbed `codex:library_log` messages."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, object] = {
                "logger": record.name,
                "level": record.levelname,
                "message": scrub_clip(record.getMessage(), _MAX_LIBRARY_MESSAGE),
            }
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                fields["exception"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
                text = "".join(traceback.format_exception(*record.exc_info))
                fields["traceback"] = scrub_clip(text, _MAX_TRACEBACK, keep_tail=True)  # redacted, then cut
            eliot.log_message(message_type=LIBRARY_LOG.message_type, **fields)
        except Exception:
            pass  # logging must never break the flow, nor print the record via handleError


_QUIET_MARK = "_codexlogin_quiet"


def quiet_library_loggers() -> None:
    """Keep httpx/httpcore/hpack/hypercorn records (full URLs at INFO) off the terminal.

    Level WARNING, no propagation to the root logger (whose handlers may print), a NullHandler
    (so `logging.lastResort` never prints either) and a forwarder into the scrubbed log.
    Idempotent. hypercorn's own `_create_logger` replaces these handlers if `config.errorlog` /
    `config.accesslog` are strings: pass `logging.getLogger("hypercorn.error")` (or None) and keep
    `accesslog` None.
    """
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        if not any(getattr(h, _QUIET_MARK, False) for h in logger.handlers):
            null = logging.NullHandler()
            forward = _ForwardToEliot(logging.WARNING)
            setattr(null, _QUIET_MARK, True)
            setattr(forward, _QUIET_MARK, True)
            logger.addHandler(null)
            logger.addHandler(forward)


# --------------------------------------------------------------------------------------------
# The destination and the log file
# --------------------------------------------------------------------------------------------


def _json_default(obj: object) -> object:
    # scrub_message already returns JSON-native values; this is a last-resort guard.
    return scrub_text(repr(obj)) if obj is not None else None


class ScrubbingDestination:
    """An eliot destination that scrubs every message before handing it to `inner`.

    Never raises: scrubbing errors yield a minimal `codex:scrub_failure` message, write errors
    are swallowed (reported once through `on_error`).
    """

    def __init__(self, inner: Callable[[dict[str, Any]], object], on_error: Callable[[BaseException], object] | None = None):
        self._inner = inner
        self._on_error = on_error
        self._reported = False
        self._lock = threading.Lock()
        self._once = LoggedOnce()

    def __call__(self, message: dict[str, Any]) -> None:
        try:
            try:
                with self._lock:
                    message = self._once(message)
                scrubbed = scrub_message(message)
            except Exception:  # pragma: no cover - scrub_message never raises
                scrubbed = {"message_type": SCRUB_FAILURE.message_type}
            with self._lock:
                self._inner(scrubbed)
        except Exception as exc:
            self._report(exc)

    def _report(self, exc: BaseException) -> None:
        if self._reported or self._on_error is None:
            return
        self._reported = True
        try:
            self._on_error(exc)
        except Exception:
            pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return scrub_text(str(exc)) or type(exc).__name__


Warn = Callable[[str], object]


def _warn(warn: Warn | None, log_dir: Path, exc: BaseException) -> None:
    if warn is None:
        return
    try:
        warn(f"cannot write {LOG_FILE_NAME} in {log_dir}: {_reason(exc)}; continuing without a log")
    except Exception:
        pass  # telling the user must not break the run either


def _open_file(log_dir: Path) -> Any:
    created = not log_dir.exists()
    log_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    if created:
        os.chmod(log_dir, 0o700)  # mkdir's mode is filtered by the umask
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(log_dir / LOG_FILE_NAME, flags | os.O_NONBLOCK, 0o600)  # a FIFO: ENXIO, never a wait
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{LOG_FILE_NAME} is not a regular file")
        os.set_blocking(fd, True)
        if stat.S_IMODE(info.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
        # Unbuffered binary: one write(2) per JSON line, atomic-enough appends with O_APPEND.
        return os.fdopen(fd, "ab", buffering=0)
    except BaseException:
        os.close(fd)
        raise


class ReopeningLogFile:
    """The open codex-login.log that follows a rotation: before each write it checks that the path
    still names the file it holds (a rotation by another run renames it away, compresses it and
    removes it); when not, it opens the path again (a fresh 0600 file), so the rest of this run
    lands in the new log instead of a removed file. If the reopen fails, it keeps the old file."""

    def __init__(self, log_dir: Path, file: Any) -> None:
        self._log_dir = log_dir
        self._path = log_dir / LOG_FILE_NAME
        self._file = file
        self._ident = self._identity(os.fstat(file.fileno()))

    @staticmethod
    def _identity(info: os.stat_result) -> tuple[int, int]:
        return info.st_dev, info.st_ino

    def _rotated_away(self) -> bool:
        try:
            return self._identity(os.lstat(self._path)) != self._ident
        except FileNotFoundError:
            return True
        except OSError:
            return False

    def write(self, data: bytes) -> int:
        if data and self._rotated_away():
            try:
                fresh = _open_file(self._log_dir)
            except Exception:
                pass  # keep writing where we were: better than nothing
            else:
                with contextlib.suppress(OSError):
                    self._file.close()
                self._file, self._ident = fresh, self._identity(os.fstat(fresh.fileno()))
        return int(self._file.write(data) or 0)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@contextlib.contextmanager
def open_log(log_dir: Path, *, warn: Warn | None = None) -> Iterator[Path | None]:
    """Append scrubbed eliot messages to `log_dir/codex-login.log` for the duration of the block.

    Yields the log file's path, or None when it could not be opened; in that case `warn` hears
    `cannot write codex-login.log in <dir>: <reason>; continuing without a log` and the block runs
    without a log. A later write failure (disk full) is told the same way once, then ignored.
    """
    with run_secrets():  # this run's secrets: registered by the flow, forgotten with the log
        with _open_destination(Path(log_dir), warn) as path:
            yield path


def open_destination(log_dir: Path, *, warn: Warn | None = None) -> contextlib.AbstractContextManager[Path | None]:
    """`open_log` without the run's secret set: for a process whose runs overlap (the Python API,
    the app-server), which opens the file once and gives each run its own set (redact.run_secrets)."""
    return _open_destination(Path(log_dir), warn)


@contextlib.contextmanager
def _open_destination(log_dir: Path, warn: Warn | None) -> Iterator[Path | None]:
    quiet_library_loggers()
    rotate_if_needed(log_dir / LOG_FILE_NAME)  # bounded on disk: the previous file is kept, compressed
    try:
        file = _open_file(log_dir)
    except Exception as exc:
        _warn(warn, log_dir, exc)
        yield None
        return

    file = ReopeningLogFile(log_dir, file)  # another run's rotation does not lose the rest of this one
    destination = ScrubbingDestination(
        FileDestination(file=file, json_default=_json_default),
        on_error=lambda exc: _warn(warn, log_dir, exc),
    )
    eliot.add_destinations(destination)
    try:
        yield log_dir / LOG_FILE_NAME
    finally:
        with contextlib.suppress(ValueError):
            eliot.remove_destination(destination)
        with contextlib.suppress(OSError):
            file.close()
