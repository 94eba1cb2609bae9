"""`codex login log` itself: runs read from the log, filtered, written out in the chosen view.

`render` joins the pieces of codexlogin.logview: select.iter_runs picks the runs, and each is
written as a tree or tracing lines (logview.text), a summary line (logview.summary) or a JSON
object (logview.json). rich is imported only for colour output.
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable, Iterable
from typing import IO

from codexlogin.logview.json import render_json
from codexlogin.logview.select import Options, Stats, iter_runs
from codexlogin.logview.summary import SUMMARY_HEADER, SummaryRow, command_width, format_summary_row, summary_row, tally
from codexlogin.logview.text import Clock, ColorStyle, Style, render_tree

__all__ = ["render"]


def render(streams: Iterable[Iterable[str]], out: IO[str], options: Options) -> Stats:
    """Render runs from `streams` (iterables of lines, read in turn as one log) to `out`.

    tree: runs as they complete (unfinished last). summary: every run in start-time order, failures
    marked, then a tally line. json: one object per run and line. BrokenPipeError propagates.
    """
    stats = Stats(by_status={})
    clock = Clock(options.local)
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
    clock: Clock,
    style: Style,
    write: Callable[[str], None],
) -> None:
    counts = stats.by_status
    assert counts is not None
    summary = options.mode == "summary"
    rows: list[tuple[float, int, SummaryRow, bool]] = []  # summary: every run, shown in start-time order
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
                start = run.start_ts if isinstance(run.start_ts, int | float) else float("inf")
                rows.append((start, len(rows), summary_row(run, clock), run.failed))
                continue
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
        width = command_width([row.run for _, _, row, _ in rows])
        write(format_summary_row(SUMMARY_HEADER, Style(), command=width))
        for _, _, row, failed in sorted(rows, key=lambda entry: entry[:2]):
            emit(format_summary_row(row, style, failed=failed, command=width))
        flush()
        write(tally(stats.runs, counts) + "\n")
