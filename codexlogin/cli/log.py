"""`codex login log`: render codex-login.log (or any eliot log) as action trees for support.

Registered by import path (cli/app.py), so only this module and codexlogin.support.render load for
it; rich is imported only for colour output.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Annotated

from cyclopts import Parameter

from codexlogin.cli.boundary import command
from codexlogin.errors import ExitCode, NotLoggedIn, UsageError

Flag = Annotated[bool, Parameter(negative=())]


@command
def log(
    paths: list[str] | None = None,
    *,
    last: int | None = None,
    task: str | None = None,
    failed: Flag = False,
    since: str | None = None,
    until: str | None = None,
    grep: str | None = None,
    summary: Flag = False,
    json: Flag = False,
    local: Flag = False,
    no_color: Flag = False,
    log_dir: Path | None = None,
) -> int:
    """Show what happened in sign-in runs, as trees of actions from codex-login.log.

    Each run is one tree: action type, status (succeeded, failed, cancelled, or unfinished when
    the run never ended), start time (UTC), duration, and its fields, with secrets scrubbed.
    Runs are printed as they finished, unfinished runs last; failures are marked [FAILED].
    Filters keep whole runs. A run counts as failed when it, or any action in it, failed, was
    cancelled or never finished. Colour only on a terminal (NO_COLOR or --no-color turn it off).

    Parameters
    ----------
    paths
        Log files to read, merged in order; '-' reads stdin (default: the configured codex-login.log).
    last
        Show only the N runs that started most recently.
    task
        Show only the run with this task UUID (a prefix is enough).
    failed
        Show only runs that failed, were cancelled or never finished (also when an inner action did).
    since
        Only runs started at or after this time: ISO 8601 (2026-11-24T10:00Z) or an age like 30m, 2h, 7d.
    until
        Only runs started at or before this time (same forms as --since).
    grep
        Only runs with this text (case-insensitive) in any field, action type or task UUID.
    summary
        One line per run (start, status, command/flow, outcome, duration, task, error code):
        failed runs first, then the others, then a count of runs by status.
    json
        One JSON object per run tree and line (nested children), for tools.
    local
        Show times in local time instead of UTC (also how --since/--until read times without offset).
    no_color
        Plain ASCII output even on a terminal.
    log_dir
        Directory of the default codex-login.log [env: CODEX_LOGIN_LOG_DIR] (default $CODEX_HOME/log).
    """
    from codexlogin.support import render

    options = render.Options(
        mode="json" if json else "summary" if summary else "tree",
        last=_positive(last),
        task=task,
        failed=failed,
        since=_time("--since", since, local),
        until=_time("--until", until, local),
        grep=grep or None,
        local=local,
        color=not no_color and not json and _color_terminal(sys.stdout),
    )
    if summary and json:
        raise UsageError("--summary and --json cannot be combined")
    if not paths:
        from codexlogin.config import load_settings

        from codexlogin.diagnostics.rotation import log_files_in_order

        log_file = load_settings({"log_dir": log_dir}).log_file
        paths = [str(path) for path in log_files_in_order(log_file)] or [str(log_file)]
    streams = [_open(path) for path in paths]

    try:
        try:
            stats = render.render(streams, sys.stdout, options)
        finally:
            for path, stream in zip(paths, streams):
                if path != "-":
                    stream.close()
                elif stream is not sys.stdin:
                    stream.detach()  # type: ignore[attr-defined]  # leave sys.stdin open
    except BrokenPipeError:
        render.quiet_broken_pipe()
        return int(ExitCode.SUCCESS)
    except KeyboardInterrupt:
        return int(ExitCode.CANCELLED)
    if stats.skipped:
        print(f"warning: skipped {stats.skipped} lines that are not eliot JSON", file=sys.stderr)
    return int(ExitCode.SUCCESS)


def _positive(last: int | None) -> int | None:
    if last is not None and last < 1:
        raise UsageError(f"--last must be at least 1, got {last}")
    return last


def _time(flag: str, text: str | None, local: bool) -> float | None:
    if text is None:
        return None
    from codexlogin.support.render import parse_time

    try:
        return parse_time(text, local=local)
    except ValueError as error:
        raise UsageError(f"{flag}: {error}") from None


def _color_terminal(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _open(path: str) -> IO[str]:
    """Open one input as text (UTF-8, undecodable bytes replaced); '-' is stdin; .gz is gunzipped."""
    if path == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            return sys.stdin
        from codexlogin.diagnostics.rotation import BoundedLines

        return BoundedLines(buffer)  # UTF-8, lines capped like a file's
    from codexlogin.diagnostics.rotation import open_text

    try:
        return open_text(Path(path))  # closed by log()
    except FileNotFoundError:
        raise NotLoggedIn(f"no log at {path} (run codex login first or pass a path)") from None
    except IsADirectoryError:
        raise NotLoggedIn(f"{path} is a directory, not a log file") from None
    except OSError as error:
        raise NotLoggedIn(f"cannot read {path}: {error.strerror or error}") from None
