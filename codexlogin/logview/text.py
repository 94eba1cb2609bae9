"""Runs as text: the action tree `codex login log` prints by default, and `--format text`.

The tree: one line per action (type/task_level, status, start time, duration) or message, its
fields below it, in ASCII (`Style`) or, on a colour terminal, Unicode with rich markup
(`ColorStyle`, printed by logview.render through a rich Console; rich itself is imported only
then). `Clock` formats the times (UTC, or local with --local).

`--format text`: runs as the reference Codex CLI's tracing lines. People used to the reference
CLI's `codex-login.log` read lines like

    2026-03-06T22:08:54.143612Z  INFO codex_cli::login: starting browser login flow
    2026-03-06T22:09:01.002113Z  INFO codex_login::server: received login callback path=/auth/callback has_code=true …
    2026-03-06T22:09:01.002270Z  WARN codex_login::server: oauth callback returned error error_code="access_denied" …
    2026-03-06T22:09:01.310012Z  INFO codex_login::server: oauth token exchange succeeded status=200 OK

Each declared action (diagnostics/schema.py) gives one line when it starts and one when it ends,
each declared message one line; unknown types (a foreign eliot log) get a generic line. Every
value is scrubbed first (tree.scrubbed_fields) and terminal-escaped. Pure: no eliot, no I/O.
"""

from __future__ import annotations

import http
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from codexlogin.diagnostics import names
from codexlogin.logview.tree import (
    CANCELLED,
    FAILED,
    ROOT_TYPE,
    STRUCTURE_KEYS,
    SUCCEEDED,
    TRACEBACK_TYPE,
    UNFINISHED,
    Node,
    Run,
    display_text,
    node_fields,
    scrubbed_fields,
)

__all__ = [
    "Clock",
    "ColorStyle",
    "Line",
    "Style",
    "format_line",
    "live_lines",
    "render_text",
    "render_tree",
    "run_lines",
    "timestamp",
    "wrap_line",
]

# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------


class Clock:
    """Fast ISO 8601 timestamps with milliseconds: the date (UTC) or the part up to the minute
    (local time: whole-minute offsets, changing on minute boundaries) is cached.
    """

    def __init__(self, local: bool) -> None:
        self.local = local
        self.unit = 60_000 if local else 86_400_000  # milliseconds per cached prefix
        self.cache: dict[int, tuple[str, str]] = {}

    def __call__(self, ts: object) -> str:
        if type(ts) is not float and type(ts) is not int:
            return "-"
        try:
            block, rest = divmod(int(ts * 1000), self.unit)
        except (OverflowError, ValueError):
            return "-"
        parts = self.cache.get(block)
        if parts is None:
            try:
                if self.local:
                    moment = datetime.fromtimestamp(block * 60).astimezone()
                    offset = moment.strftime("%z")
                    parts = (moment.strftime("%Y-%m-%dT%H:%M:"), offset[:3] + ":" + offset[3:])
                else:
                    parts = (datetime.fromtimestamp(block * 86400, UTC).strftime("%Y-%m-%dT"), "Z")
            except (OverflowError, OSError, ValueError):
                return "-"
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[block] = parts
        if self.local:
            return f"{parts[0]}{rest // 1000:02d}.{rest % 1000:03d}{parts[1]}"
        hours, rest = divmod(rest, 3_600_000)
        minutes, rest = divmod(rest, 60_000)
        return f"{parts[0]}{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}Z"


def format_duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f}s"


# --------------------------------------------------------------------------------------------
# Output styles
# --------------------------------------------------------------------------------------------


class Style:
    """Plain ASCII: no box drawing, no ANSI. Subclassed for the colour terminal."""

    mid = "+-- "
    last = "+-- "
    bar = "|   "
    space = "    "
    fbar = "| "
    fspace = "  "
    arrow = " => "
    escapes = False
    marks = {FAILED: "[FAILED]", CANCELLED: "[CANCELLED]", UNFINISHED: "[UNFINISHED]"}

    def mark(self, status: str) -> str:
        return self.marks.get(status, status)

    def paint(self, text: str, status: str) -> str:
        """Already padded summary text, coloured by status."""
        return text

    def label(self, text: str) -> str:
        return text

    def esc(self, text: str) -> str:
        return text

    def dim(self, text: str) -> str:
        return text


#: What rich's markup parser takes for the start of a tag (its end, `]`, may be on a later line).
_TAG_START = re.compile(r"(\\*)\[([a-z#/@])")


def escape_markup(text: str) -> str:
    """`rich.markup.escape`, and also every `[` that could open a tag whose `]` is not on this line:
    the lines of a run are printed together, so a wrapped field's "…[/" and the next line's "]…"
    would otherwise be read as one tag (MarkupError, or a style taken from the log)."""
    from rich.markup import escape

    def unclosed(match: re.Match[str]) -> str:
        slashes = match.group(1)
        if len(slashes) % 2:  # escaped already
            return match.group(0)
        return slashes * 2 + "\\[" + match.group(2)

    return _TAG_START.sub(unclosed, escape(text))


class ColorStyle(Style):
    """Unicode tree with rich markup (printed through a rich Console)."""

    mid = "├── "
    last = "└── "
    bar = "│   "
    fbar = "│ "
    arrow = " ⇒ "
    escapes = True
    _colors = {SUCCEEDED: "green", FAILED: "bold red", CANCELLED: "bold yellow", UNFINISHED: "bold magenta"}
    _styled = {
        SUCCEEDED: "[green]succeeded[/]",
        FAILED: "[bold red]✗ FAILED[/]",
        CANCELLED: "[bold yellow]⊘ CANCELLED[/]",
        UNFINISHED: "[bold magenta]… UNFINISHED[/]",
    }

    def esc(self, text: str) -> str:
        return escape_markup(text)

    def mark(self, status: str) -> str:
        return self._styled.get(status) or self.esc(status)

    def paint(self, text: str, status: str) -> str:
        color = self._colors.get(status)
        return f"[{color}]{self.esc(text)}[/]" if color else self.esc(text)

    def label(self, text: str) -> str:
        return f"[bold]{self.esc(text)}[/]"

    def dim(self, text: str) -> str:
        return f"[dim]{self.esc(text)}[/]"


# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------


def render_tree(run: Run, style: Style, clock: Clock, width: int | None = None) -> list[str]:
    """The lines (each ending in a newline) of one run's tree, then a blank line.

    With `width`, field lines longer than the width wrap, continued under their first line
    with four more spaces of indentation (cut at a space where one is near, else mid-word).
    """
    if type(style) is Style:  # --no-color, a pipe or a file: the hot path
        out = [run.uuid_text + "\n"]
        _plain_node(run.root, "", True, out, clock, width)
    else:
        out = [style.dim(run.uuid_text) + "\n"]
        _tree_node(run.root, "", True, out, style, clock, width)
    out.append("\n")
    return out


WRAP_INDENT = "    "
MIN_WRAP = 20  # never wrap into pieces narrower than this


def wrap_line(line: str, first: int, rest: int) -> list[str]:
    """`line` cut into pieces of at most `first`, then `rest` characters (continuations get
    WRAP_INDENT prepended by the caller). A cut goes after the last space in the back half."""
    pieces: list[str] = []
    limit = max(first, MIN_WRAP)
    while len(line) > limit:
        cut = line.rfind(" ", limit // 2, limit + 1)
        if cut <= 0:
            cut = limit
            pieces.append(line[:cut])
            line = line[cut:]
        else:
            pieces.append(line[:cut])
            line = line[cut + 1 :]
        limit = max(rest, MIN_WRAP)
    pieces.append(line)
    return pieces


def _wrapped(lines: tuple[str, ...], prefix_len: int, width: int) -> tuple[str, ...]:
    first = width - prefix_len
    if all(len(line) <= first for line in lines):
        return lines
    out: list[str] = []
    for line in lines:
        pieces = wrap_line(line, first, first - len(WRAP_INDENT))
        out.append(pieces[0])
        out.extend(WRAP_INDENT + piece for piece in pieces[1:])
    return tuple(out)


def _tree_node(node: Node, prefix: str, last: bool, out: list[str], style: Style, clock: Clock, width: int | None = None) -> None:
    lines, name = node_fields(node)
    where = "/".join(map(str, node.level))
    if node.is_action:
        head = (
            f"{style.label(name + '/' + where)}{style.arrow}{style.mark(node.status)} "
            f"{clock(node.start_ts if node.start_ts is not None else node.end_ts)} {format_duration(node.duration)}"
        )
    else:
        head = f"{style.label(name + '/' + where)} {clock(node.start_ts)}"
    out.append(prefix + (style.last if last else style.mid) + head + "\n")
    inner = prefix + (style.space if last else style.bar)
    children = node.sorted_children()
    if lines:
        field_prefix = inner + (style.fbar if children else style.fspace)
        if width is not None:
            lines = _wrapped(lines, len(field_prefix), width)
        if style.escapes:
            lines = tuple(map(style.esc, lines))
        out.append(field_prefix + ("\n" + field_prefix).join(lines) + "\n")
    if children:
        end = len(children) - 1
        for i, child in enumerate(children):
            _tree_node(child, inner, i == end, out, style, clock, width)


_PLAIN = Style()


def _plain_node(node: Node, prefix: str, last: bool, out: list[str], clock: Clock, width: int | None) -> None:
    """_tree_node for the plain Style, whose methods return their text as it is: the same lines
    without the method calls (tests/logview/test_render_whole.py holds both to the same output)."""
    lines, name = node_fields(node)
    level = node.level
    where = str(level[0]) if len(level) == 1 else "/".join(map(str, level))
    if node.is_action:
        status = node.status
        start = node.start_ts
        duration = node.duration
        out.append(
            f"{prefix}{_PLAIN.last if last else _PLAIN.mid}{name}/{where}{_PLAIN.arrow}{_PLAIN.marks.get(status, status)} "
            f"{clock(start if start is not None else node.end_ts)} {'-' if duration is None else f'{duration:.3f}s'}\n"
        )
    else:
        out.append(f"{prefix}{_PLAIN.last if last else _PLAIN.mid}{name}/{where} {clock(node.start_ts)}\n")
    inner = prefix + (_PLAIN.space if last else _PLAIN.bar)
    children = node.sorted_children()
    if lines:
        field_prefix = inner + (_PLAIN.fbar if children else _PLAIN.fspace)
        if width is not None:
            lines = _wrapped(lines, len(field_prefix), width)
        out.append(field_prefix + ("\n" + field_prefix).join(lines) + "\n")
    if children:
        end = len(children) - 1
        for i, child in enumerate(children):
            _plain_node(child, inner, i == end, out, clock, width)


# --------------------------------------------------------------------------------------------
# --format text: the reference CLI's tracing lines
# --------------------------------------------------------------------------------------------

CLI = "codex_cli::login"
SERVER = "codex_login::server"
AUTH = "codex_login::auth"
DEVICE = "codex_login::device_code_auth"
GENERIC = "codexlogin"

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
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, OSError, ValueError):
        return "-"


def _value(key: str, value: object) -> str:
    if key == "status" and type(value) is int:
        try:
            return f"{value} {http.HTTPStatus(value).phrase}"
        except ValueError:
            return str(value)
    text = display_text(value)
    if type(value) is str and (key in _QUOTED or not text or any(c in text for c in ' "=\n')):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_line(line: Line) -> str:
    parts = [f"{timestamp(line.ts)} {line.level:>5} {line.target}: {line.message}"]
    parts += [f"{display_text(key)}={_value(key, value)}" for key, value in line.fields]
    return " ".join(parts)


def _fields(fields: dict[str, Any] | None, *skip: str) -> dict[str, Any]:
    if not fields:
        return {}
    scrubbed = scrubbed_fields(fields)[0]
    return {k: v for k, v in scrubbed.items() if k not in STRUCTURE_KEYS and k not in skip}


def _pick(fields: dict[str, Any], *keys: str) -> tuple[tuple[str, object], ...]:
    """The named fields first (in that order, when present), then the rest."""
    first = [(k, fields[k]) for k in keys if k in fields]
    return tuple(first + [(k, v) for k, v in fields.items() if k not in keys])


_STARTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # action type → (target, message, leading fields)
    names.LISTENER: (SERVER, "listening for login callback", ("host", "port")),
    names.CALLBACK: (SERVER, "received login callback", ("path", "has_code", "has_state", "has_error", "state_valid")),
    names.TOKEN_EXCHANGE: (SERVER, "starting oauth token exchange", ("issuer", "token_endpoint", "redirect_uri")),
    names.API_KEY_EXCHANGE: (SERVER, "starting api key token exchange", ("token_endpoint",)),
    names.SAVE_CREDENTIALS: (AUTH, "saving credentials", ("path", "mode")),
    names.DEVICE_AUTHORIZATION: (DEVICE, "requesting device code", ("endpoint",)),
    names.DEVICE_POLL: (DEVICE, "polling for device authorization", ("interval", "expires_in")),
    names.REVOKE: (AUTH, "revoking token", ("revoke_endpoint", "token_type_hint")),
    names.REFRESH: (AUTH, "refreshing tokens", ("reason", "backend", "token_endpoint")),
    names.ISSUER_PROBE: (AUTH, "probing the issuer's reachability", ("url", "target", "address")),
    names.BUNDLE_WRITE: (CLI, "writing support bundle", ("path", "format")),
}
_ENDS: dict[str, tuple[str, str]] = {
    # action type → (message on success, message on failure)
    names.LISTENER: ("login callback server stopped", "login callback server failed"),
    names.CALLBACK: ("login callback handled", "login callback handling failed"),
    names.TOKEN_EXCHANGE: ("oauth token exchange succeeded", "oauth token exchange failed"),
    names.API_KEY_EXCHANGE: ("api key token exchange finished", "api key token exchange failed"),
    names.SAVE_CREDENTIALS: ("credentials saved", "saving credentials failed"),
    names.DEVICE_AUTHORIZATION: ("device code received", "device code request failed"),
    names.DEVICE_POLL: ("device authorization finished", "device authorization failed"),
    names.REVOKE: ("token revoked", "token revocation failed"),
    names.REFRESH: ("tokens refreshed", "token refresh failed"),
    names.ISSUER_PROBE: ("issuer reachability probed", "the issuer cannot be reached"),
    names.BUNDLE_WRITE: ("support bundle written", "writing support bundle failed"),
}
_MESSAGES: dict[str, tuple[str, str, str]] = {
    # message type → (level, target, message)
    names.STATE_MISMATCH: ("WARN", SERVER, "login callback state mismatch"),
    names.ISSUER_MISMATCH: ("WARN", SERVER, "login callback issuer mismatch"),
    names.OAUTH_ERROR: ("WARN", SERVER, "oauth callback returned error"),
    names.TAKEOVER: ("INFO", SERVER, "callback port busy, asked the previous login to cancel"),
    names.FALLBACK_PORT: ("WARN", SERVER, "callback port still busy, trying the fallback port"),
    names.UNLOGGED_REQUESTS: ("DEBUG", SERVER, "requests answered but not logged"),
    names.LATE_SIGNAL: ("DEBUG", SERVER, "signal after the outcome was decided"),
    names.BROWSER_OPEN_FAILED: ("WARN", CLI, "failed to open browser"),
    names.BROWSER_OPENED: ("INFO", CLI, "opened the Windows browser"),
    names.PASTED_REDIRECT: ("INFO", SERVER, "redirect address pasted into the terminal"),
    names.DEVICE_POLL_STOPPED: ("WARN", DEVICE, "device authorization stopped"),
    names.KEYRING_FALLBACK: ("WARN", AUTH, "keyring unavailable, falling back to file"),
    names.SCRUB_FAILURE: ("ERROR", GENERIC, "a log message could not be scrubbed"),
    names.DISCOVERY: ("INFO", AUTH, "issuer discovery"),
    names.CHECK_PROOF: ("INFO", AUTH, "credentials checked"),
    names.AUTHORIZE_PROBE: ("WARN", CLI, "no callback yet, probed the sign-in URL"),
    names.OTEL_EXPORT_FAILED: ("WARN", GENERIC, "telemetry not sent to the [otel] collector"),
    TRACEBACK_TYPE: ("ERROR", GENERIC, "traceback"),
}
_LIBRARY_LEVELS = {"WARNING": "WARN", "WARN": "WARN", "ERROR": "ERROR", "CRITICAL": "ERROR", "INFO": "INFO", "DEBUG": "DEBUG"}


def _flow_words(start: dict[str, Any]) -> str:
    flow, command = start.get("flow"), start.get("command")
    if command == "login" or command is None:
        words = {
            "browser": "browser login",
            "device": "device code login",
            "api_key": "api key login",
            "apikey": "api key login",
            "access_token": "access token login",
        }
        what = words.get(flow, f"{display_text(flow)} login") if isinstance(flow, str) else "login"
        return f"starting {what} flow"
    return f"starting {display_text(command)}" + (f" ({display_text(flow)})" if flow else "")


def _node_lines(node: Node) -> Iterator[Line]:
    name = node.raw_type
    start = _fields(node.start)
    if not node.is_action:
        if name == names.LIBRARY_LOG:
            level = _LIBRARY_LEVELS.get(str(start.get("level", "")).upper(), "WARN")
            logger = display_text(start.get("logger", GENERIC))
            yield Line(node.start_ts, level, logger, display_text(start.get("message", "")))
            return
        level, target, message = _MESSAGES.get(name, ("INFO", GENERIC, display_text(name)))
        if name == names.OAUTH_ERROR:
            yield Line(node.start_ts, level, target, message, _pick(start, "error_code", "has_error_description"))
            return
        yield Line(node.start_ts, level, target, message, tuple((k, v) for k, v in start.items() if k != "severity"))
        return
    if node.start is not None:
        yield _start_line(node, name, start)
    for child in node.sorted_children():
        yield from _node_lines(child)
    yield from _end_line(node, name)


def _start_line(node: Node, name: str, start: dict[str, Any]) -> Line:
    if name == ROOT_TYPE:
        shown = tuple(kv for kv in _pick(start, "reference", "issuer") if kv[0] not in ("command", "flow", "version"))
        return Line(node.start_ts, "INFO", CLI, _flow_words(start), shown)
    target, message, keys = _STARTS.get(name, (GENERIC, f"{display_text(name)} started", ()))
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
        target = CLI if name == ROOT_TYPE else _STARTS.get(name, (GENERIC,))[0]
        yield Line(None, "WARN", target, f"{'login flow' if name == ROOT_TYPE else _noun(name)} never finished")
        return
    end = _fields(node.end)
    if name == ROOT_TYPE:
        target = CLI
        words = {SUCCEEDED: "login flow finished", FAILED: "login flow failed", CANCELLED: "login flow cancelled"}
        command = _fields(node.start).get("command")
        if command not in (None, "login"):
            words = {
                SUCCEEDED: f"{display_text(command)} finished",
                FAILED: f"{display_text(command)} failed",
                CANCELLED: f"{display_text(command)} cancelled",
            }
        message = words.get(status, f"login flow {display_text(status)}")
    else:
        target = _STARTS.get(name, (GENERIC,))[0]
        ok, bad = _ENDS.get(name, (f"{display_text(name)} succeeded", f"{display_text(name)} failed"))
        message = ok if status == SUCCEEDED else bad if status == FAILED else f"{_noun(name)} {display_text(status)}"
    level = "INFO" if status == SUCCEEDED else "WARN" if status == CANCELLED else "ERROR"
    if status == FAILED and "failed_in" in end:  # a parent of the failure: its ERROR line is the child's
        level = "WARN"
    keys = ("status", "outcome", "exit_code", "error_code", "error_message", "kind", "failed_in")
    yield Line(node.end_ts, level, target, message, _pick(end, *keys))


def _noun(name: str) -> str:
    """What an action is called in its lines ("oauth token exchange"), for "… cancelled"."""
    bad = _ENDS.get(name, ("", ""))[1]
    return bad[: -len(" failed")] if bad.endswith(" failed") else display_text(name)


def run_lines(run: Run) -> list[Line]:
    """The tracing lines of one run, in the tree's order (which is time order within a task)."""
    return list(_node_lines(run.root))


def render_text(run: Run) -> str:
    return "".join(format_line(line) + "\n" for line in run_lines(run))
