"""`codex login log --format text`: runs as the reference Codex CLI's tracing lines.

People used to the reference CLI's `codex-login.log` read lines like

    2026-03-06T22:08:54.143612Z  INFO codex_cli::login: starting browser login flow
    2026-03-06T22:09:01.002113Z  INFO codex_login::server: received login callback path=/auth/callback has_code=true …
    2026-03-06T22:09:01.002270Z  WARN codex_login::server: oauth callback returned error error_code="access_denied" …
    2026-03-06T22:09:01.310012Z  INFO codex_login::server: oauth token exchange succeeded status=200 OK

Each declared action (diagnostics/schema.py) gives one line when it starts and one when it ends,
each declared message one line; unknown types (a foreign eliot log) get a generic line. Every
value is scrubbed first (render.scrubbed_fields) and terminal-escaped. Pure: no eliot, no I/O.
"""

from __future__ import annotations

import http
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from codexlogin.support.render import (
    CANCELLED,
    FAILED,
    ROOT_TYPE,
    SUCCEEDED,
    TRACEBACK_TYPE,
    UNFINISHED,
    Node,
    Run,
    _STRUCTURE,
    _text,
    scrubbed_fields,
)

__all__ = ["Line", "declared", "format_line", "live_lines", "render_text", "run_lines", "timestamp"]

CLI = "codex_cli::login"
SERVER = "codex_login::server"
AUTH = "codex_login::auth"
DEVICE = "codex_login::device_code_auth"
GENERIC = "codexlogin"
PREFIX = ROOT_TYPE.partition(":")[0] + ":"  # "codex:", the prefix of every declared type

# Values shown as Rust's Debug of a string (quoted), as the reference CLI shows them.
_QUOTED = frozenset({"error_code", "error_message", "reason", "exception", "error", "message", "detail"})


@dataclass(frozen=True)
class Line:
    """One tracing line before formatting: when, level, target, message and key=value fields."""

    ts: float | None
    level: str  # INFO | WARN | ERROR | DEBUG
    target: str
    message: str
    fields: tuple[tuple[str, object], ...] = ()


def timestamp(ts: object) -> str:
    """`2026-03-06T22:08:54.143612Z` (microseconds, UTC), or `-` for a missing timestamp."""
    if type(ts) is not float and type(ts) is not int:
        return "-"
    try:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, OSError, ValueError):
        return "-"


def _value(key: str, value: object) -> str:
    if key == "status" and type(value) is int:
        try:
            return f"{value} {http.HTTPStatus(value).phrase}"
        except ValueError:
            return str(value)
    text = _text(value)
    if type(value) is str and (key in _QUOTED or not text or any(c in text for c in ' "=\n')):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_line(line: Line) -> str:
    parts = [f"{timestamp(line.ts)} {line.level:>5} {line.target}: {line.message}"]
    parts += [f"{_text(key)}={_value(key, value)}" for key, value in line.fields]
    return " ".join(parts)


def _fields(fields: dict | None, *skip: str) -> dict:
    if not fields:
        return {}
    scrubbed = scrubbed_fields(fields)[0]
    return {k: v for k, v in scrubbed.items() if k not in _STRUCTURE and k not in skip}


def _pick(fields: dict, *keys: str) -> tuple[tuple[str, object], ...]:
    """The named fields first (in that order, when present), then the rest."""
    first = [(k, fields[k]) for k in keys if k in fields]
    return tuple(first + [(k, v) for k, v in fields.items() if k not in keys])


_STARTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # action type → (target, message, leading fields)
    "listener": (SERVER, "listening for login callback", ("host", "port")),
    "callback": (SERVER, "received login callback", ("path", "has_code", "has_state", "has_error", "state_valid")),
    "token_exchange": (SERVER, "starting oauth token exchange", ("issuer", "token_endpoint", "redirect_uri")),
    "api_key_exchange": (SERVER, "starting api key token exchange", ("token_endpoint",)),
    "save_credentials": (AUTH, "saving credentials", ("path", "mode")),
    "device_authorization": (DEVICE, "requesting device code", ("endpoint",)),
    "device_poll": (DEVICE, "polling for device authorization", ("interval", "expires_in")),
    "revoke": (AUTH, "revoking token", ("revoke_endpoint", "token_type_hint")),
    "refresh": (AUTH, "refreshing tokens", ("reason", "backend", "token_endpoint")),
    "bundle:write": (CLI, "writing support bundle", ("path", "format")),
}
_ENDS: dict[str, tuple[str, str]] = {
    # action type → (message on success, message on failure)
    "listener": ("login callback server stopped", "login callback server failed"),
    "callback": ("login callback handled", "login callback handling failed"),
    "token_exchange": ("oauth token exchange succeeded", "oauth token exchange failed"),
    "api_key_exchange": ("api key token exchange finished", "api key token exchange failed"),
    "save_credentials": ("credentials saved", "saving credentials failed"),
    "device_authorization": ("device code received", "device code request failed"),
    "device_poll": ("device authorization finished", "device authorization failed"),
    "revoke": ("token revoked", "token revocation failed"),
    "refresh": ("tokens refreshed", "token refresh failed"),
    "bundle:write": ("support bundle written", "writing support bundle failed"),
}
_MESSAGES: dict[str, tuple[str, str, str]] = {
    # message type → (level, target, message)
    "callback:state_mismatch": ("WARN", SERVER, "login callback state mismatch"),
    "callback:issuer_mismatch": ("WARN", SERVER, "login callback issuer mismatch"),
    "callback:oauth_error": ("WARN", SERVER, "oauth callback returned error"),
    "listener:takeover": ("INFO", SERVER, "callback port busy, asked the previous login to cancel"),
    "listener:fallback_port": ("WARN", SERVER, "callback port still busy, trying the fallback port"),
    "listener:unlogged_requests": ("DEBUG", SERVER, "requests answered but not logged"),
    "listener:late_signal": ("DEBUG", SERVER, "signal after the outcome was decided"),
    "browser:open_failed": ("WARN", CLI, "failed to open browser"),
    "device_poll:stopped": ("WARN", DEVICE, "device authorization stopped"),
    "credentials:keyring_unavailable": ("WARN", AUTH, "keyring unavailable, falling back to file"),
    "scrub_failure": ("ERROR", GENERIC, "a log message could not be scrubbed"),
    "discovery": ("INFO", AUTH, "issuer discovery"),
    "check:proof": ("INFO", AUTH, "credentials checked"),
    "browser:authorize_probe": ("WARN", CLI, "no callback yet, probed the sign-in URL"),
    TRACEBACK_TYPE: ("ERROR", GENERIC, "traceback"),
}
_LIBRARY_LEVELS = {"WARNING": "WARN", "WARN": "WARN", "ERROR": "ERROR", "CRITICAL": "ERROR", "INFO": "INFO", "DEBUG": "DEBUG"}


def _flow_words(start: dict) -> str:
    flow, command = start.get("flow"), start.get("command")
    if command == "login" or command is None:
        words = {"browser": "browser login", "device": "device code login", "api_key": "api key login",
                 "apikey": "api key login", "access_token": "access token login"}
        what = words.get(flow, f"{_text(flow)} login") if isinstance(flow, str) else "login"
        return f"starting {what} flow"
    return f"starting {_text(command)}" + (f" ({_text(flow)})" if flow else "")


def declared(name: str) -> str:
    """The key of our own type `name` in the tables here: `codex:callback` → `callback`.

    The tables are keyed without the `codex:` prefix so that the type names stay spelled out
    only in diagnostics/schema.py (tests/test_schema.py); tests/test_render.py checks that every
    declared type has its entries here. Other types (a foreign eliot log) map to themselves.
    """
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def _node_lines(node: Node) -> Iterator[Line]:
    name = node.raw_type
    suffix = declared(name)
    start = _fields(node.start)
    if not node.is_action:
        if suffix == "library_log":
            level = _LIBRARY_LEVELS.get(str(start.get("level", "")).upper(), "WARN")
            logger = _text(start.get("logger", GENERIC))
            yield Line(node.start_ts, level, logger, _text(start.get("message", "")))
            return
        level, target, message = _MESSAGES.get(suffix, ("INFO", GENERIC, _text(name)))
        if suffix == "callback:oauth_error":
            yield Line(node.start_ts, level, target, message, _pick(start, "error_code", "has_error_description"))
            return
        yield Line(node.start_ts, level, target, message, tuple((k, v) for k, v in start.items() if k != "severity"))
        return
    if node.start is not None:
        yield _start_line(node, name, start)
    for child in node.sorted_children():
        yield from _node_lines(child)
    yield from _end_line(node, name)


def _start_line(node: Node, name: str, start: dict) -> Line:
    if name == ROOT_TYPE:
        shown = tuple(kv for kv in _pick(start, "reference", "issuer") if kv[0] not in ("command", "flow", "version"))
        return Line(node.start_ts, "INFO", CLI, _flow_words(start), shown)
    target, message, keys = _STARTS.get(declared(name), (GENERIC, f"{_text(name)} started", ()))
    return Line(node.start_ts, "INFO", target, message, _pick(start, *keys))


def live_lines(node: Node) -> list[Line]:
    """The lines for one message as it arrives (--follow): an action's start (a node holding only
    its start), an action's end (only its end: no start fields known), or a message."""
    if not node.is_action:
        return list(_node_lines(node))
    if node.end is None:
        return [_start_line(node, node.raw_type, _fields(node.start))] if node.start is not None else []
    return list(_end_line(node, node.raw_type))


def _end_line(node: Node, name: str) -> Iterator[Line]:
    status = node.status
    if status == UNFINISHED:
        target = CLI if name == ROOT_TYPE else _STARTS.get(declared(name), (GENERIC,))[0]
        yield Line(None, "WARN", target, f"{'login flow' if name == ROOT_TYPE else _noun(name)} never finished")
        return
    end = _fields(node.end)
    if name == ROOT_TYPE:
        target = CLI
        words = {SUCCEEDED: "login flow finished", FAILED: "login flow failed", CANCELLED: "login flow cancelled"}
        command = _fields(node.start).get("command")
        if command not in (None, "login"):
            words = {SUCCEEDED: f"{_text(command)} finished", FAILED: f"{_text(command)} failed",
                     CANCELLED: f"{_text(command)} cancelled"}
        message = words.get(status, f"login flow {_text(status)}")
    else:
        target = _STARTS.get(declared(name), (GENERIC,))[0]
        ok, bad = _ENDS.get(declared(name), (f"{_text(name)} succeeded", f"{_text(name)} failed"))
        message = ok if status == SUCCEEDED else bad if status == FAILED else f"{_noun(name)} {_text(status)}"
    level = "INFO" if status == SUCCEEDED else "WARN" if status == CANCELLED else "ERROR"
    keys = ("status", "outcome", "exit_code", "error_code", "error_message", "kind")
    yield Line(node.end_ts, level, target, message, _pick(end, *keys))


def _noun(name: str) -> str:
    """What an action is called in its lines ("oauth token exchange"), for "… cancelled"."""
    bad = _ENDS.get(declared(name), ("", ""))[1]
    return bad[: -len(" failed")] if bad.endswith(" failed") else _text(name)


def run_lines(run: Run) -> list[Line]:
    """The tracing lines of one run, in the tree's order (which is time order within a task)."""
    return list(_node_lines(run.root))


def render_text(run: Run) -> str:
    return "".join(format_line(line) + "\n" for line in run_lines(run))
