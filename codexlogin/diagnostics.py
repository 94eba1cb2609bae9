"""Diagnostics: codex-login.log (eliot JSON lines), the scrubbing destination, the log schema.

This is the only module that imports eliot. Flows log through the named helpers below, never
through ad-hoc `start_action("...")` strings, so the schema stays in one place (this docstring is
the schema support relies on; `render.py` uses the constants).

Writing
-------
`open_log(log_dir)` appends to `log_dir/codex-login.log` (dir 0700 when created, file 0600) through
`ScrubbingDestination`, which runs `redact.scrub_message` on every message (including eliot's own
`eliot:traceback`, `eliot:serialization_failure` and `eliot:destination_failure`) and never
raises. Values passed to the helpers are scrubbed at the call too (defence in depth): fields named
`issuer`, `*_url`, `*_uri`, `*_endpoint` go through `sanitize_url`, everything through
`scrub_fields` (secret-named keys → `<redacted>`, free text → `scrub_text`).

Every message carries eliot's envelope: `timestamp` (float, epoch seconds), `task_uuid`,
`task_level` (list of ints). Action messages add `action_type` and `action_status`
(`started` | `succeeded` | `failed`); failed ones add `exception` (dotted class name), `reason`
(scrubbed `str(exception)`) and, for `codexlogin.errors.LoginFailure`, `outcome`, `exit_code`,
`error_code` (when set). A `trio.Cancelled` failure (`exception` = `trio.Cancelled`) means the
action was cancelled (timeout, Ctrl-C, sibling failure), not that it errored.

Actions (`action_type`; fields on the `started` message unless noted)
---------------------------------------------------------------------
codex:command            Root of every run's task.
                         command (str: "login", "login status", "logout", ...), flow (str:
                         "browser", "device", "api_key", ...), version (codexlogin.__version__),
                         plus caller fields (e.g. issuer, sanitised URL; client_id; port).
                         succeeded: outcome="success", exit_code=0 (added by the caller).
                         failed: outcome, exit_code, error_code from the LoginFailure.
codex:listener           host (str), port (int; 0 = OS-chosen). Spans the loopback listener's life.
codex:callback           path (str, query dropped), has_code, has_state, has_error, state_valid
                         (bools; a flag is true only when the parameter is present AND non-empty).
codex:token_exchange     issuer, token_endpoint, redirect_uri (sanitised URLs).
                         succeeded: status (int HTTP status), added by the caller.
                         non-2xx / transport failures: see "Caller-added fields" below.
codex:api_key_exchange   token_endpoint (sanitised URL). Optional step; a failure is logged and
                         ignored by the flow. succeeded: status.
codex:save_credentials   path (str, the auth.json path or keyring service), mode (str: "file",
                         "keyring", "auto").
codex:<anything>         `named_action(...)` for later flows: e.g. codex:device_poll,
                         codex:status, codex:logout, codex:refresh, codex:doctor. Fields as given.

Messages (`message_type`)
-------------------------
codex:callback:state_mismatch   severity="warning". The callback's state was missing or wrong;
                                the listener answered 400 and keeps waiting.
codex:callback:oauth_error      error_code (str, scrubbed, ≤ 128 chars), has_error_description
                                (bool). The issuer redirected back with `error=`.
codex:library_log               logger, level, message (scrubbed), exception + traceback
                                (scrubbed, when the record had exc_info). WARNING+ records of
                                httpx / httpcore / hpack / hypercorn.* forwarded into the log.
codex:scrub_failure             Only the envelope survives: scrubbing a message failed internally.
codex:<anything>                `log_event(...)` for later flows. Fields as given.
eliot:traceback / eliot:serialization_failure / eliot:destination_failure
                                eliot's own; scrubbed. For the two *_failure types the embedded
                                original `message` is parsed back and scrubbed into a dict, or
                                dropped (`message_dropped: true`) when it cannot be parsed.

Caller-added fields (via `action.add_success_fields` or `log_event`)
--------------------------------------------------------------------
status (int), error_code (str, parsed RFC 6749 §5.2 `error`), error_message (str, parsed
`error_description`, scrubbed; never a raw body), kind ("timeout" | "connect" | "other") and
message (scrubbed) for transport failures, as `issuer.IssuerUnreachable.log_fields()` gives them.

The log never holds codes, states, verifiers, tokens, API keys, Authorization/Cookie headers or raw
backend bodies: field names in `redact.SECRET_KEYS` are always `<redacted>` (bools/None kept).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable, TextIO

import eliot
from eliot import FileDestination, register_exception_extractor

from codexlogin import __version__
from codexlogin.errors import LoginFailure
from codexlogin.redact import forget_secrets, sanitize_url, scrub_fields, scrub_message, scrub_text

__all__ = [
    "ACTION_TYPES",
    "API_KEY_EXCHANGE",
    "CALLBACK",
    "COMMAND",
    "LIBRARY_LOG",
    "LISTENER",
    "LOG_FILE_NAME",
    "MESSAGE_TYPES",
    "OAUTH_ERROR",
    "SAVE_CREDENTIALS",
    "SCRUB_FAILURE",
    "STATE_MISMATCH",
    "TOKEN_EXCHANGE",
    "ScrubbingDestination",
    "api_key_exchange_action",
    "callback_action",
    "command_action",
    "listener_action",
    "log_event",
    "log_oauth_error",
    "log_state_mismatch",
    "named_action",
    "open_log",
    "quiet_library_loggers",
    "save_credentials_action",
    "token_exchange_action",
]

LOG_FILE_NAME = "codex-login.log"

# Action types
COMMAND = "codex:command"
LISTENER = "codex:listener"
CALLBACK = "codex:callback"
TOKEN_EXCHANGE = "codex:token_exchange"
API_KEY_EXCHANGE = "codex:api_key_exchange"
SAVE_CREDENTIALS = "codex:save_credentials"
ACTION_TYPES = frozenset({COMMAND, LISTENER, CALLBACK, TOKEN_EXCHANGE, API_KEY_EXCHANGE, SAVE_CREDENTIALS})

# Message types
STATE_MISMATCH = "codex:callback:state_mismatch"
OAUTH_ERROR = "codex:callback:oauth_error"
LIBRARY_LOG = "codex:library_log"
SCRUB_FAILURE = "codex:scrub_failure"
MESSAGE_TYPES = frozenset({STATE_MISMATCH, OAUTH_ERROR, LIBRARY_LOG, SCRUB_FAILURE})

_NAMESPACE = "codex:"
_MAX_ERROR_CODE = 128
_MAX_TRACEBACK = 8192

#: Library loggers that would otherwise print full URLs (httpx logs `HTTP Request: POST
#: https://…?…` at INFO; hypercorn's access log holds the callback query string).
LIBRARY_LOGGERS = ("httpx", "httpcore", "hpack", "hypercorn.error", "hypercorn.access")

_URL_FIELD_SUFFIXES = ("_url", "_uri", "_endpoint")


# --------------------------------------------------------------------------------------------
# Field preparation (scrubbing at the call; the destination scrubs again)
# --------------------------------------------------------------------------------------------


def _is_url_field(name: str) -> bool:
    name = name.lower()
    return name in ("issuer", "url", "uri", "endpoint") or name.endswith(_URL_FIELD_SUFFIXES)


# eliot's own keys and start_action's parameters: a field with one of these names would corrupt
# the envelope or be taken as an argument.
_RESERVED = frozenset(
    {"action_type", "action_status", "message_type", "task_uuid", "task_level", "timestamp", "logger", "_serializers"}
)


def _prepare(fields: Mapping[str, Any]) -> dict[str, Any]:
    prepared: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _RESERVED or name.startswith("__eliot"):
            raise ValueError(f"reserved log field name: {name!r}")
        if isinstance(value, str) and _is_url_field(name):
            value = sanitize_url(value)
        prepared[name] = value
    scrubbed = scrub_fields(prepared)
    return scrubbed if isinstance(scrubbed, dict) else {}


def _check_type(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name.startswith(_NAMESPACE) or len(name) <= len(_NAMESPACE):
        raise ValueError(f"{kind} must start with {_NAMESPACE!r}: {name!r}")


# --------------------------------------------------------------------------------------------
# Named actions and messages
# --------------------------------------------------------------------------------------------


def command_action(command: str, flow: str, **fields: Any) -> eliot.Action:
    """`codex:command`: the root action of a run. Caller adds outcome/exit_code on success."""
    return eliot.start_action(
        action_type=COMMAND, **_prepare({"command": command, "flow": flow, "version": __version__, **fields})
    )


def listener_action(host: str, port: int) -> eliot.Action:
    """`codex:listener`: the loopback listener's lifetime."""
    return eliot.start_action(action_type=LISTENER, **_prepare({"host": host, "port": int(port)}))


def callback_action(
    path: str, *, has_code: bool, has_state: bool, has_error: bool, state_valid: bool
) -> eliot.Action:
    """`codex:callback`: one request to the listener. Only the path is logged, never the query."""
    clean_path = sanitize_url(path).partition("?")[0]
    return eliot.start_action(
        action_type=CALLBACK,
        **_prepare(
            {
                "path": clean_path,
                "has_code": bool(has_code),
                "has_state": bool(has_state),
                "has_error": bool(has_error),
                "state_valid": bool(state_valid),
            }
        ),
    )


def log_state_mismatch() -> None:
    """`codex:callback:state_mismatch` (severity=warning)."""
    eliot.log_message(message_type=STATE_MISMATCH, severity="warning")


def log_oauth_error(error_code: str, has_error_description: bool) -> None:
    """`codex:callback:oauth_error`: the issuer redirected back with `error=`."""
    code = scrub_text(str(error_code))[:_MAX_ERROR_CODE]
    eliot.log_message(
        message_type=OAUTH_ERROR,
        **_prepare({"error_code": code, "has_error_description": bool(has_error_description)}),
    )


def token_exchange_action(issuer: str, token_endpoint: str, redirect_uri: str) -> eliot.Action:
    """`codex:token_exchange`: the authorization-code exchange. Caller adds `status` on success."""
    return eliot.start_action(
        action_type=TOKEN_EXCHANGE,
        **_prepare(
            {
                "issuer": sanitize_url(issuer),
                "token_endpoint": sanitize_url(token_endpoint),
                "redirect_uri": sanitize_url(redirect_uri),
            }
        ),
    )


def api_key_exchange_action(token_endpoint: str) -> eliot.Action:
    """`codex:api_key_exchange`: the optional id_token → API key token exchange."""
    return eliot.start_action(
        action_type=API_KEY_EXCHANGE, **_prepare({"token_endpoint": sanitize_url(token_endpoint)})
    )


def save_credentials_action(path: str, mode: str) -> eliot.Action:
    """`codex:save_credentials`: writing auth.json or the keyring entry."""
    return eliot.start_action(action_type=SAVE_CREDENTIALS, **_prepare({"path": str(path), "mode": mode}))


def log_event(message_type: str, **fields: Any) -> None:
    """A generic `codex:*` message for flows added later."""
    _check_type("message_type", message_type)
    eliot.log_message(message_type=message_type, **_prepare(fields))


def named_action(action_type: str, **fields: Any) -> eliot.Action:
    """A generic `codex:*` action (device polling, status, logout, refresh, doctor, ...)."""
    _check_type("action_type", action_type)
    return eliot.start_action(action_type=action_type, **_prepare(fields))


# --------------------------------------------------------------------------------------------
# Exceptions → failed-action fields
# --------------------------------------------------------------------------------------------


def _login_failure_fields(failure: LoginFailure) -> dict[str, object]:
    fields = scrub_fields(failure.log_fields())
    return fields if isinstance(fields, dict) else {}


register_exception_extractor(LoginFailure, _login_failure_fields)


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
                "message": scrub_text(record.getMessage()),
            }
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                fields["exception"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
                text = "".join(traceback.format_exception(*record.exc_info))
                fields["traceback"] = scrub_text(text[-_MAX_TRACEBACK:])
            eliot.log_message(message_type=LIBRARY_LOG, **fields)
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

    def __init__(self, inner: Callable[[dict], object], on_error: Callable[[BaseException], object] | None = None):
        self._inner = inner
        self._on_error = on_error
        self._reported = False
        self._lock = threading.Lock()

    def __call__(self, message: dict) -> None:
        try:
            try:
                scrubbed = scrub_message(message)
            except Exception:  # pragma: no cover - scrub_message never raises
                scrubbed = {"message_type": SCRUB_FAILURE}
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


def _warn(stderr: TextIO | None, log_dir: Path, exc: BaseException) -> None:
    out = stderr if stderr is not None else sys.stderr
    try:
        print(
            f"warning: cannot write {LOG_FILE_NAME} in {log_dir}: {_reason(exc)}; continuing without a log",
            file=out,
            flush=True,
        )
    except Exception:
        pass


def _open_file(log_dir: Path) -> Any:
    created = not log_dir.exists()
    log_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    if created:
        os.chmod(log_dir, 0o700)  # mkdir's mode is filtered by the umask
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(log_dir / LOG_FILE_NAME, flags, 0o600)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{LOG_FILE_NAME} is not a regular file")
        if stat.S_IMODE(info.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
        # Unbuffered binary: one write(2) per JSON line, atomic-enough appends with O_APPEND.
        return os.fdopen(fd, "ab", buffering=0)
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def open_log(log_dir: Path, *, stderr: TextIO | None = None) -> Iterator[Path | None]:
    """Append scrubbed eliot messages to `log_dir/codex-login.log` for the duration of the block.

    Yields the log file's path, or None when it could not be opened; in that case one line
    `warning: cannot write codex-login.log in <dir>: <reason>; continuing without a log` goes to
    `stderr` (default: `sys.stderr` at call time) and the block runs without a log. A later write
    failure (disk full) prints the same warning once and is otherwise ignored.
    """
    quiet_library_loggers()
    log_dir = Path(log_dir)
    try:
        file = _open_file(log_dir)
    except Exception as exc:
        _warn(stderr, log_dir, exc)
        yield None
        return

    destination = ScrubbingDestination(
        FileDestination(file=file, json_default=_json_default),
        on_error=lambda exc: _warn(stderr, log_dir, exc),
    )
    eliot.add_destinations(destination)
    try:
        yield log_dir / LOG_FILE_NAME
    finally:
        with contextlib.suppress(ValueError):
            eliot.remove_destination(destination)
        with contextlib.suppress(OSError):
            file.close()
        forget_secrets()  # this run's secrets; the next run registers its own
