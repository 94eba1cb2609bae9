"""`codex login log`: render codex-login.log (or any eliot log) as action trees for support.

Registered by import path (cli/app.py) and parsed by cyclopts (it runs for a while anyway); the
views themselves are codexlogin.logview, imported when the command runs (rich only for colour).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Parameter

from codexlogin.cli.boundary import command
from codexlogin.errors import ExitCode, LoginFailure, NotLoggedIn, UsageError

if TYPE_CHECKING:
    from codexlogin.logview.select import Options
    from codexlogin.logview.tree import Node

Flag = Annotated[bool, Parameter(negative=())]


@command
def log(
    paths: Annotated[list[str] | None, Parameter(name="PATHS", negative=())] = None,
    /,
    *,
    last: int | None = None,
    task: str | None = None,
    failed: Flag = False,
    since: str | None = None,
    until: str | None = None,
    grep: str | None = None,
    summary: Flag = False,
    json: Flag = False,
    format: Literal["tree", "summary", "json", "text"] | None = None,
    har: Path | None = None,
    follow: Flag = False,
    local: Flag = False,
    no_color: Flag = False,
    log_dir: Path | None = None,
    otlp: str | None = None,
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
        One line per run in 80 columns (start, short run id, command, duration, outcome in words
        with the error code or HTTP status), in start-time order, failed runs marked "!", then a
        count of runs by status.
    json
        One JSON object per run tree and line (nested children), for tools (= --format json).
    format
        tree (default), summary, json, or text: the reference Codex CLI's tracing lines
        (`2026-03-06T22:08:54.143612Z  INFO codex_cli::login: starting browser login flow`).
    har
        Merge this browser HAR (DevTools "Save all as HAR") into the matching run's timeline and
        say where the sign-in chain broke; the HAR is scrubbed like the log. With --json: one object.
    follow
        Show a run live as it is written; with --last 1 or --task, stop when that run ends
        (else Ctrl-C stops).
    local
        Show times in local time instead of UTC (also how --since/--until read times without offset).
    no_color
        Plain ASCII output even on a terminal.
    log_dir
        Directory of the default codex-login.log [env: CODEX_LOGIN_LOG_DIR] (default $CODEX_HOME/log).
    otlp
        Send the runs (a user's bundle, rotated files) to this OpenTelemetry collector (OTLP/HTTP
        traces URL) as traces with their original timestamps, instead of showing them.
    """
    from codexlogin.logview.render import render
    from codexlogin.logview.select import Options

    if sum(map(bool, (summary, json, format))) > 1 and not ((summary and format == "summary") or (json and format == "json")):
        raise UsageError("choose one output format: --summary, --json or --format")
    mode = format or ("json" if json else "summary" if summary else "tree")
    formatter = None
    if mode == "text":
        from codexlogin.logview.text import render_text

        formatter = render_text
    options = Options(
        mode=mode,
        last=_positive(last),
        task=task,
        failed=failed,
        since=_time("--since", since, local),
        until=_time("--until", until, local),
        grep=grep or None,
        local=local,
        color=not no_color and mode in ("tree", "summary") and har is None and _color_terminal(sys.stdout),
        width=_width(sys.stdout),
        formatter=formatter,
    )
    if har is not None and (mode == "summary" or follow):
        raise UsageError("--har shows one run's timeline: it cannot be combined with --summary or --follow")
    if follow:
        return _follow(paths, options, log_dir)
    if not paths:
        from codexlogin.config import load_settings
        from codexlogin.diagnostics.rotation import log_files_in_order

        log_file = load_settings({"log_dir": log_dir}).log_file
        paths = [str(path) for path in log_files_in_order(log_file)] or [str(log_file)]
    streams = [_open(path) for path in paths]

    if otlp is not None:  # backfill for support: the runs as traces (cli.telemetry)
        from codexlogin.cli.telemetry import backfill
        from codexlogin.config import load_settings

        try:
            return backfill(otlp, streams, load_settings({"log_dir": log_dir}))
        finally:
            _close(paths, streams)
    if har is not None:
        return _har(har, streams, paths, options)
    try:
        try:
            stats = render(streams, sys.stdout, options)
        finally:
            _close(paths, streams)
    except BrokenPipeError:
        _quiet_broken_pipe()
        return int(ExitCode.SUCCESS)
    except KeyboardInterrupt:
        return int(ExitCode.CANCELLED)
    if stats.skipped:
        print(f"warning: skipped {stats.skipped} lines that are not eliot JSON", file=sys.stderr)
    if not stats.runs and options.filtered:
        from codexlogin.terminal import CONTROL_ESCAPES

        where = ", ".join(paths).translate(CONTROL_ESCAPES)
        print(f"no runs match {_describe(options)} in {where}", file=sys.stderr)
        return int(ExitCode.NOT_LOGGED_IN)
    return int(ExitCode.SUCCESS)


def _close(paths: list[str], streams: list[IO[str]]) -> None:
    for path, stream in zip(paths, streams):
        if path != "-":
            stream.close()
        elif stream is not sys.stdin:
            stream.detach()  # type: ignore[attr-defined]  # leave sys.stdin open


def _describe(options: Options) -> str:
    """The filters given, as the user typed them (for 'no runs match …')."""
    parts = []
    if options.failed:
        parts.append("--failed")
    if options.task:
        parts.append(f"--task {options.task}")
    if options.grep:
        parts.append(f"--grep {options.grep}")
    if options.since is not None:
        parts.append("--since")
    if options.until is not None:
        parts.append("--until")
    if options.last:
        parts.append(f"--last {options.last}")
    from codexlogin.terminal import CONTROL_ESCAPES

    return " ".join(parts).translate(CONTROL_ESCAPES)


def _width(stream: IO[str]) -> int | None:
    """Wrap trees at the terminal's width (COLUMNS overrides it); never into a pipe or file."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size().columns


#: A browser's HAR of one sign-in is a few MB; DevTools exports of a long session can be larger.
MAX_HAR_BYTES = 256 << 20


def _read_har(har_path: Path) -> Any:
    """The parsed HAR (logview.har.Har); a missing or unreadable file, a FIFO or device, one over
    MAX_HAR_BYTES, or one that is not a HAR: a one-line failure."""
    from codexlogin.config import read_regular_bytes
    from codexlogin.logview import har as harmod

    try:  # a regular file only (a FIFO would wait forever), and bounded
        raw = read_regular_bytes(har_path, limit=MAX_HAR_BYTES)
    except FileNotFoundError:
        raise NotLoggedIn(f"no HAR file at {har_path}") from None
    except OSError as error:
        raise NotLoggedIn(f"cannot read {har_path}: {error.strerror or error}") from None
    if len(raw) > MAX_HAR_BYTES:
        raise UsageError(f"{har_path} is larger than {MAX_HAR_BYTES >> 20} MiB; export the HAR of the sign-in only")
    try:
        return harmod.load_har(raw.decode("utf-8", errors="replace"))
    except harmod.HarError as error:
        raise UsageError(f"{har_path}: {error}") from None


def _har(har_path: Path, streams: list[IO[str]], paths: list[str], options: Options) -> int:
    from codexlogin.logview import har as harmod
    from codexlogin.logview.select import Stats, iter_runs

    try:
        document = _read_har(har_path)
    except LoginFailure:
        _close(paths, streams)  # the logs were opened first
        raise
    stats = Stats()
    try:
        runs = (run for run, _ in iter_runs(streams, options, stats))
        run = harmod.match_run(document, runs)
    finally:
        _close(paths, streams)
    if run is None:
        print(
            f"no run in {', '.join(paths)} matches {har_path} ({len(document.entries)} browser requests): "
            "none overlaps it in time or uses its callback port",
            file=sys.stderr,
        )
        return int(ExitCode.NOT_LOGGED_IN)
    merged = harmod.merge(document, run)
    try:
        sys.stdout.write(harmod.merged_json(merged) if options.mode == "json" else harmod.render_merged(merged, options.width))
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    return int(ExitCode.SUCCESS)


def _follow(paths: list[str] | None, options: Options, log_dir: Path | None) -> int:
    from codexlogin.logview.follow import Follower, follow

    if paths and (len(paths) != 1 or paths[0] == "-"):
        raise UsageError("--follow reads one log file (not '-')")
    if options.last not in (None, 1) or options.failed or options.grep or options.since or options.until:
        raise UsageError("--follow takes only --last 1 or --task to pick a run")
    if options.mode == "summary":
        raise UsageError("--follow shows trees, tracing lines (--format text) or JSON, not --summary")
    if paths:
        path = Path(paths[0])
    else:
        from codexlogin.config import load_settings

        path = load_settings({"log_dir": log_dir}).log_file
    try:
        mode: int | None = path.lstat().st_mode  # a planted symbolic link is refused, not followed
    except FileNotFoundError:
        mode = None
        print(f"waiting for {path} to be written (Ctrl-C to stop)…", file=sys.stderr, flush=True)
    except OSError as error:
        raise NotLoggedIn(f"cannot read {path}: {error.strerror or error}") from None
    if mode is not None and stat.S_ISLNK(mode):
        raise UsageError(f"--follow does not follow a symbolic link: {path} is one (it may point anywhere); pass the file itself")
    if mode is not None and not stat.S_ISREG(mode):
        from codexlogin.config import special_file_kind

        raise UsageError(f"--follow reads a regular file; {path} is {special_file_kind(mode)}")
    text_lines = None
    if options.mode == "text":
        from codexlogin.logview.text import format_line, live_lines

        def text_lines(node: Node) -> list[str]:
            return [format_line(line) for line in live_lines(node)]

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    follower = Follower(
        write, mode=options.mode, task=options.task, last_run=options.last == 1, local=options.local, text_lines=text_lines
    )
    try:
        follow(path, follower)
    except KeyboardInterrupt:
        return int(ExitCode.SUCCESS)  # Ctrl-C is how a follow without a target ends
    except BrokenPipeError:
        _quiet_broken_pipe()
    return int(ExitCode.SUCCESS)


def _positive(last: int | None) -> int | None:
    if last is not None and last < 1:
        raise UsageError(f"--last must be at least 1, got {last}")
    return last


def _time(flag: str, text: str | None, local: bool) -> float | None:
    if text is None:
        return None
    from codexlogin.logview.select import parse_time

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


def _quiet_broken_pipe() -> None:
    """After BrokenPipeError: point stdout at devnull so the exit-time flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
