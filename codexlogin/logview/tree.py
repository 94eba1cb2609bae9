"""Action trees from eliot's JSON lines: the streaming reader every view of the log starts from.

JSON lines are parsed one at a time, grouped by task_uuid and built into a tree from task_level.
A task's tree is emitted as soon as its root action ends (a task whose root is a bare message is
complete at once); tasks still open at end of input are emitted last with status `unfinished`.
Only open tasks are held, so memory does not grow with the file size. A long log's lines are
parsed by orjson (TreeBuilder), read exactly as the json module reads them.

Every field shown (tree, summary, JSON, and the text --grep searches) is passed through
`codexlogin.diagnostics.scrubbing.scrub_message` first (`scrubbed_fields`, `node_fields`); no module of
codexlogin.logview imports eliot, and only logview.render imports rich, when colour is asked for.

Statuses: `succeeded`, `failed`, `cancelled` (an action that failed with trio.Cancelled,
KeyboardInterrupt, asyncio's CancelledError, or our own outcome "cancelled"), `unfinished` (no end
message). A run "failed" (for --failed and for the failures-first summary) when its root or any
action inside it ended failed, cancelled or unfinished, or it logged an `eliot:traceback`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from codexlogin.diagnostics import names
from codexlogin.diagnostics.scrubbing import scrub_message
from codexlogin.terminal import CONTROL_ESCAPES

__all__ = ["Node", "Run", "TreeBuilder", "node_fields", "scrubbed_fields"]

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
ROOT_TYPE = names.COMMAND  # the root action of every run
# Keys of an eliot message that are structure, not fields: never listed as `key: value`.
STRUCTURE_KEYS = frozenset({"action_type", "action_status", "message_type"})

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads
# The C scanner, without loads()'s wrapper layers; typeshed omits it (an attribute set in __init__).
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

#: Lines read with the json module before orjson (eliot's own dependency, about four times
#: faster per line) is loaded: its import costs as much as a few thousand lines, so a short log
#: never pays for it.
FAST_AFTER = 0x1000

#: orjson reads an integer outside 64 bits as a float; the json module keeps it exact. A parsed
#: float this large may be such an integer, so its line is parsed again by the json module.
_EXACT_LIMIT = 9.2e18
_DOUBTFUL = frozenset({float, list, dict})  # value types that may hold such a float


def _fast_parser() -> tuple[Callable[[str], Any], type[ValueError]] | None:
    try:
        from orjson import JSONDecodeError, loads
    except ImportError:  # pragma: no cover - eliot requires it; the json module alone reads the same
        return None
    return loads, JSONDecodeError


def _exact(value: Any) -> bool:
    """No float in `value` (a parsed message) that orjson may have made of a huge integer."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is float:
            if not -_EXACT_LIMIT < item < _EXACT_LIMIT:
                return False
        elif (kind is list or kind is dict) and not _exact(item):
            return False
    return True


def _doubtful(message: dict[str, Any], ts: object) -> bool:
    """Whether orjson's reading of a message (its envelope taken off) may differ from the json
    module's: a float (the timestamp too) that may have been a huge integer."""
    if type(ts) is float and not -_EXACT_LIMIT < ts < _EXACT_LIMIT:
        return True
    if _DOUBTFUL.isdisjoint(map(type, message.values())):  # the usual message: strings, ints, bools
        return False
    try:
        return not _exact(message)
    except RecursionError:  # nested deeper than Python recurses: the json module decides
        return True


def _parse_json(line: str) -> Any:
    """The JSON value of one line as the json module reads it; `_NOT_JSON` if none."""
    try:
        value, end = _scan(line, 0)
        if end != len(line) and not line[end:].isspace():
            raise ValueError("extra data")
    except (StopIteration, ValueError, RecursionError):  # RecursionError: a line nested too deeply
        try:
            value = _loads(line)  # leading whitespace is fine; the rest raises again
        except (ValueError, RecursionError):
            return _NOT_JSON
    return value


_NOT_JSON = object()
_FLOAT_MAX = 1.7976931348623157e308  # sys.float_info.max: an int beyond it has no float


def elapsed(start: object, end: object) -> float | None:
    """Seconds from `start` to `end` (log times); None when either is missing or the difference is
    no float (a huge integer time, or the ends of the float range: infinity, which is no JSON)."""
    if start is None or end is None:
        return None
    try:
        seconds = end - start  # type: ignore[operator]
    except (TypeError, OverflowError):  # OverflowError: a float and an int beyond floats
        return None
    return seconds if -_FLOAT_MAX <= seconds <= _FLOAT_MAX else None


# --------------------------------------------------------------------------------------------
# Scrubbing and formatting of fields, cached: most messages in a log repeat the same field values
# --------------------------------------------------------------------------------------------


def display_text(value: object) -> str:
    """A scrubbed JSON value as display text: strings verbatim, the rest as compact JSON.

    Control characters (ANSI escapes included) are shown escaped so a log cannot drive the
    terminal; newlines are kept (the caller indents continuation lines).
    """
    text = value if type(value) is str else _dumps(value)
    if not text.isprintable():
        text = text.translate(CONTROL_ESCAPES)
    return text


def _format_fields(scrubbed: dict[str, Any]) -> tuple[str, ...]:
    """`key: value` lines for the non-structure fields of a scrubbed message (physical lines)."""
    lines: list[str] = []
    for key, value in scrubbed.items():
        if key in STRUCTURE_KEYS:
            continue
        text = display_text(key) + ": " + display_text(value)
        if "\n" in text:
            first, *rest = text.split("\n")
            lines.append(first)
            lines.extend("    " + line for line in rest)
        else:
            lines.append(text)
    return tuple(lines)


#: (scrubbed dict, formatted lines, display name as an action, display name as a message)
_Entry = tuple[dict[str, Any], tuple[str, ...], str | None, str | None]


def _entry(scrubbed: dict[str, Any]) -> _Entry:
    action = scrubbed.get("action_type", _MISSING)
    message = scrubbed.get("message_type", _MISSING)
    return (
        scrubbed,
        _format_fields(scrubbed),
        None if action is _MISSING else display_text(action),
        None if message is _MISSING else display_text(message),
    )


_MISSING = object()


@lru_cache(maxsize=8192)
def _scrub_cached(keys: tuple[str, ...], values: tuple[Any, ...], types: tuple[type, ...]) -> _Entry:
    return _entry(scrub_message(dict(zip(keys, values, strict=True))))


def _fields_entry(fields: dict[str, Any]) -> _Entry:
    try:
        # The types are part of the key so that True, 1 and 1.0 stay apart.
        values = tuple(fields.values())
        return _scrub_cached(tuple(fields), values, tuple(map(type, values)))
    except TypeError:  # a list or dict value is not hashable: scrub without the cache
        return _entry(scrub_message(fields))


def scrubbed_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(scrubbed dict, formatted `key: value` lines) for a message without its envelope keys.

    The envelope (task_uuid, task_level, timestamp) is taken off before scrubbing, which makes
    identical field sets hit the cache; scrub_message only ever looks at the fields together.
    The returned dict is shared: do not modify it.
    """
    entry = _fields_entry(fields)
    return entry[0], entry[1]


_HEX_ID = re.compile(r"[0-9a-fA-F-]*")


def _scrub_uuid(value: str) -> str:
    """A task_uuid for display. Hex digits and dashes hold nothing scrub_text acts on (no URL,
    key=value, JWT, sk- or Bearer), so the usual UUID skips the scrubber; anything else is scrubbed.
    """
    if _HEX_ID.fullmatch(value):
        return value
    out = scrub_message({"task_uuid": value}).get("task_uuid", "")
    return display_text(out)


# --------------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------------


class Node:
    """One action (start/end messages) or one message, with its children in task_level order."""

    __slots__ = ("is_action", "pos", "level", "start", "end", "start_ts", "end_ts", "children", "_status")

    def __init__(self, is_action: bool, pos: Any, level: tuple[Any, ...]) -> None:
        self.is_action = is_action
        self.pos = pos  # sort key among siblings
        self.level = level  # task_level of the start message (or of the path, if it is missing)
        self.start: dict[str, Any] | None = None  # fields of the start message (or of the message)
        self.end: dict[str, Any] | None = None
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
        return elapsed(self.start_ts, self.end_ts)

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
        self.failed = _failed(root)
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


def _failed(root: Node) -> bool:
    """Whether an action in the tree ended badly or a message in it is an eliot traceback."""
    stack = [root]  # not Node.walk: nested generators cost more than the check itself
    while stack:
        node = stack.pop()
        if node.is_action:
            if node.status in BAD_STATUSES:
                return True
        elif node.raw_type == TRACEBACK_TYPE:
            return True
        if node.children:
            stack += node.children
    return False


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
        self.actions: dict[tuple[Any, ...], Node] = {}
        self.seen = 0  # TreeBuilder.messages when this task last had a message

    def action(self, path: tuple[Any, ...]) -> Node:
        node = self.actions.get(path)
        if node is None:
            node = self.actions[path] = Node(True, path[-1] if path else 0, (*path, 1))
            if path:
                self.action(path[:-1]).children.append(node)
        return node


STALE_AFTER = 20_000  # messages without news after which an open task counts as unfinished
MAX_TASK_DEPTH = 256  # a deeper task_level is no eliot log of ours or anyone's
_STATUSES = frozenset({"started", "succeeded", "failed"})


class TreeBuilder:
    """Feed lines; complete runs come back from `feed` (a list, usually empty) and `finish`.

    Lines are parsed by the json module, then (after FAST_AFTER messages) by orjson; a line
    orjson refuses or may read otherwise (see _EXACT_LIMIT) goes to the json module, so what is
    read never depends on which parser read it.
    """

    def __init__(self, task_prefix: str | None = None) -> None:
        self.open: dict[str, _Task] = {}
        self.skipped = 0  # lines that are not eliot JSON
        self.messages = 0
        self.task_prefix = task_prefix
        self.stale: list[Run] = []  # open tasks given up on (see STALE_AFTER); drained by the caller
        self._fast: Callable[[str], Any] | None = None  # orjson.loads, after FAST_AFTER messages
        self._fast_after = FAST_AFTER
        self._fast_error: type[ValueError] = ValueError

    def feed(self, line: str) -> Run | None:
        """Add one line; return the run it completed, if any."""
        prefix = self.task_prefix
        if prefix is not None and prefix not in line:
            return None  # --task: lines of other tasks are not even parsed
        fast = self._fast
        if fast is not None:
            try:
                message = fast(line)
            except self._fast_error:
                return self._add(line, _parse_json(line), True)
            return self._add(line, message, False)
        return self._add(line, _parse_json(line), True)

    def _add(self, line: str, message: Any, exact: bool) -> Run | None:
        """One parsed line. `exact`: read by the json module; otherwise by orjson, and any doubt
        about the envelope or a large float sends the line back to the json module."""
        if type(message) is not dict:
            if message is not _NOT_JSON or (line and not line.isspace()):
                self.skipped += 1
            return None
        uuid = message.pop("task_uuid", None)
        level = message.pop("task_level", None)
        ts = message.pop("timestamp", None)
        # eliot's envelope, checked before anything of it is shown: task_level a non-empty list of
        # positive ints, action_status one of eliot's three, action_type/message_type strings.
        valid = type(uuid) is str and type(level) is list and 0 < len(level) <= MAX_TASK_DEPTH
        if valid:
            for item in level:
                if type(item) is not int or item < 1:
                    valid = False
                    break
        status = message.get("action_status")
        if status is not None and (type(status) is not str or status not in _STATUSES):
            valid = False
        kind = message.get("action_type")
        if kind is not None and type(kind) is not str:
            valid = False
        kind = message.get("message_type")
        if kind is not None and type(kind) is not str:
            valid = False
        if not valid:
            if not exact:
                return self._add(line, _parse_json(line), True)
            self.skipped += 1
            return None
        if prefix := self.task_prefix:
            if not uuid.startswith(prefix):
                return None
        if (
            not exact
            and (
                (type(ts) is float and not -_EXACT_LIMIT < ts < _EXACT_LIMIT)
                or not _DOUBTFUL.isdisjoint(map(type, message.values()))
            )
            and _doubtful(message, ts)
        ):
            return self._add(line, _parse_json(line), True)
        self.messages += 1
        if not self.messages & 0xFFF:
            self._expire()
        if self.messages == self._fast_after and (parser := _fast_parser()) is not None:
            self._fast, self._fast_error = parser
        if type(ts) is int:
            if not -_FLOAT_MAX <= ts <= _FLOAT_MAX:  # 10**400: no float holds it, arithmetic on it fails
                ts = None
        elif type(ts) is not float or ts - ts != 0.0:  # ts - ts: NaN unless finite
            ts = None  # a string, NaN or 1e400 is no time: shown as "-", never copied into --json
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
            path = tuple(level[:-1])
            parent = task.actions.get(path) or task.action(path)
            node = Node(False, level[-1], tuple(level))
            node.start = message
            node.start_ts = ts
            parent.children.append(node)
            return None
        if task is None:
            task = self.open[uuid] = _Task()
        task.seen = self.messages
        path = tuple(level[:-1])
        node = task.actions.get(path) or task.action(path)
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
# A node's fields, as every view shows them
# --------------------------------------------------------------------------------------------


def node_fields(node: Node) -> tuple[tuple[str, ...], str]:
    """(formatted field lines of start and end, scrubbed type name)."""
    action = node.is_action  # the type name as the node's kind names it
    start, end = node.start, node.end
    if start:
        first = _fields_entry(start)
        name = first[2] if action else first[3]
        if not end:
            return first[1], name or "(untyped)"
        second = _fields_entry(end)
        if name is None:
            name = second[2] if action else second[3]
        return first[1] + second[1], name or "(untyped)"
    if end:
        second = _fields_entry(end)
        return second[1], (second[2] if action else second[3]) or "(untyped)"
    return (), "(untyped)"
