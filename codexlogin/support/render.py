"""Read codex-login.log (or any eliot log) back and render its action trees for support.

A streaming reader: JSON lines are parsed one at a time, grouped by task_uuid and built into a
tree from task_level. A task's tree is emitted as soon as its root action ends (a task whose root is
a bare message is complete at once); tasks still open at end of input are emitted last with status
`unfinished`. Only open tasks are held, so memory does not grow with the file size.

Every field shown (tree, summary, JSON, and the text --grep searches) is passed through
`codexlogin.diagnostics.scrubbing.scrub_message` first; this module never imports eliot, and imports rich only
when colour output is asked for.

Statuses: `succeeded`, `failed`, `cancelled` (an action that failed with trio.Cancelled,
KeyboardInterrupt, asyncio's CancelledError, or our own outcome "cancelled"), `unfinished` (no end
message). A run "failed" (for --failed and for the failures-first summary) when its root or any
action inside it ended failed, cancelled or unfinished, or it logged an `eliot:traceback`.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import IO, Any

from codexlogin.diagnostics.scrubbing import scrub_message
from codexlogin.terminal import CONTROL_ESCAPES

__all__ = [
    "Options",
    "Run",
    "Stats",
    "TreeBuilder",
    "parse_time",
    "render",
]

SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
UNFINISHED = "unfinished"
MESSAGE = "message"  # a run that is a single message outside any action
BAD_STATUSES = frozenset({FAILED, CANCELLED, UNFINISHED})
CANCEL_EXCEPTIONS = frozenset(
    {
        "trio.Cancelled",
        "builtins.KeyboardInterrupt",
        "KeyboardInterrupt",
        "asyncio.exceptions.CancelledError",
        "asyncio.CancelledError",
        "concurrent.futures._base.CancelledError",
    }
)
TRACEBACK_TYPE = "eliot:traceback"
ROOT_TYPE = "codex:command"  # diagnostics.schema.COMMAND (not imported: that loads eliot; a test pins it)
# Keys of an eliot message that are structure, not fields: never listed as `key: value`.
_STRUCTURE = frozenset({"action_type", "action_status", "message_type"})

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads
# The C scanner, without loads()'s wrapper layers; typeshed omits it (an attribute set in __init__).
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Scrubbing and formatting of fields, cached: most messages in a log repeat the same field values
# --------------------------------------------------------------------------------------------



def _text(value: object) -> str:
    """A scrubbed JSON value as display text: strings verbatim, the rest as compact JSON.

    Control characters (ANSI escapes included) are shown escaped so a log cannot drive the
    terminal; newlines are kept (the caller indents continuation lines).
    """
    text = value if type(value) is str else _dumps(value)
    if not text.isprintable():
        text = text.translate(CONTROL_ESCAPES)
    return text


def _format_fields(scrubbed: dict) -> tuple[str, ...]:
    """`key: value` lines for the non-structure fields of a scrubbed message (physical lines)."""
    lines: list[str] = []
    for key, value in scrubbed.items():
        if key in _STRUCTURE:
            continue
        text = _text(key) + ": " + _text(value)
        if "\n" in text:
            first, *rest = text.split("\n")
            lines.append(first)
            lines.extend("    " + line for line in rest)
        else:
            lines.append(text)
    return tuple(lines)


@lru_cache(maxsize=8192)
def _scrub_cached(key: tuple) -> tuple[dict, tuple[str, ...]]:
    scrubbed = scrub_message(dict(key[0]))
    return scrubbed, _format_fields(scrubbed)


def scrubbed_fields(fields: dict) -> tuple[dict, tuple[str, ...]]:
    """(scrubbed dict, formatted `key: value` lines) for a message without its envelope keys.

    The envelope (task_uuid, task_level, timestamp) is taken off before scrubbing, which makes
    identical field sets hit the cache; scrub_message only ever looks at the fields together.
    The returned dict is shared: do not modify it.
    """
    try:
        # The types are part of the key so that True, 1 and 1.0 stay apart.
        return _scrub_cached((tuple(fields.items()), tuple(map(type, fields.values()))))
    except TypeError:  # a list or dict value is not hashable: scrub without the cache
        scrubbed = scrub_message(fields)
        return scrubbed, _format_fields(scrubbed)


_HEX_ID = re.compile(r"[0-9a-fA-F-]*")


def _scrub_uuid(value: str) -> str:
    """A task_uuid for display. Hex digits and dashes hold nothing scrub_text acts on (no URL,
    key=value, JWT, sk- or Bearer), so the usual UUID skips the scrubber; anything else is scrubbed.
    """
    if _HEX_ID.fullmatch(value):
        return value
    out = scrub_message({"task_uuid": value}).get("task_uuid", "")
    return _text(out)


# --------------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------------


class Node:
    """One action (start/end messages) or one message, with its children in task_level order."""

    __slots__ = ("is_action", "pos", "level", "start", "end", "start_ts", "end_ts", "children", "_status")

    def __init__(self, is_action: bool, pos: Any, level: tuple) -> None:
        self.is_action = is_action
        self.pos = pos  # sort key among siblings
        self.level = level  # task_level of the start message (or of the path, if it is missing)
        self.start: dict | None = None  # fields of the start message (or of the message)
        self.end: dict | None = None
        self.start_ts: float | None = None
        self.end_ts: float | None = None
        self.children: list[Node] = []
        self._status: str | None = None

    @property
    def status(self) -> str:
        if self._status is None:
            self._status = _status(self)
        return self._status

    @property
    def raw_type(self) -> str:
        for fields in (self.start, self.end):
            if fields:
                value = fields.get("action_type" if self.is_action else "message_type")
                if value is not None:
                    return value if type(value) is str else str(value)
        return "(untyped)"

    @property
    def duration(self) -> float | None:
        if self.start_ts is None or self.end_ts is None:
            return None
        try:
            return self.end_ts - self.start_ts
        except TypeError:
            return None

    def sorted_children(self) -> list[Node]:
        children = self.children
        if len(children) > 1:
            try:
                children.sort(key=_pos)
            except TypeError:  # task_level with mixed types: keep arrival order
                pass
        return children

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def _pos(node: Node) -> Any:
    return node.pos


def _status(node: Node) -> str:
    if not node.is_action:
        return MESSAGE
    end = node.end
    if end is None:
        return UNFINISHED
    status = end.get("action_status")
    if status == FAILED:
        if end.get("exception") in CANCEL_EXCEPTIONS or end.get("outcome") == CANCELLED:
            return CANCELLED
        return FAILED
    return status if type(status) is str else str(status)


class Run:
    """A complete (or, at end of input, unfinished) task: its root node and what filters need."""

    __slots__ = ("uuid", "root", "start_ts", "end_ts", "failed", "_uuid_text")

    def __init__(self, uuid: str, root: Node) -> None:
        self.uuid = uuid
        self.root = root
        self._uuid_text: str | None = None
        self.failed = any(
            node.status in BAD_STATUSES if node.is_action else node.raw_type == TRACEBACK_TYPE
            for node in root.walk()
        )
        self.start_ts = root.start_ts if root.start_ts is not None else _first_ts(root)
        self.end_ts = root.end_ts

    @property
    def status(self) -> str:
        return self.root.status

    @property
    def uuid_text(self) -> str:
        if self._uuid_text is None:
            self._uuid_text = _scrub_uuid(self.uuid)
        return self._uuid_text


def _first_ts(root: Node) -> float | None:
    best = None
    for node in root.walk():
        for ts in (node.start_ts, node.end_ts):
            if (type(ts) is float or type(ts) is int) and (best is None or ts < best):
                best = ts
    return best


class _Task:
    __slots__ = ("actions", "seen")

    def __init__(self) -> None:
        self.actions: dict[tuple, Node] = {}
        self.seen = 0  # TreeBuilder.messages when this task last had a message

    def action(self, path: tuple) -> Node:
        node = self.actions.get(path)
        if node is None:
            node = self.actions[path] = Node(True, path[-1] if path else 0, (*path, 1))
            if path:
                self.action(path[:-1]).children.append(node)
        return node


STALE_AFTER = 20_000  # messages without news after which an open task counts as unfinished
MAX_TASK_DEPTH = 256  # a deeper task_level is no eliot log of ours or anyone's
_STATUSES = frozenset({"started", "succeeded", "failed"})


def _valid_envelope(level: object, message: dict) -> bool:
    """eliot's envelope, checked before anything of it is shown: task_level a non-empty list of
    positive ints, action_status one of eliot's three, action_type/message_type strings."""
    if type(level) is not list or not 0 < len(level) <= MAX_TASK_DEPTH:
        return False
    for item in level:
        if type(item) is not int or item < 1:
            return False
    status = message.get("action_status")
    if status is not None and (type(status) is not str or status not in _STATUSES):
        return False
    for key in ("action_type", "message_type"):
        value = message.get(key)
        if value is not None and type(value) is not str:
            return False
    return True


class TreeBuilder:
    """Feed lines; complete runs come back from `feed` (a list, usually empty) and `finish`."""

    def __init__(self, task_prefix: str | None = None) -> None:
        self.open: dict[str, _Task] = {}
        self.skipped = 0  # lines that are not eliot JSON
        self.messages = 0
        self.task_prefix = task_prefix
        self.stale: list[Run] = []  # open tasks given up on (see STALE_AFTER); drained by the caller

    def feed(self, line: str) -> Run | None:
        """Add one line; return the run it completed, if any."""
        prefix = self.task_prefix
        if prefix is not None and prefix not in line:
            return None  # --task: lines of other tasks are not even parsed
        try:
            message, end = _scan(line, 0)
            if end != len(line) and not line[end:].isspace():
                raise ValueError("extra data")
        except (StopIteration, ValueError):
            try:
                message = _loads(line)  # leading whitespace is fine; the rest raises again
            except ValueError:
                if line and not line.isspace():
                    self.skipped += 1
                return None
        if type(message) is not dict:
            self.skipped += 1
            return None
        uuid = message.pop("task_uuid", None)
        level = message.pop("task_level", None)
        if type(uuid) is not str or not _valid_envelope(level, message):
            self.skipped += 1
            return None
        if prefix is not None and not uuid.startswith(prefix):
            return None
        self.messages += 1
        if not self.messages & 0xFFF:
            self._expire()
        ts = message.pop("timestamp", None)
        if type(ts) is not int and (type(ts) is not float or not math.isfinite(ts)):
            ts = None  # a string, NaN or 1e400 is no time: shown as "-", never copied into --json
        status = message.get("action_status")
        task = self.open.get(uuid)
        if status is None:
            if task is None and level == [1]:  # a message outside any action: a run of its own
                node = Node(False, 1, (1,))
                node.start = message
                node.start_ts = ts
                return Run(uuid, node)
            if task is None:
                task = self.open[uuid] = _Task()
            task.seen = self.messages
            try:
                parent = task.action(tuple(level[:-1]))
            except TypeError:  # unhashable item in task_level
                self.skipped += 1
                return None
            node = Node(False, level[-1], tuple(level))
            node.start = message
            node.start_ts = ts
            parent.children.append(node)
            return None
        if task is None:
            task = self.open[uuid] = _Task()
        task.seen = self.messages
        try:
            path = tuple(level[:-1])
            node = task.action(path)
        except TypeError:
            self.skipped += 1
            return None
        if status == "started":
            node.start = message
            node.start_ts = ts
            node.level = tuple(level)
            return None
        node.end = message
        node.end_ts = ts
        if path:
            return None
        del self.open[uuid]
        return Run(uuid, node)

    def _expire(self) -> None:
        """Give up on tasks silent for STALE_AFTER messages: they become unfinished runs now.

        This keeps memory flat when a long log holds many runs that never ended (killed
        processes). A message that still arrives for such a task later starts a new fragment.
        """
        horizon = self.messages - STALE_AFTER
        stale = [uuid for uuid, task in self.open.items() if task.seen < horizon]
        for uuid in stale:
            self.stale.append(Run(uuid, self.open.pop(uuid).action(())))

    def finish(self) -> Iterator[Run]:
        """Runs still open at end of input (their missing ends show as unfinished)."""
        while self.open:
            uuid = next(iter(self.open))
            task = self.open.pop(uuid)
            yield Run(uuid, task.action(()))


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, *, now: float | None = None, local: bool = False) -> float:
    """ISO 8601 (`2026-11-24`, `2026-11-24T10:00Z`, `…+01:00`) or an age (`30m`, `2h`, `7d`).

    Returns epoch seconds. A time without an offset is UTC, or local time with `local=True`.
    Raises ValueError with a one-line message.
    """
    match = _RELATIVE.fullmatch(text)
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
        return (time.time() if now is None else now) - seconds
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: use ISO 8601 (2026-11-24T10:00Z) or an age like 30m, 2h, 7d"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone() if local else moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class _Clock:
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
                    parts = (datetime.fromtimestamp(block * 86400, timezone.utc).strftime("%Y-%m-%dT"), "Z")
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


def _duration(seconds: float | None) -> str:
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

    def __init__(self) -> None:
        from rich.markup import escape

        self.esc = escape  # type: ignore[method-assign,assignment]  # its parameter is named `markup`, not `text`

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
# Renderers
# --------------------------------------------------------------------------------------------


def _node_fields(node: Node) -> tuple[tuple[str, ...], str]:
    """(formatted field lines of start and end, scrubbed type name)."""
    lines: tuple[str, ...] = ()
    name = None
    kind = "action_type" if node.is_action else "message_type"
    for fields in (node.start, node.end):
        if fields:
            scrubbed, formatted = scrubbed_fields(fields)
            lines += formatted
            if name is None and kind in scrubbed:
                name = _text(scrubbed[kind])
    return lines, name or "(untyped)"


def render_tree(run: Run, style: Style, clock: _Clock, width: int | None = None) -> list[str]:
    """The lines (each ending in a newline) of one run's tree, then a blank line.

    With `width`, field lines longer than the width wrap, continued under their first line
    with four more spaces of indentation (cut at a space where one is near, else mid-word).
    """
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


def _tree_node(
    node: Node, prefix: str, last: bool, out: list[str], style: Style, clock: _Clock, width: int | None = None
) -> None:
    lines, name = _node_fields(node)
    where = "/".join(map(str, node.level))
    if node.is_action:
        head = (
            f"{style.label(name + '/' + where)}{style.arrow}{style.mark(node.status)} "
            f"{clock(node.start_ts if node.start_ts is not None else node.end_ts)} {_duration(node.duration)}"
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


def _node_json(node: Node) -> dict[str, Any]:
    kind = "action_type" if node.is_action else "message_type"
    start = scrubbed_fields(node.start)[0] if node.start else {}
    end = scrubbed_fields(node.end)[0] if node.end else {}
    name = start.get(kind, end.get(kind))
    data: dict[str, Any] = {
        "type": name,
        "kind": "action" if node.is_action else "message",
        "task_level": list(node.level),
        "timestamp": node.start_ts,
    }
    if node.is_action:
        data["status"] = node.status
        data["end_timestamp"] = node.end_ts
        data["duration"] = node.duration
    data["fields"] = {k: v for k, v in start.items() if k not in _STRUCTURE}
    if node.is_action:
        data["end_fields"] = {k: v for k, v in end.items() if k not in _STRUCTURE}
    if node.children:
        data["children"] = [_node_json(child) for child in node.sorted_children()]
    return data


def render_json(run: Run) -> str:
    data = {"task_uuid": run.uuid_text, "failed": run.failed, **_node_json(run.root)}
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"


@dataclass(frozen=True)
class SummaryRow:
    start: str
    status: str
    run: str
    outcome: str
    duration: str
    task: str
    error: str


def summary_row(run: Run, clock: _Clock) -> SummaryRow:
    """Start time, status, what ran (command/flow, or the root type), outcome, duration, error."""
    root = run.root
    start = scrubbed_fields(root.start)[0] if root.start else {}
    end = scrubbed_fields(root.end)[0] if root.end else {}
    status = run.status
    name = _node_fields(root)[1]
    if start.get("command") is not None or name == ROOT_TYPE:
        what = _text(start.get("command", "?"))
        if start.get("flow") is not None:
            what += "/" + _text(start["flow"])
    else:
        what = name
    outcome = _text(end["outcome"]) if end.get("outcome") is not None else status
    if status == CANCELLED:
        outcome = CANCELLED if outcome in (FAILED, CANCELLED) else outcome
    error = end.get("error_code")
    if error is None and status == FAILED and end.get("exception") is not None:
        error = end.get("exception")
    if error is None and run.failed and status not in BAD_STATUSES:
        for node in root.walk():  # the run succeeded, but something inside it did not
            if node is not root and node.is_action and node.status in BAD_STATUSES:
                inner = scrubbed_fields(node.end)[0] if node.end else {}
                code = inner.get("error_code") or inner.get("exception") or node.status
                error = f"{_node_fields(node)[1]}: {_text(code)}"
                break
    return SummaryRow(
        start=_short_time(clock(run.start_ts)),
        status=status.upper() if status in BAD_STATUSES else status,
        run=what,
        outcome=outcome_words(outcome, _text(start.get("command", "")), status),
        duration=_duration(root.duration) if root.duration is None else _short_duration(root.duration),
        task=run.uuid_text[:8],
        error="" if error is None else _text(error),
    )


#: Outcomes (errors.py, the root action's `outcome`) in words for the summary.
OUTCOME_WORDS = {
    "denied": "denied",
    "timed_out": "timed out",
    "cancelled": "cancelled",
    "token_exchange_failed": "exchange failed",
    "port_unavailable": "port busy",
    "storage_failed": "could not save",
    "credentials_unusable": "credentials unusable",
    "policy_violation": "policy violation",
    "network_error": "network error",
    "internal_error": "internal error",
    "usage_error": "usage error",
    "not_logged_in": "not logged in",
    FAILED: "failed",
    UNFINISHED: "never finished",
}


def outcome_words(outcome: str, command: str, status: str) -> str:
    """`signed in`, `denied`, `timed out`, … rather than class or status names."""
    if outcome in ("success", SUCCEEDED):
        return {"login": "signed in", "logout": "logged out"}.get(command, "ok")
    if status == CANCELLED and outcome in (FAILED, CANCELLED):
        return "cancelled"
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def _short_time(text: str) -> str:
    """`09-21 14:13:20` from the clock's `2026-09-21T14:13:20.000Z` (or its local form)."""
    return text[5:10] + " " + text[11:19] if len(text) >= 19 else text


def _short_duration(seconds: float) -> str:
    if type(seconds) is not float and type(seconds) is not int:
        return "-"
    if seconds < 100:
        return f"{seconds:.1f}s"
    if seconds < 6000:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


SUMMARY_WIDTH = 80
_SUMMARY_HEADER = SummaryRow("START", "STATUS", "COMMAND", "OUTCOME", "TIME", "RUN", "")


def format_summary_row(row: SummaryRow, style: Style, width: int = SUMMARY_WIDTH) -> str:
    """One line of at most `width` (80) columns: start, short run id, command, time, outcome[: error]."""
    esc = style.esc
    head = f"{row.start:<14}  {row.task:<8}  {row.run[:13]:<13}  {row.duration:>6}  "
    room = max(width - len(head), 10)
    outcome = row.outcome + (f": {row.error}" if row.error else "")
    if len(outcome) > room:
        outcome = outcome[: room - 1] + "…"
    return esc(head) + style.paint(outcome, row.status.lower()) + "\n"


# --------------------------------------------------------------------------------------------
# The whole command
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What to show. Times are epoch seconds; `mode` is "tree", "summary", "json" or "text".

    `formatter` renders one run for mode "text" (support.textformat.render_text: passed in, so
    that this module does not import its own users). `width` wraps long tree fields (None: never).
    """

    mode: str = "tree"
    last: int | None = None
    task: str | None = None
    failed: bool = False
    since: float | None = None
    until: float | None = None
    grep: str | None = None
    local: bool = False
    color: bool = False
    width: int | None = None
    formatter: Callable[[Run], str] | None = None

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the runs (so that no match is worth saying)."""
        return bool(self.last or self.task or self.failed or self.grep) or self.since is not None or self.until is not None


@dataclass
class Stats:
    runs: int = 0  # runs shown
    messages: int = 0  # eliot messages read
    skipped: int = 0  # lines that are not eliot JSON
    by_status: dict[str, int] | None = None


def _matches(run: Run, options: Options) -> bool:
    if options.failed and not run.failed:
        return False
    if options.since is not None or options.until is not None:
        start = run.start_ts
        if type(start) is not float and type(start) is not int:
            return False
        if options.since is not None and start < options.since:
            return False
        if options.until is not None and start > options.until:
            return False
    if options.grep:
        return _grep(run, options.grep.lower())
    return True


def _grep(run: Run, needle: str) -> bool:
    """Case-insensitive search of the scrubbed fields, types and task uuid of the whole run."""
    if needle in run.uuid_text.lower():
        return True
    for node in run.root.walk():
        lines, name = _node_fields(node)
        if needle in name.lower():
            return True
        for line in lines:
            if needle in line.lower():
                return True
    return False


def _lines(streams: Iterable[Iterable[str]]) -> Iterator[str]:
    for stream in streams:
        yield from stream


def iter_runs(streams: Iterable[Iterable[str]], options: Options, stats: Stats) -> Iterator[tuple[Run, bool]]:
    """Matching runs as (run, unfinished_at_end) in the order they complete.

    `unfinished_at_end` marks runs that never ended (given up on as stale, or open at end of
    input): they are shown after the others. With --last: the N runs that started last (a bounded
    heap, so memory stays flat), oldest first.
    """
    task = options.task.strip().lower() if options.task else None
    builder = TreeBuilder(task_prefix=task or None)
    feed = builder.feed
    stale = builder.stale
    keep: list[tuple[float, int, Run]] = []
    limit = options.last
    order = itertools.count()

    def pick(run: Run, late: bool) -> Iterator[tuple[Run, bool]]:
        if not _matches(run, options):
            return
        if limit is None:
            yield run, late
            return
        start = run.start_ts if type(run.start_ts) is float or type(run.start_ts) is int else float("-inf")
        item = (start, next(order), run)
        if len(keep) < limit:
            heapq.heappush(keep, item)
        elif item > keep[0]:
            heapq.heapreplace(keep, item)

    for line in _lines(streams):
        run = feed(line)
        if run is not None:
            yield from pick(run, False)
        if stale:
            for run in stale:
                yield from pick(run, True)
            stale.clear()
    for run in builder.finish():
        yield from pick(run, True)
    for _, _, run in sorted(keep):
        yield run, False
    stats.messages = builder.messages
    stats.skipped = builder.skipped


def render(streams: Iterable[Iterable[str]], out: IO[str], options: Options) -> Stats:
    """Render runs from `streams` (iterables of lines, read in turn as one log) to `out`.

    tree: runs as they complete (unfinished last). summary: failed runs first, then the rest,
    then a tally line. json: one object per run and line. BrokenPipeError propagates.
    """
    stats = Stats(by_status={})
    clock = _Clock(options.local)
    console = None
    style: Style = Style()
    if options.color and options.mode != "json":
        from rich.console import Console

        style = ColorStyle()
        console = Console(file=out, highlight=False, soft_wrap=True, emoji=False)

    def write(text: str) -> None:
        if console is not None:
            console.print(text, end="")
        else:
            out.write(text)

    # The trees hold no reference cycles: the cyclic collector only costs time here (about a third
    # of it, since the reader allocates a dict per line). Refcounting still frees every tree.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _render(streams, options, stats, clock, style, write)
    finally:
        if collecting:
            gc.enable()
    out.flush()
    return stats


def _render(
    streams: Iterable[Iterable[str]],
    options: Options,
    stats: Stats,
    clock: _Clock,
    style: Style,
    write: Callable[[str], None],
) -> None:
    counts = stats.by_status
    assert counts is not None
    summary = options.mode == "summary"
    if summary:
        write(format_summary_row(_SUMMARY_HEADER, Style()))
    pending: list[str] = []
    pending_size = 0

    def flush() -> None:
        nonlocal pending_size
        if pending:
            write("".join(pending))
            pending.clear()
        pending_size = 0

    def emit(text: str) -> None:
        # Batch small writes into ~64 KiB chunks: one write per run costs more than rendering it.
        nonlocal pending_size
        pending.append(text)
        pending_size += len(text)
        if pending_size > 1 << 16:
            flush()

    # What is not shown at once (summary: the runs that did not fail; otherwise: the runs that
    # never ended) waits in a spooled temp file, so memory stays flat.
    with tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") as later:
        for run, unfinished in iter_runs(streams, options, stats):
            stats.runs += 1
            counts[run.status] = counts.get(run.status, 0) + 1
            if summary:
                text = format_summary_row(summary_row(run, clock), style)
                now = run.failed
            else:
                if options.mode == "json":
                    text = render_json(run)
                elif options.mode == "text" and options.formatter is not None:
                    text = options.formatter(run)
                else:
                    text = "".join(render_tree(run, style, clock, options.width))
                now = not unfinished
            if not now:
                later.write(text)
                continue
            emit(text)
        flush()  # what was shown at once goes out before what waited
        later.seek(0)
        for line in later:  # whole lines: colour markup never spans one
            emit(line)
        flush()
    if summary:
        write(tally(stats.runs, counts) + "\n")


def tally(total: int, counts: dict[str, int]) -> str:
    """`3 runs: 2 succeeded, 1 failed` (statuses in a fixed order, others after)."""
    order = [SUCCEEDED, FAILED, CANCELLED, UNFINISHED, MESSAGE]
    parts = [f"{counts[s]} {s if s != MESSAGE else 'messages'}" for s in order if counts.get(s)]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in order]
    noun = "run" if total == 1 else "runs"
    return f"{total} {noun}" + (": " + ", ".join(parts) if parts else "")


def quiet_broken_pipe() -> None:
    """After BrokenPipeError: point stdout at devnull so the exit-time flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


