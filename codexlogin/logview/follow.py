"""`codex login log --follow`: a run's tree shown live while codex login writes it.

The log file is polled (no inotify: it works the same on every platform and on network file
systems): new complete lines are read, each message is shown at once as one line of a tree in
time order (`+--` an action starts, `<--` it ends, messages in between), indented by its depth.
A rotation (codex-login.log moved to codex-login.log.1.gz and a new file begun) or a truncation is
noticed by the file's identity and size: the rest of the old file is read, then the new one from
its start. A symbolic link (or anything but a regular file) at the path is never opened.

Targets: with `task` (a task UUID prefix) or `last_run` (the run that started last, or the next one
to start), only that run is shown, from its beginning, and following stops when its root action
ends. Without a target every new message is shown until Ctrl-C. The poll interval starts at
`min_interval` and doubles while nothing arrives, up to `max_interval`.

Everything shown is scrubbed (tree.scrubbed_fields / diagnostics.scrubbing.scrub_message). No eliot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any, BinaryIO

from codexlogin.diagnostics.scrubbing import scrub_message
from codexlogin.logview.text import Clock, Style, format_duration
from codexlogin.logview.tree import ROOT_TYPE, Node, display_text, elapsed, scrubbed_fields
from codexlogin.terminal import one_line

__all__ = ["Follower", "follow"]

MAX_LINE = 1 << 20  # a longer line without newline is dropped (a log line is far shorter)


@dataclass
class _File:
    handle: IO[bytes]
    ident: tuple[int, int]
    buffer: bytes = b""


class Follower:
    """Turns new log lines into output text; holds what a target needs (start times, the run)."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        mode: str = "tree",
        task: str | None = None,
        last_run: bool = False,
        local: bool = False,
        text_lines: Callable[[Node], list[str]] | None = None,
    ) -> None:
        self.write = write
        self.mode = mode
        self.task = task.strip().lower() if task else None
        self.last_run = last_run
        self.target: str | None = None  # the uuid being shown, once known
        self.done = False  # the target's root action ended
        self.clock = Clock(local)
        self.style = Style()
        self.text_lines = text_lines
        self.starts: dict[tuple[str, tuple[Any, ...]], float] = {}
        self.backlog: list[dict[str, Any]] = []  # last_run, first pass: the messages of the newest run so far

    # -- the first pass over what is already in the file (last_run only) --

    def replay(self, line: str) -> None:
        message = _parse(line)
        if message is None:
            return
        if _is_root_start(message):
            self.backlog = [message]
        elif self.backlog and message.get("task_uuid") == self.backlog[0].get("task_uuid"):
            self.backlog.append(message)

    def end_replay(self) -> None:
        if self.backlog:
            self.target = self.backlog[0].get("task_uuid")
            for message in self.backlog:
                self._show(message)
        self.backlog = []

    # -- live --

    def feed(self, line: str) -> None:
        message = _parse(line)
        if message is None or self.done:
            return
        uuid = message.get("task_uuid")
        if self.task is not None and not (isinstance(uuid, str) and uuid.lower().startswith(self.task)):
            return
        if self.last_run and self.target is None:
            if not _is_root_start(message):
                return
            self.target = uuid
        if self.target is not None and uuid != self.target:
            return
        self._show(message)

    def _show(self, message: dict[str, Any]) -> None:
        uuid = message.get("task_uuid")
        level = message.get("task_level")
        if not isinstance(uuid, str) or not isinstance(level, list) or not level:
            return
        if self.task is not None and self.target is None:
            self.target = uuid
        ts = message.get("timestamp")
        status = message.get("action_status")
        fields = {k: v for k, v in message.items() if k not in ("task_uuid", "task_level", "timestamp")}
        if self.mode == "json":
            self.write(json.dumps(scrub_message(message), separators=(",", ":"), default=str) + "\n")
        else:
            self.write(self._render(uuid, tuple(level), ts, status, fields))
        if status in ("succeeded", "failed") and len(level) == 1 and (self.target is not None):
            self.done = True

    def _render(self, uuid: str, level: tuple[Any, ...], ts: object, status: object, fields: dict[str, Any]) -> str:
        is_action = status is not None
        node = Node(is_action, level[-1], level)
        if status == "started" or not is_action:
            node.start, node.start_ts = fields, ts if isinstance(ts, (int, float)) else None
        else:
            node.end, node.end_ts = fields, ts if isinstance(ts, (int, float)) else None
        if self.mode == "text" and self.text_lines is not None:
            return "".join(line + "\n" for line in self.text_lines(node))
        scrubbed, lines = scrubbed_fields(fields)
        kind = "action_type" if is_action else "message_type"
        # One line each, control characters escaped: a crafted task_level or type cannot forge lines.
        name = one_line(display_text(scrubbed.get(kind, "(untyped)")))
        where = one_line("/".join(display_text(item) for item in level))
        short = one_line(display_text(uuid))[:8]
        indent = "|   " * _depth(level, is_action)
        key = (uuid, level[:-1])
        if status == "started":
            if isinstance(ts, (int, float)):
                self.starts[key] = ts
            head = f"{short} {indent}+-- {name}/{where} started {self.clock(ts)}"
        elif is_action:
            begun = self.starts.pop(key, None)
            took = elapsed(begun, ts) if isinstance(ts, (int, float)) else None  # a hostile time: None
            mark = self.style.mark(str(status)) if status != "succeeded" else "succeeded"
            head = f"{short} {indent}<-- {name}/{where} {display_text(mark)} {self.clock(ts)} {format_duration(took)}"
        else:
            head = f"{short} {indent}* {name}/{where} {self.clock(ts)}"
        body = "".join(f"{short} {indent}      {line}\n" for line in lines)
        return head + "\n" + body


def _depth(level: tuple[Any, ...], is_action: bool) -> int:
    """How deep a line sits in the tree: the root action is 0, its children 1, …"""
    return max(0, len(level) - 1 if is_action else len(level))


def _parse(line: str) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to be a log line of ours
        return None
    return message if isinstance(message, dict) else None


def _is_root_start(message: dict[str, Any]) -> bool:
    return (
        message.get("action_status") == "started" and message.get("task_level") == [1] and message.get("action_type") == ROOT_TYPE
    )


def _ident(stat: os.stat_result) -> tuple[int, int]:
    return (stat.st_dev, stat.st_ino)


def _read_lines(current: _File) -> list[str]:
    """Complete new lines of the open file (a partial last line waits in the buffer)."""
    chunk = current.handle.read()
    if not chunk:
        return []
    data = current.buffer + chunk
    *complete, rest = data.split(b"\n")
    current.buffer = rest if len(rest) <= MAX_LINE else b""
    return [line.decode("utf-8", "replace") for line in complete]


def _open_regular(path: Path) -> BinaryIO | None:
    """`path` opened for reading when it is a regular file; None otherwise (missing, or a FIFO,
    device or symbolic link put in its place: opened without blocking or following, never read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    if not S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def follow(
    path: Path,
    follower: Follower,
    *,
    min_interval: float = 0.05,
    max_interval: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Poll `path` until the follower's target run ends (or forever without one, or should_stop).

    Ctrl-C (KeyboardInterrupt) propagates to the caller, which treats it as the normal end.
    """
    current: _File | None = None
    interval = min_interval
    first = True
    while not follower.done and not should_stop():
        try:
            stat = path.lstat()  # a symbolic link planted at the path is never followed
        except OSError:  # missing (not written yet, or between rotation's rename and create)
            stat = None
        if stat is not None and not S_ISREG(stat.st_mode):
            stat = None  # treated as missing: the old file's last lines are read, nothing else
        got = False
        if current is not None:
            rotated = stat is None or _ident(stat) != current.ident
            truncated = not rotated and stat is not None and stat.st_size < current.handle.tell()
            if rotated or truncated:
                for line in _read_lines(current):  # the old file's last lines
                    follower.feed(line)
                current.handle.close()
                current = None
        if current is None and stat is not None:
            handle = _open_regular(path)  # kept open across polls
            if handle is not None:
                current = _File(handle, _ident(os.fstat(handle.fileno())))
                if first and not follower.last_run and follower.task is None:
                    handle.seek(0, os.SEEK_END)  # no target: only what is written from now on
        if current is not None:
            lines = _read_lines(current)
            if first and follower.last_run:
                for line in lines:
                    follower.replay(line)
                follower.end_replay()
            else:
                for line in lines:
                    follower.feed(line)
                    if follower.done:
                        break
            got = bool(lines)
            first = False
        if follower.done:
            break
        interval = min_interval if got else min(max_interval, interval * 2)
        sleep(interval)
    if current is not None:
        current.handle.close()
