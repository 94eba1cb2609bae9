"""Which runs `codex login log` shows: --failed, --last N, --task UUID, --since/--until, --grep REF.

`iter_runs` feeds the lines to a TreeBuilder (logview.tree) and yields the runs that match, whole:
a filter never cuts a tree; a log file is read a chunk at a time (`line_batches`). `Options`
says what to show (the filters, and the output mode the views read); `Stats` what was read.
"""

from __future__ import annotations

import heapq
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from codexlogin.diagnostics.rotation import OVERLONG_LINE, BoundedLines
from codexlogin.logview.tree import Run, TreeBuilder, node_fields

__all__ = ["Options", "Stats", "iter_runs", "parse_time"]


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
        raise ValueError(f"invalid time {text!r}: use ISO 8601 (2026-11-24T10:00Z) or an age like 30m, 2h, 7d") from None
    if moment.tzinfo is None:
        moment = moment.astimezone() if local else moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class Options:
    """What to show. Times are epoch seconds; `mode` is "tree", "summary", "json" or "text".

    `formatter` renders one run for mode "text" (logview.text.render_text, passed in by the
    command). `width` wraps long tree fields (None: never).
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
        lines, name = node_fields(node)
        if needle in name.lower():
            return True
        for line in lines:
            if needle in line.lower():
                return True
    return False


#: Characters read at a time from a log file (the reader's own lines are cut from them).
READ_CHUNK = 1 << 16


def line_batches(stream: BoundedLines, chunk: int | None = None) -> Iterator[list[str]]:
    """The lines of a log file as iterating `stream` gives them, without their newlines, a list
    per chunk read: a readline call per line costs more than parsing the line.

    The same bound as BoundedLines: a line longer than `stream.max_chars` comes out as
    OVERLONG_LINE (counted in `stream.overlong`), and at most that much of it is held.
    """
    limit = stream.max_chars
    chunk = chunk or READ_CHUNK
    head = ""  # the start of a line whose newline is in a later chunk
    overlong = False  # the line being read is past the limit: dropped up to its newline
    while text := stream.read(chunk):
        lines = text.split("\n")
        tail = lines.pop()
        if lines:
            if overlong or len(head) + len(lines[0]) > limit:
                lines[0] = OVERLONG_LINE
                stream.overlong += 1
            elif head:
                lines[0] = head + lines[0]
            head, overlong = "", False
            if len(text) > limit:
                for index in range(1, len(lines)):
                    if len(lines[index]) > limit:
                        lines[index] = OVERLONG_LINE
                        stream.overlong += 1
            yield lines
        if not overlong:
            head += tail
            if len(head) > limit:
                head, overlong = "", True
    if overlong:
        stream.overlong += 1
        yield [OVERLONG_LINE]
    elif head:
        yield [head]


def _batches(stream: Iterable[str]) -> Iterable[Iterable[str]]:
    # A file is read in chunks; a pipe (stdin) line by line, so that runs show as they arrive.
    if isinstance(stream, BoundedLines) and stream.seekable():
        return line_batches(stream)
    return (stream,)


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

    everything = limit is None and not (options.failed or options.grep) and options.since is None and options.until is None
    for stream in streams:
        for batch in _batches(stream):
            for line in batch:
                run = feed(line)
                if run is not None:
                    if everything:  # no filter: no generator per run
                        yield run, False
                    else:
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
